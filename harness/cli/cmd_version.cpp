#include <fmt/core.h>

#include "commands.h"
#include "moebench/provenance.h"

namespace moebench::cli {

void add_version_command(CLI::App& app, context& /*ctx*/) {
  auto* cmd = app.add_subcommand("version", "Print version, git commit, build type and compiler");
  cmd->callback([] {
    const build_info b = current_build_info();
    fmt::print("moebench {}\ngit commit: {}{}\nbuild type: {}\ncompiler: {}\n", b.version,
               b.git_commit, b.git_dirty ? " (dirty)" : "", b.build_type, b.compiler);
  });
}

}  // namespace moebench::cli
