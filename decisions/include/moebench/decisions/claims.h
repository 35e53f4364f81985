#pragma once
// `moebench claims`: does a claim hold, judging from runs? (docs/claims.md)
//
// A claims file is JSON: {"title", "sources": {key: citation}, "claims": [{"id", "text",
// "claim", "source", "model", "note"}]}, where `claim` (the only required field) follows
//
//   claim   := lhs op number | lhs "in" "[" number "," number "]"
//   lhs     := ref [ "on" target ] | "ratio(" ref "," target "," target ")"
//   ref     := suite "." metric | "model." fact | metric
//   op      := ">=" | ">" | "<=" | "<" | "=="
//   number  := decimal with optional exponent, optionally followed by "%" (divides by 100)
//
// e.g. `humaneval.pass@1 >= 0.90`, `cost.usd_per_mtok_input <= 0.30 on ascend-910c`,
// `ratio(cost.decode_tok_s_per_device, ascend-910c, h100) >= 0.60`,
// `model.experts_per_token == 16`. Lookup is generic over results.json: any suite name, any
// metric name (a metric "x" also designates its tiers "x[tier]"), the entry's target
// (per_task.target or settings_effective.target; "h100" designates "h100-sxm"). Model facts come
// from the run's model details (GGUF facts, or a cost run's model config figures).
//
// Verdicts: PASS when the figure's confidence interval lies inside the claimed region, FAIL
// when it lies outside, INCONCLUSIVE otherwise (with the units that would decide it, a power
// estimate) or when no run holds the figure. Modelled figures and model facts have no interval:
// they are judged by their value and the verdict says what it rests on. A measured figure
// without an interval is judged over repetitions (several runs: the median's order-statistic
// interval) or is INCONCLUSIVE.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/decisions/run_view.h"
#include "moebench/error.h"

namespace moebench::decisions {

enum class claim_verdict { pass, fail, inconclusive };
std::string_view to_string(claim_verdict v) noexcept;  // "PASS", "FAIL", "INCONCLUSIVE"

enum class claim_op { ge, gt, le, lt, eq, in };
std::string_view to_string(claim_op op) noexcept;  // ">=", ..., "in"

// A parsed claim expression.
struct claim_expr {
  bool is_ratio = false;
  std::string suite;    // "" for model facts and suite-less metrics
  std::string metric;   // metric name, or the fact's name when model_fact
  bool model_fact = false;
  std::string target;   // "on <target>", or the ratio's numerator target
  std::string target2;  // the ratio's denominator target
  claim_op op = claim_op::ge;
  double threshold = 0;   // op != in
  double lo = 0, hi = 0;  // op == in
  std::string text() const;  // canonical text of the expression
};
// Throws error "claims.syntax" naming `where` (file, field) and the position in the text.
claim_expr parse_claim(std::string_view text, const input_location& where);

struct claim_spec {
  std::string id;
  std::string text;    // the claim in words ("~90% on HumanEval")
  std::string claim;   // the expression
  std::string source;  // key into the file's sources
  std::string model;   // only runs of this model (substring of the model's name or id); "" = all
  std::string note;
  claim_expr expr;
};
struct claims_spec {
  std::string path;
  std::string title;
  nlohmann::json sources = nlohmann::json::object();
  std::vector<claim_spec> claims;
};
// Errors ("claims.bad_json", "claims.missing_field", "claims.bad_value", "claims.syntax") name
// the file and field, e.g. claims[2].claim.
claims_spec load_claims_spec(const std::filesystem::path& path);
claims_spec parse_claims_spec(std::string_view text, const std::string& path);

// One figure a claim was judged on.
struct judged_figure {
  std::string run;     // run id
  std::string label;   // "humaneval pass@1", "cost (h100-sxm) usd_per_mtok_input[inferencex-rental]"
  std::string target;
  double value = 0;
  std::optional<interval> ci;
  std::string ci_method;  // "bootstrap_tasks", "median over 9 repetitions", ...
  std::string unit;
  int64_t n = 0;
  std::string kind;    // "measured", "modelled", "declared" (model facts)
  std::string basis;   // what a modelled figure rests on, where a declared figure comes from
  claim_verdict verdict = claim_verdict::inconclusive;
  std::string reason;
  std::optional<int64_t> needed;  // units that would decide (INCONCLUSIVE with an interval)
  // False for a model config figure flagged "estimate": it restates a claim and cannot decide
  // one. Such figures are listed but do not count towards the claim's verdict.
  bool evidence = true;
};

struct judged_claim {
  claim_spec spec;
  claim_verdict verdict = claim_verdict::inconclusive;
  std::string reason;
  std::string needed;  // what would decide it, in words ("" when decided)
  std::vector<judged_figure> figures;
};

struct claims_report {
  std::string source;  // the claims file
  std::string title;
  nlohmann::json sources = nlohmann::json::object();
  std::vector<std::string> runs;
  std::vector<judged_claim> claims;
  int64_t passed = 0, failed = 0, inconclusive = 0;
};
// The judged-claims file: {"schema_version", "source", "title", "runs", "claims": [{"id",
// "text", "claim", "verdict", "run", "target", "observed": {value, lo, hi, unit, n, kind},
// "reason", "needed", "basis", "figures": [...]}], "summary"}; the format `moebench report
// --claims` reads.
void to_json(nlohmann::json& j, const claims_report& r);

struct claims_options {
  double level = 0.95;  // for repetition intervals and the units needed
  double power = 0.8;
};
claims_report judge_claims(const claims_spec& spec, const std::vector<loaded_run>& runs,
                           const claims_options& options = {});

}  // namespace moebench::decisions
