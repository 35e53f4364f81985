#pragma once
// The one clock of moebench: steady, int64 nanoseconds (STYLE.md rule 6). Display units are the
// reporters' business. Wall-clock (UTC) time is only for provenance, never for durations.
#include <chrono>
#include <cstdint>
#include <string>

namespace moebench {

inline int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Current UTC time as ISO 8601 with a Z suffix, second resolution.
std::string utc_now_iso8601();

}  // namespace moebench
