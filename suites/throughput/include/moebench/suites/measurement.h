#pragma once
// What the measurement suites (throughput, and cost's measured rows) share: their options and
// settings, targets, the measurement of one scenario level with its cost, energy and decode
// bandwidth figures, and the journal record of a query. Internal to suites/throughput and
// suites/cost.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/results.h"
#include "moebench/runner.h"
#include "moebench/suite_registry.h"
#include "moebench/suites/throughput.h"
#include "moebench/targets/targets.h"

namespace moebench::throughput {

// The options of throughput and cost (both suites declare all of them, as they always have).
struct measurement_request {
  std::string scenario = "server";
  double rate = 1.0;               // server: queries per second
  std::string slo;                 // "ttft=2000ms,tpot=80ms"
  std::string target;              // throughput: one target (default cpu); cost: a list
  std::string input_len = "128";   // N | uniform:LO..HI
  std::string output_len = "128";
  std::string lengths;             // JSONL of {input_tokens, output_tokens}
  std::string tokenizer;           // GGUF whose tokenizer makes prompt lengths exact
  int64_t queries = 0;             // 0 = enough for the minimums
  double min_duration_s = 60;
  int64_t min_queries = 100;
  int64_t max_concurrency = 64;    // sweep
  int64_t threads = 0;             // CPU target: 0 = every hardware thread
  std::string model_config;        // cost: built-in id or JSON file
  int64_t batch = 64;              // cost: decode batch per replica
  int64_t context = 4096;          // cost: context length
  int64_t devices = 0;             // cost: 0 = fewest that hold the model
  std::vector<std::string> prices; // TARGET=USD per device-hour
  std::vector<std::string> tdp;    // TARGET=WATTS per device
  double efficiency = 1.0;         // cost: achieved fraction of the roofline
  std::string efficiency_source;
  std::string calibrate_from;      // cost: a throughput run directory
};
void to_json(nlohmann::json& j, const measurement_request& r);
void from_json(const nlohmann::json& j, measurement_request& r);

// The settings around the model, as settings_requested records them beside the request.
struct measurement_common {
  std::string suite;
  std::string model;
  bool model_given = false;
  uint64_t seed = 0;
  double temperature = 0;
  std::string api_key_env;                    // openai: the variable's name only
  std::optional<uint64_t> seed_retry_jitter;  // openai: override of the derived seed
};

std::vector<suite_option> measurement_options();
measurement_common common_of(const std::string& suite, const run_context& ctx, const suite_args& a);
measurement_request request_of(const run_context& ctx, const suite_args& a);
// settings_requested of run.json: the request with the common fields beside it; --resume
// rebuilds both from it (error "run.bad_run_json" naming `file`).
nlohmann::json requested_json(const measurement_common& c, const measurement_request& r);
void from_requested_json(const nlohmann::json& requested, const std::string& file, measurement_common& c,
                         measurement_request& r);

// TARGET=NUMBER items of --price / --tdp-w (error "cli.bad_value" naming `flag`).
std::map<std::string, double> parse_assignments(const std::vector<std::string>& items, const char* flag);
std::optional<double> lookup(const std::map<std::string, double>& m, const std::string& a, const std::string& b);

struct resolved_target {
  targets::hardware_target target;
  int64_t devices = 1;
};
// "cpu" probes this host; "NAME[:COUNT]" is a modelled target's figures for COUNT devices
// (an openai: endpoint's declared hardware). --price/--tdp-w add to or replace the figures.
resolved_target resolve_target(const std::string& name, const measurement_request& r);

metric plain_metric(std::string name, double value, std::string unit, int64_t n, figure_kind kind);
const metric* find_metric(const std::vector<metric>& ms, std::string_view name);
// $/M tokens per price tier and J/token, from token rates (measured or modelled).
void add_cost_metrics(std::vector<metric>& out, const targets::hardware_target& t, int64_t devices,
                      double input_tok_s, double output_tok_s, double total_tok_s, int64_t n, figure_kind kind,
                      std::optional<double> measured_watts);

struct workload {
  length_distribution input, output;
};
workload read_workload(const measurement_request& r);
double mean_tokens(const length_distribution& d);

// Exact prompt lengths need the model's tokenizer: --tokenizer GGUF, or the gguf: model's own
// file. Without one, the word synthesiser's lengths are approximate (and recorded as such).
prompt_synthesizer make_synthesizer(const measurement_common& c, const measurement_request& r);

// Builds --model's runner. A remote (openai:) model also gets its API key, the named seed of its
// retry jitter (added to `seeds`) and --tokenizer to count tokens the server does not report.
std::unique_ptr<runner> make_measured_runner(const run_context& ctx, const measurement_common& c,
                                             const measurement_request& r, std::map<std::string, uint64_t>& seeds);

// What the model says a decode step reads, for the bandwidth calibration. Known for the
// in-process engine only.
struct decode_model {
  std::optional<decode_traffic> traffic;
  std::string basis;  // how the bytes were counted, or why there are none
};
decode_model decode_model_of(const measurement_common& c, const runner_info& info);

struct measured_level {
  suite_result result;
  std::vector<query_record> records;
  int64_t start_ns = 0;
};
// Runs one scenario level and turns it into a suite_result with cost, energy and (for the
// engine) the achieved decode bandwidth as a fraction of the target's memory roof.
measured_level measure_level(runner& model, const std::vector<query>& queries, const issue_options& io, const slo& s,
                             const validity_rules& rules, const resolved_target& rt, const decode_model& dm,
                             const std::string& source, nlohmann::json per_task);

// The run_result of a measurement run: the header from run.json, `suites`, and this
// invocation's wall time since start_ns with `samples` executed.
run_result measured_run_result(const nlohmann::json& run_json, std::vector<suite_result> suites, int64_t start_ns,
                               int64_t samples);

// The journal record of one query of level `level`.
nlohmann::json record_json(const query_record& q, int64_t start_ns, const std::string& level);

}  // namespace moebench::throughput
