#include "moebench/decisions/render.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "moebench/enum_names.h"
#include "moebench/error.h"

namespace moebench::decisions {
namespace {
using namespace std::string_view_literals;

constexpr std::array format_names{
    std::pair{decision_format::text, "text"sv},
    std::pair{decision_format::json, "json"sv},
    std::pair{decision_format::md, "md"sv},
    std::pair{decision_format::junit, "junit"sv},
};

// Markdown table cells: pipes and newlines would break the row.
std::string md_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string gate_change(const metric_comparison& c) {
  if (c.test == comparison_test::none) return "-";
  if (!c.accuracy) return fmt::format("{:+.1f}%", 100 * c.difference);
  if (c.unit == "fraction") return fmt::format("{:+.2f} pts", 100 * c.difference);
  return fmt::format("{:+.4g}", c.difference);
}

std::string gate_ci(const metric_comparison& c) {
  if (!c.ci) return "-";
  if (!c.accuracy) return fmt::format("[{:+.1f}%, {:+.1f}%]", 100 * c.ci->lo, 100 * c.ci->hi);
  if (c.unit == "fraction") return fmt::format("[{:+.2f}, {:+.2f}] pts", 100 * c.ci->lo, 100 * c.ci->hi);
  return fmt::format("[{:+.4g}, {:+.4g}]", c.ci->lo, c.ci->hi);
}

std::string gate_value(const metric_comparison& c, double v) {
  if (c.accuracy && c.unit == "fraction") return fmt::format("{:.2f}%", 100 * v);
  return format_number(v) + (c.unit.empty() || c.unit == "fraction" ? "" : " " + c.unit);
}

struct junit_case {
  std::string classname, name;
  enum { passed, failed, skipped } outcome = passed;
  std::string message, output;
};

std::string junit(std::string_view suite_name, const std::vector<junit_case>& cases) {
  int failures = 0, skipped = 0;
  for (const auto& c : cases) {
    failures += c.outcome == junit_case::failed;
    skipped += c.outcome == junit_case::skipped;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"{0}\" tests=\"{1}\" failures=\"{2}\" skipped=\"{3}\">\n"
                     "  <testsuite name=\"{0}\" tests=\"{1}\" failures=\"{2}\" skipped=\"{3}\" errors=\"0\">\n",
                     xml_escape(suite_name), cases.size(), failures, skipped);
  for (const auto& c : cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\">\n", xml_escape(c.classname), xml_escape(c.name));
    if (c.outcome == junit_case::failed)
      out += fmt::format("      <failure message=\"{}\"/>\n", xml_escape(c.message));
    else if (c.outcome == junit_case::skipped)
      out += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.message));
    if (!c.output.empty()) out += fmt::format("      <system-out>{}</system-out>\n", xml_escape(c.output));
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace

std::string_view to_string(decision_format f) noexcept { return detail::enum_to_string(format_names, f); }

decision_format decision_format_from_string(std::string_view s) {
  for (const auto& [f, name] : format_names)
    if (name == s) return f;
  throw error("cli.bad_value", {"", 0, "--format"}, "expected text, json, md or junit, got '" + std::string(s) + "'");
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') out += ' ';  // not allowed in XML 1.0
        else out += static_cast<char>(c);
    }
  }
  return out;
}

std::string render_gate(const gate_report& r, decision_format f) {
  switch (f) {
    case decision_format::json: return nlohmann::json(r).dump(2) + "\n";
    case decision_format::text: {
      std::string out = fmt::format("gate: {} (exit {})\n", to_string(r.verdict), r.exit_code);
      for (const auto& c : r.comparisons)
        out += fmt::format("  {:<12} {} {}: {}\n", to_string(c.verdict), c.entry, c.metric, c.reason);
      for (const auto& n : r.notes) out += "  note: " + n + "\n";
      return out;
    }
    case decision_format::md: {
      std::string out = fmt::format("### moebench gate: {}\n\n", to_string(r.verdict));
      out += fmt::format("Baseline: {}; candidate: {}; alpha {}, floors {} points (accuracy) and {}% (speed){}.\n\n",
                         fmt::join(r.baseline_runs, ", "), fmt::join(r.candidate_runs, ", "), r.policy.alpha,
                         r.policy.accuracy_floor_points, r.policy.speed_floor_percent,
                         r.policy.holm ? ", Holm-adjusted p-values" : "");
      out += "| verdict | suite | metric | baseline | candidate | change | CI | p (adj.) | test |\n";
      out += "|---|---|---|---|---|---|---|---|---|\n";
      for (const auto& c : r.comparisons)
        out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", to_string(c.verdict), md_cell(c.entry),
                           md_cell(c.metric), gate_value(c, c.baseline_value), gate_value(c, c.candidate_value),
                           gate_change(c), gate_ci(c),
                           c.test == comparison_test::none ? "-" : fmt::format("{:.3g} ({:.3g})", c.p_value, c.p_adjusted),
                           to_string(c.test));
      out += "\n";
      for (const auto& c : r.comparisons)
        out += fmt::format("- **{} {}** {}: {}\n", md_cell(c.entry), md_cell(c.metric), to_string(c.verdict), c.reason);
      if (!r.notes.empty()) {
        out += "\nNotes:\n";
        for (const auto& n : r.notes) out += "- " + n + "\n";
      }
      return out;
    }
    case decision_format::junit: {
      std::vector<junit_case> cases;
      for (const auto& c : r.comparisons) {
        junit_case jc{c.entry, c.metric, junit_case::passed, "", ""};
        jc.output = std::string(to_string(c.verdict)) + ": " + c.reason;
        if (c.verdict == gate_verdict::regression) {
          jc.outcome = junit_case::failed;
          jc.message = jc.output;
        } else if (c.verdict == gate_verdict::inconclusive) {
          jc.outcome = r.policy.fail_on_inconclusive ? junit_case::failed : junit_case::skipped;
          jc.message = jc.output;
        }
        cases.push_back(std::move(jc));
      }
      return junit("moebench gate", cases);
    }
  }
  return {};
}

std::string render_claims(const claims_report& r, decision_format f) {
  switch (f) {
    case decision_format::json: return nlohmann::json(r).dump(2) + "\n";
    case decision_format::text: {
      std::string out = fmt::format("claims: {} ({}): {} PASS, {} FAIL, {} INCONCLUSIVE\n",
                                    r.title.empty() ? r.source : r.title, r.source, r.passed, r.failed, r.inconclusive);
      for (const auto& c : r.claims) {
        out += fmt::format("  {:<12} {}{}\n", to_string(c.verdict), c.spec.claim,
                           c.spec.text.empty() ? "" : "  (" + c.spec.text + ")");
        out += "               " + c.reason + "\n";
        if (!c.needed.empty()) out += "               to decide: " + c.needed + "\n";
      }
      return out;
    }
    case decision_format::md: {
      std::string out = fmt::format("### Claims: {}\n\n{} PASS, {} FAIL, {} INCONCLUSIVE (from {}).\n\n",
                                    md_cell(r.title.empty() ? r.source : r.title), r.passed, r.failed,
                                    r.inconclusive, fmt::join(r.runs, ", "));
      out += "| verdict | claim | expression | reason | to decide |\n|---|---|---|---|---|\n";
      for (const auto& c : r.claims)
        out += fmt::format("| {} | {} | `{}` | {} | {} |\n", to_string(c.verdict), md_cell(c.spec.text),
                           md_cell(c.spec.claim), md_cell(c.reason), md_cell(c.needed));
      return out;
    }
    case decision_format::junit: {
      std::vector<junit_case> cases;
      for (const auto& c : r.claims) {
        junit_case jc{"claims", c.spec.id + ": " + c.spec.claim, junit_case::passed, "", ""};
        jc.output = std::string(to_string(c.verdict)) + ": " + c.reason;
        if (c.verdict == claim_verdict::fail) jc.outcome = junit_case::failed;
        if (c.verdict == claim_verdict::inconclusive) jc.outcome = junit_case::skipped;
        if (jc.outcome != junit_case::passed) jc.message = jc.output + (c.needed.empty() ? "" : "; to decide: " + c.needed);
        cases.push_back(std::move(jc));
      }
      return junit("moebench claims", cases);
    }
  }
  return {};
}

}  // namespace moebench::decisions
