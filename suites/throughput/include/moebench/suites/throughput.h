#pragma once
// The throughput suite: MLPerf-LoadGen-style scenarios over any runner. Like LoadGen, it knows
// nothing of models, transports or scores: it plans queries (lengths, prompts, arrival times)
// up front from named seeds, issues them from one thread, takes every timestamp itself and
// computes latency from each query's SCHEDULED time, so that a client (or runner) that falls
// behind cannot hide the queueing it causes (coordinated omission).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/results.h"
#include "moebench/runner.h"

namespace moebench::throughput {

enum class scenario {
  offline,        // every query at time zero, in one submit()
  server,         // Poisson arrivals at a target rate
  single_stream,  // one query at a time: the next is issued when the previous completes
  sweep,          // closed loop at concurrency 1, 2, 4, ... until throughput saturates
};
std::string_view to_string(scenario s) noexcept;
scenario scenario_from_string(std::string_view s);

// A distribution of token counts: "128" (fixed), "uniform:64..256" (inclusive), or a dataset
// of observed counts (lengths file).
struct length_distribution {
  enum class kind { fixed, uniform, dataset };
  kind k = kind::fixed;
  int64_t lo = 0, hi = 0;
  std::vector<int64_t> values;  // dataset
  std::string describe() const;
};
length_distribution parse_length(std::string_view text, const std::string& flag);

// A lengths dataset: JSONL, one object per line with integer "input_tokens" and
// "output_tokens" (>= 1). Blank lines are skipped; errors name file:line:field.
struct length_pairs {
  std::vector<int64_t> input, output;
};
length_pairs parse_lengths_jsonl(std::string_view content, const std::string& file);

// Poisson arrivals: exponential gaps with mean 1/rate, from `seed`, as offsets from the start
// in ns. Deterministic for (rate, count, seed) on every platform (moebench::rng).
std::vector<int64_t> poisson_schedule_ns(double rate_per_s, int64_t count, uint64_t seed);

// Builds a prompt of about `tokens` tokens. `exact` says whether the count is exact (a
// tokenizer-backed synthesiser) or approximate (the built-in word synthesiser).
struct prompt_synthesizer {
  std::function<std::string(int64_t tokens, uint64_t seed)> make;
  bool exact = false;
  std::string name;
};
// Words that are one token each in common BPE vocabularies (leading space included); exact
// only up to the tokenizer. A runner with a tokenizer should supply its own synthesiser.
prompt_synthesizer word_synthesizer();
// Exact lengths: the same words, added or removed until `count_tokens` (the model's tokenizer,
// special tokens included as the model adds them) says the prompt has exactly the asked count.
// Error "throughput.prompt_length" when a tokenizer cannot be brought to the count.
prompt_synthesizer counting_synthesizer(std::function<int64_t(std::string_view)> count_tokens, std::string name);

struct query {
  int64_t index = 0;
  int64_t input_tokens = 0;   // target
  int64_t output_tokens = 0;  // target (max_tokens)
  std::string prompt;
};

struct plan_options {
  int64_t count = 100;
  length_distribution input, output;
  uint64_t lengths_seed = 0, prompts_seed = 0;
};
std::vector<query> plan_queries(const plan_options& o, const prompt_synthesizer& synth);

// The clock the load generator reads and sleeps on. The real one is moebench::now_ns(); tests
// substitute a virtual clock so that schedules and stalls are exact, not timed.
class load_clock {
 public:
  virtual ~load_clock() = default;
  virtual int64_t now_ns() = 0;
  virtual void sleep_until_ns(int64_t t_ns) = 0;
};
load_clock& steady_load_clock();

// What happened to one query; all times in ns on the load clock.
struct query_record {
  int64_t index = 0;
  int64_t scheduled_ns = 0;    // when it should have been issued
  int64_t issued_ns = 0;       // when submit() was called for it
  int64_t first_chunk_ns = -1; // -1: nothing streamed
  int64_t complete_ns = -1;
  std::vector<int64_t> chunk_ns;      // arrival of every chunk
  std::vector<int64_t> chunk_tokens;  // tokens in each chunk
  int64_t input_tokens = 0;   // runner-reported when known, else the target
  bool input_tokens_reported = false;
  int64_t output_tokens = 0;  // runner-reported, else the sum of chunk tokens
  token_count_source token_source = token_count_source::none;  // as the runner reported it
  outcome status = outcome::ok;
  finish_reason finish = finish_reason::stop;
  std::string error;
};

struct issue_options {
  scenario mode = scenario::offline;
  std::vector<int64_t> arrivals_ns;  // server: one offset per query
  int64_t concurrency = 1;           // single_stream / sweep level
  generation_params generation;      // max_tokens is set per query
};

struct issue_result {
  int64_t start_ns = 0;              // time zero of the schedule
  std::vector<query_record> records; // in query order
};
// Runs the queries against the runner, calling submit() from this thread only, and blocks
// until every query completed.
issue_result issue(runner& r, const std::vector<query>& queries, const issue_options& o,
                   load_clock& clock);

// Service-level objectives: "ttft=2000ms,tpot=80ms[,e2el=30s]".
struct slo {
  std::optional<double> ttft_ms, tpot_ms, e2el_ms;
  bool empty() const { return !ttft_ms && !tpot_ms && !e2el_ms; }
  std::string describe() const;
};
slo parse_slo(std::string_view text);

struct validity_rules {
  int64_t min_duration_ns = 0;
  int64_t min_queries = 0;
};

// Per-query derived latencies (ms), for the journal and the tests.
struct query_latency {
  double ttft_ms = 0, e2el_ms = 0;                    // from the scheduled time
  double ttft_from_send_ms = 0, e2el_from_send_ms = 0;// from submit()
  double queue_delay_ms = 0;                          // issued - scheduled
  std::optional<double> tpot_ms;                      // output_tokens > 1 only
  bool ok = false;
  bool meets_slo = false;
};
query_latency latency_of(const query_record& q, const slo& s);

struct scenario_result {
  std::vector<metric> metrics;
  run_validity validity;
  int64_t ok = 0, failed = 0;
  double duration_s = 0;
};
// Every figure of DESIGN.md section 5 / HARDWARE_AND_METRICS.md (a), from the records.
// `start_ns` is the load generator's time zero.
scenario_result compute_metrics(const std::vector<query_record>& records, int64_t start_ns,
                                const slo& s, const validity_rules& rules, scenario mode);

// Achieved decode memory bandwidth: what a measured run says about the fraction of a memory
// roof a runner reaches. Decode time and token counts come from the load generator's own
// timestamps (per query: complete - first chunk for output_tokens - 1 tokens, the TPOT
// definition); the bytes per decoded token come from the model: its active weight bytes plus
// the KV cache read at the context each decode step sees. Meaningful as a bandwidth only when
// decode steps carry one sequence (a runner that serves requests one at a time, or
// concurrency 1): the caller decides.
struct decode_traffic {
  double weight_bytes_per_token = 0;      // weights read per decode step
  double kv_bytes_per_context_token = 0;  // KV cache bytes read per token of context
};
struct decode_bandwidth {
  int64_t queries = 0;              // ok queries with more than one output token
  int64_t decoded_tokens = 0;       // sum of output_tokens - 1
  double decode_s = 0;              // sum of complete - first chunk
  double decode_tok_s = 0;          // decoded_tokens / decode_s
  // Decoding output token j (j = 1 .. out-1) of a query with `in` prompt tokens reads the KV of
  // in + j positions; this is that context averaged over every decoded token.
  double mean_context_tokens = 0;
  double bytes_per_token = 0;       // weights + kv * mean context
  double achieved_gbs = 0;          // bytes_per_token * decode_tok_s / 1e9
};
// nullopt when no query decoded more than one token.
std::optional<decode_bandwidth> measure_decode_bandwidth(const std::vector<query_record>& records,
                                                         const decode_traffic& traffic);

// The sweep stops at the first level (after the first) whose output tok/s is below
// sweep_saturation_gain x the best of the levels before it.
inline constexpr double sweep_saturation_gain = 1.05;
inline bool sweep_saturated(double best_before_tok_s, double level_tok_s, bool first_level) {
  return !first_level && level_tok_s < best_before_tok_s * sweep_saturation_gain;
}

}  // namespace moebench::throughput
