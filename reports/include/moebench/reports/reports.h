#pragma once
// Reporters over the one results model: every format renders run_result values, nothing else.
// docs/reports.md describes what each format shows.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/results.h"

namespace moebench {

enum class report_format { json, md, html, junit };
std::string_view to_string(report_format f) noexcept;
report_format report_format_from_string(std::string_view s);

// A claim's verdict (DESIGN.md section 1: claim check).
enum class claim_verdict { pass, fail, inconclusive };
std::string_view to_string(claim_verdict v) noexcept;  // "PASS", "FAIL", "INCONCLUSIVE"

// One judged claim, as `moebench claims` writes it (docs/reports.md, "Claims file"). The report
// renders verdicts; it never judges a claim itself.
struct claim_result {
  std::string claim;   // "humaneval.pass@1 >= 0.90"
  std::string text;    // the claim as made ("~90% on HumanEval"), "" when not given
  claim_verdict verdict = claim_verdict::inconclusive;
  std::string run;     // run id the claim was judged on ("" = several or none)
  std::string target;  // hardware target, for cost/speed claims
  std::optional<double> observed, lo, hi;  // the figure and its CI bounds, in `unit`
  std::string unit;
  int64_t n = 0;
  std::string kind;    // "measured" | "modelled" | ""
  std::string reason;  // one sentence
  std::string needed;  // INCONCLUSIVE: what would decide it (samples, repetitions)
};

struct claims_file {
  std::string source;  // path, for the report's legend
  std::vector<claim_result> claims;
};

// Reads a claims file. Errors ("claims.bad_json", "claims.missing_field", "claims.bad_value")
// name the file and the field, e.g. claims[2].verdict.
claims_file load_claims(const std::filesystem::path& path);
claims_file parse_claims(std::string_view text, const std::string& source);

struct report_options {
  std::optional<claims_file> claims;  // rendered as the claims table (md, html) or test cases (junit)
  std::string title;                  // "" = "moebench report"
};

// JSON: one run -> its results.json object; several -> {"schema_version", "runs": [...]}.
// Markdown: summary, claims, per-suite tables with CIs, provenance (GitHub-flavoured).
// HTML: one self-contained offline page with charts (the charting library is inlined).
// JUnit XML: each claim a test case; without claims, each suite's validity and metric checks.
std::string render_report(std::span<const run_result> runs, report_format format,
                          const report_options& options = {});

// The console summary printed at the end of `moebench run`.
void print_run_summary(std::FILE* out, const run_result& run, std::string_view run_dir);

}  // namespace moebench
