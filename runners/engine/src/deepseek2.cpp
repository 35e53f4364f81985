// DeepSeek-V2/V3 (GGUF architecture "deepseek2"): optional q-LoRA, multi-head latent attention
// with the latent KV cache and the absorbed path, YaRN RoPE on the rope dims, DeepSeekMoE with
// shared experts and leading dense blocks. Both file layouts: attn_k_b + attn_v_b, and the
// older combined attn_kv_b (split into the same two at load time).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "model.h"
#include "moebench/error.h"

namespace moebench::engine::detail {
namespace {

struct layer {
  const float* attn_norm = nullptr;    // [E]
  matrix wq_a;                         // [q_lora rows][E]            (q-LoRA)
  const float* q_a_norm = nullptr;     // [q_lora]
  matrix wq_b;                         // [H * (nope + rope) rows][q_lora]
  matrix wq;                           // [H * (nope + rope) rows][E] (no q-LoRA)
  matrix wkv_a;                        // [kv_lora + rope rows][E]
  const float* kv_a_norm = nullptr;    // [kv_lora]
  matrix wk_b;                         // [H * kv_lora rows][nope]: head h = rows h*kv_lora..
  matrix wv_b;                         // [H * v rows][kv_lora]
  matrix wo;                           // [E rows][H * v]
  ffn_block_weights ffn;               // dense: [n_ff]; MoE: the shared experts [n_ff_exp * n_shared]
                                       // and the routed experts
};

struct buffers final : arch_model::scratch {
  buffers(const hparams& hp, int64_t T)
      : ffn(hp, T) {
    const int64_t H = hp.n_head;
    const int64_t k_mla = hp.qk_nope + hp.qk_rope;
    const int64_t lat = hp.kv_lora_rank + hp.qk_rope;
    auto sz = [](int64_t n) { return static_cast<std::size_t>(n); };
    x.resize(sz(T * hp.n_embd));
    h.resize(sz(T * hp.n_embd));
    y.resize(sz(T * hp.n_embd));
    qa.resize(sz(T * std::max<int64_t>(1, hp.q_lora_rank)));
    q.resize(sz(T * H * k_mla));
    kv.resize(sz(T * lat));
    q_lat.resize(sz(T * H * lat));
    o_lat.resize(sz(T * H * hp.kv_lora_rank));
    v.resize(sz(T * H * hp.v_head_dim));
    rope.resize(sz(T * hp.qk_rope));
  }
  std::vector<float> x, h, y;  // [T][E] residual stream, normed input, block output
  std::vector<float> qa;       // [T][q_lora]
  std::vector<float> q;        // [T][H][nope + rope]
  std::vector<float> kv;       // [T][kv_lora + rope]
  std::vector<float> q_lat;    // [T][H][kv_lora + rope]: absorbed nope part, then roped q_pe
  std::vector<float> o_lat;    // [T][H][kv_lora]: attention output in latent space
  std::vector<float> v;        // [T][H][v]
  std::vector<float> rope;     // [T][rope] cos/sin pairs
  ffn_scratch ffn;
};

class deepseek2 final : public arch_model {
 public:
  deepseek2(const loader& l, hparams hp) : hp_(std::move(hp)) {
    const int64_t E = hp_.n_embd, H = hp_.n_head, V = hp_.n_vocab;
    const int64_t nope = hp_.qk_nope, rope = hp_.qk_rope, kvr = hp_.kv_lora_rank, vd = hp_.v_head_dim;
    token_embd_ = l.mat("token_embd.weight", E, V);
    output_norm_ = l.vec("output_norm.weight", E);
    output_ = l.has("output.weight") ? l.mat("output.weight", E, V) : token_embd_;
    const bool split = l.has(blk(0, "attn_k_b"));
    layers_.resize(static_cast<std::size_t>(hp_.n_layer));
    for (int64_t i = 0; i < hp_.n_layer; ++i) {
      layer& L = layers_[static_cast<std::size_t>(i)];
      L.attn_norm = l.vec(blk(i, "attn_norm"), E);
      if (hp_.q_lora_rank > 0) {
        L.wq_a = l.mat(blk(i, "attn_q_a"), E, hp_.q_lora_rank);
        L.q_a_norm = l.vec(blk(i, "attn_q_a_norm"), hp_.q_lora_rank);
        L.wq_b = l.mat(blk(i, "attn_q_b"), hp_.q_lora_rank, H * (nope + rope));
      } else {
        L.wq = l.mat(blk(i, "attn_q"), E, H * (nope + rope));
      }
      L.wkv_a = l.mat(blk(i, "attn_kv_a_mqa"), E, kvr + rope);
      L.kv_a_norm = l.vec(blk(i, "attn_kv_a_norm"), kvr);
      if (split) {
        L.wk_b = l.mat(blk(i, "attn_k_b"), nope, kvr * H);
        L.wv_b = l.mat(blk(i, "attn_v_b"), kvr, vd * H);
      } else {
        // attn_kv_b: per head, nope rows of K then v rows of V, each kv_lora long. The absorbed
        // path needs K transposed ([kv_lora][nope] per head); V rows are used as they are.
        const std::vector<float>& kv_b = l.dequantized(blk(i, "attn_kv_b"), kvr, H * (nope + vd));
        auto& kb = owned_.emplace_back(static_cast<std::size_t>(H * kvr * nope));
        auto& vb = owned_.emplace_back(static_cast<std::size_t>(H * vd * kvr));
        for (int64_t h = 0; h < H; ++h) {
          const float* head = kv_b.data() + h * (nope + vd) * kvr;
          for (int64_t n = 0; n < nope; ++n)
            for (int64_t r = 0; r < kvr; ++r) kb[static_cast<std::size_t>((h * kvr + r) * nope + n)] = head[n * kvr + r];
          std::copy_n(head + nope * kvr, vd * kvr, vb.data() + h * vd * kvr);
        }
        L.wk_b = {gguf::tensor_type::f32, H * kvr, nope, reinterpret_cast<const std::byte*>(kb.data()), static_cast<uint64_t>(nope) * 4};
        L.wv_b = {gguf::tensor_type::f32, H * vd, kvr, reinterpret_cast<const std::byte*>(vb.data()), static_cast<uint64_t>(kvr) * 4};
      }
      L.wo = l.mat(blk(i, "attn_output"), H * vd, E);
      L.ffn.norm = l.vec(blk(i, "ffn_norm"), E);
      L.ffn.dense = i < hp_.n_leading_dense;
      if (L.ffn.dense) {
        L.ffn.ffn = {l.mat(blk(i, "ffn_gate"), E, hp_.n_ff), l.mat(blk(i, "ffn_up"), E, hp_.n_ff),
                     l.mat(blk(i, "ffn_down"), hp_.n_ff, E)};
        L.ffn.ffn_ff = hp_.n_ff;
      } else {
        const int64_t ff = hp_.n_ff_exp, n_exp = hp_.n_expert;
        moe_weights& moe = L.ffn.moe;
        moe.router = l.mat(blk(i, "ffn_gate_inp"), E, n_exp);
        const std::string bias = fmt::format("blk.{}.exp_probs_b.bias", i);
        moe.bias = l.has(bias) ? l.vec(bias, n_exp) : nullptr;
        moe.gate_exps = l.mat(blk(i, "ffn_gate_exps"), E, ff * n_exp);
        moe.up_exps = l.mat(blk(i, "ffn_up_exps"), E, ff * n_exp);
        moe.down_exps = l.mat(blk(i, "ffn_down_exps"), ff, E * n_exp);
        moe.ff = ff;
        if (hp_.n_expert_shared > 0) {
          const int64_t sff = ff * hp_.n_expert_shared;
          L.ffn.ffn = {l.mat(blk(i, "ffn_gate_shexp"), E, sff), l.mat(blk(i, "ffn_up_shexp"), E, sff),
                       l.mat(blk(i, "ffn_down_shexp"), sff, E)};
          L.ffn.ffn_ff = sff;
        }
      }
    }
  }

  const hparams& hp() const noexcept override { return hp_; }
  // The latent cache: kv_lora_rank normalised latent values, then the roped key dims.
  int64_t kv_floats_per_token() const noexcept override { return hp_.kv_lora_rank + hp_.qk_rope; }
  std::unique_ptr<scratch> make_scratch(int64_t max_tokens) const override {
    return std::make_unique<buffers>(hp_, max_tokens);
  }

  void forward(const forward_ctx& fc, scratch& sb, const batch& bt, float* logits) const override {
    auto& b = static_cast<buffers&>(sb);
    const int64_t T = bt.size();
    const int64_t E = hp_.n_embd, H = hp_.n_head;
    const int64_t nope = hp_.qk_nope, rope = hp_.qk_rope, kvr = hp_.kv_lora_rank, vd = hp_.v_head_dim;
    const int64_t k_mla = nope + rope, lat = kvr + rope;

    for (int64_t t = 0; t < T; ++t) {
      const auto u = static_cast<std::size_t>(t);
      gguf::dequantize_row(token_embd_.type, token_embd_.row(bt.tokens[u]), b.x.data() + t * E, E);
      rope_cache(hp_.rope, bt.pos[u], b.rope.data() + t * rope);
    }

    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const layer& L = layers_[static_cast<std::size_t>(il)];
      for (int64_t t = 0; t < T; ++t) rms_norm(b.x.data() + t * E, L.attn_norm, b.h.data() + t * E, E, hp_.rms_eps);

      // q: [T][H][nope + rope]
      if (hp_.q_lora_rank > 0) {
        const int64_t qr = hp_.q_lora_rank;
        matmul(fc, L.wq_a, b.h.data(), E, T, b.qa.data(), qr);
        for (int64_t t = 0; t < T; ++t) rms_norm(b.qa.data() + t * qr, L.q_a_norm, b.qa.data() + t * qr, qr, hp_.rms_eps);
        matmul(fc, L.wq_b, b.qa.data(), qr, T, b.q.data(), H * k_mla);
      } else {
        matmul(fc, L.wq, b.h.data(), E, T, b.q.data(), H * k_mla);
      }
      // Latent and rope key of each new token go straight into the cache.
      matmul(fc, L.wkv_a, b.h.data(), E, T, b.kv.data(), lat);
      for (int64_t t = 0; t < T; ++t) {
        float* dst = bt.cache(t, il, lat) + bt.pos[static_cast<std::size_t>(t)] * lat;  // [ctx][kv_lora + rope]
        rms_norm(b.kv.data() + t * lat, L.kv_a_norm, dst, kvr, hp_.rms_eps);
        std::copy_n(b.kv.data() + t * lat + kvr, rope, dst + kvr);
        rope_apply(hp_.rope, b.rope.data() + t * rope, dst + kvr);
      }
      // Absorbed queries: q_lat[t][h] = (W_kb[h]^T q_nope[t][h], rope(q_pe[t][h])).
      auto absorb = [&](int64_t h, int worker) {
        matmul_serial(fc, worker, L.wk_b.slice(h * kvr, kvr), b.q.data() + h * k_mla, H * k_mla, T,
                      b.q_lat.data() + h * lat, H * lat);
        for (int64_t t = 0; t < T; ++t) {
          float* qp = b.q_lat.data() + (t * H + h) * lat + kvr;
          std::copy_n(b.q.data() + (t * H + h) * k_mla + nope, rope, qp);
          rope_apply(hp_.rope, b.rope.data() + t * rope, qp);
        }
      };
      fc.pool->run(H, absorb);
      // MQA over the latent cache: every head attends to the same (latent, rope key) rows.
      auto attend = [&](int64_t task, int worker) {
        const int64_t t = task / H;
        const int64_t h = task % H;
        const int64_t n_ctx = bt.pos[static_cast<std::size_t>(t)] + 1;
        const float* cache = bt.cache(t, il, lat);
        const float* qh = b.q_lat.data() + (t * H + h) * lat;
        float* sc = (*fc.workers)[static_cast<std::size_t>(worker)].scores.data();
        float mx = -INFINITY;
        for (int64_t j = 0; j < n_ctx; ++j) {
          sc[j] = fc.k->dot_f32(cache + j * lat, qh, lat) * hp_.kq_scale;
          mx = std::max(mx, sc[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < n_ctx; ++j) sum += sc[j] = std::exp(sc[j] - mx);
        const auto inv = static_cast<float>(1.0 / sum);
        float* o = b.o_lat.data() + (t * H + h) * kvr;
        std::fill_n(o, kvr, 0.0f);
        for (int64_t j = 0; j < n_ctx; ++j) fc.k->axpy(sc[j] * inv, cache + j * lat, o, kvr);
      };
      fc.pool->run(T * H, attend);
      // Back from the latent: v[t][h] = W_vb[h] o_lat[t][h].
      auto expand = [&](int64_t h, int worker) {
        matmul_serial(fc, worker, L.wv_b.slice(h * vd, vd), b.o_lat.data() + h * kvr, H * kvr, T,
                      b.v.data() + h * vd, H * vd);
      };
      fc.pool->run(H, expand);
      matmul(fc, L.wo, b.v.data(), H * vd, T, b.y.data(), E);
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
      for (const matrix* m : {&L.wq_a, &L.wq_b, &L.wq, &L.wkv_a, &L.wk_b, &L.wv_b, &L.wo, &L.ffn.ffn.gate, &L.ffn.ffn.up, &L.ffn.ffn.down})
        if (m->data != nullptr) count_matrix(f, *m, 1.0);
      if (!L.ffn.dense) {
        count_matrix(f, L.ffn.moe.router, 1.0);
        for (const matrix* m : {&L.ffn.moe.gate_exps, &L.ffn.moe.up_exps, &L.ffn.moe.down_exps}) count_matrix(f, *m, used);
      }
    }
  }

 private:
  hparams hp_;
  matrix token_embd_;            // [V rows][E]
  const float* output_norm_{};   // [E]
  matrix output_;                // [V rows][E] (token_embd when tied)
  std::vector<layer> layers_;
  std::deque<std::vector<float>> owned_;  // K/V up-projections split from attn_kv_b
};

}  // namespace

std::unique_ptr<arch_model> load_deepseek2(const loader& l, hparams hp) {
  const gguf::file& f = l.file();
  const auto get = [&](std::string_view k) { return f.get_int(f.arch_key(k)); };
  const auto find = [&](std::string_view k, int64_t dflt) { return f.find_int(f.arch_key(k)).value_or(dflt); };
  hp.n_leading_dense = find("leading_dense_block_count", 0);
  hp.q_lora_rank = find("attention.q_lora_rank", 0);
  hp.kv_lora_rank = get("attention.kv_lora_rank");
  hp.qk_rope = get("rope.dimension_count");
  hp.n_ff_exp = get("expert_feed_forward_length");
  hp.n_expert_shared = get("expert_shared_count");
  // key/value_length_mla exist in the split layout; the combined layout stores the MHA sizes in
  // key_length/value_length.
  const int64_t k_mla = f.find_int(f.arch_key("attention.key_length_mla")).value_or(get("attention.key_length"));
  hp.v_head_dim = f.find_int(f.arch_key("attention.value_length_mla")).value_or(get("attention.value_length"));
  hp.qk_nope = k_mla - hp.qk_rope;
  if (hp.qk_nope < 1 || hp.qk_rope < 2 || hp.qk_rope % 2 != 0 || hp.kv_lora_rank < 1 || hp.v_head_dim < 1)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("attention.key_length_mla")},
                "inconsistent MLA head sizes");
  hp.router.n_groups = static_cast<int32_t>(find("expert_group_count", 0));
  hp.router.n_group_used = static_cast<int32_t>(find("expert_group_used_count", 0));
  if (hp.router.n_groups > 1 &&
      (hp.n_expert % hp.router.n_groups != 0 || hp.router.n_group_used < 1 || hp.router.n_group_used > hp.router.n_groups))
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("expert_group_count")}, "bad expert groups");
  hp.router.normalize = f.find_bool(f.arch_key("expert_weights_norm")).value_or(false);
  hp.router.scale = static_cast<float>(f.find_float(f.arch_key("expert_weights_scale")).value_or(0.0));
  // 0 (absent in old V2 files) means softmax, as llama.cpp reads it.
  const int64_t gating_id = find("expert_gating_func", 0);
  if (gating_id < 0 || gating_id > 2)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("expert_gating_func")},
                fmt::format("unsupported expert gating function {} (0 or 1 softmax, 2 sigmoid)", gating_id));
  hp.router.gate = gating_id == 2 ? gating::sigmoid : gating::softmax;
  hp.rope.n_rot = hp.qk_rope;
  hp.rope.neox = false;

  // YaRN attention scaling as llama.cpp computes it for deepseek2: the RoPE magnitude is
  // get_mscale(f, mscale) / get_mscale(f, mscale_all_dim) (mscale = mscale_all_dim except 1
  // for V3-style files), and kq_scale = (that * get_mscale(f, mscale_all_dim))^2 / sqrt(k_mla).
  const auto get_mscale = [](float scale, float m) { return scale <= 1.0f ? 1.0f : 0.1f * m * std::log(scale) + 1.0f; };
  float log_mul = 0.0f;
  if (auto v = f.find_float(f.arch_key("rope.scaling.yarn_log_multiplier"))) log_mul = static_cast<float>(*v) / 0.1f;
  const float factor = 1.0f / hp.rope.freq_scale;
  float attn = 1.0f;
  if (hp.rope.ext_factor != 0.0f) {
    attn = log_mul != 0.0f ? get_mscale(factor, log_mul != 1.0f ? log_mul : 1.0f) / get_mscale(factor, log_mul)
                           : get_mscale(factor, 1.0f);
    // ggml multiplies the rope magnitude by (1 + 0.1 ln factor) itself; cancel it here.
    attn /= 1.0f + 0.1f * std::log(factor);
  }
  hp.rope.attn_factor *= attn;  // times rope.scaling.attn_factor (default 1)
  const float mscale = hp.rope.attn_factor * (1.0f + 0.1f * std::log(factor)) * (1.0f + 0.1f * log_mul * std::log(factor));
  hp.kq_scale = mscale * mscale / std::sqrt(static_cast<float>(k_mla));
  return std::make_unique<deepseek2>(l, std::move(hp));
}

}  // namespace moebench::engine::detail
