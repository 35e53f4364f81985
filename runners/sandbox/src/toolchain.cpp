#include "toolchain.h"

#include <algorithm>

#include "moebench/error.h"

namespace moebench::embedded {
extern const std::string_view sandbox_driver_py;
extern const std::string_view sandbox_cpp_main_wrapper;
}  // namespace moebench::embedded

namespace moebench::sandbox::detail {

toolchain toolchain_for(language lang, const executor_options& o) {
  switch (lang) {
    case language::python:
      // -s (no user site), not -I: -I implies -E, which would ignore PYTHONHASHSEED. The
      // environment is entirely ours; the driver removes the '' that -c puts on sys.path.
      return {lang, "program.py", {}, {}, {o.python, "-s", "-c", std::string(python_driver()), "run", "program.py"}, true};
    case language::cpp:
      return {lang,
              "program.cpp",
              {o.cxx, "-std=c++17", "-O2", "-pipe", "-o", "program", "program.cpp",
               "moebench_main_wrapper.cpp", "-Wl,--wrap=main"},
              {"moebench_main_wrapper.cpp"},
              {"./program"},
              true};
    case language::sh:
      return {lang, "program.sh", {}, {}, {o.shell, "program.sh"}, false};
  }
  MOEBENCH_CHECK(false, "unknown language");
  return {};
}

exec_limits build_limits(const exec_limits& run) {
  exec_limits b = run;
  b.cpu_ms = 60'000;
  b.wall_ms = 90'000;
  b.memory_bytes = std::max<int64_t>(run.memory_bytes, 2048LL << 20);
  b.file_size_bytes = std::max<int64_t>(run.file_size_bytes, 256LL << 20);
  b.open_files = std::max<int64_t>(run.open_files, 256);
  b.processes = std::max<int64_t>(run.processes, 32);
  return b;
}

std::string_view helper_source(const std::string& name) {
  if (name == "moebench_main_wrapper.cpp") return embedded::sandbox_cpp_main_wrapper;
  MOEBENCH_CHECK(false, "unknown helper source");
  return {};
}

std::string_view python_driver() { return embedded::sandbox_driver_py; }

}  // namespace moebench::sandbox::detail
