// The target registry's data files, the roofline arithmetic and the cost formula, checked
// against hand-computed values (HARDWARE_AND_METRICS.md sections 5, 8 and (b)).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include <unistd.h>

#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/model/synth.h"
#include "moebench/targets/cost.h"
#include "moebench/targets/roofline.h"
#include "moebench/targets/targets.h"

namespace moebench::targets {
namespace {

std::string source_dir() {
  const char* env = std::getenv("MOEBENCH_SOURCE_DIR");
  return env != nullptr ? env : MOEBENCH_TEST_SOURCE_DIR;
}

TEST(data_files, every_builtin_target_parses_and_every_figure_is_sourced_and_flagged) {
  const auto& all = builtin_targets();
  std::set<std::string> ids;
  for (const auto& t : all) ids.insert(t.id);
  for (const char* required : {"h100-sxm", "h200", "h800", "h20", "b200", "mi300x", "ascend-910b", "ascend-910c"})
    EXPECT_TRUE(ids.contains(required)) << required;
  for (const auto& t : all) {
    EXPECT_EQ(t.kind, target_kind::modelled);
    EXPECT_FALSE(t.data_version.empty());
    EXPECT_NE(t.find("memory_bw_gbs"), nullptr) << t.id;
    EXPECT_NE(t.find("bf16_dense_tflops"), nullptr) << t.id;
    for (const auto& [key, f] : t.figures) {
      EXPECT_GT(f.value, 0) << t.id << "." << key;
      ASSERT_TRUE(t.sources.contains(f.source)) << t.id << "." << key;
      EXPECT_FALSE(t.sources.at(f.source).empty());
      EXPECT_NE(f.flag, figure_flag::measured) << t.id << "." << key;
    }
    for (const auto& p : t.prices) {
      EXPECT_GT(p.usd_per_hour.value, 0);
      EXPECT_TRUE(t.sources.contains(p.usd_per_hour.source));
    }
  }
  // Spot checks against the researched table (dense, not sparse, peaks).
  EXPECT_DOUBLE_EQ(find_target(all, "h100").at("bf16_dense_tflops").value, 989.4);
  EXPECT_DOUBLE_EQ(find_target(all, "h200").at("memory_bw_gbs").value, 4800);
  EXPECT_DOUBLE_EQ(find_target(all, "h800").at("scale_up_bw_gbs").value, 400);
  EXPECT_EQ(find_target(all, "h800").at("tdp_w").conf, confidence::unverified);
  EXPECT_EQ(find_target(all, "ascend-910c").at("bf16_dense_tflops").flag, figure_flag::vendor_model);
  EXPECT_EQ(find_target(all, "ascend-910b").find("fp8_dense_tflops"), nullptr);  // none published
}

TEST(data_files, the_repository_copies_are_the_embedded_ones) {
  const auto file = source_dir() + "/targets/data/accelerators.json";
  const auto parsed = parse_targets(read_file(file), file);
  ASSERT_EQ(parsed.size(), builtin_targets().size());
  const auto models = source_dir() + "/targets/data/model_configs.json";
  EXPECT_EQ(parse_model_configs(read_file(models), models).size(), builtin_model_configs().size());
}

TEST(data_files, every_model_config_figure_is_sourced_and_flagged) {
  std::set<std::string> ids;
  for (const auto& m : builtin_model_configs()) {
    ids.insert(m.id);
    for (const auto& [key, f] : m.figures) {
      ASSERT_TRUE(m.sources.contains(f.source)) << m.id << "." << key;
      EXPECT_NE(f.flag, figure_flag::measured);
    }
    EXPECT_NO_THROW(derive(m)) << m.id;
  }
  for (const char* required : {"deepseek-v3", "deepseek-v4-flash", "deepseek-v4-pro", "rumoured-1t"})
    EXPECT_TRUE(ids.contains(required)) << required;
  const auto r = load_model_config("rumoured-1t");
  EXPECT_EQ(r.status, "rumoured");
  EXPECT_DOUBLE_EQ(r.get("experts_per_token"), 16);
  EXPECT_EQ(load_model_config("deepseek-v4-pro").get("total_params"), 1.6e12);
  EXPECT_EQ(load_model_config("deepseek-v4-flash").get("active_params"), 13e9);
}

std::string minimal_targets(const std::string& figure) {
  return R"({"schema_version": 1, "data_version": "t", "sources": {"s": "a source"},
    "targets": [{"id": "x", "name": "X", "vendor": "V", "devices_per_node": 8, "figures": {
      "memory_gb": {"value": 10, "source": "s", "flag": "datasheet", "confidence": "primary"},
      "memory_bw_gbs": )" + figure + R"(}}]})";
}

TEST(data_files, a_figure_without_source_flag_or_confidence_is_rejected_naming_the_field) {
  const auto expect_error = [](const std::string& text, const std::string& id, const std::string& field) {
    try {
      parse_targets(text, "t.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const error& e) {
      EXPECT_EQ(e.id(), id);
      EXPECT_EQ(e.where().file, "t.json");
      EXPECT_EQ(e.where().field, field);
    }
  };
  EXPECT_NO_THROW(parse_targets(minimal_targets(R"({"value": 5, "source": "s", "flag": "estimate", "confidence": "derived"})"), "t"));
  expect_error(minimal_targets(R"({"value": 5, "flag": "estimate", "confidence": "derived"})"), "targets.no_source",
               "targets[0].figures.memory_bw_gbs.source");
  expect_error(minimal_targets(R"({"value": 5, "source": "nope", "flag": "estimate", "confidence": "derived"})"),
               "targets.unknown_source", "targets[0].figures.memory_bw_gbs.source");
  expect_error(minimal_targets(R"({"value": 5, "source": "s", "confidence": "derived"})"), "targets.no_flag",
               "targets[0].figures.memory_bw_gbs.flag");
  expect_error(minimal_targets(R"({"value": 5, "source": "s", "flag": "guess", "confidence": "derived"})"),
               "figure_flag.unknown", "targets[0].figures.memory_bw_gbs.flag");
  expect_error(minimal_targets(R"({"value": 5, "source": "s", "flag": "estimate"})"), "targets.no_confidence",
               "targets[0].figures.memory_bw_gbs.confidence");
  expect_error(minimal_targets(R"({"value": "5", "source": "s", "flag": "estimate", "confidence": "derived"})"),
               "targets.bad_figure", "targets[0].figures.memory_bw_gbs.value");
  expect_error("{", "targets.bad_json", "");
  expect_error(R"({"schema_version": 2})", "targets.schema", "schema_version");
}

TEST(roofline, deepseek_v3_derived_quantities_match_the_published_ones) {
  const model_config m = load_model_config("deepseek-v3");
  const model_derived d = derive(m);
  // MLA: 61 layers x (512 + 64) values x 2 bytes = 70,272 B/token (ISCA'25 Table 1).
  EXPECT_DOUBLE_EQ(d.kv_bytes_per_token, 70272);
  // (671e9 - 37e9) / (256 - 8) per expert over all MoE layers, / 58 layers: 44.08 M per expert,
  // vs 3 x 7168 x 2048 = 44.04 M from the architecture (0.1% apart).
  EXPECT_NEAR(d.expert_params, 3.0 * 7168 * 2048, 0.002 * 3.0 * 7168 * 2048);
  EXPECT_DOUBLE_EQ(d.routed_params_per_expert_all_layers, 634e9 / 248);
  EXPECT_DOUBLE_EQ(d.always_params, 37e9 - 8 * 634e9 / 248);
  EXPECT_DOUBLE_EQ(d.attn_flops_per_context_token, 61.0 * 2 * 128 * (2 * 512 + 64));
}

// DeepSeek-V4's hybrid attention by hand: Flash (43 layers, 21 ratio-4, 20 ratio-128, keys of
// 512, indexer 64 x 128 top-512, 128-token window, 64 heads), BF16 KV.
TEST(roofline, deepseek_v4_compressed_kv_and_attention_by_hand) {
  const model_config m = load_model_config("deepseek-v4-flash");
  ASSERT_EQ(m.attention, attention_kind::compressed);
  const model_derived d = derive(m);
  // Growth per token: 21 x (512 + 128) / 4 + 20 x 512 / 128 = 3,440 values, 6,880 bytes.
  EXPECT_DOUBLE_EQ(d.kv_bytes_per_token, 6880);
  EXPECT_DOUBLE_EQ(kv_values_per_token(m), 3440);
  // One sequence at 1M: 43 x 128 x 512 window keys + 21 x 262,144 x 640 + 20 x 8,192 x 512
  // values, 2 bytes each: 6.89 KB per token, a tenth of DeepSeek-V3's 70,272.
  const double c = 1048576;
  EXPECT_DOUBLE_EQ(kv_bytes_at(m, c), 2.0 * (43.0 * 128 * 512 + 21.0 * 262144 * 640 + 20.0 * 8192 * 512));
  EXPECT_LT(kv_bytes_at(m, c) / c, 0.1 * 70272);
  // Below the window: only raw keys.
  EXPECT_DOUBLE_EQ(kv_bytes_at(m, 3), 2.0 * 43 * 3 * 512);
  // Decode FLOPs at 1M: 4 x 64 heads x 512 per attended key (43 x 128 window, 21 x 512 chosen,
  // 20 x 8,192 HCA blocks) + the indexer 21 x 262,144 blocks x 2 x 64 x 128.
  const double per_key = 4.0 * 64 * 512;
  EXPECT_DOUBLE_EQ(attn_flops_at(m, c), per_key * (43 * 128 + 21 * 512 + 20 * 8192) + 21.0 * 262144 * 2 * 64 * 128);
  // Small contexts: every block is chosen (fewer than top-k).
  EXPECT_DOUBLE_EQ(attn_flops_at(m, 8), per_key * (43 * 8 + 21 * 2 + 0) + 21.0 * 2 * 2 * 64 * 128);
  // Prefill sums the per-position cost; linear kinds keep C (C + 1) / 2 x the per-token cost.
  double sum = 0;
  for (int p = 1; p <= 1000; ++p) sum += attn_flops_at(m, p);
  EXPECT_DOUBLE_EQ(prefill_attn_flops(m, 1000), sum);
  const model_config v3 = load_model_config("deepseek-v3");
  EXPECT_DOUBLE_EQ(prefill_attn_flops(v3, 1000), derive(v3).attn_flops_per_context_token * 1000 * 1001 / 2);
  // The projection charges these: batch 1 at 1M on 8 H200, FP8 weights.
  projection_options o;
  o.batch = 1;
  o.context = 1048576;
  o.devices = 8;
  const projection p = project(m, find_target(builtin_targets(), "h200"), o);
  EXPECT_DOUBLE_EQ(p.kv_bytes_total, kv_bytes_at(m, c));
  EXPECT_NEAR(p.decode_flops_per_step, 2 * 13e9 + attn_flops_at(m, c), 1.0);
  EXPECT_NEAR(p.decode_bytes_per_step, 13e9 + kv_bytes_at(m, c), 1.0);
  // V4-Pro's 1M-token decode against V3.2's (V3 plus a 64 x 128 indexer over all tokens and
  // MLA over its top-2048): the model card's "27% of V3.2's single-token FLOPs".
  const model_config pro = load_model_config("deepseek-v4-pro");
  const double v32 = 2 * 37e9 + 61.0 * 2 * 128 * 1088 * 2048 + 61.0 * c * 2 * 64 * 128;
  const double ratio = (2 * 49e9 + attn_flops_at(pro, c)) / v32;
  EXPECT_GT(ratio, 0.2);
  EXPECT_LT(ratio, 0.35);
}

TEST(roofline, expected_distinct_experts_matches_the_table) {
  // HARDWARE_AND_METRICS.md 8.1: N = 256, k = 8.
  EXPECT_DOUBLE_EQ(expected_distinct_experts(256, 8, 1), 8);
  EXPECT_NEAR(expected_distinct_experts(256, 8, 8), 57.4, 0.05);
  EXPECT_NEAR(expected_distinct_experts(256, 8, 32), 163.3, 0.05);
  EXPECT_NEAR(expected_distinct_experts(256, 8, 64), 222.4, 0.05);
  EXPECT_NEAR(expected_distinct_experts(256, 8, 128), 251.6, 0.05);
}

TEST(roofline, deepseek_v3_batch_1_on_8_h200_by_hand) {
  // Batch 1, 4K context, FP8 weights, BF16 MLA KV: bytes/token = 37e9 (active, since one token
  // touches exactly k experts) + 4096 x 70,272 = 37.2878 GB; 8 x 4.8 TB/s -> ~1,030 tok/s.
  const model_config m = load_model_config("deepseek-v3");
  projection_options o;
  o.batch = 1;
  o.context = 4096;
  o.devices = 8;
  const projection p = project(m, find_target(builtin_targets(), "h200"), o);
  const double bytes = 37e9 + 4096.0 * 70272;
  EXPECT_NEAR(p.decode_bytes_per_step, bytes, 1.0);
  EXPECT_NEAR(p.decode_t_memory_s, bytes / (8 * 4800e9), 1e-12);
  EXPECT_NEAR(p.decode_tok_s, 8 * 4800e9 / bytes, 1e-6);
  EXPECT_NEAR(p.decode_tok_s, 1029.8, 0.1);
  EXPECT_EQ(p.decode_bound, "memory");
  // Compute: 2 x 37e9 + 4096 x 61 x 2 x 128 x 1088 FLOPs at 8 x 1,978.9 TFLOPS (FP8 dense).
  const double flops = 2 * 37e9 + 4096.0 * 61 * 2 * 128 * 1088;
  EXPECT_NEAR(p.decode_flops_per_step, flops, 1.0);
  EXPECT_NEAR(p.decode_t_compute_s, flops / (8 * 1978.9e12), 1e-15);
  EXPECT_EQ(p.compute_precision, precision::fp8);
  // Expert parallelism: 256 / 8 routed experts per device and layer; FP8 dispatch + BF16
  // combine of 8 experts x 7168 values x 58 layers, 7/8 of it leaving the device.
  EXPECT_DOUBLE_EQ(p.experts_per_device, 32);
  EXPECT_NEAR(p.decode_comm_bytes_per_step, 58.0 * 8 * 7168 * 3 * 7 / 8, 1e-6);
  EXPECT_NEAR(p.decode_t_comm_s, p.decode_comm_bytes_per_step / (8 * 450e9), 1e-15);
  // 671 GB of FP8 weights + 0.29 GB KV over 141 GB x 0.9 usable per H200: 6 devices.
  EXPECT_EQ(p.devices_for_memory, 6);
  EXPECT_TRUE(p.fits);
}

TEST(roofline, batch_256_reads_every_expert_and_bytes_per_token_fall) {
  const model_config m = load_model_config("deepseek-v3");
  projection_options o;
  o.batch = 256;
  o.context = 4096;
  o.devices = 8;
  const projection p = project(m, find_target(builtin_targets(), "h200"), o);
  const model_derived d = derive(m);
  const double e = expected_distinct_experts(256, 8, 256);
  EXPECT_NEAR(p.decode_bytes_per_step, d.always_params + 58 * e * d.expert_params + 256 * 4096.0 * 70272, 1.0);
  // HARDWARE_AND_METRICS.md: ~745 GB per step, ~2.9 GB per token.
  EXPECT_NEAR(p.decode_bytes_per_step / 1e9, 745, 2);
  EXPECT_NEAR(p.decode_bytes_per_step / 256 / 1e9, 2.9, 0.05);
  // 671 GB + 75 GB of KV over 141 GB x 0.9 usable per H200: 6 devices; 8 given.
  EXPECT_EQ(p.devices_for_memory, 6);
  EXPECT_TRUE(p.fits);
}

TEST(roofline, a_target_without_fp8_computes_in_bf16_and_says_so) {
  const model_config m = load_model_config("deepseek-v3");
  projection_options o;
  o.batch = 4096;
  o.context = 1;
  const projection p = project(m, find_target(builtin_targets(), "ascend-910c"), o);
  EXPECT_EQ(p.compute_precision, precision::bf16);
  bool noted = false;
  for (const auto& n : p.notes) noted = noted || n.find("no fp8 peak") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(roofline, calibration_scales_the_roof_and_is_recorded) {
  const model_config m = load_model_config("deepseek-v3");
  projection_options o;
  o.devices = 8;
  const auto& t = find_target(builtin_targets(), "h200");
  const projection full = project(m, t, o);
  o.calib = {0.5, 0.5, "measured: test"};
  const projection half = project(m, t, o);
  EXPECT_NEAR(half.decode_tok_s, full.decode_tok_s / 2, 1e-9);
  EXPECT_EQ(half.calib.source, "measured: test");
  o.calib = {1.5, 1, "x"};
  EXPECT_THROW(project(m, t, o), error);
}

// Model configs from synthetic GGUFs, against counts worked out by hand from the presets'
// shapes (runners/model/src/synth.cpp; the built-in vocabulary has 512 tokens).
class gguf_configs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/moebench-gguf-config-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path synth_preset(const std::string& name, gguf::tensor_type type = gguf::tensor_type::f32) {
    const auto path = dir_ / (name + ".gguf");
    model::synth_options o;
    o.type = type;
    model::synth(model::preset(name), o, path);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(gguf_configs, qwen3moe_mini_gqa_counts_by_hand) {
  const model_config m = load_model_config("gguf:" + synth_preset("qwen3moe-mini").string());
  // Per layer: attn_norm 256, q 256x256, k and v 256x128 each, output 256x256, q/k norms 64
  // each, ffn_norm 256, router 256x8, experts 3 x 8 x 128 x 256 = 786,432: 985,728.
  // Two layers + token_embd and output 512x256 each + output_norm 256 = 2,233,856.
  EXPECT_EQ(m.get("total_params"), 2'233'856);
  // Active: experts 2/8 -> 196,608 per layer: 2 x (985,728 - 786,432 + 196,608) + 262,400.
  EXPECT_EQ(m.get("active_params"), 1'054'208);
  EXPECT_EQ(m.get("layers"), 2);
  EXPECT_EQ(m.get("moe_layers"), 2);
  EXPECT_EQ(m.get("routed_experts"), 8);
  EXPECT_EQ(m.get("experts_per_token"), 2);
  EXPECT_EQ(m.get("shared_experts"), 0);
  EXPECT_EQ(m.get("hidden"), 256);
  EXPECT_EQ(m.get("attention_heads"), 4);
  ASSERT_EQ(m.attention, attention_kind::gqa);
  EXPECT_EQ(m.get("kv_heads"), 2);
  EXPECT_EQ(m.get("head_dim"), 64);
  EXPECT_EQ(m.weight_precision, precision::fp32);
  EXPECT_EQ(m.kv_precision, precision::fp16);
  EXPECT_EQ(m.get("bytes_per_weight"), 4);
  // GQA: 2 x 2 KV heads x 64 x 2 layers = 512 values, 1,024 bytes in f16.
  EXPECT_EQ(kv_values_per_token(m), 512);
  EXPECT_EQ(derive(m).kv_bytes_per_token, 1024);
  // Always-read parameters are exactly the non-expert ones: 2 x 199,296 + 262,400.
  EXPECT_NEAR(derive(m).always_params, 660'992, 1e-6);
  for (const auto& [key, f] : m.figures) {
    EXPECT_EQ(f.flag, figure_flag::model_file) << key;
    EXPECT_TRUE(m.sources.contains(f.source)) << key;
  }
  // A projection uses the stored bytes per weight: 2,233,856 x 4 bytes.
  projection_options o;
  o.batch = 1;
  o.context = 0;
  const projection p = project(m, find_target(builtin_targets(), "h100"), o);
  EXPECT_EQ(p.weight_bytes, 2'233'856.0 * 4);
}

TEST_F(gguf_configs, dsv3_mini_is_mla_with_the_latent_cache) {
  const model_config m = model_config_from_gguf(synth_preset("dsv3-mini"));
  ASSERT_EQ(m.attention, attention_kind::mla);
  EXPECT_EQ(m.get("kv_lora_rank"), 64);
  EXPECT_EQ(m.get("rope_dim"), 16);
  EXPECT_EQ(m.get("layers"), 3);
  EXPECT_EQ(m.get("moe_layers"), 2);  // one leading dense block
  EXPECT_EQ(m.get("routed_experts"), 16);
  EXPECT_EQ(m.get("experts_per_token"), 4);
  EXPECT_EQ(m.get("shared_experts"), 1);
  // (64 + 16) x 3 layers = 240 values, 480 bytes in f16: the V3 formula 61 x 576 x 2 in small.
  EXPECT_EQ(kv_values_per_token(m), 240);
  EXPECT_EQ(derive(m).kv_bytes_per_token, 480);
}

TEST_F(gguf_configs, dsv4_mini_is_compressed_attention) {
  const model_config m = model_config_from_gguf(synth_preset("dsv4-mini"));
  ASSERT_EQ(m.attention, attention_kind::compressed);
  EXPECT_EQ(m.get("layers"), 4);
  EXPECT_EQ(m.get("moe_layers"), 4);
  EXPECT_EQ(m.get("head_dim"), 64);
  EXPECT_EQ(m.get("sliding_window"), 128);
  EXPECT_EQ(m.get("csa_layers"), 2);
  EXPECT_EQ(m.get("hca_layers"), 1);
  EXPECT_EQ(m.get("indexer_heads"), 16);
  EXPECT_EQ(m.get("indexer_head_dim"), 64);
  EXPECT_EQ(m.get("indexer_top_k"), 16);
  // As `model inspect` reports it: 2 x (64 + 64) x 2 / 4 + 64 x 2 / 128 = 129 bytes per token (f16).
  EXPECT_EQ(derive(m).kv_bytes_per_token, 129);
  EXPECT_EQ(kv_bytes_at(m, 4096), 2.0 * (4 * 128 * 64 + 2 * 1024 * 128 + 1 * 32 * 64));
}

TEST_F(gguf_configs, combined_mla_layout_is_cached_as_mha_with_keys_longer_than_values) {
  const model_config m = model_config_from_gguf(synth_preset("dsv2-lite-mini"));
  ASSERT_EQ(m.attention, attention_kind::explicit_bytes);
  // llama.cpp caches these as plain MHA: 4 heads x (48 key + 32 value) x 3 layers x 2 bytes.
  EXPECT_EQ(m.get("kv_bytes_per_token"), 1920);
  EXPECT_EQ(m.get("shared_experts"), 2);
}

TEST_F(gguf_configs, quantised_weights_map_to_the_nearest_precision_and_keep_their_stored_size) {
  const model_config m = model_config_from_gguf(synth_preset("qwen3moe-mini", gguf::tensor_type::q8_0));
  EXPECT_EQ(m.weight_precision, precision::int8);
  // Q8_0 stores 34 bytes per 32 weights; the f32 norms and router lift the average a little.
  EXPECT_GT(m.get("bytes_per_weight"), 34.0 / 32);
  EXPECT_LT(m.get("bytes_per_weight"), 1.1);
}

TEST_F(gguf_configs, a_missing_file_is_an_error_naming_it) {
  EXPECT_THROW(load_model_config("gguf:" + (dir_ / "absent.gguf").string()), error);
  try {
    load_model_config((dir_ / "absent.gguf").string());
    FAIL();
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.gguf"), std::string::npos) << e.what();
  }
}

TEST(cost, usd_per_mtok_reproduces_deepseek_day_6_and_the_h200_example) {
  // 226.75 nodes x 8 H800 x $2/h over (608 + 168) B tokens per day = $0.112/M total tokens.
  const double tok_s = (608e9 + 168e9) / 86400;
  EXPECT_NEAR(usd_per_mtok(2.0, static_cast<int64_t>(226.75 * 8), tok_s), 0.112, 0.0005);
  // All cost charged to the 168 B output tokens: $0.518/M.
  EXPECT_NEAR(usd_per_mtok(2.0, 1814, 168e9 / 86400), 0.518, 0.001);
  // One H200 at $1.41/h sustaining 1,500 tok/s: $0.261/M; at 2,000 tok/s: $0.196/M.
  EXPECT_NEAR(usd_per_mtok(1.41, 1, 1500), 0.2611, 0.0001);
  EXPECT_NEAR(usd_per_mtok(1.41, 1, 2000), 0.1958, 0.0001);
}

TEST(cost, blended_rates_split_device_time_between_prefill_and_decode) {
  // 1000 input tokens at 10,000 tok/s (0.1 s) then 100 output tokens at 100 tok/s (1 s).
  const blended_rates b = blend(10000, 100, 1000, 100);
  EXPECT_DOUBLE_EQ(b.seconds_per_request, 1.1);
  EXPECT_DOUBLE_EQ(b.input_tok_s, 1000 / 1.1);
  EXPECT_DOUBLE_EQ(b.output_tok_s, 100 / 1.1);
  EXPECT_DOUBLE_EQ(b.total_tok_s, 1100 / 1.1);
  EXPECT_DOUBLE_EQ(joules_per_token(700, 350), 2.0);
}

TEST(cost, rapl_reads_package_zones_and_corrects_wraparound) {
  const auto dir = std::filesystem::temp_directory_path() / ("moebench_rapl_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto zone = [&](const std::string& name, const std::string& label, double uj) {
    std::filesystem::create_directories(dir / name);
    std::ofstream(dir / name / "name") << label << "\n";
    std::ofstream(dir / name / "energy_uj") << static_cast<int64_t>(uj) << "\n";
    std::ofstream(dir / name / "max_energy_range_uj") << 1000000000 << "\n";
  };
  EXPECT_FALSE(read_rapl(dir.string()).has_value());
  zone("intel-rapl:0", "package-0", 5e6);
  zone("intel-rapl:0:0", "core", 1e6);  // a sub-zone: part of package 0, not added again
  zone("intel-rapl:1", "package-1", 999e6);
  const auto before = read_rapl(dir.string());
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->energy_j.size(), 2u);
  zone("intel-rapl:0", "package-0", 15e6);
  zone("intel-rapl:1", "package-1", 4e6);  // wrapped at 1000 J
  const auto after = read_rapl(dir.string());
  ASSERT_TRUE(after.has_value());
  EXPECT_DOUBLE_EQ(rapl_delta_j(*before, *after), 10.0 + 5.0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moebench::targets
