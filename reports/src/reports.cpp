#include "moebench/reports/reports.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "moebench/enum_names.h"
#include "reporters.h"
#include "view.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;
constexpr std::array format_names{
    std::pair{report_format::json, "json"sv},
    std::pair{report_format::md, "md"sv},
    std::pair{report_format::html, "html"sv},
    std::pair{report_format::junit, "junit"sv},
};

}  // namespace

std::string_view to_string(report_format f) noexcept {
  return detail::enum_to_string(format_names, f);
}
report_format report_format_from_string(std::string_view s) {
  return detail::enum_from_string(format_names, s, "report_format");
}

std::string render_report(std::span<const run_result> runs, report_format format, const report_options& options) {
  switch (format) {
    case report_format::json: {
      if (runs.size() == 1) return nlohmann::json(runs.front()).dump(2) + "\n";
      nlohmann::json j = {{"schema_version", results_schema_version}, {"runs", nlohmann::json::array()}};
      for (const auto& r : runs) j["runs"].push_back(r);
      return j.dump(2) + "\n";
    }
    case report_format::md:
      return report_detail::render_markdown(runs, options);
    case report_format::html:
      return report_detail::render_html(runs, options);
    case report_format::junit:
      return report_detail::render_junit(runs, options);
  }
  return {};
}

void print_run_summary(std::FILE* out, const run_result& run, std::string_view run_dir) {
  using report_detail::ci_label;
  using report_detail::format_ci;
  using report_detail::format_value;
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
