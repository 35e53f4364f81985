#pragma once
// The runner interface: the system under test (DESIGN.md section 2; in the manner of MLPerf
// LoadGen's SystemUnderTest). A runner turns prompts into completions. It does not read the
// clock for measurement: the harness does, in its completion_sink, when events arrive.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moebench {

struct generation_params {
  int64_t max_tokens = 512;
  double temperature = 0.0;  // 0 = greedy
  double top_p = 1.0;
  int64_t top_k = 0;         // 0 = off
  double min_p = 0.0;
  uint64_t seed = 0;         // sampling seed for this request
  std::vector<std::string> stop;
  // Keep generating through end-of-sequence until max_tokens (throughput runs fix output
  // lengths, as vLLM's and MLPerf's benchmarks do). Runners that cannot honour it report the
  // tokens they produced and the load generator counts those.
  bool ignore_eos = false;
};

struct request {
  uint64_t id = 0;             // unique within a submit() batch and across in-flight requests
  std::string task_id;
  int64_t sample_index = 0;
  std::string prompt;
  generation_params params;
  // The suite's reference answer (canonical solution). Only the oracle runner reads it; it
  // exists so the harness can check its own scoring path end to end.
  std::string reference;
};

// Closed outcome vocabulary of a request (abseil-style: each says whether a retry may help).
enum class outcome {
  ok,
  deadline_exceeded,   // retry may help
  unavailable,         // retry may help
  resource_exhausted,  // 429; retry after backoff
  invalid_response,    // do not retry
  cancelled,
  internal,
};
std::string_view to_string(outcome o) noexcept;
outcome outcome_from_string(std::string_view s);

enum class finish_reason { stop, length, eos, error };
std::string_view to_string(finish_reason f) noexcept;
finish_reason finish_reason_from_string(std::string_view s);

// Where a completion's token counts come from. Throughput and cost figures divide by them, so
// every record says how they were obtained.
enum class token_count_source {
  none,       // not counted: prompt_tokens and completion_tokens are -1
  generator,  // the runner produced the tokens itself and counted them (in-process engine, fake)
  usage,      // the server's `usage` (openai:)
  tokenizer,  // counted by the client with the model's tokenizer (openai: with --tokenizer)
  chunks,     // streamed content chunks counted, one token per chunk assumed (openai:)
};
std::string_view to_string(token_count_source s) noexcept;
token_count_source token_count_source_from_string(std::string_view s);

struct completion {
  std::string text;
  int64_t prompt_tokens = -1;      // -1 = unknown
  int64_t completion_tokens = -1;  // -1 = unknown
  token_count_source token_source = token_count_source::none;
  finish_reason finish = finish_reason::stop;
  outcome status = outcome::ok;
  std::string error;               // set when status != ok
  int64_t retries = 0;
  nlohmann::json extra;            // runner-specific (e.g. token ids, routing telemetry)
};

// Receives a runner's events. Implemented by the harness, which timestamps each call.
// Thread-safety: may be called from any thread, concurrently for different request ids.
// For one request: zero or more on_chunk, then exactly one on_complete.
class completion_sink {
 public:
  virtual ~completion_sink() = default;
  virtual void on_chunk(uint64_t request_id, std::string_view text, int64_t tokens) = 0;
  virtual void on_complete(uint64_t request_id, completion result) = 0;
};

struct runner_info {
  std::string spec;     // e.g. "oracle", "replay:samples.jsonl", "gguf:m.gguf"
  std::string name;     // model name for reports
  nlohmann::json details = nlohmann::json::object();  // identity: hashes, architecture, ...
};

// Thread-safety: submit() and flush() are called from one harness thread at a time.
// Ownership: requests are borrowed for the duration of submit(); the sink outlives all events.
// Completion: a runner may complete inline (inside submit) or later from other threads.
class runner {
 public:
  virtual ~runner() = default;
  virtual runner_info info() const = 0;
  virtual void submit(std::span<const request> batch, completion_sink& sink) = 0;
  // Optional: returns once every submitted request has completed. Default: nothing pending
  // (correct for runners that complete inline).
  virtual void flush() {}
  // Optional: run-level telemetry from the journal records of this runner's samples (each
  // with the runner_extra its completion carried), stored in results.json as model.telemetry.
  // Default: null (none).
  virtual nlohmann::json telemetry(std::span<const nlohmann::json> /*records*/) const { return nullptr; }
};

}  // namespace moebench
