#include "moebench/reports/reports.h"

#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "moebench/enum_names.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;
constexpr std::array format_names{
    std::pair{report_format::json, "json"sv},
    std::pair{report_format::md, "md"sv},
};

std::string format_value(const metric& m) {
  if (m.unit == "fraction") return fmt::format("{:.2f}%", 100 * m.value);
  return fmt::format("{:.4g} {}", m.value, m.unit);
}

std::string format_ci(const confidence_interval& c, const std::string& unit) {
  if (unit == "fraction") return fmt::format("[{:.2f}, {:.2f}]%", 100 * c.lo, 100 * c.hi);
  return fmt::format("[{:.4g}, {:.4g}]", c.lo, c.hi);
}

std::string ci_label(const std::string& method) {
  if (method == "bootstrap_tasks") return "bootstrap over tasks";
  if (method == "wilson_samples") return "Wilson over samples";
  return method;
}

std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_') out += '\\';
    out += (c == '\n') ? ' ' : c;
  }
  return out;
}

std::string render_markdown(std::span<const run_result> runs) {
  std::string md = "# moebench report\n\n";
  std::set<std::string> suites;
  for (const auto& r : runs)
    for (const auto& s : r.suites) suites.insert(s.suite);
  for (const auto& suite_name : suites) {
    std::vector<std::string> metric_names;
    for (const auto& r : runs)
      for (const auto& s : r.suites)
        if (s.suite == suite_name)
          for (const auto& m : s.metrics)
            if (std::find(metric_names.begin(), metric_names.end(), m.name) == metric_names.end())
              metric_names.push_back(m.name);
    md += fmt::format("## {}\n\n| run | model | tasks | samples |", md_escape(suite_name));
    for (const auto& name : metric_names) md += fmt::format(" {} (95% CI) |", md_escape(name));
    md += "\n|---|---|---:|---:|";
    for (std::size_t i = 0; i < metric_names.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& r : runs) {
      for (const auto& s : r.suites) {
        if (s.suite != suite_name) continue;
        md += fmt::format("| {} | {} | {}/{} | {} |", md_escape(r.run_id),
                          md_escape(r.model.value("spec", std::string("?"))), s.tasks_evaluated,
                          s.tasks_total, s.samples);
        for (const auto& name : metric_names) {
          const auto it = std::find_if(s.metrics.begin(), s.metrics.end(),
                                       [&](const metric& m) { return m.name == name; });
          if (it == s.metrics.end()) {
            md += " - |";
            continue;
          }
          std::string cell = format_value(*it);
          if (!it->cis.empty()) cell += " " + format_ci(it->cis.front(), it->unit);
          if (it->kind == figure_kind::modelled) cell += " (modelled)";
          md += " " + cell + " |";
        }
        md += "\n";
      }
    }
    md += "\nCIs: " + ci_label("bootstrap_tasks") + " (seeded; the seed is in each run's results).\n\n";
    md += "### Verdicts\n\n| run | verdict | count |\n|---|---|---:|\n";
    for (const auto& r : runs)
      for (const auto& s : r.suites)
        if (s.suite == suite_name)
          for (const auto& [v, count] : s.verdicts)
            md += fmt::format("| {} | {} | {} |\n", md_escape(r.run_id), v, count);
    md += "\n";
    std::string grading;
    for (const auto& r : runs)
      for (const auto& s : r.suites)
        if (s.suite == suite_name && !s.grading.empty())
          grading += fmt::format("| {} | {} | {} |\n", md_escape(r.run_id), s.grading,
                                 s.grading_forgeable ? "yes: the program under test can fake its verdict" : "no");
    if (!grading.empty()) md += "### Grading\n\n| run | grading | forgeable |\n|---|---|---|\n" + grading + "\n";
  }
  md += "## Provenance\n\n| run | moebench | commit | host CPU | cores | OS | kernel | executor | config hash |\n"
        "|---|---|---|---|---:|---|---|---|---|\n";
  for (const auto& r : runs)
    md += fmt::format("| {} | {} ({}) | {}{} | {} | {} | {} | {} | {} ({}) | {} |\n",
                      md_escape(r.run_id), r.build.version, r.build.build_type,
                      r.build.git_commit.substr(0, 12), r.build.git_dirty ? "+dirty" : "",
                      md_escape(r.host.cpu_model), r.host.logical_cores, md_escape(r.host.os),
                      r.host.kernel, md_escape(r.executor.value("backend", std::string("?"))),
                      md_escape(r.executor.value("isolation_level", std::string("?"))),
                      r.config_hash.substr(0, 16));
  return md;
}
}  // namespace

std::string_view to_string(report_format f) noexcept {
  return detail::enum_to_string(format_names, f);
}
report_format report_format_from_string(std::string_view s) {
  return detail::enum_from_string(format_names, s, "report_format");
}

std::string render_report(std::span<const run_result> runs, report_format format) {
  switch (format) {
    case report_format::json: {
      if (runs.size() == 1) return nlohmann::json(runs.front()).dump(2) + "\n";
      nlohmann::json j = {{"schema_version", results_schema_version}, {"runs", nlohmann::json::array()}};
      for (const auto& r : runs) j["runs"].push_back(r);
      return j.dump(2) + "\n";
    }
    case report_format::md:
      return render_markdown(runs);
  }
  return {};
}

void print_run_summary(std::FILE* out, const run_result& run, std::string_view run_dir) {
  for (const auto& s : run.suites) {
    fmt::print(out, "{} ({}): {}/{} tasks evaluated, {} samples\n", s.suite, s.source,
               s.tasks_evaluated, s.tasks_total, s.samples);
    for (const auto& m : s.metrics) {
      std::string line = fmt::format("  {:<8} = {}", m.name, format_value(m));
      for (const auto& c : m.cis)
        line += fmt::format("  {:.0f}% CI {} ({})", 100 * c.level, format_ci(c, m.unit), ci_label(c.method));
      fmt::print(out, "{}  n={}\n", line, m.n);
    }
    std::string verdicts;
    for (const auto& [v, count] : s.verdicts) verdicts += fmt::format(" {}={}", v, count);
    fmt::print(out, "  verdicts:{}\n", verdicts);
    if (!s.grading.empty())
      fmt::print(out, "  grading: {}{}\n", s.grading,
                 s.grading_forgeable ? " (FORGEABLE: the program under test can fake its verdict)" : "");
    if (!s.token_sources.empty()) {
      std::string sources;
      for (const auto& [source, count] : s.token_sources) sources += fmt::format(" {}={}", source, count);
      fmt::print(out, "  token counts from:{}\n", sources);
    }
  }
  const auto& e = run.execution;
  fmt::print(out, "  executed {} samples in {:.2f}s ({:.1f}/s), {} resumed from the journal\n",
             e.samples_executed, static_cast<double>(e.wall_ns) / 1e9, e.samples_per_s,
             e.samples_resumed);
  fmt::print(out, "run: {}\n", run_dir);
}

}  // namespace moebench
