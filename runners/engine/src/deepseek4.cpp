// DeepSeek-V4 (GGUF architecture deepseek4), as llama.cpp v0.4.0 runs it: q-LoRA queries over
// one shared key/value head with attention sinks, a grouped low-rank output projection,
// per-layer KV compression (ratio 0: sliding window only; 4: overlapping compressed blocks of
// which a lightning indexer picks the top-k per query; 128: every compressed block),
// hyper-connections, sqrt-softplus routing with hash-routed first layers, clamped SwiGLU and
// shared experts. docs/engine.md describes the forward pass.
#include "deepseek4.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "model.h"
#include "moebench/error.h"

namespace moebench::engine::detail {

namespace dsv4 {

namespace {
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

void hc_weights(const float* mixes, const float* scale, const float* base, int64_t hc, int64_t iters, float eps,
                float* pre, float* post, float* comb) {
  for (int64_t i = 0; i < hc; ++i) {
    pre[i] = sigmoid(mixes[i] * scale[0] + base[i]) + eps;
    post[i] = 2.0f * sigmoid(mixes[hc + i] * scale[1] + base[hc + i]);
  }
  const int64_t n = hc * hc;
  for (int64_t j = 0; j < n; ++j) comb[j] = mixes[2 * hc + j] * scale[2] + base[2 * hc + j];
  // Softmax over the destination d (the fast index) for each source s.
  for (int64_t s = 0; s < hc; ++s) {
    float* col = comb + s * hc;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t d = 0; d < hc; ++d) mx = std::max(mx, col[d]);
    double sum = 0;
    for (int64_t d = 0; d < hc; ++d) sum += col[d] = std::exp(col[d] - mx);
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t d = 0; d < hc; ++d) col[d] = col[d] * inv + eps;
  }
  // Divides each line of comb by its sum (+ eps); lines start `outer` apart, elements `inner`.
  const auto normalise = [&](int64_t outer, int64_t inner) {
    for (int64_t a = 0; a < hc; ++a) {
      double sum = 0;
      for (int64_t b = 0; b < hc; ++b) sum += comb[a * outer + b * inner];
      const auto div = static_cast<float>(sum) + eps;
      for (int64_t b = 0; b < hc; ++b) comb[a * outer + b * inner] /= div;
    }
  };
  const auto norm_over_s = [&] { normalise(1, hc); };  // each destination over its sources
  const auto norm_over_d = [&] { normalise(hc, 1); };  // each source over its destinations
  norm_over_s();
  for (int64_t it = 1; it < iters; ++it) {
    norm_over_d();
    norm_over_s();
  }
}

void hc_collapse(const float* x, const float* pre, int64_t hc, int64_t n, float* out) {
  for (int64_t e = 0; e < n; ++e) out[e] = x[e] * pre[0];
  for (int64_t i = 1; i < hc; ++i)
    for (int64_t e = 0; e < n; ++e) out[e] += x[i * n + e] * pre[i];
}

void hc_expand(const float* f, const float* residual, const float* post, const float* comb, int64_t hc, int64_t n,
               float* out) {
  for (int64_t d = 0; d < hc; ++d) {
    float* o = out + d * n;
    for (int64_t e = 0; e < n; ++e) o[e] = f[e] * post[d];
    for (int64_t s = 0; s < hc; ++s) {
      const float c = comb[d + hc * s];
      const float* r = residual + s * n;
      for (int64_t e = 0; e < n; ++e) o[e] += r[e] * c;
    }
  }
}

void hc_head_weights(const float* mixes, float scale, const float* base, int64_t hc, float eps, float* pre) {
  for (int64_t i = 0; i < hc; ++i) pre[i] = sigmoid(mixes[i] * scale + base[i]) + eps;
}

void pool(std::span<const float* const> kv, std::span<const float* const> score, int64_t n, float* out) {
  const std::size_t m = kv.size();
  for (int64_t i = 0; i < n; ++i) {
    float mx = -std::numeric_limits<float>::infinity();
    for (std::size_t j = 0; j < m; ++j)
      if (score[j] != nullptr) mx = std::max(mx, score[j][i]);
    double sum = 0, acc = 0;
    for (std::size_t j = 0; j < m; ++j)
      if (score[j] != nullptr) {
        const float e = std::exp(score[j][i] - mx);
        sum += e;
        acc += static_cast<double>(e) * kv[j][i];
      }
    out[i] = static_cast<float>(acc / sum);
  }
}

void indexer_scores(const kernel_table& k, const float* q, const float* w, const float* keys, int64_t b0, int64_t b1,
                    int64_t n_heads, int64_t d, float* scores) {
  for (int64_t b = b0; b < b1; ++b) {
    float s = 0;
    for (int64_t h = 0; h < n_heads; ++h) s += std::max(0.0f, k.dot_f32(q + h * d, keys + b * d, d)) * w[h];
    scores[b] = s;
  }
}

int64_t top_k_blocks(const float* scores, int64_t n, int64_t top_k, float* tmp, int32_t* out) {
  // The top_k-th largest score; blocks above it, then blocks equal to it in index order.
  std::copy_n(scores, n, tmp);
  std::nth_element(tmp, tmp + (top_k - 1), tmp + n, std::greater<float>());
  const float kth = tmp[top_k - 1];
  int64_t above = 0;
  for (int64_t b = 0; b < n; ++b) above += scores[b] > kth ? 1 : 0;
  int64_t ties = top_k - above, m = 0;
  for (int64_t b = 0; b < n; ++b)
    if (scores[b] > kth || (scores[b] == kth && ties-- > 0)) out[m++] = static_cast<int32_t>(b);
  return m;
}

int64_t indexer_select(const kernel_table& k, const float* q, const float* w, const float* keys, int64_t n_blocks,
                       int64_t n_heads, int64_t d, int64_t top_k, float* scores, float* tmp, int32_t* out) {
  if (n_blocks <= top_k) {
    for (int64_t b = 0; b < n_blocks; ++b) out[b] = static_cast<int32_t>(b);
    return n_blocks;
  }
  indexer_scores(k, q, w, keys, 0, n_blocks, n_heads, d, scores);
  return top_k_blocks(scores, n_blocks, top_k, tmp, out);
}

}  // namespace dsv4

namespace {

constexpr int64_t csa_ratio = 4;    // compressed sparse attention: overlapping pools + indexer
constexpr int64_t hca_ratio = 128;  // heavily compressed attention

struct layer {
  int64_t ratio = 0;                   // 0, 4 or 128
  const float* attn_norm = nullptr;    // [E]
  const float* sinks = nullptr;        // [H]
  matrix wq_a;                         // [q_lora rows][E]
  const float* q_a_norm = nullptr;     // [q_lora]
  matrix wq_b;                         // [H * D rows][q_lora]
  matrix wkv;                          // [D rows][E]: the shared key/value head
  const float* kv_norm = nullptr;      // [D]
  matrix wo_a;                         // [G * o_lora rows][H * D / G]: group g = rows g*o_lora..
  matrix wo_b;                         // [E rows][G * o_lora]
  matrix hc_attn_fn, hc_ffn_fn;        // [(2 + hc) hc rows][hc E], f32 in practice
  const float* hc_attn_base = nullptr;  // [(2 + hc) hc]
  const float* hc_attn_scale = nullptr; // [3]
  const float* hc_ffn_base = nullptr;
  const float* hc_ffn_scale = nullptr;
  // Compressor (ratio > 0): values and gate scores per token, coff D wide (coff 2 at ratio 4).
  matrix comp_wkv, comp_wgate;         // [coff D rows][E]
  const float* comp_ape = nullptr;     // [ratio][coff D]: added to the scores by pos % ratio
  const float* comp_norm = nullptr;    // [D]
  // Lightning indexer (ratio 4).
  matrix idx_proj;                     // [n_ih rows][E]: per-head weights
  matrix idx_q_b;                      // [n_ih * idx rows][q_lora]
  matrix idx_comp_wkv, idx_comp_wgate; // [2 idx rows][E]
  const float* idx_comp_ape = nullptr; // [4][2 idx]
  const float* idx_comp_norm = nullptr;// [idx]
  const float* ffn_norm = nullptr;     // [E]
  ffn_weights shexp;                   // shared experts [n_ff_exp * n_shared]
  moe_weights moe;
  const int32_t* tid2eid = nullptr;    // hash layers: [n_vocab][n_used] expert ids
  float swiglu_limit_shexp = 0.0f;
};

// What the forward pass needs besides hparams.
struct v4_params {
  int64_t D = 0;          // head dim = the shared key/value head's
  int64_t n_rot = 0;      // roped dims: the last n_rot of a head
  int64_t q_lora = 0;
  int64_t window = 0;     // raw keys attended: positions (pos - window, pos]
  int64_t n_ih = 0, idx = 0, top_k = 0;  // indexer heads, head dim, blocks chosen
  int64_t groups = 0, o_lora = 0;
  int64_t hc = 0, sinkhorn_iters = 0;
  float hc_eps = 0;
  int64_t n_hash = 0;
  int64_t n_mtp = 0;      // multi-token-prediction layers in the file, not run
  rope_params rope_raw;   // ratio-0 layers: rope.freq_base, no scaling
  rope_params rope_comp;  // compressed layers, their compressed keys and the indexer: the
                          // compress base with the file's YaRN, magnitude kept at 1
};

// One sequence's cache, per layer (floats, offsets into segment::kv):
//   raw ring     [raw_rows][D]          key of position p at row p % raw_rows
//   compressed   [ctx / ratio][D]       block b (positions b ratio .. b ratio + ratio - 1)
//   indexer keys [ctx / 4][idx]         (ratio 4)
//   state ring   [state_rows][2 w]      per position p % state_rows: w values then w scores
//                                        (w = 2 D at ratio 4, D at 128; state_rows 8 or 128)
//   indexer state [8][4 idx]             (ratio 4)
// raw_rows = min(ctx, window + max_batch) keeps every key a step still needs; the state rings
// hold the positions a block's pool reads (the block, and at ratio 4 the one before).
struct layer_offsets {
  int64_t raw = 0, comp = 0, idx_keys = 0, state = 0, idx_state = 0;
};
struct cache_layout {
  int64_t ctx = -1;
  int64_t raw_rows = 0;
  std::vector<layer_offsets> layers;
  int64_t floats = 0;
};

cache_layout make_layout(const v4_params& v, const std::vector<layer>& layers, int64_t ctx, int64_t max_batch) {
  cache_layout c;
  c.ctx = ctx;
  c.raw_rows = std::min(ctx, v.window + max_batch);
  int64_t at = 0;
  for (const layer& L : layers) {
    layer_offsets o;
    o.raw = at;
    at += c.raw_rows * v.D;
    if (L.ratio > 0) {
      const int64_t width = L.ratio == csa_ratio ? 2 * v.D : v.D;
      const int64_t state_rows = L.ratio == csa_ratio ? 2 * csa_ratio : L.ratio;
      o.comp = at;
      at += ctx / L.ratio * v.D;
      o.state = at;
      at += state_rows * 2 * width;
      if (L.ratio == csa_ratio) {
        o.idx_keys = at;
        at += ctx / csa_ratio * v.idx;
        o.idx_state = at;
        at += 2 * csa_ratio * 4 * v.idx;
      }
    }
    c.layers.push_back(o);
  }
  c.floats = at;
  return c;
}

struct buffers final : arch_model::scratch {
  buffers(const hparams& hp, const v4_params& v, int64_t n_layer, int64_t T) : ffn(hp, T), max_tokens(T) {
    const int64_t E = hp.n_embd, H = hp.n_head, hc = v.hc, mix = (2 + hc) * hc;
    auto sz = [](int64_t n) { return static_cast<std::size_t>(n); };
    x.resize(sz(T * hc * E));
    x2.resize(sz(T * hc * E));
    hn.resize(sz(T * hc * E));
    mixes.resize(sz(T * mix));
    pre.resize(sz(T * hc));
    post.resize(sz(T * hc));
    comb.resize(sz(T * hc * hc));
    cur.resize(sz(T * E));
    h.resize(sz(T * E));
    y.resize(sz(T * E));
    qa.resize(sz(T * v.q_lora));
    q.resize(sz(T * H * v.D));
    kv.resize(sz(T * v.D));
    ckv.resize(sz(T * 2 * v.D));
    csc.resize(sz(T * 2 * v.D));
    ikv.resize(sz(T * 2 * std::max<int64_t>(1, v.idx)));
    isc.resize(sz(T * 2 * std::max<int64_t>(1, v.idx)));
    iq.resize(sz(T * v.n_ih * std::max<int64_t>(1, v.idx)));
    iw.resize(sz(T * std::max<int64_t>(1, v.n_ih)));
    sel.resize(sz(T * std::max<int64_t>(1, v.top_k)));
    n_sel.resize(sz(T));
    attn.resize(sz(T * H * v.D));
    oa.resize(sz(T * v.groups * v.o_lora));
    rope_raw.resize(sz(T * v.n_rot));
    rope_comp.resize(sz(T * v.n_rot));
    forced.resize(sz(T * std::max<int64_t>(1, hp.n_expert_used)));
    layout.layers.reserve(sz(n_layer));
  }
  std::vector<float> x, x2, hn;       // [T][hc][E] streams (x current, x2 next), normed streams
  std::vector<float> mixes;           // [T][(2 + hc) hc]
  std::vector<float> pre, post, comb; // [T][hc], [T][hc], [T][hc hc]
  std::vector<float> cur, h, y;       // [T][E] sub-block input, normed input, output
  std::vector<float> qa;              // [T][q_lora]
  std::vector<float> q;               // [T][H][D]
  std::vector<float> kv;              // [T][D]
  std::vector<float> ckv, csc;        // [T][coff D] compressor values and scores
  std::vector<float> ikv, isc;        // [T][2 idx] indexer compressor values and scores
  std::vector<float> iq, iw;          // [T][n_ih][idx] indexer queries, [T][n_ih] head weights
  std::vector<int32_t> sel;           // [T][top_k] chosen compressed blocks
  std::vector<int64_t> n_sel;         // [T]
  std::vector<float> attn;            // [T][H][D] attention output
  std::vector<float> oa;              // [T][G o_lora]
  std::vector<float> rope_raw, rope_comp;  // [T][n_rot] cos/sin pairs at each token's position
  std::vector<int32_t> forced;        // [T][n_used] hash-routed experts
  ffn_scratch ffn;
  int64_t max_tokens;
  cache_layout layout;                // for the context of the latest step
};

class deepseek4 final : public arch_model {
 public:
  deepseek4(const loader& l, hparams hp, v4_params v, int64_t n_layer_file) : hp_(std::move(hp)), v_(v) {
    const gguf::file& f = l.file();
    const int64_t E = hp_.n_embd, H = hp_.n_head, V = hp_.n_vocab, D = v_.D, hc = v_.hc;
    const int64_t mix = (2 + hc) * hc;
    token_embd_ = l.mat("token_embd.weight", E, V);
    output_norm_ = l.vec("output_norm.weight", E);
    output_ = l.mat("output.weight", E, V);
    hc_head_fn_ = l.mat("output_hc_fn.weight", hc * E, hc);
    hc_head_base_ = l.vec("output_hc_base.weight", hc);
    hc_head_scale_ = l.vec("output_hc_scale.weight", 1);
    ones_.assign(static_cast<std::size_t>(std::max(hc * E, D)), 1.0f);

    const auto ratios = f.get_int_array(f.arch_key("attention.compress_ratios"));
    if (static_cast<int64_t>(ratios.size()) < n_layer_file)
      throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("attention.compress_ratios")},
                  fmt::format("{} ratios for {} layers", ratios.size(), n_layer_file));
    const auto limits_exp = per_layer_floats(f, "swiglu_clamp_exp", n_layer_file, std::nullopt);
    const auto limits_shexp = per_layer_floats(f, "swiglu_clamp_shexp", n_layer_file, limits_exp);
    layers_.resize(static_cast<std::size_t>(hp_.n_layer));
    for (int64_t i = 0; i < hp_.n_layer; ++i) {
      layer& L = layers_[static_cast<std::size_t>(i)];
      L.ratio = ratios[static_cast<std::size_t>(i)];
      if (L.ratio != 0 && L.ratio != csa_ratio && L.ratio != hca_ratio)
        throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("attention.compress_ratios")},
                    fmt::format("layer {} has compression ratio {} (0, 4 or 128)", i, L.ratio));
      L.attn_norm = l.vec(blk(i, "attn_norm"), E);
      L.sinks = l.vec(blk(i, "attn_sinks"), H);
      L.wq_a = l.mat(blk(i, "attn_q_a"), E, v_.q_lora);
      L.q_a_norm = l.vec(blk(i, "attn_q_a_norm"), v_.q_lora);
      L.wq_b = l.mat(blk(i, "attn_q_b"), v_.q_lora, H * D);
      L.wkv = l.mat(blk(i, "attn_kv"), E, D);
      L.kv_norm = l.vec(blk(i, "attn_kv_a_norm"), D);
      L.wo_a = l.mat(blk(i, "attn_output_a"), H * D / v_.groups, v_.groups * v_.o_lora);
      L.wo_b = l.mat(blk(i, "attn_output_b"), v_.groups * v_.o_lora, E);
      L.hc_attn_fn = l.mat(blk(i, "hc_attn_fn"), hc * E, mix);
      L.hc_attn_base = l.vec(blk(i, "hc_attn_base"), mix);
      L.hc_attn_scale = l.vec(blk(i, "hc_attn_scale"), 3);
      L.hc_ffn_fn = l.mat(blk(i, "hc_ffn_fn"), hc * E, mix);
      L.hc_ffn_base = l.vec(blk(i, "hc_ffn_base"), mix);
      L.hc_ffn_scale = l.vec(blk(i, "hc_ffn_scale"), 3);
      if (L.ratio > 0) {
        const int64_t width = L.ratio == csa_ratio ? 2 * D : D;
        L.comp_wkv = l.mat(blk(i, "attn_compressor_kv"), E, width);
        L.comp_wgate = l.mat(blk(i, "attn_compressor_gate"), E, width);
        L.comp_ape = l.dequantized(blk(i, "attn_compressor_ape"), width, L.ratio).data();
        L.comp_norm = l.vec(blk(i, "attn_compressor_norm"), D);
      }
      if (L.ratio == csa_ratio) {
        L.idx_proj = l.mat(blk(i, "indexer.proj"), E, v_.n_ih);
        L.idx_q_b = l.mat(blk(i, "indexer.attn_q_b"), v_.q_lora, v_.n_ih * v_.idx);
        L.idx_comp_wkv = l.mat(blk(i, "indexer_compressor_kv"), E, 2 * v_.idx);
        L.idx_comp_wgate = l.mat(blk(i, "indexer_compressor_gate"), E, 2 * v_.idx);
        L.idx_comp_ape = l.dequantized(blk(i, "indexer_compressor_ape"), 2 * v_.idx, csa_ratio).data();
        L.idx_comp_norm = l.vec(blk(i, "indexer_compressor_norm"), v_.idx);
      }
      L.ffn_norm = l.vec(blk(i, "ffn_norm"), E);
      const int64_t ff = hp_.n_ff_exp, n_exp = hp_.n_expert;
      moe_weights& moe = L.moe;
      moe.router = l.mat(blk(i, "ffn_gate_inp"), E, n_exp);
      if (i < v_.n_hash) {
        L.tid2eid = hash_table(f, i);
      } else {
        moe.bias = l.vec(fmt::format("blk.{}.exp_probs_b.bias", i), n_exp);
      }
      moe.gate_exps = l.mat(blk(i, "ffn_gate_exps"), E, ff * n_exp);
      moe.up_exps = l.mat(blk(i, "ffn_up_exps"), E, ff * n_exp);
      moe.down_exps = l.mat(blk(i, "ffn_down_exps"), ff, E * n_exp);
      moe.ff = ff;
      moe.swiglu_limit = limits_exp[static_cast<std::size_t>(i)];
      const int64_t sff = ff * hp_.n_expert_shared;
      L.shexp = {l.mat(blk(i, "ffn_gate_shexp"), E, sff), l.mat(blk(i, "ffn_up_shexp"), E, sff),
                 l.mat(blk(i, "ffn_down_shexp"), sff, E)};
      L.swiglu_limit_shexp = limits_shexp[static_cast<std::size_t>(i)];
    }
  }

  const hparams& hp() const noexcept override { return hp_; }
  // Not one row per token: see cache_floats_per_sequence.
  int64_t kv_floats_per_token() const noexcept override { return 0; }
  int64_t cache_floats_per_sequence(int64_t ctx, int64_t max_batch) const override {
    return make_layout(v_, layers_, ctx, max_batch).floats;
  }
  int64_t worker_scratch_floats(int64_t ctx) const override {
    // Attention: the window plus the compressed keys of a query; the indexer: two copies of
    // the scores of every ratio-4 block.
    return std::max({ctx, v_.window + std::max(v_.top_k, ctx / hca_ratio) + 1, 2 * (ctx / csa_ratio) + 1});
  }
  std::unique_ptr<scratch> make_scratch(int64_t max_tokens) const override {
    return std::make_unique<buffers>(hp_, v_, hp_.n_layer, max_tokens);
  }

  void forward(const forward_ctx& fc, scratch& sb, const batch& bt, float* logits) const override {
    auto& b = static_cast<buffers&>(sb);
    const int64_t T = bt.size();
    const int64_t E = hp_.n_embd, hc = v_.hc, mix = (2 + hc) * hc;
    if (b.layout.ctx != bt.ctx) b.layout = make_layout(v_, layers_, bt.ctx, b.max_tokens);

    for (int64_t t = 0; t < T; ++t) {
      const auto u = static_cast<std::size_t>(t);
      float* xt = b.x.data() + t * hc * E;
      gguf::dequantize_row(token_embd_.type, token_embd_.row(bt.tokens[u]), xt, E);
      for (int64_t i = 1; i < hc; ++i) std::copy_n(xt, E, xt + i * E);
      rope_cache(v_.rope_raw, bt.pos[u], b.rope_raw.data() + t * v_.n_rot);
      rope_cache(v_.rope_comp, bt.pos[u], b.rope_comp.data() + t * v_.n_rot);
    }

    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const layer& L = layers_[static_cast<std::size_t>(il)];
      // Attention, between hyper-connection mixes.
      hc_pre(fc, b, T, L.hc_attn_fn, L.hc_attn_scale, L.hc_attn_base);
      for (int64_t t = 0; t < T; ++t) rms_norm(b.cur.data() + t * E, L.attn_norm, b.h.data() + t * E, E, hp_.rms_eps);
      attention(fc, b, bt, il, L);
      hc_post(b, T);
      // FFN: shared experts (clamped SwiGLU) plus the routed ones.
      hc_pre(fc, b, T, L.hc_ffn_fn, L.hc_ffn_scale, L.hc_ffn_base);
      for (int64_t t = 0; t < T; ++t) rms_norm(b.cur.data() + t * E, L.ffn_norm, b.h.data() + t * E, E, hp_.rms_eps);
      dense_ffn(fc, L.shexp, L.shexp.gate.rows, b.h.data(), T, E, b.y.data(), b.ffn, L.swiglu_limit_shexp);
      const int32_t* forced = nullptr;
      if (L.tid2eid != nullptr) {
        const int64_t k = hp_.n_expert_used;
        for (int64_t t = 0; t < T; ++t)
          std::copy_n(L.tid2eid + bt.tokens[static_cast<std::size_t>(t)] * k, k, b.forced.data() + t * k);
        forced = b.forced.data();
      }
      moe_ffn(fc, hp_, L.moe, il, b.h.data(), T, b.y.data(), b.ffn, forced);
      hc_post(b, T);
    }

    // The head: the streams collapsed by their own weights, then norm and vocabulary.
    const auto n_out = static_cast<int64_t>(bt.outputs.size());
    if (n_out == 0) return;
    for (int64_t i = 0; i < n_out; ++i)
      rms_norm(b.x.data() + bt.outputs[static_cast<std::size_t>(i)] * hc * E, ones_.data(), b.hn.data() + i * hc * E,
               hc * E, hp_.rms_eps);
    matmul(fc, hc_head_fn_, b.hn.data(), hc * E, n_out, b.mixes.data(), mix);
    for (int64_t i = 0; i < n_out; ++i) {
      const int64_t t = bt.outputs[static_cast<std::size_t>(i)];
      float* pre = b.pre.data() + i * hc;
      dsv4::hc_head_weights(b.mixes.data() + i * mix, hc_head_scale_[0], hc_head_base_, hc, v_.hc_eps, pre);
      dsv4::hc_collapse(b.x.data() + t * hc * E, pre, hc, E, b.cur.data() + t * E);
    }
    output_head(fc, hp_, bt, output_norm_, output_, b.cur.data(), b.h.data(), logits);
  }

  void count(model_facts& f) const override {
    const double used = static_cast<double>(hp_.n_expert_used) / static_cast<double>(std::max<int64_t>(1, hp_.n_expert));
    count_matrix(f, token_embd_, 1.0 / static_cast<double>(hp_.n_vocab));
    count_matrix(f, output_, 1.0);
    count_matrix(f, hc_head_fn_, 1.0);
    for (const layer& L : layers_) {
      for (const matrix* m : {&L.wq_a, &L.wq_b, &L.wkv, &L.wo_a, &L.wo_b, &L.hc_attn_fn, &L.hc_ffn_fn, &L.comp_wkv,
                              &L.comp_wgate, &L.idx_proj, &L.idx_q_b, &L.idx_comp_wkv, &L.idx_comp_wgate,
                              &L.shexp.gate, &L.shexp.up, &L.shexp.down, &L.moe.router})
        if (m->data != nullptr) count_matrix(f, *m, 1.0);
      for (const matrix* m : {&L.moe.gate_exps, &L.moe.up_exps, &L.moe.down_exps}) count_matrix(f, *m, used);
    }
  }

 private:
  // A per-layer float hyperparameter stored as one value or an array (llama.cpp's
  // get_key_or_arr); `fallback` when absent (required when there is none).
  static std::vector<float> per_layer_floats(const gguf::file& f, std::string_view key, int64_t n,
                                             const std::optional<std::vector<float>>& fallback) {
    const std::string k = f.arch_key(key);
    const gguf::value* v = f.find(k);
    if (v == nullptr) {
      if (fallback) return *fallback;
      throw error("gguf.missing_key", {f.path(), 0, k}, fmt::format("key '{}' is missing", k));
    }
    std::vector<float> out(static_cast<std::size_t>(n));
    if (v->type() == gguf::value_type::array) {
      if (!gguf::is_float(v->element_type()) || static_cast<int64_t>(v->size()) < n)
        throw error("engine.bad_hparams", {f.path(), 0, k}, fmt::format("expected {} floats, one per layer", n));
      for (int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = static_cast<float>(v->double_at(static_cast<uint64_t>(i)));
    } else {
      std::fill(out.begin(), out.end(), static_cast<float>(f.get_float(k)));
    }
    return out;
  }

  // ffn_gate_tid2eid: I32 {n_used, n_vocab}, every id a valid expert.
  const int32_t* hash_table(const gguf::file& f, int64_t i) {
    const std::string name = blk(i, "ffn_gate_tid2eid");
    const gguf::tensor_info* t = f.find_tensor(name);
    if (t == nullptr) throw error("engine.missing_tensor", {f.path(), 0, name}, fmt::format("tensor '{}' is missing", name));
    const int64_t k = hp_.n_expert_used;
    if (t->type != gguf::tensor_type::i32 || t->shape.size() != 2 || t->shape[0] != k || t->shape[1] != hp_.n_vocab)
      throw error("engine.bad_shape", {f.path(), 0, name},
                  fmt::format("tensor '{}' must be i32 of shape [{}, {}]", name, k, hp_.n_vocab));
    const auto bytes = f.data(*t);
    auto& ids = owned_ids_.emplace_back(static_cast<std::size_t>(k * hp_.n_vocab));
    std::memcpy(ids.data(), bytes.data(), ids.size() * sizeof(int32_t));
    for (int32_t e : ids)
      if (e < 0 || e >= hp_.n_expert)
        throw error("engine.bad_tensor", {f.path(), 0, name}, fmt::format("expert id {} outside [0, {})", e, hp_.n_expert));
    return ids.data();
  }

  // rms_norm of every stream, the mixes, and from them pre/post/comb; cur = the weighted streams.
  void hc_pre(const forward_ctx& fc, buffers& b, int64_t T, const matrix& fn, const float* scale, const float* base) const {
    const int64_t E = hp_.n_embd, hc = v_.hc, mix = (2 + hc) * hc;
    for (int64_t t = 0; t < T; ++t) rms_norm(b.x.data() + t * hc * E, ones_.data(), b.hn.data() + t * hc * E, hc * E, hp_.rms_eps);
    matmul(fc, fn, b.hn.data(), hc * E, T, b.mixes.data(), mix);
    for (int64_t t = 0; t < T; ++t) {
      float* pre = b.pre.data() + t * hc;
      dsv4::hc_weights(b.mixes.data() + t * mix, scale, base, hc, v_.sinkhorn_iters, v_.hc_eps, pre,
                       b.post.data() + t * hc, b.comb.data() + t * hc * hc);
      dsv4::hc_collapse(b.x.data() + t * hc * E, pre, hc, E, b.cur.data() + t * E);
    }
  }

  // streams = post y + comb streams (y: the sub-block's output).
  void hc_post(buffers& b, int64_t T) const {
    const int64_t E = hp_.n_embd, hc = v_.hc;
    for (int64_t t = 0; t < T; ++t)
      dsv4::hc_expand(b.y.data() + t * E, b.x.data() + t * hc * E, b.post.data() + t * hc, b.comb.data() + t * hc * hc,
                      hc, E, b.x2.data() + t * hc * E);
    b.x.swap(b.x2);
  }

  // Rope on the last n_rot dims of each of n heads of `dim` (inverse: the transposed rotation,
  // as ggml_rope_ext_back).
  void rope_heads(const rope_params& r, const float* cache, float* x, int64_t n, int64_t dim, bool inverse) const {
    float inv[512];
    const float* c = cache;
    if (inverse) {
      for (int64_t i = 0; i < v_.n_rot; i += 2) {
        inv[i] = cache[i];
        inv[i + 1] = -cache[i + 1];
      }
      c = inv;
    }
    for (int64_t h = 0; h < n; ++h) rope_apply(r, c, x + h * dim + dim - v_.n_rot);
  }

  // Values and scores of one compressor for the batch: ckv/csc [T][width], the scores with the
  // positional term ape[pos % ratio] added; then, token by token in order, into the sequence's
  // state ring, completing blocks: the pooled row, RMS-normed and roped at the block's first
  // position, becomes compressed row pos / ratio.
  void compress(const forward_ctx& fc, buffers& b, const batch& bt, const matrix& wkv, const matrix& wgate,
                const float* ape, const float* norm, int64_t ratio, int64_t d, int64_t comp_off, int64_t state_off,
                float* kv_buf, float* score_buf) const {
    const int64_t T = bt.size();
    const bool overlap = ratio == csa_ratio;
    const int64_t width = overlap ? 2 * d : d;
    const int64_t state_rows = overlap ? 2 * ratio : ratio;
    matmul(fc, wkv, b.h.data(), hp_.n_embd, T, kv_buf, width);
    matmul(fc, wgate, b.h.data(), hp_.n_embd, T, score_buf, width);
    const float* ptr_kv[2 * csa_ratio > hca_ratio ? 2 * csa_ratio : hca_ratio];
    const float* ptr_sc[2 * csa_ratio > hca_ratio ? 2 * csa_ratio : hca_ratio];
    float cache[512];
    for (int64_t t = 0; t < T; ++t) {
      const int64_t pos = bt.pos[static_cast<std::size_t>(t)];
      float* seq = bt.segments[static_cast<std::size_t>(bt.segment_of[static_cast<std::size_t>(t)])].kv;
      float* ring = seq + state_off;
      float* row = ring + (pos % state_rows) * 2 * width;
      std::copy_n(kv_buf + t * width, width, row);
      const float* a = ape + (pos % ratio) * width;
      for (int64_t i = 0; i < width; ++i) row[width + i] = score_buf[t * width + i] + a[i];
      if ((pos + 1) % ratio != 0) continue;
      const int64_t start = pos + 1 - ratio;
      int64_t n = 0;
      if (overlap) {  // the previous block's first halves, then this block's second halves
        for (int64_t j = 0; j < ratio; ++j, ++n) {
          const int64_t p = start - ratio + j;
          const float* r = p >= 0 ? ring + (p % state_rows) * 2 * width : nullptr;
          ptr_kv[n] = r;
          ptr_sc[n] = r != nullptr ? r + width : nullptr;
        }
      }
      for (int64_t j = 0; j < ratio; ++j, ++n) {
        const float* r = ring + ((start + j) % state_rows) * 2 * width;
        const int64_t half = overlap ? d : 0;
        ptr_kv[n] = r + half;
        ptr_sc[n] = r + width + half;
      }
      float* out = seq + comp_off + (pos / ratio) * d;
      dsv4::pool(std::span<const float* const>(ptr_kv, static_cast<std::size_t>(n)),
                 std::span<const float* const>(ptr_sc, static_cast<std::size_t>(n)), d, out);
      rms_norm(out, norm, out, d, hp_.rms_eps);
      rope_cache(v_.rope_comp, start, cache);
      rope_apply(v_.rope_comp, cache, out + d - v_.n_rot);
    }
  }

  void attention(const forward_ctx& fc, buffers& b, const batch& bt, int64_t il, const layer& L) const {
    const int64_t T = bt.size();
    const int64_t E = hp_.n_embd, H = hp_.n_head, D = v_.D, ql = v_.q_lora;
    const layer_offsets& off = b.layout.layers[static_cast<std::size_t>(il)];
    const int64_t raw_rows = b.layout.raw_rows;
    const rope_params& rp = L.ratio == 0 ? v_.rope_raw : v_.rope_comp;
    const std::vector<float>& rc = L.ratio == 0 ? b.rope_raw : b.rope_comp;
    auto seq_of = [&](int64_t t) { return bt.segments[static_cast<std::size_t>(bt.segment_of[static_cast<std::size_t>(t)])].kv; };

    // q-LoRA queries, RMS-normed per head, roped.
    matmul(fc, L.wq_a, b.h.data(), E, T, b.qa.data(), ql);
    for (int64_t t = 0; t < T; ++t) rms_norm(b.qa.data() + t * ql, L.q_a_norm, b.qa.data() + t * ql, ql, hp_.rms_eps);
    matmul(fc, L.wq_b, b.qa.data(), ql, T, b.q.data(), H * D);
    for (int64_t t = 0; t < T; ++t) {
      float* qt = b.q.data() + t * H * D;
      for (int64_t h = 0; h < H; ++h) rms_norm(qt + h * D, ones_.data(), qt + h * D, D, hp_.rms_eps);
      rope_heads(rp, rc.data() + t * v_.n_rot, qt, H, D, false);
    }
    // The shared key/value head into the sequence's window ring.
    matmul(fc, L.wkv, b.h.data(), E, T, b.kv.data(), D);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t pos = bt.pos[static_cast<std::size_t>(t)];
      float* dst = seq_of(t) + off.raw + (pos % raw_rows) * D;
      rms_norm(b.kv.data() + t * D, L.kv_norm, dst, D, hp_.rms_eps);
      rope_heads(rp, rc.data() + t * v_.n_rot, dst, 1, D, false);
    }
    if (L.ratio > 0)
      compress(fc, b, bt, L.comp_wkv, L.comp_wgate, L.comp_ape, L.comp_norm, L.ratio, D, off.comp, off.state,
               b.ckv.data(), b.csc.data());
    if (L.ratio == csa_ratio) {
      compress(fc, b, bt, L.idx_comp_wkv, L.idx_comp_wgate, L.idx_comp_ape, L.idx_comp_norm, csa_ratio, v_.idx,
               off.idx_keys, off.idx_state, b.ikv.data(), b.isc.data());
      // Indexer queries (roped, compress base) and per-head weights, then each token's top-k.
      const int64_t ni = v_.n_ih, idx = v_.idx;
      matmul(fc, L.idx_q_b, b.qa.data(), ql, T, b.iq.data(), ni * idx);
      matmul(fc, L.idx_proj, b.h.data(), E, T, b.iw.data(), ni);
      const float w_scale = 1.0f / std::sqrt(static_cast<float>(idx * ni));
      for (int64_t t = 0; t < T; ++t) {
        rope_heads(v_.rope_comp, b.rope_comp.data() + t * v_.n_rot, b.iq.data() + t * ni * idx, ni, idx, false);
        for (int64_t h = 0; h < ni; ++h) b.iw[static_cast<std::size_t>(t * ni + h)] *= w_scale;
      }
      const int64_t last_vis = (bt.pos[static_cast<std::size_t>(T - 1)] + 1) / csa_ratio;
      if (T == 1 && fc.pool->size() > 1 && last_vis > std::max<int64_t>(v_.top_k, 4096)) {
        // One token over many blocks (decode at long context): the blocks' scores in parallel
        // into worker 0's scratch, then the choice.
        float* sc = (*fc.workers)[0].scores.data();
        const int64_t chunk = 1024, n_chunks = (last_vis + chunk - 1) / chunk;
        auto score = [&](int64_t c, int) {
          dsv4::indexer_scores(*fc.k, b.iq.data(), b.iw.data(), seq_of(0) + off.idx_keys, c * chunk,
                               std::min(last_vis, (c + 1) * chunk), ni, idx, sc);
        };
        fc.pool->run(n_chunks, score);
        b.n_sel[0] = dsv4::top_k_blocks(sc, last_vis, v_.top_k, sc + last_vis, b.sel.data());
      } else {
        auto select = [&](int64_t t, int worker) {
          const int64_t pos = bt.pos[static_cast<std::size_t>(t)];
          float* sc = (*fc.workers)[static_cast<std::size_t>(worker)].scores.data();
          const int64_t n_vis = (pos + 1) / csa_ratio;
          b.n_sel[static_cast<std::size_t>(t)] =
              dsv4::indexer_select(*fc.k, b.iq.data() + t * ni * idx, b.iw.data() + t * ni, seq_of(t) + off.idx_keys,
                                   n_vis, ni, idx, v_.top_k, sc, sc + n_vis, b.sel.data() + t * v_.top_k);
        };
        fc.pool->run(T, select);
      }
    }

    // Each head over the window and the compressed blocks it sees; the output de-roped.
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    auto attend = [&](int64_t task, int worker) {
      const int64_t t = task / H, h = task % H;
      const int64_t pos = bt.pos[static_cast<std::size_t>(t)];
      const float* seq = seq_of(t);
      const float* raw = seq + off.raw;
      const int64_t first = std::max<int64_t>(0, pos - v_.window + 1);
      const int64_t n_raw = pos - first + 1;
      int64_t n_comp = 0;
      const int32_t* sel = nullptr;
      if (L.ratio == csa_ratio) {
        n_comp = b.n_sel[static_cast<std::size_t>(t)];
        sel = b.sel.data() + t * v_.top_k;
      } else if (L.ratio == hca_ratio) {
        n_comp = (pos + 1) / hca_ratio;
      }
      const float* comp = seq + off.comp;
      auto key_at = [&](int64_t j) -> const float* {
        if (j < n_raw) return raw + ((first + j) % raw_rows) * D;
        const int64_t c = j - n_raw;
        return comp + (sel != nullptr ? sel[c] : c) * D;
      };
      float* sc = (*fc.workers)[static_cast<std::size_t>(worker)].scores.data();
      float* out = b.attn.data() + (t * H + h) * D;
      dsv4::attend(*fc.k, b.q.data() + (t * H + h) * D, n_raw + n_comp, key_at, D, scale, L.sinks[h], sc, out);
      rope_heads(rp, rc.data() + t * v_.n_rot, out, 1, D, true);
    };
    fc.pool->run(T * H, attend);

    // Grouped low-rank output: group g's heads through wo_a's g-th block, then wo_b.
    const int64_t gd = H * D / v_.groups, ol = v_.o_lora;
    for (int64_t g = 0; g < v_.groups; ++g)
      matmul(fc, L.wo_a.slice(g * ol, ol), b.attn.data() + g * gd, H * D, T, b.oa.data() + g * ol, v_.groups * ol);
    matmul(fc, L.wo_b, b.oa.data(), v_.groups * ol, T, b.y.data(), E);
  }

  hparams hp_;
  v4_params v_;
  matrix token_embd_;            // [V rows][E]
  const float* output_norm_{};   // [E]
  matrix output_;                // [V rows][E]
  matrix hc_head_fn_;            // [hc rows][hc E]
  const float* hc_head_base_{};  // [hc]
  const float* hc_head_scale_{}; // [1]
  std::vector<float> ones_;      // weights of the unweighted RMS norms
  std::vector<layer> layers_;
  std::deque<std::vector<int32_t>> owned_ids_;
};

}  // namespace

std::unique_ptr<arch_model> load_deepseek4(const loader& l, hparams hp) {
  const gguf::file& f = l.file();
  const auto key = [&](std::string_view k) { return f.arch_key(k); };
  const auto get = [&](std::string_view k) { return f.get_int(key(k)); };
  const auto bad = [&](std::string_view k, std::string what) {
    return error("engine.bad_hparams", {f.path(), 0, key(k)}, std::move(what));
  };
  v4_params v;
  const int64_t n_layer_file = hp.n_layer;
  // Multi-token-prediction layers (the last nextn_predict_layers) are not run; llama.cpp treats
  // the count as 0 when the first of them has no nextn.eh_proj.
  v.n_mtp = f.find_int(key("nextn_predict_layers")).value_or(0);
  if (v.n_mtp < 0 || v.n_mtp >= n_layer_file) throw bad("nextn_predict_layers", "must leave at least one layer");
  if (v.n_mtp > 0 && f.find_tensor(fmt::format("blk.{}.nextn.eh_proj.weight", n_layer_file - v.n_mtp)) == nullptr) v.n_mtp = 0;
  hp.n_layer = n_layer_file - v.n_mtp;

  v.D = get("attention.key_length");
  if (f.find_int(key("attention.value_length")).value_or(v.D) != v.D)
    throw bad("attention.value_length", "deepseek4 keys and values share one head: value_length must equal key_length");
  v.n_rot = get("rope.dimension_count");
  v.q_lora = get("attention.q_lora_rank");
  v.window = get("attention.sliding_window");
  v.n_ih = get("attention.indexer.head_count");
  v.idx = get("attention.indexer.key_length");
  v.top_k = get("attention.indexer.top_k");
  v.groups = get("attention.output_group_count");
  v.o_lora = get("attention.output_lora_rank");
  v.hc = get("hyper_connection.count");
  v.sinkhorn_iters = get("hyper_connection.sinkhorn_iterations");
  v.hc_eps = static_cast<float>(f.get_float(key("hyper_connection.epsilon")));
  v.n_hash = get("hash_layer_count");
  hp.n_ff_exp = get("expert_feed_forward_length");
  hp.n_expert_shared = get("expert_shared_count");
  if (v.D < 2 || v.D > 4096 || v.D % 2 != 0) throw bad("attention.key_length", "must be even, 2 to 4096");
  if (v.n_rot < 2 || v.n_rot % 2 != 0 || v.n_rot > v.D || v.n_rot > 512)
    throw bad("rope.dimension_count", "must be even, at most key_length and 512");
  if (v.q_lora < 1) throw bad("attention.q_lora_rank", "must be positive");
  if (v.window < 1) throw bad("attention.sliding_window", "must be positive");
  if (v.n_ih < 1 || v.n_ih > 4096 || v.idx < v.n_rot || v.idx > 4096)
    throw bad("attention.indexer.key_length", "indexer heads must be 1 to 4096, key_length the roped dims to 4096");
  if (v.top_k < 1 || v.top_k > 65536) throw bad("attention.indexer.top_k", "must be 1 to 65536");
  if (v.groups < 1 || hp.n_head % v.groups != 0) throw bad("attention.output_group_count", "must divide head_count");
  if (v.o_lora < 1) throw bad("attention.output_lora_rank", "must be positive");
  if (v.hc < 1 || v.hc > 64) throw bad("hyper_connection.count", "must be 1 to 64");
  if (v.sinkhorn_iters < 1 || v.sinkhorn_iters > 1000) throw bad("hyper_connection.sinkhorn_iterations", "must be 1 to 1000");
  if (v.n_hash < 0 || v.n_hash > hp.n_layer) throw bad("hash_layer_count", "must be 0 to block_count");
  if (hp.n_ff_exp < 1 || hp.n_expert_shared < 1) throw bad("expert_shared_count", "deepseek4 needs expert widths and shared experts");
  if (get("expert_gating_func") != 4)
    throw bad("expert_gating_func", "deepseek4 scores experts by sqrt(softplus) (4), as llama.cpp requires");
  hp.router.gate = gating::sqrt_softplus;
  hp.router.normalize = f.find_bool(key("expert_weights_norm")).value_or(false);
  hp.router.scale = static_cast<float>(f.find_float(key("expert_weights_scale")).value_or(0.0));
  hp.head_dim = v.D;

  // RoPE on the last n_rot dims, adjacent pairs. Window-only layers: rope.freq_base without
  // scaling; compressed layers: the compress base with the file's YaRN and an attention factor
  // that cancels YaRN's magnitude (as llama.cpp's dsv4_rope_attn_factor).
  v.rope_raw = hp.rope;
  v.rope_raw.n_rot = v.n_rot;
  v.rope_raw.neox = false;
  v.rope_raw.freq_scale = 1.0f;
  v.rope_raw.ext_factor = 0.0f;
  v.rope_raw.attn_factor = 1.0f;
  v.rope_comp = v.rope_raw;
  v.rope_comp.freq_base = static_cast<float>(f.get_float(key("attention.compress_rope_freq_base")));
  v.rope_comp.freq_scale = hp.rope.freq_scale;
  v.rope_comp.ext_factor = hp.rope.ext_factor;
  v.rope_comp.attn_factor =
      hp.rope.ext_factor != 0.0f ? 1.0f / (1.0f + 0.1f * std::log(1.0f / hp.rope.freq_scale)) : 1.0f;
  v.rope_comp.n_ctx_orig = hp.rope.n_ctx_orig;
  hp.rope = v.rope_raw;
  return std::make_unique<deepseek4>(l, std::move(hp), v, n_layer_file);
}

}  // namespace moebench::engine::detail
