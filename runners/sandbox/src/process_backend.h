#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "moebench/executor.h"
#include "moebench/sandbox/sandbox.h"

namespace moebench::sandbox::detail {

// One supervised process tree per execution (no namespaces). See sandbox.h.
std::unique_ptr<executor> make_process_executor(const executor_options& options,
                                                std::string init_path);

// The environment every payload gets (an allowlist; nothing inherited from the harness).
std::vector<std::string> scrubbed_environment(const std::string& home, uint32_t python_hash_seed);

}  // namespace moebench::sandbox::detail
