#pragma once
// What every reporter (Markdown, HTML, JUnit) reads out of run_result values: suite kinds,
// headline figures, throughput levels, cost rows with their sources, routing telemetry, cost
// per solved task, provenance. Derived only from the results model; no reporter reads files.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/results.h"

namespace moebench::report_detail {

// Suites the report has a dedicated view for; everything else gets the generic metric table.
enum class suite_kind { humaneval, throughput, cost, longctx, other };
suite_kind kind_of(const suite_result& s);
std::string_view to_string(suite_kind k) noexcept;

// Display formatting: fractions as percentages, other units after the value.
std::string format_number(double value, std::string_view unit);
std::string format_value(const metric& m);
std::string format_ci(const confidence_interval& c, const std::string& unit);
std::string ci_label(const std::string& method);
// "12.3 ms (p50 11.0, p90 15.2, p99 20.1, n 200)" for metrics with a distribution.
std::string format_distribution(const metric& m);

const metric* find_metric(const suite_result& s, std::string_view name);
std::string model_label(const run_result& r);
// Where the run executed: settings_effective.target (throughput), "" when not recorded.
std::string run_target(const run_result& r);
// "split" | "inprocess" | "" (not recorded: runs from before split grading existed).
std::string grading_mode(const run_result& r);

// A figure for the summary table.
struct headline {
  const run_result* run = nullptr;
  const suite_result* suite = nullptr;
  std::string scope;  // e.g. "sweep concurrency=4 (peak output)", "h200", "" for the whole suite
  const metric* figure = nullptr;
};
std::vector<headline> headlines(std::span<const run_result> runs);

// One level of a throughput run (a scenario, or one point of a sweep).
struct throughput_level {
  const suite_result* suite = nullptr;
  std::string scenario;
  std::string label;  // "concurrency=4", "rate=2/s", or the suite's source
  double order = 0;   // concurrency or rate, for sorting and curves
  bool saturated = false;
};
std::vector<throughput_level> throughput_levels(const run_result& r);

// A hardware figure behind a modelled number, with its citation.
struct sourced_figure {
  std::string name;  // "memory_bw_gbs", "price[inferencex-rental].usd_per_hour"
  double value = 0;
  std::string source_key, source_text, flag, confidence, note;
};

// One cost/energy row: a modelled target of a cost run, a measured row, or a priced
// throughput level.
struct cost_price {
  std::string basis;  // input | output | total
  std::string tier;
  const metric* figure = nullptr;
};
struct cost_row {
  const run_result* run = nullptr;
  const suite_result* suite = nullptr;
  std::string target;       // id
  std::string target_name;  // display name ("" when not recorded)
  figure_kind kind = figure_kind::measured;
  std::string scope;        // level label for throughput rows, "" for cost rows
  std::vector<cost_price> prices;
  std::vector<const metric*> energy;  // j_per_*_token_{tdp,rapl}, power_w_*
  const metric* rate = nullptr;       // decode_tok_s (modelled) or output_tok_s (measured)
  std::string calibration;            // where the efficiency came from (modelled rows)
  std::string model;                  // model config or measured model
  std::vector<std::string> notes;
  std::vector<sourced_figure> sources;  // target figures and prices with their citations
};
std::vector<cost_row> cost_rows(const run_result& r);
// A row's price tiers in order ({""} when it has no price), and one price (nullptr if absent).
std::vector<std::string> price_tiers(const cost_row& c);
const metric* price_of(const cost_row& c, std::string_view tier, std::string_view basis);

// Routing telemetry of the in-process engine (model.telemetry), one entry per MoE layer.
struct expert_layer {
  int64_t layer = 0;
  std::vector<int64_t> hits;
  double imbalance = 0;
  double load_entropy_bits = 0;
};
struct expert_load {
  std::vector<expert_layer> layers;
  double mean_imbalance = 0, mean_gate_entropy_bits = 0;
  int64_t routed_tokens = 0, samples = 0, prompt_tokens = 0, completion_tokens = 0;
  int64_t near_ties = 0, decisions = 0;
};
std::optional<expert_load> expert_load_of(const run_result& r);

// Expected cost of one solved task: the accuracy run's mean tokens per sample priced at a
// cost row's $/M input and output, divided by pass@1 (attempts per solve), with the bounds
// that pass@1's CI gives.
struct solved_task_cost {
  const run_result* accuracy_run = nullptr;
  const suite_result* accuracy = nullptr;
  const cost_row* cost = nullptr;
  std::string tier;
  double input_tokens_per_sample = 0, output_tokens_per_sample = 0;
  double usd_per_sample = 0;
  double pass1 = 0, pass1_lo = 0, pass1_hi = 0;
  std::optional<double> usd_per_solved, usd_lo, usd_hi;  // empty: no task solved (unbounded)
};
std::vector<solved_task_cost> solved_task_costs(std::span<const run_result> runs,
                                                std::span<const cost_row> costs);

// "$0.0123" or "unbounded: no task solved"; its range "[lo, hi]" with "inf" for an open end.
std::string solved_usd_text(const solved_task_cost& x);
std::string solved_range_text(const solved_task_cost& x);

// Per-task outcome counts of a pass@k suite: tasks every sample solved, some, none.
struct task_split {
  int64_t all = 0, some = 0, none = 0;
};
std::optional<task_split> task_split_of(const suite_result& s);

// Long-context results (suite "longctx", per_task.buckets and per_task.lengths): one bucket
// (task x length, with a depth for needle_grid cells) or one length over every task.
struct longctx_cell {
  int64_t length = 0;           // tokens, chat template included
  std::optional<double> depth;  // percent; needle_grid buckets only
  double score = 0;             // 0..100
  std::optional<double> lo, hi; // 95% CI
  int64_t n = 0;
  std::string task;             // "" for a length over every task
  bool scored = true;           // false: too few prompts landed in range (why_not_scored)
  std::string why_not_scored;
  std::optional<double> prefill_tok_s, kv_bytes, peak_rss_bytes;
};
std::vector<longctx_cell> longctx_buckets(const suite_result& s);
std::vector<longctx_cell> longctx_lengths(const suite_result& s);

// Text for XML and HTML: & < > " ' escaped; control characters XML 1.0 forbids become spaces.
std::string xml_escape(std::string_view s);

// Infrastructure verdicts never count against the model (docs/results-schema.md).
bool is_infrastructure_verdict(std::string_view verdict);

}  // namespace moebench::report_detail
