#pragma once
// The in-process MoE engine (DESIGN.md section 6): loads a GGUF (deepseek2, deepseek4,
// qwen3moe, llama with experts) and runs its forward pass on the CPU; see docs/engine.md.
//
// Thread-safety: an `engine` is used by one thread at a time (it owns the thread pool, the KV
// cache and all scratch buffers, allocated once at construction). Weights stay in the mapped
// file where their type allows.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "moebench/runner.h"
#include "moebench/stats.h"

namespace moebench::tokenizer {
class tokenizer;
}  // namespace moebench::tokenizer

namespace moebench::engine {

enum class architecture { deepseek2, qwen3moe, llama, deepseek4 };
std::string_view to_string(architecture a) noexcept;

struct engine_options {
  int threads = 0;                 // 0 = all hardware threads
  int64_t context_length = 0;      // per sequence; 0 = min(the model's, 4096)
  int32_t max_sequences = 1;       // KV cache slots
  int64_t max_batch_tokens = 32;   // tokens per forward step during prefill
  bool scalar_kernels = false;     // use the scalar reference kernels (tests, debugging)
};

// Identity and size of the loaded model, for provenance and telemetry.
struct model_facts {
  architecture arch = architecture::deepseek2;
  std::string name;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t context_length = 0;  // the engine's, per sequence
  double total_params = 0;
  double active_params_per_token = 0;        // embedding row + attention + used experts + head
  double weight_bytes = 0;
  double active_weight_bytes_per_token = 0;  // bytes a decode step reads
};
void to_json(nlohmann::json& j, const model_facts& f);

// Routing telemetry, accumulated over forward passes until reset.
struct routing_stats {
  std::vector<std::vector<int64_t>> hits;  // [layer][expert]; empty for dense layers
  int64_t routed_tokens = 0;               // tokens through the MoE layers (per layer)
  double gate_entropy_bits_sum = 0;        // sum over tokens and MoE layers of the entropy of
                                           // the normalised weights of the chosen experts
  int64_t gate_entropy_count = 0;
  // Routing decisions (token x MoE layer) where the last chosen expert beat the best unchosen
  // one (outside masked groups) by less than near_tie_margin in selection score: the choices
  // that rounding differences between implementations can flip.
  int64_t near_ties = 0;
  int64_t decisions = 0;
  static constexpr float near_tie_margin = 1e-2f;
  // The smallest such margin over the MoE layers for the last token of the latest eval() (the
  // routing behind the logits it returned); +inf when nothing was routed.
  float last_token_margin = 0;
};
// {layers: [{layer, hits, imbalance (max/mean), load_entropy_bits}], mean_imbalance,
//  mean_gate_entropy_bits, routed_tokens}
nlohmann::json summarize(const routing_stats& r);

// One entry of a batched step: tokens appended to sequence `seq`.
struct batch_entry {
  int32_t seq = 0;
  std::span<const int32_t> tokens;
  bool logits = true;  // return the logits after its last token (false: a prefill chunk before the last)
};

namespace detail {
class arch_model;
struct engine_state;
}  // namespace detail

class engine {
 public:
  // Errors (moebench::error): "gguf.*" for a bad file, "engine.unsupported_architecture",
  // "engine.missing_tensor", "engine.bad_shape", "engine.unsupported_type", "engine.bad_hparams".
  engine(const std::filesystem::path& gguf_path, const engine_options& opts = {});
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  const model_facts& facts() const noexcept;
  const tokenizer::tokenizer& vocab() const noexcept;
  std::string_view kernels() const noexcept;  // "scalar" or "avx2"
  int threads() const noexcept;
  int32_t max_sequences() const noexcept;
  int64_t max_batch_tokens() const noexcept;
  // The GGUF's tokenizer.chat_template (Jinja source), empty when the file has none.
  std::string_view chat_template() const noexcept;

  // Appends `tokens` to sequence `seq` and returns the logits after the last one (n_vocab
  // floats, valid until the next call). Throws "engine.context_full" when the sequence would
  // outgrow the context, "engine.bad_token" for an id outside the vocabulary.
  // Runs in chunks of max_batch_tokens (one-entry eval_batch steps).
  std::span<const float> eval(int32_t seq, std::span<const int32_t> tokens);
  // Continuous batching: ONE forward step over the tokens of all entries (decode steps of
  // running sequences and prefill chunks of new ones): every matmul, router and expert FFN
  // runs over the concatenated tokens, so the weights are read once for all sequences;
  // attention runs per entry over its own sequence's cache. Entries name distinct sequences
  // (at most max_sequences) and hold max_batch_tokens tokens in all (both checked). Each
  // token's arithmetic does not depend on the rest of the batch: the logits are bitwise those
  // of eval() on each sequence alone. Returns one span per entry (empty when it asked for no
  // logits), valid until the next call. Errors as eval(), thrown before anything runs.
  std::span<const std::span<const float>> eval_batch(std::span<const batch_entry> entries);
  void reset(int32_t seq);
  int64_t sequence_length(int32_t seq) const;

  const routing_stats& routing() const noexcept;
  void reset_routing();

 private:
  std::unique_ptr<detail::engine_state> s_;
};

// Seeded sampling over logits: greedy when temperature <= 0; otherwise top-k, then softmax at
// the temperature, then top-p (nucleus), then min-p (relative to the top probability).
class sampler {
 public:
  explicit sampler(const generation_params& p);
  int32_t sample(std::span<const float> logits);

 private:
  generation_params p_;
  rng rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

struct token_logprobs {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // top-K (id, logprob), best first
  float routing_margin = 0;  // routing_stats::last_token_margin behind these logits
};

struct generation_result {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
  std::string text;  // the completion, cut before a stop sequence
  finish_reason finish = finish_reason::length;
  std::vector<token_logprobs> logprobs;  // one per generated token when requested
  int64_t prefill_ns = 0;
  int64_t decode_ns = 0;
};

struct decoder_options {
  bool ignore_eos = false;   // generate exactly max_new tokens (as the llama.cpp oracle does)
  // Teacher forcing: when not empty, these are the "generated" tokens (no sampling, no stop
  // checks) and logprobs are reported at each of their positions.
  std::vector<int32_t> forced;
  int32_t top_logprobs = 0;  // K; 0 = none
};

// One sequence's decoding, step by step: the seeded sampler, EOS and stop sequences, text
// settling (bytes that could start a stop sequence or complete a UTF-8 character are held
// back, so no part of a stop sequence is ever handed out), logprobs and the finish reason.
// generate() and the server's scheduler both drive it, so they produce the same text by
// construction. Not thread-safe; owns no engine state.
class decoder {
 public:
  // max_new: tokens it may generate (see max_new_tokens()). The vocabulary must outlive it.
  decoder(const tokenizer::tokenizer& vocab, const generation_params& params, decoder_options opts, int64_t max_new);

  // Takes the logits after the latest token (the prompt's last, then each token returned
  // here) and chooses the next one. Returns the token to evaluate next, or nothing when the
  // generation is over (done(); a token that ends it by length is kept but needs no
  // evaluation). routing_margin is recorded with the logprobs.
  std::optional<int32_t> step(std::span<const float> logits, float routing_margin = 0);
  bool done() const noexcept { return done_; }

  struct piece {
    std::string text;    // valid UTF-8
    int64_t tokens = 0;  // generated tokens this text completes
  };
  // The text settled since the last call (all of it once done()).
  piece take();

  finish_reason finish() const noexcept { return finish_; }  // meaningful once done()
  const std::vector<int32_t>& generated() const noexcept { return generated_; }
  const std::string& text() const noexcept { return text_; }  // everything settled so far
  std::vector<token_logprobs>& logprobs() noexcept { return logprobs_; }

 private:
  void settle(std::size_t upto);
  void end(finish_reason f);

  const tokenizer::tokenizer& vocab_;
  sampler sampler_;
  std::vector<std::string> stop_;
  decoder_options opts_;
  int64_t max_new_ = 0;
  std::size_t max_stop_ = 0;
  std::string full_;          // every generated byte so far (cut at a stop sequence)
  std::size_t settled_ = 0;   // bytes of full_ settled
  int64_t unsettled_tokens_ = 0;
  std::string text_;          // the settled bytes, repaired to valid UTF-8
  piece pending_;
  std::vector<int32_t> generated_;
  std::vector<token_logprobs> logprobs_;
  finish_reason finish_ = finish_reason::length;
  bool done_ = false;
};

// Tokens a generation may add after a prompt of prompt_tokens: min(max_tokens, what the
// context has left). Throws "engine.empty_prompt" for an empty prompt and
// "engine.context_full" when the prompt leaves no room.
int64_t max_new_tokens(int64_t prompt_tokens, int64_t max_tokens, int64_t context_length);

struct generate_options : decoder_options {
  int32_t sequence = 0;
  // Called with each newly settled piece of text (never part of a stop sequence) and the
  // number of tokens it covers.
  std::function<void(std::string_view text, int64_t tokens)> on_text;
};

// Tokenizes the prompt (BOS as the vocabulary asks), prefills, and decodes until EOS, a stop
// sequence or max_tokens. Resets the sequence first.
generation_result generate(engine& e, std::string_view prompt, const generation_params& params,
                           const generate_options& opts = {});
generation_result generate_ids(engine& e, std::vector<int32_t> prompt_ids,
                               const generation_params& params, const generate_options& opts = {});

// Run-level telemetry from sample records (their runner_extra as the engine runner writes it):
// summed expert hits per layer with imbalance and load entropy, near-tie and decision counts,
// tokens, and aggregate prefill/decode tok/s. Records without engine telemetry are skipped.
nlohmann::json aggregate_telemetry(std::span<const nlohmann::json> records);

// The runner for `gguf:PATH` model specs: completes requests inline, one after another, with
// streaming chunks; routing telemetry per request in completion::extra.
std::unique_ptr<runner> make_runner(const std::filesystem::path& gguf_path, const engine_options& opts = {});

}  // namespace moebench::engine
