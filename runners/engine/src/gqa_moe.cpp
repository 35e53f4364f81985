#include "gqa_moe.h"

#include <algorithm>
#include <cmath>

#include "moebench/error.h"

namespace moebench::engine::detail {
namespace {

struct layer {
  const float* attn_norm = nullptr;  // [E]
  matrix wq;                         // [H * hd rows][E]
  matrix wk;                         // [Hkv * hd rows][E]
  matrix wv;                         // [Hkv * hd rows][E]
  const float* q_norm = nullptr;     // [hd] (qk_norm)
  const float* k_norm = nullptr;     // [hd] (qk_norm)
  matrix wo;                         // [E rows][H * hd]
  ffn_block_weights ffn;             // dense layers: [n_ff]; MoE: routed experts [n_expert * ff]
};

struct buffers final : arch_model::scratch {
  buffers(const hparams& hp, int64_t T) : ffn(hp, T) {
    auto sz = [](int64_t n) { return static_cast<std::size_t>(n); };
    x.resize(sz(T * hp.n_embd));
    h.resize(sz(T * hp.n_embd));
    y.resize(sz(T * hp.n_embd));
    q.resize(sz(T * hp.n_head * hp.head_dim));
    k.resize(sz(T * hp.n_head_kv * hp.head_dim));
    v.resize(sz(T * hp.n_head_kv * hp.head_dim));
    attn.resize(sz(T * hp.n_head * hp.head_dim));
    rope.resize(sz(T * hp.rope.n_rot));
  }
  std::vector<float> x, h, y;  // [T][E]
  std::vector<float> q;        // [T][H][hd]
  std::vector<float> k, v;     // [T][Hkv][hd]
  std::vector<float> attn;     // [T][H][hd]
  std::vector<float> rope;     // [T][n_rot] cos/sin pairs
  ffn_scratch ffn;
};

class gqa_moe final : public arch_model {
 public:
  gqa_moe(const loader& l, hparams hp, gqa_moe_variant var) : hp_(std::move(hp)), var_(var) {
    const int64_t E = hp_.n_embd, V = hp_.n_vocab, hd = hp_.head_dim;
    const int64_t qw = hp_.n_head * hd, kvw = hp_.n_head_kv * hd;
    token_embd_ = l.mat("token_embd.weight", E, V);
    output_norm_ = l.vec("output_norm.weight", E);
    output_ = l.has("output.weight") ? l.mat("output.weight", E, V) : token_embd_;
    layers_.resize(static_cast<std::size_t>(hp_.n_layer));
    for (int64_t i = 0; i < hp_.n_layer; ++i) {
      layer& L = layers_[static_cast<std::size_t>(i)];
      L.attn_norm = l.vec(blk(i, "attn_norm"), E);
      L.wq = l.mat(blk(i, "attn_q"), E, qw);
      L.wk = l.mat(blk(i, "attn_k"), E, kvw);
      L.wv = l.mat(blk(i, "attn_v"), E, kvw);
      if (var_.qk_norm) {
        L.q_norm = l.vec(blk(i, "attn_q_norm"), hd);
        L.k_norm = l.vec(blk(i, "attn_k_norm"), hd);
      }
      L.wo = l.mat(blk(i, "attn_output"), qw, E);
      L.ffn.norm = l.vec(blk(i, "ffn_norm"), E);
      L.ffn.dense = !l.has(blk(i, "ffn_gate_inp"));
      if (L.ffn.dense) {
        L.ffn.ffn = {l.mat(blk(i, "ffn_gate"), E, hp_.n_ff), l.mat(blk(i, "ffn_up"), E, hp_.n_ff),
                     l.mat(blk(i, "ffn_down"), hp_.n_ff, E)};
        L.ffn.ffn_ff = hp_.n_ff;
      } else {
        const int64_t ff = hp_.n_ff_exp, n_exp = hp_.n_expert;
        L.ffn.moe.router = l.mat(blk(i, "ffn_gate_inp"), E, n_exp);
        L.ffn.moe.gate_exps = l.mat(blk(i, "ffn_gate_exps"), E, ff * n_exp);
        L.ffn.moe.up_exps = l.mat(blk(i, "ffn_up_exps"), E, ff * n_exp);
        L.ffn.moe.down_exps = l.mat(blk(i, "ffn_down_exps"), ff, E * n_exp);
        L.ffn.moe.ff = ff;
      }
    }
  }

  const hparams& hp() const noexcept override { return hp_; }
  // Keys then values of every KV head.
  int64_t kv_floats_per_token() const noexcept override { return 2 * hp_.n_head_kv * hp_.head_dim; }
  std::unique_ptr<scratch> make_scratch(int64_t max_tokens) const override {
    return std::make_unique<buffers>(hp_, max_tokens);
  }

  void forward(const forward_ctx& fc, scratch& sb, const batch& bt, float* logits) const override {
    auto& b = static_cast<buffers&>(sb);
    const int64_t T = bt.size();
    const int64_t E = hp_.n_embd, H = hp_.n_head, Hkv = hp_.n_head_kv, hd = hp_.head_dim, n_rot = hp_.rope.n_rot;
    const int64_t kvw = Hkv * hd;
    for (int64_t t = 0; t < T; ++t) {
      const auto u = static_cast<std::size_t>(t);
      gguf::dequantize_row(token_embd_.type, token_embd_.row(bt.tokens[u]), b.x.data() + t * E, E);
      rope_cache(hp_.rope, bt.pos[u], b.rope.data() + t * n_rot);
    }
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const layer& L = layers_[static_cast<std::size_t>(il)];
      for (int64_t t = 0; t < T; ++t) rms_norm(b.x.data() + t * E, L.attn_norm, b.h.data() + t * E, E, hp_.rms_eps);
      matmul(fc, L.wq, b.h.data(), E, T, b.q.data(), H * hd);
      matmul(fc, L.wk, b.h.data(), E, T, b.k.data(), kvw);
      matmul(fc, L.wv, b.h.data(), E, T, b.v.data(), kvw);
      for (int64_t t = 0; t < T; ++t) {
        const float* rc = b.rope.data() + t * n_rot;
        for (int64_t h = 0; h < H; ++h) {
          float* qh = b.q.data() + (t * H + h) * hd;
          if (var_.qk_norm) rms_norm(qh, L.q_norm, qh, hd, hp_.rms_eps);
          rope_apply(hp_.rope, rc, qh);
        }
        for (int64_t h = 0; h < Hkv; ++h) {
          float* kh = b.k.data() + (t * Hkv + h) * hd;
          if (var_.qk_norm) rms_norm(kh, L.k_norm, kh, hd, hp_.rms_eps);
          rope_apply(hp_.rope, rc, kh);
        }
        float* k_cache = bt.cache(t, il, 2 * kvw);  // [ctx][Hkv * hd], then the values
        const int64_t p = bt.pos[static_cast<std::size_t>(t)];
        std::copy_n(b.k.data() + t * kvw, kvw, k_cache + p * kvw);
        std::copy_n(b.v.data() + t * kvw, kvw, k_cache + bt.ctx * kvw + p * kvw);
      }
      gqa_attention(fc, hp_, bt, il, b.q.data(), hp_.kq_scale, b.attn.data());
      matmul(fc, L.wo, b.attn.data(), H * hd, T, b.y.data(), E);
      for (int64_t i = 0; i < T * E; ++i) b.x[static_cast<std::size_t>(i)] += b.y[static_cast<std::size_t>(i)];
      ffn_block(fc, hp_, L.ffn, il, b.x.data(), b.h.data(), b.y.data(), T, b.ffn);
    }
    output_head(fc, hp_, bt, output_norm_, output_, b.x.data(), b.h.data(), logits);
  }

  void count(model_facts& f) const override {
    const double used = static_cast<double>(hp_.n_expert_used) / static_cast<double>(std::max<int64_t>(1, hp_.n_expert));
    count_matrix(f, token_embd_, 1.0 / static_cast<double>(hp_.n_vocab));
    if (output_.data != token_embd_.data) count_matrix(f, output_, 1.0);
    for (const layer& L : layers_) {
      for (const matrix* m : {&L.wq, &L.wk, &L.wv, &L.wo}) count_matrix(f, *m, 1.0);
      if (L.ffn.dense) {
        for (const matrix* m : {&L.ffn.ffn.gate, &L.ffn.ffn.up, &L.ffn.ffn.down}) count_matrix(f, *m, 1.0);
      } else {
        count_matrix(f, L.ffn.moe.router, 1.0);
        for (const matrix* m : {&L.ffn.moe.gate_exps, &L.ffn.moe.up_exps, &L.ffn.moe.down_exps}) count_matrix(f, *m, used);
      }
    }
  }

 private:
  hparams hp_;
  gqa_moe_variant var_;
  matrix token_embd_;           // [V rows][E]
  const float* output_norm_{};  // [E]
  matrix output_;               // [V rows][E]
  std::vector<layer> layers_;
};

}  // namespace

void read_gqa_attention(const gguf::file& f, hparams& hp) {
  hp.head_dim = f.find_int(f.arch_key("attention.key_length")).value_or(hp.n_embd / hp.n_head);
  const int64_t v_len = f.find_int(f.arch_key("attention.value_length")).value_or(hp.head_dim);
  if (v_len != hp.head_dim)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("attention.value_length")},
                "key and value lengths differ");
  hp.rope.n_rot = f.find_int(f.arch_key("rope.dimension_count")).value_or(hp.head_dim);
  if (hp.rope.n_rot != hp.head_dim)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("rope.dimension_count")}, "partial RoPE is not supported here");
}

std::unique_ptr<arch_model> make_gqa_moe(const loader& l, hparams hp, gqa_moe_variant v) {
  return std::make_unique<gqa_moe>(l, std::move(hp), v);
}

}  // namespace moebench::engine::detail
