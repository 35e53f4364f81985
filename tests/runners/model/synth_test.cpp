// Synthetic models: metadata and tensor layout per preset, parameter counts computed here from
// the config (independently of the inspect code, which sums tensor sizes), determinism, weight
// scales, quantised variants, config files and copied vocabularies.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/gguf_writer.h"
#include "moebench/model/inspect.h"
#include "moebench/model/synth.h"

namespace {

using namespace moebench;
using model::synth_arch;
using model::synth_config;

std::filesystem::path temp(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("moebench_synth_test_" + name);
}

struct counts {
  uint64_t total = 0;
  uint64_t active = 0;
  uint64_t embedding = 0;
  uint64_t kv_bytes = 0;
};

// Parameter counts from the shape alone.
counts expected_counts(const synth_config& c, uint64_t V) {
  const uint64_t E = c.n_embd, H = c.n_head, L = c.n_layer;
  counts r;
  r.embedding = V * E;
  uint64_t common = V * E + E + (c.tied_embeddings ? 0 : V * E);
  uint64_t experts_total = 0, experts_active = 0;
  if (c.arch == synth_arch::deepseek2) {
    const uint64_t nope = c.qk_nope_head_dim, rope = c.qk_rope_head_dim, v = c.v_head_dim;
    const uint64_t kvr = c.kv_lora_rank, ql = c.q_lora_rank;
    for (uint64_t i = 0; i < L; ++i) {
      common += E;  // attn_norm
      common += ql > 0 ? ql + E * ql + ql * H * (nope + rope) : E * H * (nope + rope);
      common += kvr + E * (kvr + rope);
      common += c.layout == model::mla_layout::split ? nope * kvr * H + kvr * v * H : kvr * H * (nope + v);
      common += H * v * E + E;  // attn_output, ffn_norm
      if (i < c.n_leading_dense) {
        common += 3 * E * c.n_ff;
      } else {
        common += E * c.n_expert + (c.expert_selection_bias ? c.n_expert : 0);
        common += 3 * E * c.n_ff_exp * c.n_expert_shared;
        experts_total += 3 * E * c.n_ff_exp * c.n_expert;
        experts_active += 3 * E * c.n_ff_exp * c.n_expert_used;
      }
    }
    r.kv_bytes = c.layout == model::mla_layout::split ? L * (kvr + rope) * 2 : L * H * (nope + rope + v) * 2;
  } else if (c.arch == synth_arch::deepseek4) {
    const uint64_t D = c.head_dim, ql = c.q_lora_rank, hc = c.hc_mult, mix = (2 + hc) * hc;
    const uint64_t G = c.o_groups, ol = c.o_lora_rank, nih = c.indexer_head_count, idx = c.indexer_head_dim;
    common += hc * E * hc + hc + 1;  // output_hc_fn, _base, _scale
    double kv = 0;
    for (uint64_t i = 0; i < L; ++i) {
      const uint64_t ratio = c.compress_ratios[i];
      common += E + H + E * ql + ql + ql * H * D + E * D + D;  // norms, sinks, q-LoRA, kv
      common += H * D * ol + G * ol * E;                       // attn_output_a (all groups), _b
      common += 2 * (hc * E * mix + mix + 3);                  // hyper-connections
      if (ratio != 0) {
        const uint64_t coff = ratio == 4 ? 2 : 1;
        common += 2 * E * coff * D + coff * D * ratio + D;
        kv += static_cast<double>((ratio == 4 ? D + idx : D) * 2) / static_cast<double>(ratio);
      }
      if (ratio == 4) common += E * nih + ql * nih * idx + 2 * E * 2 * idx + 2 * idx * 4 + idx;
      common += E + E * c.n_expert + (i < c.n_hash_layers ? c.n_expert_used * V : c.n_expert);
      common += 3 * E * c.n_ff_exp * c.n_expert_shared;
      experts_total += 3 * E * c.n_ff_exp * c.n_expert;
      experts_active += 3 * E * c.n_ff_exp * c.n_expert_used;
    }
    r.kv_bytes = static_cast<uint64_t>(std::llround(kv));
  } else {
    const uint64_t hd = c.head_dim, kv = c.n_head_kv;
    const uint64_t ff = c.arch == synth_arch::qwen3moe ? c.n_ff_exp : c.n_ff;
    for (uint64_t i = 0; i < L; ++i) {
      common += E + E * hd * H + 2 * E * hd * kv + hd * H * E + E + E * c.n_expert;
      if (c.arch == synth_arch::qwen3moe) common += 2 * hd;
      experts_total += 3 * E * ff * c.n_expert;
      experts_active += 3 * E * ff * c.n_expert_used;
    }
    r.kv_bytes = L * kv * 2 * hd * 2;
  }
  r.total = common + experts_total;
  r.active = common + experts_active;
  return r;
}

TEST(synth, presets_have_llama_cpp_metadata_and_counts) {
  for (std::string_view name : model::preset_names()) {
    SCOPED_TRACE(std::string(name));
    const synth_config c = model::preset(name);
    const auto path = temp(std::string(name) + ".gguf");
    model::synth(c, {}, path);
    const gguf::file f(path);
    const std::string arch(f.architecture());
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "gpt-2");
    EXPECT_EQ(f.get_u32(arch + ".block_count"), c.n_layer);
    EXPECT_EQ(f.get_u32(arch + ".embedding_length"), c.n_embd);
    EXPECT_EQ(f.get_u32(arch + ".expert_count"), c.n_expert);
    EXPECT_EQ(f.get_u32(arch + ".expert_used_count"), c.n_expert_used);
    EXPECT_EQ(f.find(arch + ".rope.freq_base")->type(), gguf::value_type::f32);
    const uint64_t V = f.get_string_array("tokenizer.ggml.tokens").size();
    EXPECT_EQ(V, 512u);
    EXPECT_EQ(f.tensor("token_embd.weight").shape, (std::vector<int64_t>{c.n_embd, 512}));

    const counts want = expected_counts(c, V);
    const model::model_summary s = model::summarize(f);
    EXPECT_EQ(s.total_params, want.total);
    EXPECT_EQ(s.active_params, want.active);
    EXPECT_EQ(s.embedding_params, want.embedding);
    EXPECT_EQ(s.kv_bytes_per_token, want.kv_bytes);
    // All f32: bytes read per token = 4 x (active params - embedding + one embedding row).
    EXPECT_EQ(s.weight_bytes_per_token, 4 * (want.active - want.embedding + c.n_embd));
    EXPECT_EQ(s.n_moe_layers, arch == "deepseek2" ? c.n_layer - c.n_leading_dense : c.n_layer);
    std::filesystem::remove(path);
  }
}

TEST(synth, deepseek2_variants) {
  const synth_config v3 = model::preset("dsv3-mini");
  const auto p3 = temp("v3.gguf");
  model::synth(v3, {}, p3);
  const gguf::file f3(p3);
  EXPECT_EQ(f3.get_u32("deepseek2.attention.q_lora_rank"), 128u);
  EXPECT_EQ(f3.get_u32("deepseek2.attention.head_count_kv"), 1u);
  EXPECT_EQ(f3.get_u32("deepseek2.attention.key_length"), 64u + 16u);
  EXPECT_EQ(f3.get_u32("deepseek2.attention.value_length"), 64u);
  EXPECT_EQ(f3.get_u32("deepseek2.attention.key_length_mla"), 48u);
  EXPECT_EQ(f3.get_u32("deepseek2.attention.value_length_mla"), 32u);
  EXPECT_EQ(f3.get_u32("deepseek2.expert_gating_func"), 2u);
  EXPECT_EQ(f3.get_u32("deepseek2.expert_group_count"), 4u);
  EXPECT_EQ(f3.get_u32("deepseek2.expert_group_used_count"), 2u);
  EXPECT_TRUE(f3.get_bool("deepseek2.expert_weights_norm"));
  EXPECT_FLOAT_EQ(static_cast<float>(f3.get_float("deepseek2.expert_weights_scale")), 2.5f);
  EXPECT_EQ(f3.get_string("deepseek2.rope.scaling.type"), "yarn");
  EXPECT_FLOAT_EQ(static_cast<float>(f3.get_float("deepseek2.rope.scaling.yarn_log_multiplier")), 0.1f);
  EXPECT_EQ(f3.tensor("blk.1.exp_probs_b.bias").shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(f3.tensor("blk.1.attn_k_b.weight").shape, (std::vector<int64_t>{32, 64, 4}));
  EXPECT_EQ(f3.tensor("blk.1.attn_v_b.weight").shape, (std::vector<int64_t>{64, 32, 4}));
  EXPECT_EQ(f3.tensor("blk.1.ffn_gate_exps.weight").shape, (std::vector<int64_t>{256, 64, 16}));
  EXPECT_EQ(f3.find_tensor("blk.0.ffn_gate_inp.weight"), nullptr);  // leading dense block
  EXPECT_NE(f3.find_tensor("blk.0.ffn_gate.weight"), nullptr);
  EXPECT_TRUE(model::summarize(f3).kv_latent);

  const synth_config v2 = model::preset("dsv2-lite-mini");
  const auto p2 = temp("v2.gguf");
  model::synth(v2, {}, p2);
  const gguf::file f2(p2);
  EXPECT_EQ(f2.get_u32("deepseek2.attention.q_lora_rank"), 0u);
  EXPECT_EQ(f2.get_u32("deepseek2.expert_gating_func"), 1u);
  EXPECT_FALSE(f2.contains("deepseek2.attention.key_length_mla"));
  EXPECT_FALSE(f2.contains("deepseek2.expert_group_count"));
  EXPECT_NE(f2.find_tensor("blk.2.attn_q.weight"), nullptr);
  EXPECT_EQ(f2.tensor("blk.2.attn_kv_b.weight").shape, (std::vector<int64_t>{64, 4 * (32 + 32)}));
  EXPECT_EQ(f2.find_tensor("blk.2.exp_probs_b.bias"), nullptr);
  EXPECT_EQ(f2.tensor("blk.2.ffn_up_shexp.weight").shape, (std::vector<int64_t>{256, 128}));
  EXPECT_FALSE(model::summarize(f2).kv_latent);
  std::filesystem::remove(p3);
  std::filesystem::remove(p2);
}

std::vector<std::byte> file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

TEST(synth, deepseek4_layout) {
  const synth_config c = model::preset("dsv4-mini");
  const auto p = temp("v4.gguf");
  model::synth(c, {}, p);
  const gguf::file f(p);
  EXPECT_EQ(f.architecture(), "deepseek4");
  EXPECT_EQ(f.get_u32("deepseek4.expert_gating_func"), 4u);
  EXPECT_EQ(f.get_u32("deepseek4.hyper_connection.count"), 4u);
  EXPECT_EQ(f.get_u32("deepseek4.embedding_length_out"), 4u * 256u);
  EXPECT_EQ(f.get_u32("deepseek4.attention.key_length"), 64u);
  EXPECT_EQ(f.get_u32("deepseek4.attention.head_count_kv"), 1u);
  EXPECT_EQ(f.get_int_array("deepseek4.attention.compress_ratios"), (std::vector<int64_t>{0, 4, 128, 4}));
  EXPECT_EQ(f.find("deepseek4.swiglu_clamp_exp")->type(), gguf::value_type::array);
  // Layer shapes as llama.cpp's loader creates them.
  EXPECT_EQ(f.tensor("blk.0.attn_output_a.weight").shape, (std::vector<int64_t>{128, 64}));  // H*D/G, o_lora*G
  EXPECT_EQ(f.tensor("blk.0.attn_output_b.weight").shape, (std::vector<int64_t>{64, 256}));
  EXPECT_EQ(f.tensor("blk.0.hc_attn_fn.weight").shape, (std::vector<int64_t>{1024, 24}));
  EXPECT_EQ(f.tensor("blk.1.attn_compressor_kv.weight").shape, (std::vector<int64_t>{256, 128}));  // 2 x D at ratio 4
  EXPECT_EQ(f.tensor("blk.1.attn_compressor_ape.weight").shape, (std::vector<int64_t>{128, 4}));
  EXPECT_EQ(f.tensor("blk.2.attn_compressor_kv.weight").shape, (std::vector<int64_t>{256, 64}));   // D at ratio 128
  EXPECT_EQ(f.tensor("blk.2.attn_compressor_ape.weight").shape, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(f.find_tensor("blk.0.attn_compressor_kv.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.2.indexer.proj.weight"), nullptr);
  EXPECT_EQ(f.tensor("blk.3.indexer.attn_q_b.weight").shape, (std::vector<int64_t>{128, 16 * 64}));
  EXPECT_EQ(f.find_tensor("blk.0.exp_probs_b.bias"), nullptr);  // hash-routed layer
  EXPECT_NE(f.find_tensor("blk.1.exp_probs_b.bias"), nullptr);
  // The hash table: 4 distinct experts in range for every token.
  const gguf::tensor_info& t = f.tensor("blk.0.ffn_gate_tid2eid.weight");
  EXPECT_EQ(t.type, gguf::tensor_type::i32);
  ASSERT_EQ(t.shape, (std::vector<int64_t>{4, 512}));
  const auto* ids = reinterpret_cast<const int32_t*>(f.data(t).data());
  std::set<int32_t> used;
  for (int v = 0; v < 512; ++v) {
    std::set<int32_t> row(ids + v * 4, ids + v * 4 + 4);
    EXPECT_EQ(row.size(), 4u);
    for (int32_t e : row) {
      EXPECT_GE(e, 0);
      EXPECT_LT(e, 16);
      used.insert(e);
    }
  }
  EXPECT_EQ(used.size(), 16u);
  // MXFP4: routed experts only, the rest Q8_0; file type MOSTLY_MXFP4_MOE.
  const auto pm = temp("v4mx.gguf");
  model::synth(c, {gguf::tensor_type::mxfp4, 1, {}}, pm);
  const gguf::file m(pm);
  EXPECT_EQ(m.get_u32("general.file_type"), 38u);
  EXPECT_EQ(m.tensor("blk.1.ffn_up_exps.weight").type, gguf::tensor_type::mxfp4);
  EXPECT_EQ(m.tensor("blk.1.ffn_up_shexp.weight").type, gguf::tensor_type::q8_0);
  EXPECT_EQ(m.tensor("blk.1.attn_q_b.weight").type, gguf::tensor_type::q8_0);
  EXPECT_EQ(m.tensor("blk.1.hc_attn_fn.weight").type, gguf::tensor_type::f32);
  // Inspect: the compressed cache, fixed part and growth per token by hand.
  const model::model_summary s = model::summarize(f);
  EXPECT_TRUE(s.kv_compressed);
  EXPECT_EQ(s.kv_bytes_per_token, 2u * (64 + 64) * 2 / 4 + 64 * 2 / 128);  // 129
  EXPECT_EQ(s.kv_fixed_bytes_per_sequence, 4u * 128 * 64 * 2 + 2 * (8 * 512 * 4) + 128 * 128 * 4);
  EXPECT_EQ(s.kv_bytes_per_token_expanded, 4u * 64 * 2);
  EXPECT_DOUBLE_EQ(s.kv_bytes_at(1000), 163840.0 + 2 * 250 * 128 * 2 + 7 * 64 * 2);
  EXPECT_EQ(s.n_mtp_layers, 0u);
  // Bad deepseek4 shapes name their field.
  auto field = [&](const nlohmann::json& j) {
    try {
      model::config_from_json(j, c, "v4.json");
    } catch (const error& e) {
      return e.where().field;
    }
    return std::string("<no error>");
  };
  EXPECT_EQ(field({{"compress_ratios", {0, 4, 64, 4}}}), "compress_ratios");
  EXPECT_EQ(field({{"compress_ratios", {0, 4}}}), "compress_ratios");
  EXPECT_EQ(field({{"hc_mult", 2}}), "hc_mult");
  EXPECT_EQ(field({{"o_groups", 3}}), "o_groups");
  EXPECT_EQ(field({{"indexer_head_dim", 32}}), "indexer_head_dim");
  EXPECT_EQ(field({{"gating", "sigmoid"}}), "gating");
  EXPECT_EQ(field({{"n_hash_layers", 5}}), "n_hash_layers");
  const nlohmann::json round = c;
  const synth_config back = model::config_from_json(round, synth_config{}, "round");
  EXPECT_EQ(back.compress_ratios, c.compress_ratios);
  EXPECT_EQ(back.swiglu_limit, c.swiglu_limit);
  std::filesystem::remove(p);
  std::filesystem::remove(pm);
}

TEST(synth, seeded_and_well_scaled) {
  const synth_config c = model::preset("qwen3moe-mini");
  const auto a = temp("a.gguf"), b = temp("b.gguf"), d = temp("d.gguf");
  model::synth(c, {gguf::tensor_type::f32, 7, {}}, a);
  model::synth(c, {gguf::tensor_type::f32, 7, {}}, b);
  model::synth(c, {gguf::tensor_type::f32, 8, {}}, d);
  EXPECT_EQ(file_bytes(a), file_bytes(b));
  EXPECT_NE(file_bytes(a), file_bytes(d));

  const gguf::file f(a);
  auto row_std = [&](const std::string& name, int64_t row) {
    const gguf::tensor_info& t = f.tensor(name);
    std::vector<float> r(static_cast<std::size_t>(t.row_length()));
    f.dequantize_row(t, row, r.data());
    double ss = 0;
    for (float x : r) ss += static_cast<double>(x) * x;
    return std::sqrt(ss / static_cast<double>(r.size()));
  };
  EXPECT_NEAR(row_std("token_embd.weight", 5), 1.0, 0.15);
  EXPECT_NEAR(row_std("output.weight", 5), 3.0 / 16.0, 0.03);
  EXPECT_NEAR(row_std("blk.0.attn_q.weight", 3), 1.0 / 16.0, 0.01);
  EXPECT_NEAR(row_std("blk.1.ffn_down_exps.weight", 100), 1.0 / std::sqrt(128.0), 0.015);
  EXPECT_EQ(row_std("blk.1.attn_norm.weight", 0), 1.0);
  for (const auto& p : {a, b, d}) std::filesystem::remove(p);
}

TEST(synth, quantised_types_with_fallbacks) {
  const synth_config c = model::preset("dsv3-mini");
  const auto pf = temp("f.gguf"), pq = temp("q.gguf");
  model::synth(c, {gguf::tensor_type::f32, 3, {}}, pf);
  model::synth(c, {gguf::tensor_type::q4_k, 3, {}}, pq);
  const gguf::file f(pf), q(pq);
  EXPECT_EQ(q.get_u32("general.file_type"), 14u);
  EXPECT_EQ(q.tensor("blk.1.ffn_gate_exps.weight").type, gguf::tensor_type::q4_k);
  EXPECT_EQ(q.tensor("blk.1.ffn_down_exps.weight").type, gguf::tensor_type::q8_0);  // rows of 64
  EXPECT_EQ(q.tensor("blk.1.attn_k_b.weight").type, gguf::tensor_type::q8_0);       // rows of 32
  EXPECT_EQ(q.tensor("blk.1.ffn_gate_inp.weight").type, gguf::tensor_type::f32);
  EXPECT_EQ(q.tensor("blk.1.attn_norm.weight").type, gguf::tensor_type::f32);
  // Same seed: the quantised weights approximate the f32 ones.
  for (const char* name : {"blk.1.ffn_gate_exps.weight", "blk.1.ffn_down_exps.weight", "output.weight"}) {
    const gguf::tensor_info& tf = f.tensor(name);
    const gguf::tensor_info& tq = q.tensor(name);
    std::vector<float> x(static_cast<std::size_t>(tf.row_length())), y(x.size());
    double err = 0, ref = 0;
    for (int64_t r = 0; r < tf.rows(); r += 7) {
      f.dequantize_row(tf, r, x.data());
      q.dequantize_row(tq, r, y.data());
      for (std::size_t i = 0; i < x.size(); ++i) {
        err += (x[i] - y[i]) * (x[i] - y[i]);
        ref += x[i] * x[i];
      }
    }
    EXPECT_LT(std::sqrt(err / ref), 0.12) << name;
  }
  std::filesystem::remove(pf);
  std::filesystem::remove(pq);
  try {
    model::synth(c, {gguf::tensor_type::q6_k, 3, {}}, pq);
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "synth.bad_type");
  }
}

TEST(synth, builtin_vocabulary_is_consistent) {
  const model::builtin_vocab& v = model::default_vocab();
  ASSERT_EQ(v.tokens.size(), 512u);
  ASSERT_EQ(v.token_types.size(), 512u);
  const std::set<std::string> unique(v.tokens.begin(), v.tokens.end());
  EXPECT_EQ(unique.size(), v.tokens.size());
  EXPECT_EQ(v.tokens[static_cast<std::size_t>('a')], "a");
  EXPECT_EQ(v.tokens[static_cast<std::size_t>(' ')], "\xc4\xa0");  // U+0120, GPT-2's space
  EXPECT_EQ(v.tokens[10], "\xc4\x8a");                             // U+010A, newline
  for (const std::string& m : v.merges) {
    const auto sp = m.find(' ');
    ASSERT_NE(sp, std::string::npos);
    EXPECT_TRUE(unique.count(m.substr(0, sp)) && unique.count(m.substr(sp + 1)) &&
                unique.count(m.substr(0, sp) + m.substr(sp + 1)))
        << m;
  }
  EXPECT_TRUE(unique.count("\xc4\xa0the"));  // " the" is learnt
  EXPECT_EQ(v.token_types[static_cast<std::size_t>(v.bos_id)], 3);
  EXPECT_EQ(v.tokens[static_cast<std::size_t>(v.eos_id)], "<|end_of_text|>");
}

TEST(synth, config_files) {
  const synth_config base = model::preset("dsv3-mini");
  const synth_config c = model::config_from_json(
      nlohmann::json{{"n_layer", 5}, {"n_expert", 32}, {"n_expert_groups", 8}, {"yarn", nullptr},
                     {"mla_layout", "combined"}},
      base, "cfg.json");
  EXPECT_EQ(c.n_layer, 5u);
  EXPECT_EQ(c.n_expert, 32u);
  EXPECT_FALSE(c.yarn.has_value());
  EXPECT_EQ(c.layout, model::mla_layout::combined);
  EXPECT_EQ(c.q_lora_rank, base.q_lora_rank);
  const nlohmann::json round = c;
  EXPECT_EQ(model::config_from_json(round, synth_config{}, "x").n_expert_groups, 8u);

  auto bad_field = [&](const nlohmann::json& j) {
    try {
      model::config_from_json(j, base, "cfg.json");
    } catch (const error& e) {
      EXPECT_EQ(e.id(), "synth.bad_config");
      EXPECT_EQ(e.where().file, "cfg.json");
      return e.where().field;
    }
    return std::string("<no error>");
  };
  EXPECT_EQ(bad_field({{"n_layr", 2}}), "n_layr");
  EXPECT_EQ(bad_field({{"n_layer", -2}}), "n_layer");
  EXPECT_EQ(bad_field({{"n_layer", "2"}}), "n_layer");
  EXPECT_EQ(bad_field({{"arch", "gpt5"}}), "arch");
  EXPECT_EQ(bad_field({{"n_expert_groups", 5}}), "n_expert_groups");
  EXPECT_EQ(bad_field({{"n_group_used", 4}}), "n_group_used");
  EXPECT_EQ(bad_field({{"n_expert_used", 17}}), "n_expert_used");
  EXPECT_EQ(bad_field({{"qk_rope_head_dim", 15}}), "qk_rope_head_dim");
  EXPECT_EQ(bad_field({{"yarn", {{"factr", 2}}}}), "yarn.factr");
  EXPECT_EQ(bad_field(nlohmann::json::array()), "");
  try {
    model::preset("dsv9-mini");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "synth.unknown_preset");
  }
}

TEST(synth, copies_a_tokenizer) {
  gguf::writer w;
  std::vector<std::string> tokens;
  for (int i = 0; i < 1000; ++i) tokens.push_back("tok" + std::to_string(i));
  w.set("general.architecture", gguf::owned_value::string("llama"));
  w.set("tokenizer.ggml.model", gguf::owned_value::string("gpt2"));
  w.set("tokenizer.ggml.pre", gguf::owned_value::string("qwen2"));
  w.set("tokenizer.ggml.tokens", gguf::owned_value::string_array(tokens));
  w.set("tokenizer.ggml.eos_token_id", gguf::owned_value::u32(999));
  w.set("unrelated.key", gguf::owned_value::u32(1));
  const auto src = temp("vocab.gguf"), out = temp("with_vocab.gguf");
  w.write(src);
  model::synth_options o;
  o.vocab_from = src;
  model::synth(model::preset("mixtral-mini"), o, out);
  const gguf::file f(out);
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 1000u);
  EXPECT_EQ(f.get_u32("tokenizer.ggml.eos_token_id"), 999u);
  EXPECT_FALSE(f.contains("unrelated.key"));
  EXPECT_FALSE(f.contains("tokenizer.ggml.merges"));
  EXPECT_EQ(f.get_u32("llama.vocab_size"), 1000u);
  EXPECT_EQ(f.tensor("output.weight").shape, (std::vector<int64_t>{256, 1000}));
  std::filesystem::remove(src);
  std::filesystem::remove(out);
}

std::string run(const std::string& cmd, int& status) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  status = p ? WEXITSTATUS(pclose(p)) : -1;
  return out;
}

TEST(synth, cli_synth_then_inspect) {
  const std::string bin = std::getenv("MOEBENCH_BIN") ? std::getenv("MOEBENCH_BIN") : MOEBENCH_TEST_BIN;
  const auto path = temp("cli.gguf");
  int status = 0;
  std::string out = run(std::string(bin) + " model synth --preset dsv3-mini --type q8_0 --seed 9 -o " + path.string(), status);
  ASSERT_EQ(status, 0) << out;
  out = run(std::string(bin) + " model inspect --json " + path.string(), status);
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out);
  const synth_config c = model::preset("dsv3-mini");
  const counts want = expected_counts(c, 512);
  EXPECT_EQ(j["architecture"], "deepseek2");
  EXPECT_EQ(j["total_params"].get<uint64_t>(), want.total);
  EXPECT_EQ(j["active_params"].get<uint64_t>(), want.active);
  EXPECT_EQ(j["kv_bytes_per_token"].get<uint64_t>(), want.kv_bytes);
  EXPECT_EQ(j["kv_bytes_per_token_expanded"].get<uint64_t>(), uint64_t{3} * 4 * (48 + 32) * 2);
  EXPECT_EQ(j["experts"]["n_expert"], 16);
  EXPECT_EQ(j["experts"]["n_expert_shared"], 1);
  EXPECT_EQ(j["experts"]["gating"], "sigmoid");
  EXPECT_EQ(j["tokenizer"]["n_tokens"], 512);
  EXPECT_EQ(j["hyperparameters"]["attention.kv_lora_rank"], 64);
  EXPECT_GT(j["weight_bytes_per_token"].get<uint64_t>(), 0u);
  EXPECT_LT(j["weight_bytes_per_token"].get<uint64_t>(), j["weight_bytes"].get<uint64_t>());
  out = run(std::string(bin) + " model inspect " + path.string(), status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("architecture: deepseek2"), std::string::npos) << out;
  EXPECT_NE(out.find(std::to_string(want.active) + " active per token"), std::string::npos) << out;
  EXPECT_NE(out.find("blk.1.exp_probs_b.bias"), std::string::npos);
  out = run(std::string(bin) + " model synth --preset nope -o " + path.string(), status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("[synth.unknown_preset]"), std::string::npos) << out;
  out = run(std::string(bin) + " model synth --preset dsv3-mini --type q3_k -o " + path.string(), status);
  EXPECT_EQ(status, 2) << out;
  std::filesystem::remove(path);
}

}  // namespace
