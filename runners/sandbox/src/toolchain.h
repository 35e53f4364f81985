#pragma once
// The toolchains of every language, in one table (issue 7, scope 5). A build step runs inside
// the sandbox with its own limits; the run step gets the request's limits.
#include <string>
#include <vector>

#include "moebench/executor.h"
#include "moebench/sandbox/sandbox.h"

namespace moebench::sandbox::detail {

struct toolchain {
  language lang;
  std::string source_file;                 // name of the program in the workdir
  std::vector<std::string> build_argv;     // empty: nothing to build
  std::vector<std::string> extra_files;    // "name" of embedded helper sources written first
  std::vector<std::string> run_argv;
  bool uses_driver;                        // the result record comes from our driver
};

// Placeholders in argv: none; paths are relative to the workdir, which is the cwd.
toolchain toolchain_for(language lang, const executor_options& options);

// Limits of the build step (the compiler is trusted more than the payload, but it still runs
// sandboxed: a hostile #include or template bomb must not hang the harness).
exec_limits build_limits(const exec_limits& run_limits);

// Embedded helper source for `name` (e.g. the C++ main wrapper).
std::string_view helper_source(const std::string& name);

// The Python driver script.
std::string_view python_driver();

}  // namespace moebench::sandbox::detail
