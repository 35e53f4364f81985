#include "moebench/sandbox/sandbox.h"

#include <unistd.h>

#include <filesystem>

#include "moebench/error.h"
#include "process_backend.h"

namespace moebench::sandbox {

std::string resolve_init_path(const executor_options& options) {
  namespace fs = std::filesystem;
  if (!options.init_path.empty()) {
    if (::access(options.init_path.c_str(), X_OK) != 0)
      throw error("sandbox.init_missing", {"", 0, "init_path"},
                  "sandbox init helper '" + options.init_path + "' is not executable");
    return options.init_path;
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = self.parent_path() / "moebench-sandbox-init";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
#ifdef MOEBENCH_SANDBOX_INIT_BUILD_PATH
  if (::access(MOEBENCH_SANDBOX_INIT_BUILD_PATH, X_OK) == 0) return MOEBENCH_SANDBOX_INIT_BUILD_PATH;
#endif
  throw error("sandbox.init_missing",
              "cannot find moebench-sandbox-init next to the executable; it is installed beside "
              "the moebench binary");
}

std::unique_ptr<executor> make_executor(const executor_options& options) {
  if (options.backend != "auto" && options.backend != "process")
    throw error("sandbox.bad_backend", {"", 0, "backend"},
                "unknown sandbox backend '" + options.backend + "' (known: auto, process)");
  const std::string init = resolve_init_path(options);
  if (options.require_isolation)
    throw error("sandbox.isolation_unavailable",
                "full isolation was required but only the process backend is available");
  return detail::make_process_executor(options, init);
}

}  // namespace moebench::sandbox
