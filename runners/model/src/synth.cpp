#include "moebench/model/synth.h"

#include <cmath>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/gguf_writer.h"
#include "moebench/stats.h"

namespace moebench::model {

namespace {

constexpr std::array<std::pair<synth_arch, std::string_view>, 4> arch_names{{
    {synth_arch::deepseek2, "deepseek2"},
    {synth_arch::qwen3moe, "qwen3moe"},
    {synth_arch::llama, "llama"},
    {synth_arch::deepseek4, "deepseek4"},
}};
constexpr std::array<std::pair<gating_func, std::string_view>, 3> gating_names{{
    {gating_func::softmax, "softmax"},
    {gating_func::sigmoid, "sigmoid"},
    {gating_func::sqrt_softplus, "sqrt_softplus"},
}};
constexpr std::array<std::pair<mla_layout, std::string_view>, 2> layout_names{{
    {mla_layout::split, "split"},
    {mla_layout::combined, "combined"},
}};

// Uniform in [-1, 1) from the top 24 bits of a draw: exactly representable as a float, so a seed
// gives the same weights on every platform and standard library.
float symmetric(rng& r) { return static_cast<float>(r.next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }

// Each tensor row has its own stream, derived from (seed, tensor name, row), so rows can be
// produced in any order and a tensor does not depend on the others. Rows take stream indices
// from 1: index 0 is the name's own seed.
gguf::row_source uniform_rows(uint64_t seed, const std::string& tensor, int64_t row_length,
                              float amplitude) {
  return [seed, tensor, row_length, amplitude](int64_t row, float* out) {
    rng r(derive_seed(seed, tensor, static_cast<uint64_t>(row) + 1));
    for (int64_t i = 0; i < row_length; ++i) out[i] = amplitude * symmetric(r);
  };
}

// Uniform in [center - amplitude, center + amplitude), one stream per row as uniform_rows.
gguf::row_source uniform_rows_around(uint64_t seed, const std::string& tensor, int64_t row_length,
                                     float center, float amplitude) {
  return [seed, tensor, row_length, center, amplitude](int64_t row, float* out) {
    rng r(derive_seed(seed, tensor, static_cast<uint64_t>(row) + 1));
    for (int64_t i = 0; i < row_length; ++i) out[i] = center + amplitude * symmetric(r);
  };
}

gguf::row_source constant_rows(int64_t row_length, float value) {
  return [row_length, value](int64_t, float* out) {
    for (int64_t i = 0; i < row_length; ++i) out[i] = value;
  };
}

[[noreturn]] void bad(const std::string& source, const std::string& field, const std::string& msg) {
  throw error("synth.bad_config", {source, 0, field}, msg);
}

// ---- model writing ---------------------------------------------------------------------------

struct model_builder {
  const synth_config& c;
  const synth_options& o;
  gguf::writer& w;
  std::string arch;

  std::string key(std::string_view suffix) const { return arch + "." + std::string(suffix); }
  void u32(std::string_view suffix, uint32_t v) { w.set(key(suffix), gguf::owned_value::u32(v)); }
  void f32(std::string_view suffix, float v) { w.set(key(suffix), gguf::owned_value::f32(v)); }

  // The requested type where the row length allows it, else the next finer one. MXFP4 is for
  // routed experts only; other matrices then take Q8_0 (llama.cpp's MOSTLY_MXFP4_MOE files).
  gguf::tensor_type matrix_type(int64_t row_length, bool expert) const {
    gguf::tensor_type t = o.type;
    if (t == gguf::tensor_type::mxfp4 && (!expert || !gguf::row_bytes(t, row_length))) t = gguf::tensor_type::q8_0;
    if (t == gguf::tensor_type::q4_k && !gguf::row_bytes(t, row_length)) t = gguf::tensor_type::q8_0;
    if (t == gguf::tensor_type::q8_0 && !gguf::row_bytes(t, row_length)) t = gguf::tensor_type::f16;
    return t;
  }

  // A weight matrix (ggml shape, shape[0] = fan-in): uniform with std gain / sqrt(fan-in).
  void matrix(const std::string& name, std::vector<int64_t> shape, float gain = 1.0f, bool expert = false) {
    const float amplitude = gain * std::sqrt(3.0f / static_cast<float>(shape[0]));
    auto rows = uniform_rows(o.seed, name, shape[0], amplitude);
    const gguf::tensor_type type = matrix_type(shape[0], expert);
    w.add_tensor(name, type, std::move(shape), std::move(rows));
  }
  void norm(const std::string& name, int64_t n) {
    w.add_tensor(name, gguf::tensor_type::f32, {n}, constant_rows(n, 1.0f));
  }
  void f32_matrix(const std::string& name, std::vector<int64_t> shape, float amplitude) {
    auto rows = uniform_rows(o.seed, name, shape[0], amplitude);
    w.add_tensor(name, gguf::tensor_type::f32, std::move(shape), std::move(rows));
  }
  static std::string blk(uint32_t i, std::string_view t) { return fmt::format("blk.{}.{}.weight", i, t); }

  // The router: f32, as llama.cpp converters keep it, scaled like a matrix of gain 1.
  void router(uint32_t i) {
    const int64_t E = c.n_embd;
    f32_matrix(blk(i, "ffn_gate_inp"), {E, c.n_expert}, std::sqrt(3.0f / static_cast<float>(E)));
  }

  // A SwiGLU FFN: ffn_gate<suffix> and ffn_up<suffix> (n_embd -> n_ff), ffn_down<suffix>
  // (n_ff -> n_embd); stacked n_expert deep for routed experts.
  void swiglu(uint32_t i, std::string_view suffix, int64_t n_ff, std::optional<int64_t> n_expert = {}) {
    const int64_t E = c.n_embd;
    auto shape = [&](int64_t in, int64_t out) {
      std::vector<int64_t> s{in, out};
      if (n_expert) s.push_back(*n_expert);
      return s;
    };
    const bool expert = n_expert.has_value();
    matrix(blk(i, fmt::format("ffn_gate{}", suffix)), shape(E, n_ff), 1.0f, expert);
    matrix(blk(i, fmt::format("ffn_up{}", suffix)), shape(E, n_ff), 1.0f, expert);
    matrix(blk(i, fmt::format("ffn_down{}", suffix)), shape(n_ff, E), 1.0f, expert);
  }

  void common_hparams(uint32_t n_vocab) {
    u32("context_length", c.context_length);
    u32("embedding_length", c.n_embd);
    u32("block_count", c.n_layer);
    u32("feed_forward_length", c.n_ff);
    u32("attention.head_count", c.n_head);
    f32("rope.freq_base", c.rope_freq_base);
    f32("attention.layer_norm_rms_epsilon", c.rms_norm_eps);
    u32("expert_count", c.n_expert);
    u32("expert_used_count", c.n_expert_used);
    u32("vocab_size", n_vocab);
    if (c.yarn) {
      w.set(key("rope.scaling.type"), gguf::owned_value::string("yarn"));
      f32("rope.scaling.factor", c.yarn->factor);
      u32("rope.scaling.original_context_length", c.yarn->original_context_length);
    }
  }

  void embeddings(uint32_t n_vocab) {
    // Embedding rows with unit variance; the output head with gain 3 so that greedy choices
    // have clear margins (logit std ~3).
    matrix("token_embd.weight", {c.n_embd, n_vocab}, std::sqrt(static_cast<float>(c.n_embd)));
    norm("output_norm.weight", c.n_embd);
    if (!c.tied_embeddings) matrix("output.weight", {c.n_embd, n_vocab}, 3.0f);
  }

  void deepseek2(uint32_t n_vocab) {
    common_hparams(n_vocab);
    const uint32_t k_mla = c.qk_nope_head_dim + c.qk_rope_head_dim;
    u32("leading_dense_block_count", c.n_leading_dense);
    u32("attention.q_lora_rank", c.q_lora_rank);
    u32("attention.kv_lora_rank", c.kv_lora_rank);
    if (c.layout == mla_layout::split) {
      // MLA as MQA over the latent: one "head" of kv_lora_rank + rope dims.
      u32("attention.head_count_kv", 1);
      u32("attention.key_length", c.kv_lora_rank + c.qk_rope_head_dim);
      u32("attention.value_length", c.kv_lora_rank);
      u32("attention.key_length_mla", k_mla);
      u32("attention.value_length_mla", c.v_head_dim);
    } else {
      u32("attention.head_count_kv", c.n_head);
      u32("attention.key_length", k_mla);
      u32("attention.value_length", c.v_head_dim);
    }
    u32("expert_feed_forward_length", c.n_ff_exp);
    u32("expert_shared_count", c.n_expert_shared);
    f32("expert_weights_scale", c.expert_weights_scale);
    w.set(key("expert_weights_norm"), gguf::owned_value::boolean(c.expert_weights_norm));
    u32("expert_gating_func", c.gating == gating_func::softmax ? 1 : 2);
    if (c.n_expert_groups > 1) {
      u32("expert_group_count", c.n_expert_groups);
      u32("expert_group_used_count", c.n_group_used);
    }
    u32("rope.dimension_count", c.qk_rope_head_dim);
    if (c.yarn) f32("rope.scaling.yarn_log_multiplier", 0.1f * c.yarn->mscale_all_dim);

    embeddings(n_vocab);
    const int64_t E = c.n_embd;
    const int64_t H = c.n_head;
    for (uint32_t i = 0; i < c.n_layer; ++i) {
      norm(blk(i, "attn_norm"), E);
      if (c.q_lora_rank > 0) {
        norm(blk(i, "attn_q_a_norm"), c.q_lora_rank);
        matrix(blk(i, "attn_q_a"), {E, c.q_lora_rank});
        matrix(blk(i, "attn_q_b"), {c.q_lora_rank, H * k_mla});
      } else {
        matrix(blk(i, "attn_q"), {E, H * k_mla});
      }
      norm(blk(i, "attn_kv_a_norm"), c.kv_lora_rank);
      matrix(blk(i, "attn_kv_a_mqa"), {E, c.kv_lora_rank + c.qk_rope_head_dim});
      if (c.layout == mla_layout::split) {
        matrix(blk(i, "attn_k_b"), {c.qk_nope_head_dim, c.kv_lora_rank, H});
        matrix(blk(i, "attn_v_b"), {c.kv_lora_rank, c.v_head_dim, H});
      } else {
        matrix(blk(i, "attn_kv_b"), {c.kv_lora_rank, H * (c.qk_nope_head_dim + c.v_head_dim)});
      }
      matrix(blk(i, "attn_output"), {H * c.v_head_dim, E});
      norm(blk(i, "ffn_norm"), E);
      if (i < c.n_leading_dense) {
        swiglu(i, "", c.n_ff);
      } else {
        router(i);
        if (c.expert_selection_bias)
          f32_matrix(fmt::format("blk.{}.exp_probs_b.bias", i), {c.n_expert}, 0.1f);
        swiglu(i, "_exps", c.n_ff_exp, c.n_expert);
        if (c.n_expert_shared > 0)
          swiglu(i, "_shexp", static_cast<int64_t>(c.n_ff_exp) * c.n_expert_shared);
      }
    }
  }

  // DeepSeek-V4 as llama.cpp v0.4.0 loads it (src/models/deepseek4.cpp): q-LoRA queries, one
  // shared key/value head with attention sinks, a grouped low-rank output projection, per-layer
  // KV compression (compress_ratios: 0, 4 with the lightning indexer, 128), hyper-connections
  // (hc_mult residual streams mixed before and after attention and FFN), sqrt-softplus routing
  // with the first n_hash_layers routed by token id, and shared experts.
  void deepseek4(uint32_t n_vocab) {
    common_hparams(n_vocab);
    const int64_t E = c.n_embd, H = c.n_head, D = c.head_dim, hc = c.hc_mult;
    const int64_t mix = (2 + hc) * hc;
    u32("attention.head_count_kv", 1);
    u32("attention.key_length", c.head_dim);
    u32("attention.value_length", c.head_dim);
    u32("rope.dimension_count", c.qk_rope_head_dim);
    u32("attention.q_lora_rank", c.q_lora_rank);
    u32("attention.sliding_window", c.sliding_window);
    u32("expert_feed_forward_length", c.n_ff_exp);
    u32("expert_shared_count", c.n_expert_shared);
    f32("expert_weights_scale", c.expert_weights_scale);
    w.set(key("expert_weights_norm"), gguf::owned_value::boolean(c.expert_weights_norm));
    u32("expert_gating_func", 4);  // LLAMA_EXPERT_GATING_FUNC_TYPE_SQRT_SOFTPLUS
    const std::vector<float> limits(c.n_layer, c.swiglu_limit);
    w.set(key("swiglu_clamp_exp"), gguf::owned_value::f32_array(limits));
    w.set(key("swiglu_clamp_shexp"), gguf::owned_value::f32_array(limits));
    u32("attention.indexer.head_count", c.indexer_head_count);
    u32("attention.indexer.key_length", c.indexer_head_dim);
    u32("attention.indexer.top_k", c.indexer_top_k);
    u32("attention.output_group_count", c.o_groups);
    u32("attention.output_lora_rank", c.o_lora_rank);
    f32("attention.compress_rope_freq_base", c.compress_rope_freq_base);
    std::vector<int32_t> ratios(c.compress_ratios.begin(), c.compress_ratios.end());
    w.set(key("attention.compress_ratios"), gguf::owned_value::i32_array(ratios));
    u32("hyper_connection.count", c.hc_mult);
    u32("hyper_connection.sinkhorn_iterations", c.hc_sinkhorn_iters);
    f32("hyper_connection.epsilon", c.hc_eps);
    u32("hash_layer_count", c.n_hash_layers);
    u32("embedding_length_out", c.n_embd * c.hc_mult);

    embeddings(n_vocab);
    // The output head's stream mix: stored f32, as the conversion keeps float32 sources.
    f32_matrix("output_hc_fn.weight", {hc * E, hc}, std::sqrt(3.0f / static_cast<float>(hc * E)));
    f32_matrix("output_hc_base.weight", {hc}, 0.5f);
    w.add_tensor("output_hc_scale.weight", gguf::tensor_type::f32, {1},
                 uniform_rows_around(o.seed, "output_hc_scale.weight", 1, 1.0f, 0.5f));
    const int64_t idx = c.indexer_head_dim;
    for (uint32_t i = 0; i < c.n_layer; ++i) {
      norm(blk(i, "attn_norm"), E);
      // Sink logits comparable to log(sum of exp(scores)) over a window, so they matter.
      w.add_tensor(blk(i, "attn_sinks"), gguf::tensor_type::f32, {H},
                   uniform_rows_around(o.seed, blk(i, "attn_sinks"), H, 4.0f, 2.0f));
      matrix(blk(i, "attn_q_a"), {E, c.q_lora_rank});
      norm(blk(i, "attn_q_a_norm"), c.q_lora_rank);
      matrix(blk(i, "attn_q_b"), {c.q_lora_rank, H * D});
      matrix(blk(i, "attn_kv"), {E, D});
      norm(blk(i, "attn_kv_a_norm"), D);
      matrix(blk(i, "attn_output_a"), {H * D / c.o_groups, static_cast<int64_t>(c.o_lora_rank) * c.o_groups});
      matrix(blk(i, "attn_output_b"), {static_cast<int64_t>(c.o_groups) * c.o_lora_rank, E});
      for (const char* part : {"attn", "ffn"}) {
        const std::string fn = blk(i, fmt::format("hc_{}_fn", part));
        const std::string base = blk(i, fmt::format("hc_{}_base", part));
        const std::string scale = blk(i, fmt::format("hc_{}_scale", part));
        f32_matrix(fn, {hc * E, mix}, std::sqrt(3.0f / static_cast<float>(hc * E)));
        f32_matrix(base, {mix}, 0.5f);
        w.add_tensor(scale, gguf::tensor_type::f32, {3}, uniform_rows_around(o.seed, scale, 3, 1.0f, 0.5f));
      }
      const uint32_t ratio = c.compress_ratios[i];
      if (ratio != 0) {
        const int64_t coff = ratio == 4 ? 2 : 1;  // ratio 4 pools overlapping pairs of blocks
        matrix(blk(i, "attn_compressor_kv"), {E, coff * D});
        matrix(blk(i, "attn_compressor_gate"), {E, coff * D});
        f32_matrix(blk(i, "attn_compressor_ape"), {coff * D, ratio}, 0.5f);
        norm(blk(i, "attn_compressor_norm"), D);
        if (ratio == 4) {
          matrix(blk(i, "indexer.proj"), {E, c.indexer_head_count});
          matrix(blk(i, "indexer.attn_q_b"), {c.q_lora_rank, static_cast<int64_t>(c.indexer_head_count) * idx});
          matrix(blk(i, "indexer_compressor_kv"), {E, 2 * idx});
          matrix(blk(i, "indexer_compressor_gate"), {E, 2 * idx});
          f32_matrix(blk(i, "indexer_compressor_ape"), {2 * idx, 4}, 0.5f);
          norm(blk(i, "indexer_compressor_norm"), idx);
        }
      }
      norm(blk(i, "ffn_norm"), E);
      router(i);
      if (i < c.n_hash_layers) {
        hash_routing(blk(i, "ffn_gate_tid2eid"), n_vocab);
      } else {
        f32_matrix(fmt::format("blk.{}.exp_probs_b.bias", i), {c.n_expert}, 0.1f);
      }
      swiglu(i, "_exps", c.n_ff_exp, c.n_expert);
      swiglu(i, "_shexp", static_cast<int64_t>(c.n_ff_exp) * c.n_expert_shared);
    }
  }

  // ffn_gate_tid2eid: n_expert_used distinct experts per token id (I32 {n_used, n_vocab}), a
  // seeded draw per token.
  void hash_routing(const std::string& name, uint32_t n_vocab) {
    const auto k = static_cast<std::size_t>(c.n_expert_used);
    std::vector<std::byte> bytes(static_cast<std::size_t>(n_vocab) * k * 4);
    std::vector<int32_t> experts(c.n_expert);
    for (uint32_t v = 0; v < n_vocab; ++v) {
      rng r(derive_seed(o.seed, name, uint64_t{v} + 1));
      for (uint32_t e = 0; e < c.n_expert; ++e) experts[e] = static_cast<int32_t>(e);
      for (std::size_t j = 0; j < k; ++j) {  // partial Fisher-Yates shuffle
        const std::size_t pick = j + static_cast<std::size_t>(r.next() % (c.n_expert - j));
        std::swap(experts[j], experts[pick]);
        const auto u = static_cast<uint32_t>(experts[j]);
        for (int b = 0; b < 4; ++b)
          bytes[(static_cast<std::size_t>(v) * k + j) * 4 + static_cast<std::size_t>(b)] = static_cast<std::byte>((u >> (8 * b)) & 0xffu);
      }
    }
    w.add_tensor_bytes(name, gguf::tensor_type::i32, {static_cast<int64_t>(k), n_vocab}, std::move(bytes));
  }

  // qwen3moe and llama (Mixtral) blocks: grouped-query attention, optionally with per-head
  // q/k norms, then routed experts of width n_ff_expert.
  void gqa_moe_blocks(int64_t n_ff_expert, bool qk_norm) {
    const int64_t E = c.n_embd;
    const int64_t q_width = static_cast<int64_t>(c.head_dim) * c.n_head;
    const int64_t kv_width = static_cast<int64_t>(c.head_dim) * c.n_head_kv;
    for (uint32_t i = 0; i < c.n_layer; ++i) {
      norm(blk(i, "attn_norm"), E);
      matrix(blk(i, "attn_q"), {E, q_width});
      matrix(blk(i, "attn_k"), {E, kv_width});
      matrix(blk(i, "attn_v"), {E, kv_width});
      matrix(blk(i, "attn_output"), {q_width, E});
      if (qk_norm) {
        norm(blk(i, "attn_q_norm"), c.head_dim);
        norm(blk(i, "attn_k_norm"), c.head_dim);
      }
      norm(blk(i, "ffn_norm"), E);
      router(i);
      swiglu(i, "_exps", n_ff_expert, c.n_expert);
    }
  }

  void qwen3moe(uint32_t n_vocab) {
    common_hparams(n_vocab);
    u32("attention.head_count_kv", c.n_head_kv);
    u32("attention.key_length", c.head_dim);
    u32("attention.value_length", c.head_dim);
    u32("expert_feed_forward_length", c.n_ff_exp);
    embeddings(n_vocab);
    gqa_moe_blocks(c.n_ff_exp, true);
  }

  void llama(uint32_t n_vocab) {
    common_hparams(n_vocab);
    u32("attention.head_count_kv", c.n_head_kv);
    u32("rope.dimension_count", c.head_dim);
    if (c.head_dim * c.n_head != c.n_embd) {
      u32("attention.key_length", c.head_dim);
      u32("attention.value_length", c.head_dim);
    }
    embeddings(n_vocab);
    gqa_moe_blocks(c.n_ff, false);
  }
};

uint32_t file_type(gguf::tensor_type t) {
  // llama_ftype values: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_Q4_K_S 14,
  // MOSTLY_MXFP4_MOE 38.
  if (t == gguf::tensor_type::f16) return 1;
  if (t == gguf::tensor_type::q8_0) return 7;
  if (t == gguf::tensor_type::q4_k) return 14;
  if (t == gguf::tensor_type::mxfp4) return 38;
  return 0;
}

uint32_t add_vocab(gguf::writer& w, const synth_options& o) {
  if (o.vocab_from) {
    const gguf::file src(*o.vocab_from);
    const auto tokens = src.get_string_array("tokenizer.ggml.tokens");
    if (tokens.empty())
      throw error("synth.bad_vocab", {src.path(), 0, "tokenizer.ggml.tokens"}, "vocabulary is empty");
    for (const gguf::metadata_entry& e : src.metadata())
      if (e.key.starts_with("tokenizer.")) w.set(std::string(e.key), gguf::to_owned(e.val));
    return static_cast<uint32_t>(tokens.size());
  }
  const builtin_vocab& v = default_vocab();
  w.set("tokenizer.ggml.model", gguf::owned_value::string("gpt2"));
  w.set("tokenizer.ggml.pre", gguf::owned_value::string("gpt-2"));
  w.set("tokenizer.ggml.tokens", gguf::owned_value::string_array(v.tokens));
  w.set("tokenizer.ggml.token_type", gguf::owned_value::i32_array(v.token_types));
  w.set("tokenizer.ggml.merges", gguf::owned_value::string_array(v.merges));
  w.set("tokenizer.ggml.bos_token_id", gguf::owned_value::u32(static_cast<uint32_t>(v.bos_id)));
  w.set("tokenizer.ggml.eos_token_id", gguf::owned_value::u32(static_cast<uint32_t>(v.eos_id)));
  w.set("tokenizer.ggml.add_bos_token", gguf::owned_value::boolean(true));
  w.set("tokenizer.ggml.add_eos_token", gguf::owned_value::boolean(false));
  return static_cast<uint32_t>(v.tokens.size());
}

}  // namespace

std::vector<std::string_view> preset_names() {
  return {"dsv3-mini", "dsv2-lite-mini", "qwen3moe-mini", "mixtral-mini", "dsv4-mini"};
}

namespace {

// The miniature DeepSeek shape both deepseek2 presets share: MLA with a 64-wide latent, one
// leading dense block, 16 routed experts of which 4 are used.
synth_config deepseek2_mini() {
  synth_config c;
  c.arch = synth_arch::deepseek2;
  c.n_embd = 256;
  c.n_layer = 3;
  c.n_head = 4;
  c.n_ff = 512;
  c.n_ff_exp = 64;
  c.n_expert = 16;
  c.n_expert_used = 4;
  c.n_leading_dense = 1;
  c.kv_lora_rank = 64;
  c.qk_nope_head_dim = 32;
  c.qk_rope_head_dim = 16;
  c.v_head_dim = 32;
  return c;
}

// The miniature grouped-query shape of the qwen3moe and Mixtral presets.
synth_config gqa_mini(synth_arch arch) {
  synth_config c;
  c.arch = arch;
  c.n_embd = 256;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 64;
  c.n_expert_used = 2;
  c.rope_freq_base = 1000000.0f;
  return c;
}

}  // namespace

synth_config preset(std::string_view name) {
  synth_config c;
  if (name == "dsv3-mini") {
    // DeepSeek-V3 in miniature: q-LoRA, MLA, one leading dense block, 16 routed experts in 4
    // groups (top-2 groups, top-4 experts), sigmoid scores with a selection bias, normalised
    // and scaled weights, one shared expert, YaRN.
    c = deepseek2_mini();
    c.n_expert_shared = 1;
    c.n_expert_groups = 4;
    c.n_group_used = 2;
    c.gating = gating_func::sigmoid;
    c.expert_weights_norm = true;
    c.expert_weights_scale = 2.5f;
    c.expert_selection_bias = true;
    c.q_lora_rank = 128;
    c.layout = mla_layout::split;
    c.yarn = yarn_config{4.0f, 256, 1.0f};
  } else if (name == "dsv2-lite-mini") {
    // DeepSeek-V2-Lite in miniature: no q-LoRA, softmax gating without groups or bias, two
    // shared experts, the combined attn_kv_b layout.
    c = deepseek2_mini();
    c.n_expert_shared = 2;
    c.gating = gating_func::softmax;
    c.expert_weights_norm = false;
    c.expert_weights_scale = 1.0f;
    c.q_lora_rank = 0;
    c.layout = mla_layout::combined;
    c.yarn = yarn_config{4.0f, 256, 0.707f};
  } else if (name == "qwen3moe-mini") {
    c = gqa_mini(synth_arch::qwen3moe);
    c.n_ff = 512;
    c.n_ff_exp = 128;
    c.n_expert = 8;
    c.expert_weights_norm = true;
  } else if (name == "dsv4-mini") {
    // DeepSeek-V4 in miniature: every feature llama.cpp's deepseek4 has, small enough to check
    // against llama.cpp in seconds over prompts that cross the 128-token window: layers of
    // compression ratio 0, 4 (indexer top-16 of the compressed blocks) and 128, one hash-routed
    // layer, 4 hyper-connection streams, sinks, 2 output groups, a shared expert, a SwiGLU clamp
    // tight enough to act on these weights, YaRN on the compressed layers.
    c.arch = synth_arch::deepseek4;
    c.context_length = 4096;
    c.n_embd = 256;
    c.n_layer = 4;
    c.n_head = 4;
    c.head_dim = 64;
    c.qk_rope_head_dim = 16;
    c.q_lora_rank = 128;
    c.n_ff = 0;
    c.n_ff_exp = 64;
    c.n_expert = 16;
    c.n_expert_used = 4;
    c.n_expert_shared = 1;
    c.n_leading_dense = 0;
    c.gating = gating_func::sqrt_softplus;
    c.expert_weights_norm = true;
    c.expert_weights_scale = 1.5f;
    c.expert_selection_bias = true;
    c.sliding_window = 128;
    c.compress_ratios = {0, 4, 128, 4};
    c.indexer_head_count = 16;
    c.indexer_head_dim = 64;
    c.indexer_top_k = 16;
    c.o_groups = 2;
    c.o_lora_rank = 32;
    c.compress_rope_freq_base = 160000.0f;
    c.hc_mult = 4;
    c.hc_sinkhorn_iters = 20;
    c.hc_eps = 1e-6f;
    c.n_hash_layers = 1;
    c.swiglu_limit = 1.5f;
    c.yarn = yarn_config{4.0f, 1024, 1.0f};
  } else if (name == "mixtral-mini") {
    c = gqa_mini(synth_arch::llama);
    c.n_ff = 256;
    c.n_expert = 4;
    c.rms_norm_eps = 1e-5f;
  } else {
    std::string known;
    for (auto n : preset_names()) known += (known.empty() ? "" : ", ") + std::string(n);
    throw error("synth.unknown_preset", {"", 0, "--preset"},
                fmt::format("unknown preset '{}' (known: {})", name, known));
  }
  c.name = std::string(name);
  return c;
}

void to_json(nlohmann::json& j, const synth_config& c) {
  j = nlohmann::json{
      {"arch", detail::enum_to_string(arch_names, c.arch)},
      {"name", c.name},
      {"context_length", c.context_length},
      {"n_embd", c.n_embd},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_head_kv", c.n_head_kv},
      {"head_dim", c.head_dim},
      {"n_ff", c.n_ff},
      {"n_ff_exp", c.n_ff_exp},
      {"n_expert", c.n_expert},
      {"n_expert_used", c.n_expert_used},
      {"n_expert_shared", c.n_expert_shared},
      {"n_leading_dense", c.n_leading_dense},
      {"n_expert_groups", c.n_expert_groups},
      {"n_group_used", c.n_group_used},
      {"gating", detail::enum_to_string(gating_names, c.gating)},
      {"expert_weights_norm", c.expert_weights_norm},
      {"expert_weights_scale", c.expert_weights_scale},
      {"expert_selection_bias", c.expert_selection_bias},
      {"q_lora_rank", c.q_lora_rank},
      {"kv_lora_rank", c.kv_lora_rank},
      {"qk_nope_head_dim", c.qk_nope_head_dim},
      {"qk_rope_head_dim", c.qk_rope_head_dim},
      {"v_head_dim", c.v_head_dim},
      {"mla_layout", detail::enum_to_string(layout_names, c.layout)},
      {"rope_freq_base", c.rope_freq_base},
      {"rms_norm_eps", c.rms_norm_eps},
      {"tied_embeddings", c.tied_embeddings},
  };
  if (c.arch == synth_arch::deepseek4) {
    j["sliding_window"] = c.sliding_window;
    j["compress_ratios"] = c.compress_ratios;
    j["indexer_head_count"] = c.indexer_head_count;
    j["indexer_head_dim"] = c.indexer_head_dim;
    j["indexer_top_k"] = c.indexer_top_k;
    j["o_groups"] = c.o_groups;
    j["o_lora_rank"] = c.o_lora_rank;
    j["compress_rope_freq_base"] = c.compress_rope_freq_base;
    j["hc_mult"] = c.hc_mult;
    j["hc_sinkhorn_iters"] = c.hc_sinkhorn_iters;
    j["hc_eps"] = c.hc_eps;
    j["n_hash_layers"] = c.n_hash_layers;
    j["swiglu_limit"] = c.swiglu_limit;
  }
  if (c.yarn)
    j["yarn"] = {{"factor", c.yarn->factor},
                 {"original_context_length", c.yarn->original_context_length},
                 {"mscale_all_dim", c.yarn->mscale_all_dim}};
  else
    j["yarn"] = nullptr;
}

synth_config config_from_json(const nlohmann::json& j, const synth_config& base,
                              const std::string& source) {
  if (!j.is_object()) bad(source, "", "a model config must be a JSON object");
  synth_config c = base;
  auto get_u32 = [&](const nlohmann::json& v, const std::string& field) -> uint32_t {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 0xffffffffll)
      bad(source, field, "must be a non-negative integer below 2^32");
    return static_cast<uint32_t>(v.get<int64_t>());
  };
  auto get_f32 = [&](const nlohmann::json& v, const std::string& field) -> float {
    if (!v.is_number()) bad(source, field, "must be a number");
    return v.get<float>();
  };
  auto get_bool = [&](const nlohmann::json& v, const std::string& field) -> bool {
    if (!v.is_boolean()) bad(source, field, "must be true or false");
    return v.get<bool>();
  };
  auto get_str = [&](const nlohmann::json& v, const std::string& field) -> std::string {
    if (!v.is_string()) bad(source, field, "must be a string");
    return v.get<std::string>();
  };
  const std::vector<std::pair<std::string_view, uint32_t synth_config::*>> u32_fields{
      {"context_length", &synth_config::context_length},
      {"n_embd", &synth_config::n_embd},
      {"n_layer", &synth_config::n_layer},
      {"n_head", &synth_config::n_head},
      {"n_head_kv", &synth_config::n_head_kv},
      {"head_dim", &synth_config::head_dim},
      {"n_ff", &synth_config::n_ff},
      {"n_ff_exp", &synth_config::n_ff_exp},
      {"n_expert", &synth_config::n_expert},
      {"n_expert_used", &synth_config::n_expert_used},
      {"n_expert_shared", &synth_config::n_expert_shared},
      {"n_leading_dense", &synth_config::n_leading_dense},
      {"n_expert_groups", &synth_config::n_expert_groups},
      {"n_group_used", &synth_config::n_group_used},
      {"q_lora_rank", &synth_config::q_lora_rank},
      {"kv_lora_rank", &synth_config::kv_lora_rank},
      {"qk_nope_head_dim", &synth_config::qk_nope_head_dim},
      {"qk_rope_head_dim", &synth_config::qk_rope_head_dim},
      {"v_head_dim", &synth_config::v_head_dim},
      {"sliding_window", &synth_config::sliding_window},
      {"indexer_head_count", &synth_config::indexer_head_count},
      {"indexer_head_dim", &synth_config::indexer_head_dim},
      {"indexer_top_k", &synth_config::indexer_top_k},
      {"o_groups", &synth_config::o_groups},
      {"o_lora_rank", &synth_config::o_lora_rank},
      {"hc_mult", &synth_config::hc_mult},
      {"hc_sinkhorn_iters", &synth_config::hc_sinkhorn_iters},
      {"n_hash_layers", &synth_config::n_hash_layers},
  };
  for (const auto& [k, v] : j.items()) {
    bool done = false;
    for (const auto& [name, member] : u32_fields)
      if (k == name) {
        c.*member = get_u32(v, k);
        done = true;
      }
    if (done) continue;
    try {
      if (k == "arch") {
        c.arch = detail::enum_from_string(arch_names, get_str(v, k), "synth.arch");
      } else if (k == "name") {
        c.name = get_str(v, k);
      } else if (k == "gating") {
        c.gating = detail::enum_from_string(gating_names, get_str(v, k), "synth.gating");
      } else if (k == "mla_layout") {
        c.layout = detail::enum_from_string(layout_names, get_str(v, k), "synth.mla_layout");
      } else if (k == "expert_weights_norm") {
        c.expert_weights_norm = get_bool(v, k);
      } else if (k == "expert_selection_bias") {
        c.expert_selection_bias = get_bool(v, k);
      } else if (k == "tied_embeddings") {
        c.tied_embeddings = get_bool(v, k);
      } else if (k == "expert_weights_scale") {
        c.expert_weights_scale = get_f32(v, k);
      } else if (k == "rope_freq_base") {
        c.rope_freq_base = get_f32(v, k);
      } else if (k == "rms_norm_eps") {
        c.rms_norm_eps = get_f32(v, k);
      } else if (k == "compress_rope_freq_base") {
        c.compress_rope_freq_base = get_f32(v, k);
      } else if (k == "hc_eps") {
        c.hc_eps = get_f32(v, k);
      } else if (k == "swiglu_limit") {
        c.swiglu_limit = get_f32(v, k);
      } else if (k == "compress_ratios") {
        if (!v.is_array()) bad(source, k, "must be an array of 0, 4 or 128, one per layer");
        c.compress_ratios.clear();
        for (std::size_t i = 0; i < v.size(); ++i) c.compress_ratios.push_back(get_u32(v[i], fmt::format("{}[{}]", k, i)));
      } else if (k == "yarn") {
        if (v.is_null()) {
          c.yarn.reset();
        } else {
          if (!v.is_object()) bad(source, k, "must be an object or null");
          yarn_config y = c.yarn.value_or(yarn_config{});
          for (const auto& [yk, yv] : v.items()) {
            const std::string f = "yarn." + yk;
            if (yk == "factor") y.factor = get_f32(yv, f);
            else if (yk == "original_context_length") y.original_context_length = get_u32(yv, f);
            else if (yk == "mscale_all_dim") y.mscale_all_dim = get_f32(yv, f);
            else bad(source, f, "unknown field");
          }
          c.yarn = y;
        }
      } else {
        bad(source, k, "unknown field");
      }
    } catch (const error& e) {
      if (e.id() == "synth.bad_config") throw;
      bad(source, k, e.message());
    }
  }
  validate(c, source);
  return c;
}

void validate(const synth_config& c, const std::string& source) {
  auto require = [&](bool ok, const char* field, const std::string& msg) {
    if (!ok) bad(source, field, msg);
  };
  require(c.n_embd > 0 && c.n_embd % 2 == 0, "n_embd", "must be a positive even number");
  require(c.n_layer > 0 && c.n_layer <= 512, "n_layer", "must be 1 to 512");
  require(c.n_head > 0, "n_head", "must be positive");
  require(c.context_length > 0, "context_length", "must be positive");
  require(c.n_expert > 0 && c.n_expert <= 1024, "n_expert", "must be 1 to 1024");
  require(c.n_expert_used > 0 && c.n_expert_used <= c.n_expert, "n_expert_used",
          "must be 1 to n_expert");
  require(c.rms_norm_eps > 0.0f, "rms_norm_eps", "must be positive");
  require(c.rope_freq_base > 0.0f, "rope_freq_base", "must be positive");
  if (c.yarn) {
    require(c.yarn->factor >= 1.0f, "yarn.factor", "must be >= 1");
    require(c.yarn->original_context_length > 0, "yarn.original_context_length", "must be positive");
  }
  switch (c.arch) {
    case synth_arch::deepseek2:
      require(c.gating != gating_func::sqrt_softplus, "gating", "deepseek2 takes softmax or sigmoid");
      require(c.n_ff > 0 || c.n_leading_dense == 0, "n_ff", "must be positive with dense blocks");
      require(c.n_ff_exp > 0, "n_ff_exp", "must be positive");
      require(c.n_leading_dense < c.n_layer, "n_leading_dense", "must leave at least one MoE block");
      require(c.kv_lora_rank > 0, "kv_lora_rank", "must be positive");
      require(c.qk_nope_head_dim > 0, "qk_nope_head_dim", "must be positive");
      require(c.qk_rope_head_dim > 0 && c.qk_rope_head_dim % 2 == 0, "qk_rope_head_dim",
              "must be positive and even");
      require(c.v_head_dim > 0, "v_head_dim", "must be positive");
      if (c.n_expert_groups > 1) {
        require(c.n_expert_groups < c.n_expert && c.n_expert % c.n_expert_groups == 0,
                "n_expert_groups", "must divide n_expert and be smaller than it");
        require(c.n_group_used > 0 && c.n_group_used < c.n_expert_groups, "n_group_used",
                "must be 1 to n_expert_groups - 1");
        require(c.n_expert_used <= c.n_group_used * (c.n_expert / c.n_expert_groups),
                "n_expert_used", "exceeds the experts in the used groups");
      }
      break;
    case synth_arch::deepseek4: {
      // What llama.cpp's deepseek4 loader and graph assert.
      require(c.gating == gating_func::sqrt_softplus, "gating", "deepseek4 needs sqrt_softplus");
      require(c.head_dim > 0 && c.head_dim % 2 == 0, "head_dim", "must be positive and even");
      require(c.qk_rope_head_dim > 0 && c.qk_rope_head_dim % 2 == 0 && c.qk_rope_head_dim <= c.head_dim &&
                  c.qk_rope_head_dim <= c.indexer_head_dim,
              "qk_rope_head_dim", "must be positive, even, and at most head_dim and indexer_head_dim");
      require(c.q_lora_rank > 0, "q_lora_rank", "must be positive");
      require(c.n_ff_exp > 0, "n_ff_exp", "must be positive");
      require(c.n_expert_shared > 0, "n_expert_shared", "deepseek4 layers always have shared experts");
      require(c.hc_mult == 4, "hc_mult", "llama.cpp's deepseek4 graph supports 4 streams only");
      require(c.hc_sinkhorn_iters > 0, "hc_sinkhorn_iters", "must be positive");
      require(c.o_groups > 0 && c.n_head % c.o_groups == 0, "o_groups", "must divide n_head");
      require(c.o_lora_rank > 0, "o_lora_rank", "must be positive");
      require(c.sliding_window > 0, "sliding_window", "must be positive");
      require(c.indexer_head_count > 0 && c.indexer_top_k > 0, "indexer_top_k",
              "indexer head count and top-k must be positive");
      // llama.cpp rotates indexer keys and queries by a Hadamard matrix of 64 or more.
      require(c.indexer_head_dim > 0 && c.indexer_head_dim % 64 == 0, "indexer_head_dim", "must be a multiple of 64");
      require(c.compress_ratios.size() == c.n_layer, "compress_ratios", "needs one ratio per layer");
      for (uint32_t r : c.compress_ratios)
        require(r == 0 || r == 4 || r == 128, "compress_ratios", "ratios must be 0, 4 or 128");
      require(c.n_hash_layers <= c.n_layer, "n_hash_layers", "must not exceed n_layer");
      require(c.n_expert_groups <= 1, "n_expert_groups", "deepseek4 has no group-limited routing");
      require(c.swiglu_limit >= 0.0f, "swiglu_limit", "must be >= 0");
      require(c.n_embd % 32 == 0 && c.head_dim % 32 == 0, "n_embd", "n_embd and head_dim must be multiples of 32");
      break;
    }
    case synth_arch::qwen3moe:
    case synth_arch::llama:
      require(c.head_dim > 0 && c.head_dim % 2 == 0, "head_dim", "must be positive and even");
      require(c.n_head_kv > 0 && c.n_head % c.n_head_kv == 0, "n_head_kv", "must divide n_head");
      require(c.arch != synth_arch::qwen3moe || c.n_ff_exp > 0, "n_ff_exp", "must be positive");
      require(c.arch != synth_arch::llama || c.n_ff > 0, "n_ff", "must be positive");
      break;
  }
}

void synth(const synth_config& c, const synth_options& o, const std::filesystem::path& out) {
  validate(c, "");
  if (!gguf::can_quantize(o.type) || o.type == gguf::tensor_type::bf16)
    throw error("synth.bad_type", {"", 0, "--type"},
                fmt::format("cannot write tensors of type {} (use f32, f16, q8_0, q4_k or mxfp4)",
                            gguf::name(o.type)));
  gguf::writer w;
  const std::string arch(detail::enum_to_string(arch_names, c.arch));
  w.set("general.architecture", gguf::owned_value::string(arch));
  w.set("general.name", gguf::owned_value::string(c.name));
  w.set("general.file_type", gguf::owned_value::u32(file_type(o.type)));
  w.set("general.quantization_version", gguf::owned_value::u32(2));
  w.set("moebench.synth.seed", gguf::owned_value::u64(o.seed));
  const uint32_t n_vocab = add_vocab(w, o);
  model_builder b{c, o, w, arch};
  switch (c.arch) {
    case synth_arch::deepseek2: b.deepseek2(n_vocab); break;
    case synth_arch::qwen3moe: b.qwen3moe(n_vocab); break;
    case synth_arch::llama: b.llama(n_vocab); break;
    case synth_arch::deepseek4: b.deepseek4(n_vocab); break;
  }
  w.write(out);
}

}  // namespace moebench::model
