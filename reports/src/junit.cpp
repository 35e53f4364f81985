// JUnit XML for CI test pages: each claim is a test case (FAIL -> failure, INCONCLUSIVE ->
// skipped); each suite of each run adds its own checks (validity, coverage, infrastructure
// failures, well-formed figures), so a CI page shows an unusable run as red.
#include <cmath>

#include <fmt/core.h>

#include "reporters.h"
#include "view.h"

namespace moebench::report_detail {
namespace {

enum class case_outcome { passed, failed, skipped };

struct test_case {
  std::string name;
  case_outcome outcome = case_outcome::passed;
  std::string message;  // failure or skip reason
  std::string output;   // system-out: the figures behind the check
};

struct test_suite {
  std::string name;
  std::vector<test_case> cases;
};

// A figure is well formed when it is finite, its n is positive and each CI brackets it.
test_case metric_case(const metric& m) {
  test_case t{m.name, case_outcome::passed, "", ""};
  t.output = fmt::format("{} = {}", m.name, format_distribution(m));
  for (const auto& ci : m.cis)
    t.output += fmt::format("; {:.0f}% CI {} ({})", 100 * ci.level, format_ci(ci, m.unit), ci_label(ci.method));
  t.output += fmt::format("; n = {}; {}", m.n, to_string(m.kind));
  std::string problem;
  if (!std::isfinite(m.value)) problem = "value is not finite";
  else if (m.n <= 0) problem = "no units aggregated (n = 0)";
  for (const auto& ci : m.cis) {
    const double slack = 1e-9 * std::max(1.0, std::fabs(m.value));
    if (problem.empty() && (ci.lo > m.value + slack || ci.hi < m.value - slack))
      problem = fmt::format("{} CI {} does not contain the value", ci_label(ci.method), format_ci(ci, m.unit));
  }
  if (!problem.empty()) {
    t.outcome = case_outcome::failed;
    t.message = problem;
  }
  return t;
}

test_suite suite_cases(const run_result& r, const suite_result& s, const std::string& label) {
  test_suite ts{r.run_id + "/" + label, {}};
  if (s.validity) {
    test_case t{"validity", s.validity->valid ? case_outcome::passed : case_outcome::failed, "", ""};
    std::string reasons;
    for (const auto& reason : s.validity->reasons) reasons += (reasons.empty() ? "" : " ") + reason;
    t.message = "INVALID: " + reasons;
    t.output = s.validity->valid ? "VALID" : t.message;
    ts.cases.push_back(std::move(t));
  }
  if (kind_of(s) != suite_kind::cost && kind_of(s) != suite_kind::throughput) {
    test_case t{"all tasks evaluated", case_outcome::passed, "", ""};
    t.output = fmt::format("{} of {} tasks evaluated, {} samples scored", s.tasks_evaluated, s.tasks_total, s.samples);
    if (s.tasks_evaluated < s.tasks_total) {
      t.outcome = case_outcome::failed;
      t.message = fmt::format("only {} of {} tasks have a scored sample", s.tasks_evaluated, s.tasks_total);
    }
    ts.cases.push_back(std::move(t));
    int64_t infra = 0;
    std::string which;
    for (const auto& [v, n] : s.verdicts)
      if (is_infrastructure_verdict(v) && n > 0) {
        infra += n;
        which += fmt::format("{}{}={}", which.empty() ? "" : ", ", v, n);
      }
    test_case u{"no infrastructure failures", case_outcome::passed, "", which.empty() ? "none" : which};
    if (infra > 0) {
      u.outcome = case_outcome::failed;
      u.message = fmt::format("{} samples were not scored because of the infrastructure ({})", infra, which);
    }
    ts.cases.push_back(std::move(u));
  }
  for (const auto& m : s.metrics) ts.cases.push_back(metric_case(m));
  return ts;
}

}  // namespace

std::string render_junit(std::span<const run_result> runs, const report_options& options) {
  std::vector<test_suite> suites;
  if (options.claims) {
    test_suite ts{"claims", {}};
    for (const auto& c : options.claims->claims) {
      test_case t{c.claim, case_outcome::passed, "", ""};
      std::string observed;
      if (c.observed) observed = "observed " + format_number(*c.observed, c.unit);
      if (c.lo && c.hi) observed += fmt::format(" [{}, {}]", format_number(*c.lo, c.unit), format_number(*c.hi, c.unit));
      if (c.n > 0) observed += fmt::format(" n={}", c.n);
      if (!c.kind.empty()) observed += " (" + c.kind + ")";
      t.output = fmt::format("{}: {}{}{}", to_string(c.verdict), observed, c.reason.empty() ? "" : ". ", c.reason);
      if (!c.needed.empty()) t.output += " Needed: " + c.needed;
      switch (c.verdict) {
        case claim_verdict::pass: break;
        case claim_verdict::fail:
          t.outcome = case_outcome::failed;
          t.message = "FAIL: " + c.reason;
          break;
        case claim_verdict::inconclusive:
          t.outcome = case_outcome::skipped;
          t.message = "INCONCLUSIVE: " + c.reason + (c.needed.empty() ? "" : " Needed: " + c.needed);
          break;
      }
      ts.cases.push_back(std::move(t));
    }
    suites.push_back(std::move(ts));
  }
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      std::string label = s.suite;
      if (kind_of(s) == suite_kind::throughput || kind_of(s) == suite_kind::cost) label += " " + s.source;
      suites.push_back(suite_cases(r, s, label));
    }

  int64_t tests = 0, failures = 0, skipped = 0;
  std::string body;
  for (const auto& ts : suites) {
    int64_t f = 0, sk = 0;
    for (const auto& c : ts.cases) {
      f += c.outcome == case_outcome::failed;
      sk += c.outcome == case_outcome::skipped;
    }
    tests += static_cast<int64_t>(ts.cases.size());
    failures += f;
    skipped += sk;
    body += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                        xml_escape(ts.name), ts.cases.size(), f, sk);
    for (const auto& c : ts.cases) {
      body += fmt::format("    <testcase classname=\"{}\" name=\"{}\">\n", xml_escape(ts.name), xml_escape(c.name));
      if (c.outcome == case_outcome::failed)
        body += fmt::format("      <failure message=\"{}\"/>\n", xml_escape(c.message));
      else if (c.outcome == case_outcome::skipped)
        body += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.message));
      if (!c.output.empty()) body += fmt::format("      <system-out>{}</system-out>\n", xml_escape(c.output));
      body += "    </testcase>\n";
    }
    body += "  </testsuite>\n";
  }
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" "
                     "errors=\"0\" skipped=\"{}\">\n{}</testsuites>\n",
                     xml_escape(options.title.empty() ? "moebench" : options.title), tests, failures, skipped, body);
}

}  // namespace moebench::report_detail
