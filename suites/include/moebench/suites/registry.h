#pragma once
// Every suite this moebench was built with (docs/suites.md). The list is generated at
// configure time from the moebench_register_suite() calls in suites/*/CMakeLists.txt.
#include <span>

#include "moebench/suite_registry.h"

namespace moebench::suites {

// Sorted by name; built on first use, immutable afterwards.
std::span<const suite_definition> all();

}  // namespace moebench::suites
