// Spec and URL parsing and the retry policy of the openai runner: pure functions, no I/O.
#include <time.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/runners/openai.h"
#include "moebench/text.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;
constexpr std::array api_names{std::pair{openai_api::completions, "completions"sv},
                               std::pair{openai_api::chat, "chat"sv}};

[[noreturn]] void bad_spec(const std::string& message) {
  throw error("openai.bad_spec", {"", 0, "--model"}, message);
}

int64_t parse_int(std::string_view key, std::string_view value, int64_t min) {
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || v < min)
    bad_spec("option '" + std::string(key) + "' expects an integer >= " + std::to_string(min) +
             ", got '" + std::string(value) + "'");
  return v;
}

int64_t parse_seconds_ms(std::string_view key, std::string_view value) {
  double v = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || !(v > 0) || v > 1e7)
    bad_spec("option '" + std::string(key) + "' expects a positive number of seconds, got '" +
             std::string(value) + "'");
  return static_cast<int64_t>(std::llround(v * 1000));
}

bool parse_bool(std::string_view key, std::string_view value) {
  if (value == "1" || value == "true") return true;
  if (value == "0" || value == "false") return false;
  bad_spec("option '" + std::string(key) + "' expects 0 or 1, got '" + std::string(value) + "'");
}

uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::string_view to_string(openai_api a) noexcept { return detail::enum_to_string(api_names, a); }
openai_api openai_api_from_string(std::string_view s) {
  return detail::enum_from_string(api_names, s, "openai_api");
}

parsed_url parse_url(std::string_view url) {
  parsed_url u;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    bad_spec("URL must start with http:// or https://, got '" + std::string(url) + "'");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    bad_spec("credentials in the URL are not accepted (they would be recorded); use --api-key-env");
  if (authority.starts_with("[")) {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_spec("bad IPv6 host in '" + std::string(url) + "'");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) u.port = std::string(authority.substr(1));
    else if (!authority.empty()) bad_spec("bad host in '" + std::string(url) + "'");
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty()) bad_spec("URL has no host: '" + std::string(url) + "'");
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  else parse_int("port", u.port, 1);
  if (path.find_first_of("?#") != std::string_view::npos)
    bad_spec("the base URL takes no query: '" + std::string(url) + "'");
  while (path.ends_with("/")) path.remove_suffix(1);
  u.base_path = std::string(path);
  return u;
}

openai_options parse_openai_spec(std::string_view spec) {
  if (!spec.starts_with("openai:")) bad_spec("an openai spec starts with 'openai:'");
  spec.remove_prefix(7);
  const auto hash = spec.find('#');
  if (hash == std::string_view::npos || hash + 1 == spec.size())
    bad_spec("expected openai:URL#MODEL (the model name after '#')");
  openai_options o;
  o.url = std::string(spec.substr(0, hash));
  std::string_view model = spec.substr(hash + 1);
  std::string_view query;
  if (const auto q = model.find('?'); q != std::string_view::npos) {
    query = model.substr(q + 1);
    model = model.substr(0, q);
  }
  if (model.empty()) bad_spec("empty model name after '#'");
  o.model = std::string(model);
  const parsed_url url = parse_url(o.url);  // validates
  for (const auto& kv : split(query, '&')) {
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) bad_spec("option '" + kv + "' is not key=value");
    const std::string_view key = std::string_view(kv).substr(0, eq);
    const std::string_view value = std::string_view(kv).substr(eq + 1);
    if (key == "api") {
      if (value == "completions") o.api = openai_api::completions;
      else if (value == "chat") o.api = openai_api::chat;
      else bad_spec("option 'api' expects completions or chat");
    } else if (key == "stream") {
      o.stream = parse_bool(key, value);
    } else if (key == "usage") {
      o.include_usage = parse_bool(key, value);
    } else if (key == "retries") {
      o.retry.max_retries = parse_int(key, value, 0);
    } else if (key == "concurrency") {
      o.concurrency = parse_int(key, value, 1);
    } else if (key == "threads") {
      o.threads = parse_int(key, value, 1);
    } else if (key == "connect_timeout_s") {
      o.connect_timeout_ms = parse_seconds_ms(key, value);
    } else if (key == "read_timeout_s") {
      o.read_timeout_ms = parse_seconds_ms(key, value);
    } else if (key == "request_timeout_s") {
      o.request_timeout_ms = parse_seconds_ms(key, value);
    } else if (key == "ca_file") {
      if (value.empty()) bad_spec("option 'ca_file' expects a path");
      o.ca_file = std::string(value);
    } else {
      bad_spec("unknown option '" + std::string(key) +
               "' (known: api, stream, usage, retries, concurrency, threads, connect_timeout_s, "
               "read_timeout_s, request_timeout_s, ca_file)");
    }
  }
  if (!o.ca_file.empty() && !url.tls) bad_spec("option 'ca_file' needs an https:// URL");
  return o;
}

namespace openai_policy {

outcome outcome_of_status(int http_status) noexcept {
  if (http_status == 200) return outcome::ok;
  if (http_status == 429) return outcome::resource_exhausted;
  if (http_status == 408) return outcome::deadline_exceeded;
  if (http_status == 502 || http_status == 503 || http_status == 504) return outcome::unavailable;
  if (http_status >= 500) return outcome::internal;
  // 4xx other than 408/429 (bad request, unknown model, authentication), 3xx and the rest:
  // the request or the endpoint is wrong, and asking again will not change the answer.
  return outcome::invalid_response;
}

bool retryable(outcome o) noexcept {
  switch (o) {
    case outcome::deadline_exceeded:
    case outcome::unavailable:
    case outcome::resource_exhausted:
    case outcome::internal:  // HTTP 500: servers under load fail transiently
      return true;
    case outcome::ok:
    case outcome::invalid_response:
    case outcome::cancelled:
      return false;
  }
  return false;
}

std::optional<int64_t> parse_retry_after_ms(std::string_view value, int64_t now_unix_s) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t s = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (ec != std::errc() || s > 10'000'000) return std::nullopt;
    return s * 1000;
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7).
  const std::string text(value);
  struct tm tm {};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const int64_t when = static_cast<int64_t>(::timegm(&tm));
  return std::max<int64_t>(0, when - now_unix_s) * 1000;
}

int64_t backoff_ms(const retry_policy& p, int64_t retry, uint64_t seed) noexcept {
  double cap = static_cast<double>(p.initial_backoff_ms);
  for (int64_t i = 1; i < retry && cap < static_cast<double>(p.max_backoff_ms); ++i) cap *= p.multiplier;
  cap = std::min(cap, static_cast<double>(p.max_backoff_ms));
  const double unit = static_cast<double>(splitmix64(seed ^ static_cast<uint64_t>(retry)) >> 11) * 0x1.0p-53;
  return static_cast<int64_t>(cap / 2 + unit * cap / 2);
}

}  // namespace openai_policy
}  // namespace moebench
