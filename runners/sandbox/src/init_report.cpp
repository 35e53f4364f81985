#include "init_report.h"

#include <charconv>
#include <vector>

namespace moebench::sandbox::detail {
namespace {
std::string_view kill_name(init_kill k) {
  switch (k) {
    case init_kill::none: return "none";
    case init_kill::wall: return "wall";
    case init_kill::output: return "output";
    case init_kill::shutdown: return "shutdown";
  }
  return "none";
}

bool parse_i64(std::string_view s, int64_t& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::string format_init_report(const init_report& r) {
  std::string s = "INIT1";
  auto add = [&](std::string_view k, int64_t v) {
    s += ' ';
    s += k;
    s += '=';
    s += std::to_string(v);
  };
  add("status", r.wait_status);
  add("reaped", r.payload_reaped ? 1 : 0);
  add("utime_ns", r.utime_ns);
  add("stime_ns", r.stime_ns);
  add("maxrss_kib", r.maxrss_kib);
  add("start_ns", r.start_ns);
  add("end_ns", r.end_ns);
  add("nvcsw", r.nvcsw);
  add("nivcsw", r.nivcsw);
  add("leftovers", r.leftovers_killed);
  s += " killer=";
  s += kill_name(r.killer);
  // The error text goes last and runs to the end of the line; newlines are flattened.
  s += " error=";
  for (char c : r.error) s += (c == '\n' || c == '\r') ? ' ' : c;
  s += '\n';
  return s;
}

std::optional<init_report> parse_init_report(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) return std::nullopt;
  if (text.substr(0, 6) != "INIT1 ") return std::nullopt;
  text.remove_prefix(6);
  init_report r;
  const auto err_pos = text.find(" error=");
  if (err_pos == std::string_view::npos) return std::nullopt;
  r.error = std::string(text.substr(err_pos + 7));
  text = text.substr(0, err_pos);
  int seen = 0;
  while (!text.empty()) {
    const auto sp = text.find(' ');
    const std::string_view tok = text.substr(0, sp);
    text = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
    const auto eq = tok.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view k = tok.substr(0, eq), v = tok.substr(eq + 1);
    if (k == "killer") {
      if (v == "none") r.killer = init_kill::none;
      else if (v == "wall") r.killer = init_kill::wall;
      else if (v == "output") r.killer = init_kill::output;
      else if (v == "shutdown") r.killer = init_kill::shutdown;
      else return std::nullopt;
      ++seen;
      continue;
    }
    int64_t n = 0;
    if (!parse_i64(v, n)) return std::nullopt;
    if (k == "status") r.wait_status = static_cast<int>(n);
    else if (k == "reaped") r.payload_reaped = n != 0;
    else if (k == "utime_ns") r.utime_ns = n;
    else if (k == "stime_ns") r.stime_ns = n;
    else if (k == "maxrss_kib") r.maxrss_kib = n;
    else if (k == "start_ns") r.start_ns = n;
    else if (k == "end_ns") r.end_ns = n;
    else if (k == "nvcsw") r.nvcsw = n;
    else if (k == "nivcsw") r.nivcsw = n;
    else if (k == "leftovers") r.leftovers_killed = n;
    else return std::nullopt;
    ++seen;
  }
  if (seen != 11) return std::nullopt;
  return r;
}

}  // namespace moebench::sandbox::detail
