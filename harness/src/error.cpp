#include "moebench/error.h"

#include <cstdio>
#include <cstdlib>

namespace moebench {
namespace {
std::string format_error(const std::string& id, const input_location& where,
                         const std::string& message) {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line > 0) out += ":" + std::to_string(where.line);
    out += ": ";
  }
  if (!where.field.empty()) out += "field '" + where.field + "': ";
  out += message;
  out += " [" + id + "]";
  return out;
}
}  // namespace

error::error(std::string id, input_location where, const std::string& message)
    : std::runtime_error(format_error(id, where, message)),
      id_(std::move(id)),
      where_(std::move(where)),
      message_(message) {}

namespace detail {
void check_failed(const char* expr, const char* file, int line, std::string_view msg) {
  std::fprintf(stderr, "moebench: internal check failed at %s:%d: %s: %.*s\n", file, line, expr,
               static_cast<int>(msg.size()), msg.data());
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail
}  // namespace moebench
