#pragma once
// The narrow interface between `moebench serve` (HTTP, SSE, the OpenAI wire format) and a
// model: the echo fake today, the in-process MoE engine later. The server knows nothing about
// tokens, batching or sampling; the backend knows nothing about HTTP. docs/openai-runner.md.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moebench::serve {

struct chat_message {
  std::string role;
  std::string content;
};

// One generation, already validated by the server.
struct generation_request {
  std::string prompt;                 // completions; for chat, the backend's render of messages
  int64_t max_tokens = 16;            // OpenAI's default for /v1/completions
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;                  // 0 = off
  double min_p = 0.0;
  uint64_t seed = 0;
  std::vector<std::string> stop;      // the backend stops before emitting any of these
  bool ignore_eos = false;            // generate through end-of-sequence up to max_tokens
                                      // (vLLM's extension; fixed lengths for throughput runs)
  bool chat = false;                  // the prompt is render_chat()'s output: control-token
                                      // text in it is markup, not plain text
};

// rejected: the request cannot be served as asked (e.g. the prompt does not fit the context);
// reported inline by start() with a message in `error`; the client gets HTTP 400.
enum class generation_finish { stop, length, cancelled, error, rejected };

struct generation_summary {
  generation_finish finish = generation_finish::stop;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string error;  // set when finish == error or rejected
};

// Receives one generation's output.
// Thread-safety: the backend calls a sink from any one of its threads at a time (calls for one
// generation never overlap), possibly inline inside start(). on_token zero or more times, then
// on_finish exactly once, also after cancel().
// Must not block: the server's implementation queues and returns.
class generation_sink {
 public:
  virtual ~generation_sink() = default;
  // `text` is the detokenized piece (may be empty for a token that completes no character).
  virtual void on_token(std::string_view text) = 0;
  virtual void on_finish(const generation_summary& summary) = 0;
};

// A started generation. cancel() is thread-safe, idempotent and may be called after finish;
// it makes the backend call on_finish (finish = cancelled) soon, never a token after it.
class generation {
 public:
  virtual ~generation() = default;
  virtual void cancel() = 0;
};

struct model_card {
  std::string id;                 // the "model" name clients must send
  std::string owned_by = "moebench";
  int64_t context_tokens = 0;     // 0 = unknown
};

// Thread-safety: every method may be called concurrently from the server's I/O threads. A
// backend that batches (the engine) collects concurrent start() calls into its own batches.
class model_backend {
 public:
  virtual ~model_backend() = default;
  virtual model_card card() const = 0;
  // Renders chat messages into a prompt. Default (documented in docs/openai-runner.md): each
  // message as "<role>: <content>\n", then "assistant: ". The engine overrides it with the
  // GGUF's chat template.
  virtual std::string render_chat(const std::vector<chat_message>& messages) const;
  // Starts a generation. The sink is shared so that it outlives every call the backend makes.
  virtual std::unique_ptr<generation> start(const generation_request& request,
                                            std::shared_ptr<generation_sink> sink) = 0;
};

}  // namespace moebench::serve
