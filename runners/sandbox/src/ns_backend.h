#pragma once
#include <memory>
#include <string>

#include "moebench/executor.h"
#include "moebench/sandbox/sandbox.h"

namespace moebench::sandbox::detail {

// The isolating backend (see sandbox.h and zygote_init.cpp). `level` and `layers` come from
// the probe and are recorded in every result.
std::unique_ptr<executor> make_ns_executor(const executor_options& options, std::string init_path,
                                           executor_info info);

}  // namespace moebench::sandbox::detail
