#include "moebench/decisions/run_view.h"

#include <cmath>

#include <fmt/core.h>

namespace moebench::decisions {

loaded_run load_run(const std::filesystem::path& dir_or_file) {
  return {dir_or_file.string(), load_run_result(dir_or_file)};
}

std::string entry_id::label() const { return qualifier.empty() ? suite : suite + " (" + qualifier + ")"; }

namespace {
std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return format_number(v.get<double>());
  return v.dump();
}
}  // namespace

entry_id identify(const suite_result& s) {
  entry_id id{s.suite, ""};
  const auto& pt = s.per_task;
  if (!pt.is_object()) return id;
  auto add = [&](const std::string& part) { id.qualifier += (id.qualifier.empty() ? "" : " ") + part; };
  if (const auto it = pt.find("scenario"); it != pt.end() && it->is_string()) add(it->get<std::string>());
  for (const char* level : {"concurrency", "rate_per_s"})
    if (const auto it = pt.find(level); it != pt.end() && it->is_number()) add(std::string(level) + "=" + scalar_text(*it));
  if (const auto it = pt.find("target"); it != pt.end() && it->is_string()) add(it->get<std::string>());
  return id;
}

std::string entry_target(const run_result& run, const suite_result& s) {
  if (s.per_task.is_object())
    if (const auto it = s.per_task.find("target"); it != s.per_task.end() && it->is_string())
      return it->get<std::string>();
  if (const auto it = run.settings_effective.find("target"); it != run.settings_effective.end() && it->is_string())
    return it->get<std::string>();
  return {};
}

bool target_matches(std::string_view name, std::string_view target) {
  if (name == target) return true;
  return target.size() > name.size() && target.starts_with(name) && target[name.size()] == '-';
}

std::optional<item_values> per_item_values(const suite_result& s, std::string_view metric) {
  if (!s.per_task.is_object()) return std::nullopt;
  item_values out;
  const std::string key(metric);
  for (const auto& [item, fields] : s.per_task.items()) {
    if (!fields.is_object()) continue;
    const auto it = fields.find(key);
    if (it == fields.end()) continue;
    if (it->is_boolean()) out.values[item] = it->get<bool>() ? 1.0 : 0.0;
    else if (it->is_number()) out.values[item] = it->get<double>() + 0.0;  // + 0.0: no -0
    else continue;
    if (const auto n = fields.find("n"); n != fields.end() && n->is_number_integer())
      out.samples[item] = n->get<int64_t>();
  }
  if (out.values.empty()) return std::nullopt;
  return out;
}

std::optional<bool> higher_is_better(std::string_view unit) {
  if (unit == "fraction" || unit == "score" || unit == "tokens") return true;
  if (unit.ends_with("/s") || unit.find("/s/") != std::string_view::npos) return true;  // tok/s, req/s, tok/s/user
  if (unit == "ms" || unit == "s" || unit == "ns" || unit == "us") return false;
  if (unit.starts_with("usd/") || unit.starts_with("J/") || unit == "W") return false;
  return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point (the last '*').
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string format_number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e7 || a < 1e-3)) return fmt::format("{:.4g}", v);
  if (a >= 1000) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

}  // namespace moebench::decisions
