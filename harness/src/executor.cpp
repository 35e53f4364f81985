#include "moebench/executor.h"

#include <nlohmann/json.hpp>

#include "moebench/enum_names.h"
#include "moebench/text.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;

constexpr std::array verdict_names{
    std::pair{verdict::passed, "passed"sv},
    std::pair{verdict::failed, "failed"sv},
    std::pair{verdict::partial, "partial"sv},
    std::pair{verdict::no_result, "no_result"sv},
    std::pair{verdict::runtime_error, "runtime_error"sv},
    std::pair{verdict::crashed, "crashed"sv},
    std::pair{verdict::timeout_cpu, "timeout_cpu"sv},
    std::pair{verdict::timeout_wall, "timeout_wall"sv},
    std::pair{verdict::memory_limit, "memory_limit"sv},
    std::pair{verdict::output_limit, "output_limit"sv},
    std::pair{verdict::security_violation, "security_violation"sv},
    std::pair{verdict::compile_error, "compile_error"sv},
    std::pair{verdict::compile_timeout, "compile_timeout"sv},
    std::pair{verdict::patch_apply_failed, "patch_apply_failed"sv},
    std::pair{verdict::test_log_unparseable, "test_log_unparseable"sv},
    std::pair{verdict::sandbox_error, "sandbox_error"sv},
    std::pair{verdict::skipped, "skipped"sv},
    std::pair{verdict::cancelled, "cancelled"sv},
};

constexpr std::array killed_by_names{
    std::pair{killed_by::none, "none"sv},     std::pair{killed_by::cpu, "cpu"sv},
    std::pair{killed_by::wall, "wall"sv},     std::pair{killed_by::output, "output"sv},
    std::pair{killed_by::memory, "memory"sv},
    std::pair{killed_by::harness_shutdown, "harness_shutdown"sv},
};

constexpr std::array language_names{
    std::pair{language::python, "python"sv},
    std::pair{language::cpp, "cpp"sv},
    std::pair{language::sh, "sh"sv},
};
}  // namespace

std::string_view to_string(verdict v) noexcept { return detail::enum_to_string(verdict_names, v); }
verdict verdict_from_string(std::string_view s) {
  return detail::enum_from_string(verdict_names, s, "verdict");
}

bool is_infrastructure(verdict v) noexcept {
  switch (v) {
    case verdict::sandbox_error:
    case verdict::skipped:
    case verdict::cancelled:
      return true;
    case verdict::passed:
    case verdict::failed:
    case verdict::partial:
    case verdict::no_result:
    case verdict::runtime_error:
    case verdict::crashed:
    case verdict::timeout_cpu:
    case verdict::timeout_wall:
    case verdict::memory_limit:
    case verdict::output_limit:
    case verdict::security_violation:
    case verdict::compile_error:
    case verdict::compile_timeout:
    case verdict::patch_apply_failed:
    case verdict::test_log_unparseable:
      return false;
  }
  return false;
}

std::string_view to_string(killed_by k) noexcept {
  return detail::enum_to_string(killed_by_names, k);
}
killed_by killed_by_from_string(std::string_view s) {
  return detail::enum_from_string(killed_by_names, s, "killed_by");
}
std::string_view to_string(language l) noexcept {
  return detail::enum_to_string(language_names, l);
}
language language_from_string(std::string_view s) {
  return detail::enum_from_string(language_names, s, "language");
}

void to_json(nlohmann::json& j, const exec_result& r) {
  j = nlohmann::json::object();
  j["status"] = to_string(r.status);
  j["exit_code"] = r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
  j["term_signal"] = r.term_signal ? nlohmann::json(*r.term_signal) : nlohmann::json(nullptr);
  j["killed_by"] = to_string(r.killer);
  j["nonce_ok"] = r.nonce_ok;
  j["detail"] = to_valid_utf8(r.detail);
  j["wall_ns"] = r.wall_ns;
  j["cpu_user_ns"] = r.cpu_user_ns;
  j["cpu_sys_ns"] = r.cpu_sys_ns;
  j["max_rss_kib"] = r.max_rss_kib;
  j["spawn_overhead_ns"] = r.spawn_overhead_ns;
  j["stdout"] = to_valid_utf8(r.stdout_text);
  j["stderr"] = to_valid_utf8(r.stderr_text);
  j["stdout_bytes_total"] = r.stdout_bytes_total;
  j["stderr_bytes_total"] = r.stderr_bytes_total;
  j["stdout_truncated"] = r.stdout_truncated;
  j["stderr_truncated"] = r.stderr_truncated;
  j["disk_limit"] = r.disk_limit;
  j["backend"] = r.backend;
  j["isolation_level"] = r.isolation_level;
}

void from_json(const nlohmann::json& j, exec_result& r) {
  r.status = verdict_from_string(j.at("status").get<std::string>());
  r.exit_code = j.at("exit_code").is_null() ? std::nullopt
                                            : std::optional<int>(j.at("exit_code").get<int>());
  r.term_signal = j.at("term_signal").is_null()
                      ? std::nullopt
                      : std::optional<int>(j.at("term_signal").get<int>());
  r.killer = killed_by_from_string(j.at("killed_by").get<std::string>());
  r.nonce_ok = j.at("nonce_ok").get<bool>();
  r.detail = j.at("detail").get<std::string>();
  r.wall_ns = j.at("wall_ns").get<int64_t>();
  r.cpu_user_ns = j.at("cpu_user_ns").get<int64_t>();
  r.cpu_sys_ns = j.at("cpu_sys_ns").get<int64_t>();
  r.max_rss_kib = j.at("max_rss_kib").get<int64_t>();
  r.spawn_overhead_ns = j.value("spawn_overhead_ns", int64_t{0});
  r.stdout_text = j.at("stdout").get<std::string>();
  r.stderr_text = j.at("stderr").get<std::string>();
  r.stdout_bytes_total = j.at("stdout_bytes_total").get<int64_t>();
  r.stderr_bytes_total = j.at("stderr_bytes_total").get<int64_t>();
  r.stdout_truncated = j.at("stdout_truncated").get<bool>();
  r.stderr_truncated = j.at("stderr_truncated").get<bool>();
  r.disk_limit = j.value("disk_limit", false);
  r.backend = j.at("backend").get<std::string>();
  r.isolation_level = j.at("isolation_level").get<std::string>();
}

}  // namespace moebench
