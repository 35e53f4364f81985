#pragma once
// `moebench gate`: did a candidate run regress against a baseline? (docs/gates.md)
//
// Accuracy is compared on the same items (per-item values of a metric, per_task[item][metric]):
// McNemar's exact test when every item is one pass/fail outcome per side, a paired bootstrap
// over items otherwise (pass@k from several samples, scores). Speed and other measured figures
// without items are compared over repetitions (one value per run, several runs per side) with
// the Mann-Whitney U test and the Hodges-Lehmann ratio with its Moses interval; fewer than
// `min_repetitions` per side is INCONCLUSIVE with the number needed.
//
// Per metric, with the difference oriented so that positive is better and a floor f >= 0 (the
// policy's practical significance):
//   REGRESSION   significant (Holm-adjusted p < alpha) and worse by at least f
//   IMPROVEMENT  significant and better by at least f
//   PASS         otherwise, when the (1 - alpha) interval excludes a loss of f
//   INCONCLUSIVE otherwise, with the items or repetitions that would decide
// The gate's verdict: REGRESSION if any, else INCONCLUSIVE if any, else IMPROVEMENT if any,
// else PASS.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/decisions/run_view.h"
#include "moebench/stats.h"

namespace moebench::decisions {

enum class gate_verdict { pass, regression, improvement, inconclusive };
std::string_view to_string(gate_verdict v) noexcept;  // "PASS", "REGRESSION", ...

enum class comparison_test { mcnemar_exact, paired_bootstrap, mann_whitney, none };
std::string_view to_string(comparison_test t) noexcept;

// Per-metric policy; unset fields take the policy's defaults.
struct metric_rule {
  std::string pattern;                    // "humaneval.pass@1", "throughput.*_ms"
  std::optional<bool> gate;               // false: leave the metric out
  std::optional<double> floor_points;     // accuracy: absolute floor (points of a fraction)
  std::optional<double> floor_percent;    // speed: relative floor
  std::optional<bool> higher_is_better;   // direction, for units without one
};

struct gate_policy {
  double alpha = 0.05;
  double power = 0.8;                 // for the items/repetitions needed
  double accuracy_floor_points = 1.0; // 1 point = 0.01 of a fraction; the unit itself otherwise
  double speed_floor_percent = 3.0;
  int64_t min_repetitions = 9;
  bool fail_on_inconclusive = false;
  bool holm = true;                   // Holm's correction over the gated metrics
  int64_t bootstrap_resamples = 10000;
  uint64_t seed = 0;                  // the named seed "gate_bootstrap" derives from it
  std::vector<metric_rule> metrics;   // first match wins
  std::vector<std::string> exclude = {"*.duration_s", "*.queue_delay_ms"};
};
// Reads a policy file; unknown fields and bad values are errors naming the field
// ("gate.policy").
gate_policy load_gate_policy(const std::filesystem::path& path);
gate_policy parse_gate_policy(std::string_view text, const std::string& source);
void to_json(nlohmann::json& j, const gate_policy& p);

struct metric_comparison {
  std::string entry;        // entry label, e.g. "humaneval" or "throughput (offline)"
  std::string metric;       // "pass@1"
  std::string unit;
  bool accuracy = true;     // paired items (true) or repetitions (false)
  bool higher_is_better = true;
  comparison_test test = comparison_test::none;
  int64_t n_baseline = 0;   // items or repetitions
  int64_t n_candidate = 0;
  double baseline_value = 0;   // mean over items, or median over repetitions
  double candidate_value = 0;
  // candidate - baseline in the metric's unit (accuracy), or candidate / baseline - 1 (speed)
  double difference = 0;
  std::optional<interval> ci;  // of `difference`, at 1 - alpha
  double p_value = 1;
  double p_adjusted = 1;
  double floor = 0;            // in the units of `difference`
  gate_verdict verdict = gate_verdict::inconclusive;
  std::string reason;
  std::optional<int64_t> needed;  // INCONCLUSIVE: items (accuracy) or repetitions per side (speed)
  nlohmann::json details = nlohmann::json::object();  // the test's own figures
};

struct gate_report {
  gate_verdict verdict = gate_verdict::pass;
  std::vector<metric_comparison> comparisons;
  std::vector<std::string> notes;        // forced differences, unpaired items, skipped metrics
  std::vector<std::string> differences;  // what differs between the runs (empty = comparable)
  std::vector<std::string> baseline_runs, candidate_runs;
  gate_policy policy;
  uint64_t bootstrap_seed = 0;
  int exit_code = 0;                     // 0, or 1 on REGRESSION (and INCONCLUSIVE per policy)
};
void to_json(nlohmann::json& j, const metric_comparison& c);
void to_json(nlohmann::json& j, const gate_report& r);

// What differs between two runs that a comparison needs equal: suite content hashes, grading
// mode, effective settings (the model, seeds and problem file paths excepted). One sentence
// each; `a_name`/`b_name` label the sides.
std::vector<std::string> comparability_differences(const run_result& a, const run_result& b,
                                                   std::string_view a_name, std::string_view b_name,
                                                   bool same_model);

// Compares the runs. Without `force`, differences between them are error "gate.incomparable"
// listing each; with it they become notes. Both sides need at least one run.
gate_report run_gate(const std::vector<loaded_run>& baseline, const std::vector<loaded_run>& candidate,
                     const gate_policy& policy, bool force);

}  // namespace moebench::decisions
