#pragma once
// Internals shared by the architecture files: hyper-parameters, weight views into the mapped
// GGUF, the per-context forward state, and the interface each architecture implements.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels.h"
#include "moebench/engine/engine.h"
#include "moebench/model/gguf.h"
#include "router.h"
#include "thread_pool.h"

namespace moebench::engine::detail {

// A 2-D weight: `rows` rows of `cols` elements (ggml ne0 = cols), in place in the mapping or
// in storage owned by the model.
struct matrix {
  gguf::tensor_type type = gguf::tensor_type::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const std::byte* data = nullptr;
  uint64_t row_bytes = 0;
  const std::byte* row(int64_t r) const noexcept { return data + static_cast<uint64_t>(r) * row_bytes; }
  // Rows [first, first + n) as a matrix of their own (an expert's or a head's slice).
  matrix slice(int64_t first, int64_t n) const noexcept {
    return {type, n, cols, row(first), row_bytes};
  }
  uint64_t bytes() const noexcept { return static_cast<uint64_t>(rows) * row_bytes; }
};

// RoPE as ggml_rope_ext computes it (mode NORM: adjacent pairs; NEOX: halves), with YaRN.
struct rope_params {
  int64_t n_rot = 0;
  bool neox = false;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  float ext_factor = 0.0f;
  float attn_factor = 1.0f;
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  int64_t n_ctx_orig = 0;
};

struct hparams {
  architecture arch = architecture::deepseek2;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;         // GQA architectures: key = value length
  int64_t n_ff = 0;             // dense FFN width
  int64_t n_ff_exp = 0;         // expert FFN width
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_expert_shared = 0;
  int64_t n_leading_dense = 0;
  router_config router;
  // deepseek2 (MLA)
  int64_t q_lora_rank = 0;
  int64_t kv_lora_rank = 0;
  int64_t qk_nope = 0;
  int64_t qk_rope = 0;
  int64_t v_head_dim = 0;
  float rms_eps = 1e-6f;
  float kq_scale = 1.0f;
  rope_params rope;
  int64_t context_length = 0;
};

// Reads hyper-parameters and weight views from a GGUF with errors that name the file and key
// or tensor; converts tensors that must be f32 (norms, biases) into storage it owns.
class loader {
 public:
  loader(const gguf::file& f, std::deque<std::vector<float>>& owned) : f_(f), owned_(owned) {}
  const gguf::file& file() const noexcept { return f_; }
  // A matrix of `rows` rows of `cols` elements (ggml shape {cols, rows} or {cols, r1, r2} with
  // r1 * r2 == rows).
  matrix mat(const std::string& name, int64_t cols, int64_t rows) const;
  // A vector of n floats (norm weights, biases), converted to f32 when stored otherwise.
  const float* vec(const std::string& name, int64_t n) const;
  bool has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }
  // A matrix dequantised to f32 into owned storage.
  std::vector<float>& dequantized(const std::string& name, int64_t cols, int64_t rows) const;

 private:
  const gguf::tensor_info& info(const std::string& name, std::span<const int64_t> shape) const;
  const gguf::file& f_;
  std::deque<std::vector<float>>& owned_;
};
std::string blk(int64_t layer, std::string_view name);  // "blk.<layer>.<name>.weight"

// Per-worker scratch, sized once when the context is created.
struct worker_scratch {
  std::vector<float> row;     // one dequantised weight row (max row length)
  std::vector<float> scores;  // attention scores (context length)
};

// What a forward pass needs besides the weights; owned by the engine, reused every step.
struct forward_ctx {
  const kernel_table* k = nullptr;
  thread_pool* pool = nullptr;
  std::vector<worker_scratch>* workers = nullptr;
  routing_stats* routing = nullptr;  // nullptr: no telemetry
};

// y[t][r] = W.row(r) . x[t] for t < n_tok; rows split across the pool.
void matmul(const forward_ctx& fc, const matrix& w, const float* x, int64_t x_stride, int64_t n_tok,
            float* y, int64_t y_stride);
// The same on the calling thread only (inside an already parallel loop).
void matmul_serial(const forward_ctx& fc, int worker, const matrix& w, const float* x,
                   int64_t x_stride, int64_t n_tok, float* y, int64_t y_stride);

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// cos/sin pairs for one position: cache[2i] = cos, cache[2i+1] = sin of pair i (n_rot/2 pairs).
void rope_cache(const rope_params& r, int64_t pos, float* cache);
void rope_apply(const rope_params& r, const float* cache, float* x);  // x: n_rot dims

// SwiGLU FFN weights: gate, up {E -> ff}, down {ff -> E}.
struct ffn_weights {
  matrix gate;  // [ff rows][E]
  matrix up;    // [ff rows][E]
  matrix down;  // [E rows][ff]
};
// Routed experts: the same three, each with n_expert slices of `ff` (or E) rows.
struct moe_weights {
  matrix router;              // [n_expert rows][E], f32 in practice
  float swiglu_limit = 0.0f;  // > 0: SwiGLU clamp (gate <= limit, |up| <= limit; DeepSeek-V4)
  const float* bias = nullptr;  // [n_expert] selection bias (deepseek2 exp_probs_b) or null
  matrix gate_exps;           // [n_expert * ff rows][E]
  matrix up_exps;             // [n_expert * ff rows][E]
  matrix down_exps;           // [n_expert * E rows][ff]
  int64_t ff = 0;
};

// Scratch for the FFN blocks, sized for max_tokens tokens.
struct ffn_scratch {
  ffn_scratch(const hparams& hp, int64_t max_tokens);
  std::vector<float> gate, up;            // [T][max ff]
  std::vector<float> router_logits;       // [T][n_expert]
  std::vector<int32_t> selected;          // [T][n_used]
  std::vector<float> weights;             // [T][n_used]
  std::vector<float> probs, selection, group_scores;
  std::vector<int32_t> group_order;
  std::vector<int32_t> expert_tokens;     // tokens grouped by expert
  std::vector<int32_t> expert_slot;       // slot of each grouped token
  std::vector<int32_t> expert_count;      // [n_expert]
  std::vector<float> xe, he, ye;          // gathered inputs, hidden, outputs [T][..]
};

// out[t] = FFN(x[t]) (overwrites out). swiglu_limit > 0 clamps as ggml_swiglu_clamp:
// silu(min(gate, limit)) * clamp(up, -limit, limit).
void dense_ffn(const forward_ctx& fc, const ffn_weights& w, int64_t ff, const float* x, int64_t n_tok,
               int64_t n_embd, float* out, ffn_scratch& s, float swiglu_limit = 0.0f);
// out[t] += sum_j weight_j * expert_j(x[t]); records telemetry for `layer`. forced: [n_tok][n_used]
// experts chosen by the caller (hash routing) instead of the router's top-k, or nullptr.
void moe_ffn(const forward_ctx& fc, const hparams& hp, const moe_weights& w, int64_t layer,
             const float* x, int64_t n_tok, float* out, ffn_scratch& s, const int32_t* forced = nullptr);

// One forward step over several sequences: each segment appends tokens to its own sequence;
// every matmul runs over the concatenated tokens (the weights are read once per step for all
// of them), attention runs per token over its own sequence's cache. Built by the engine.
struct segment {
  int64_t pos0 = 0;     // position of the segment's first token in its sequence
  float* kv = nullptr;  // the sequence's cache: [n_layer][ctx][kv_floats_per_token]
  bool logits = false;  // wants the logits after its last token
};
struct batch {
  std::span<const segment> segments;
  std::span<const int32_t> tokens;      // [T] the segments' tokens, concatenated
  std::span<const int64_t> pos;         // [T] each token's position in its sequence
  std::span<const int32_t> segment_of;  // [T] each token's segment
  std::span<const int32_t> outputs;     // [n_out] tokens whose logits are wanted, in order
  int64_t ctx = 0;                      // cache rows per sequence and layer
  int64_t size() const noexcept { return static_cast<int64_t>(tokens.size()); }
  // The cache of token t's sequence in layer `layer` ([ctx][floats_per_token]).
  float* cache(int64_t t, int64_t layer, int64_t floats_per_token) const noexcept {
    return segments[static_cast<std::size_t>(segment_of[static_cast<std::size_t>(t)])].kv +
           layer * ctx * floats_per_token;
  }
};

// Causal attention of every token of the batch over its sequence's cache, which holds
// positions [0, pos[t]] of that sequence: GQA with per-head keys and values. Layer `layer`'s
// cache holds [ctx][n_head_kv * head_dim] keys, then as many values.
void gqa_attention(const forward_ctx& fc, const hparams& hp, const batch& bt, int64_t layer, const float* q,
                   float scale, float* out);

// The FFN half of a block, shared by every architecture: x += FFN(rms_norm(x)), where FFN is
// a dense SwiGLU (dense layers), or the shared experts (unweighted; when shared_ff > 0) plus
// the routed experts with their weights.
struct ffn_block_weights {
  const float* norm = nullptr;  // [E]
  bool dense = false;
  ffn_weights ffn;              // dense: [n_ff]; MoE: the shared experts [shared_ff]
  int64_t ffn_ff = 0;           // width of `ffn` (0: no shared experts in an MoE layer)
  moe_weights moe;
};
// x, h, y: [T][E] residual stream, normed input and block output scratch.
void ffn_block(const forward_ctx& fc, const hparams& hp, const ffn_block_weights& w, int64_t layer, float* x,
               float* h, float* y, int64_t n_tok, ffn_scratch& s);

// The output head for the batch's outputs: rms_norm(x[t]) then the vocabulary projection, into
// logits [n_out][n_vocab]. h: scratch of at least n_out rows of E.
void output_head(const forward_ctx& fc, const hparams& hp, const batch& bt, const float* norm, const matrix& out,
                 const float* x, float* h, float* logits);

// One architecture's model: weights and forward pass.
class arch_model {
 public:
  virtual ~arch_model() = default;
  virtual const hparams& hp() const noexcept = 0;
  // Floats of KV cache per token and layer.
  virtual int64_t kv_floats_per_token() const noexcept = 0;
  // Floats of cache one sequence of `ctx` tokens needs, for steps of up to max_batch tokens
  // (segment::kv points at that many). Architectures whose cache is not one row per token and
  // layer (deepseek4: sliding-window rings, compressed blocks, compressor state) override it.
  virtual int64_t cache_floats_per_sequence(int64_t ctx, int64_t max_batch) const {
    (void)max_batch;
    return hp().n_layer * ctx * kv_floats_per_token();
  }
  // Floats of per-worker attention scratch (worker_scratch::scores) for a context of ctx.
  virtual int64_t worker_scratch_floats(int64_t ctx) const { return ctx; }
  // Scratch for batches of up to max_tokens tokens, allocated once per context.
  struct scratch {
    virtual ~scratch() = default;
  };
  virtual std::unique_ptr<scratch> make_scratch(int64_t max_tokens) const = 0;
  // Runs one step over the batch (at most the scratch's max_tokens tokens), writing each
  // segment's new cache rows and the logits of bt.outputs into `logits` ([n_out][n_vocab]).
  virtual void forward(const forward_ctx& fc, scratch& s, const batch& bt, float* logits) const = 0;
  // Weight accounting for telemetry.
  virtual void count(model_facts& facts) const = 0;
};

std::unique_ptr<arch_model> load_deepseek2(const loader& l, hparams hp);
std::unique_ptr<arch_model> load_qwen3moe(const loader& l, hparams hp);
std::unique_ptr<arch_model> load_llama(const loader& l, hparams hp);
std::unique_ptr<arch_model> load_deepseek4(const loader& l, hparams hp);

// Hyper-parameters common to all architectures (embedding, heads, experts, rope, norms).
hparams read_common_hparams(const gguf::file& f, architecture arch);

// Weight accounting helpers.
void count_matrix(model_facts& f, const matrix& m, double active_fraction);

}  // namespace moebench::engine::detail
