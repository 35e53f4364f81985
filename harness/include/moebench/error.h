#pragma once
// Three tiers of errors (STYLE.md rule 4):
//  - bad configuration or input: throw moebench::error with a stable id and file:line:field;
//  - a failed sample: a value in its record (never an exception);
//  - a broken invariant: MOEBENCH_CHECK, always on, aborts with context.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace moebench {

// Where in the user's input a problem was found. Every part is optional.
struct input_location {
  input_location() = default;
  // Implicit so that call sites can write {file}, {file, line} or {file, line, field}.
  input_location(std::string file_, int64_t line_ = 0, std::string field_ = {})  // NOLINT
      : file(std::move(file_)), line(line_), field(std::move(field_)) {}

  std::string file;
  int64_t line = 0;    // 1-based; 0 = unknown
  std::string field;   // JSON field, CLI flag or metadata key
};

// Bad configuration or input. `id` is stable (for scripts and tests), e.g. "jsonl.bad_json".
class error : public std::runtime_error {
 public:
  error(std::string id, input_location where, const std::string& message);
  error(std::string id, const std::string& message) : error(std::move(id), {}, message) {}

  const std::string& id() const noexcept { return id_; }
  const input_location& where() const noexcept { return where_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string id_;
  input_location where_;
  std::string message_;
};

// Process exit codes of the CLI.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;    // ran, but a gate/check failed
inline constexpr int exit_bad_input = 2;  // moebench::error: usage, configuration, input
inline constexpr int exit_internal = 3;   // unexpected exception

namespace detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, std::string_view msg);
}  // namespace detail

}  // namespace moebench

// An invariant check that stays on in release builds (as ggml's GGML_ASSERT).
#define MOEBENCH_CHECK(cond, msg)                                                   \
  do {                                                                              \
    if (!(cond)) [[unlikely]]                                                       \
      ::moebench::detail::check_failed(#cond, __FILE__, __LINE__, (msg));           \
  } while (0)
