#pragma once
// The record the sandbox init writes to the harness on its private status fd, and its parser.
// Shared by moebench-sandbox-init (writer) and the backends (reader).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moebench::sandbox::detail {

enum class init_kill { none, wall, output, shutdown };

struct init_report {
  int wait_status = 0;        // raw wait4 status of the payload
  bool payload_reaped = false;
  int64_t utime_ns = 0;
  int64_t stime_ns = 0;
  int64_t maxrss_kib = 0;
  int64_t start_ns = 0;       // steady clock just before the payload's execve
  int64_t end_ns = 0;         // steady clock when the payload was reaped
  int64_t nvcsw = 0;
  int64_t nivcsw = 0;
  int64_t leftovers_killed = 0;  // descendants still alive after the payload ended
  init_kill killer = init_kill::none;
  std::string error;          // set when the init itself failed (setup, exec)
};

std::string format_init_report(const init_report& r);
// nullopt when the text is not exactly one well-formed record.
std::optional<init_report> parse_init_report(std::string_view text);

}  // namespace moebench::sandbox::detail
