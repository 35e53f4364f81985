#pragma once
// The `openai:URL#MODEL` runner: a client of OpenAI-compatible servers (vLLM, SGLang,
// llama-server, TensorRT-LLM, vendor APIs, `moebench serve`) over /v1/completions or
// /v1/chat/completions, streaming (SSE) or not. docs/openai-runner.md describes the contract.
//
// Asynchronous: one io_context on a small thread pool drives every request (no thread per
// request). Each streamed content chunk reaches the harness's sink as soon as its SSE event has
// been parsed, so that the harness's timestamps (TTFT, ITL) are those of arrival.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "moebench/runner.h"

namespace moebench {

enum class openai_api { completions, chat };
std::string_view to_string(openai_api a) noexcept;
openai_api openai_api_from_string(std::string_view s);

// Bounded retries with exponential backoff and jitter. Only attempts that delivered nothing to
// the sink are retried: a partial stream has been timestamped already and is never replayed.
struct retry_policy {
  int64_t max_retries = 3;           // retries after the first attempt
  int64_t initial_backoff_ms = 500;
  int64_t max_backoff_ms = 20'000;
  double multiplier = 2.0;
  // A Retry-After longer than this is not waited for: the request fails (resource_exhausted
  // or unavailable) instead of stalling the run.
  int64_t max_retry_after_ms = 120'000;
};

// Counts tokens on the client when the server sends no `usage` (--tokenizer FILE.gguf). Called
// on the runner's I/O threads, concurrently and after the last byte of the response (the time
// it takes is inside the request's end-to-end latency): both must be thread-safe.
struct token_counter {
  std::function<int64_t(std::string_view)> count_prompt;      // special tokens as the model adds them
  std::function<int64_t(std::string_view)> count_completion;  // the generated text alone
  std::string name;  // identity for runner_info, e.g. "tokenizer:model.gguf"
};

struct openai_options {
  std::string url;    // base URL including the API prefix, e.g. http://127.0.0.1:8000/v1
  std::string model;  // the "model" field of each request
  openai_api api = openai_api::completions;
  bool stream = true;
  bool include_usage = true;  // stream_options.include_usage (streaming only)
  std::string api_key;        // sent as a bearer token; never logged, recorded or reported
  int64_t concurrency = 256;  // requests on the wire at once; more wait in a queue
  int64_t threads = 1;        // threads running the io_context
  int64_t connect_timeout_ms = 10'000;
  int64_t read_timeout_ms = 60'000;      // longest silence while waiting for bytes
  int64_t request_timeout_ms = 900'000;  // one attempt, from connect to the last byte
  int64_t max_event_bytes = int64_t{8} << 20;
  int64_t max_response_bytes = int64_t{256} << 20;
  retry_policy retry;
  uint64_t jitter_seed = 0;  // combined with each request's seed: retries are reproducible
  // https: a PEM file of certificates trusted besides the system store (a private CA).
  std::string ca_file;
  std::shared_ptr<const token_counter> counter;  // null: usage, else chunks
};

// "openai:URL#MODEL[?key=value&...]" -> options. Keys: api=completions|chat, stream=0|1,
// usage=0|1, retries=N, connect_timeout_s, read_timeout_s, request_timeout_s, concurrency,
// threads, ca_file=PATH. Bad specs throw moebench::error("openai.bad_spec", field "--model").
openai_options parse_openai_spec(std::string_view spec);

struct parsed_url {
  bool tls = false;
  std::string host;
  std::string port;       // numeric or service name; defaults to 80/443
  std::string base_path;  // without a trailing '/', e.g. "/v1"
};
parsed_url parse_url(std::string_view url);

// Pure policy functions, exposed for tests.
namespace openai_policy {
// The outcome of an HTTP status other than 200, and whether another attempt may help.
outcome outcome_of_status(int http_status) noexcept;
bool retryable(outcome o) noexcept;
// Retry-After: delta-seconds or an HTTP-date, relative to `now_unix_s`. nullopt when absent
// or unparseable.
std::optional<int64_t> parse_retry_after_ms(std::string_view value, int64_t now_unix_s);
// The wait before retry number `retry` (1-based): exponential, capped, with equal jitter
// (between half and all of the capped exponential value) drawn from `seed`.
int64_t backoff_ms(const retry_policy& p, int64_t retry, uint64_t seed) noexcept;
}  // namespace openai_policy

// Thread-safety as runner: submit() from one thread at a time; events arrive on the runner's
// own I/O threads. Destruction cancels what is in flight (outcome cancelled) and waits for it.
std::unique_ptr<runner> make_openai_runner(openai_options options);

}  // namespace moebench
