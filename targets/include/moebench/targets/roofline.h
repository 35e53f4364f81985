#pragma once
// A roofline model of MoE inference: bytes and FLOPs per step for prefill and decode, bounded
// by a target's memory bandwidth, compute peak and scale-up interconnect, scaled by a
// calibration efficiency. HARDWARE_AND_METRICS.md section 8 gives the derivation; docs/targets.md
// the formulas as implemented.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/targets/targets.h"

namespace moebench::targets {

enum class precision { fp32, bf16, fp16, fp8, int8, int4 };
std::string_view to_string(precision p) noexcept;
precision precision_from_string(std::string_view s);
double bytes_per_value(precision p) noexcept;

// compressed: DeepSeek-V4's hybrid attention (llama.cpp architecture deepseek4): every layer
// attends to a sliding window of raw keys; csa_layers also to indexer_top_k of their keys
// compressed 4:1 (chosen by a lightning indexer that scores every compressed block), hca_layers
// to all of their keys compressed 128:1; one shared key/value head of head_dim.
enum class attention_kind { mla, gqa, explicit_bytes, compressed };
std::string_view to_string(attention_kind a) noexcept;  // "mla", "gqa", "explicit", "compressed"

struct model_config {
  std::string id;
  std::string name;
  std::string status;  // "published" | "rumoured" | "user"
  precision weight_precision = precision::fp8;
  precision kv_precision = precision::bf16;
  // total_params, active_params, layers, moe_layers, hidden, attention_heads, routed_experts,
  // experts_per_token, shared_experts, and per attention kind: kv_lora_rank + rope_dim (mla),
  // kv_heads + head_dim (gqa), kv_bytes_per_token + attn_flops_per_context_token (explicit),
  // head_dim, sliding_window, csa_layers, hca_layers, indexer_heads, indexer_head_dim and
  // indexer_top_k (compressed).
  // Optional bytes_per_weight: the stored size per parameter when it is not a plain
  // precision's (a GGUF quantisation with block scales, e.g. Q8_0 = 34/32 bytes).
  std::map<std::string, sourced_figure> figures;
  attention_kind attention = attention_kind::mla;
  std::map<std::string, std::string> sources;
  std::string data_version;

  double get(std::string_view key) const;  // error "model_config.missing_figure"
};
void to_json(nlohmann::json& j, const model_config& m);

std::vector<model_config> parse_model_configs(std::string_view json_text, const std::string& file);
const std::vector<model_config>& builtin_model_configs();
// A built-in id or a path to a JSON file with the same layout (one model in "models").
// A built-in id, a path to a JSON file with the same layout (one model in "models"), or a
// GGUF ("gguf:PATH" or a path ending in .gguf: model_config_from_gguf).
model_config load_model_config(const std::string& name_or_file);

// A model config read from a GGUF's metadata and tensor table, counted by the same rules as
// `moebench model inspect` (moebench::model::summarize): total and active parameters, experts,
// layers, attention (MLA when the file keeps the latent cache, GQA otherwise; explicit bytes
// when keys and values differ in length), weight precision from the tensor types (the type
// holding most weight bytes; bytes_per_weight = weight bytes / parameters) and an f16 KV cache,
// as llama.cpp allocates it by default. Every figure is flagged model_file.
model_config model_config_from_gguf(const std::filesystem::path& path);

// KV-cache values (not bytes) per token of context over all layers: (kv_lora_rank + rope_dim)
// x layers for MLA, 2 x kv_heads x head_dim x layers for GQA; explicit configs give bytes only,
// so this is their bytes / bytes_per_value(kv_precision); compressed: the growth per token
// (csa_layers (head_dim + indexer_head_dim) / 4 + hca_layers head_dim / 128).
double kv_values_per_token(const model_config& m);

// KV bytes of one sequence of `context` tokens (all layers, kv_precision): context x the
// per-token bytes, except for compressed attention: layers x min(context, sliding_window) x
// head_dim, plus csa_layers x floor(context / 4) x (head_dim + indexer_head_dim), plus
// hca_layers x floor(context / 128) x head_dim.
double kv_bytes_at(const model_config& m, double context);
// Attention FLOPs of decoding one token at `context` (all layers): context x the per-token FLOPs,
// except for compressed attention: 4 x heads x head_dim per attended key (scores and values;
// window keys min(context, sliding_window), plus min(floor(context / 4), indexer_top_k) in CSA
// layers and floor(context / 128) in HCA layers) plus the indexer's 2 x indexer_heads x
// indexer_head_dim per compressed block in CSA layers.
double attn_flops_at(const model_config& m, double context);
// Attention FLOPs of prefilling one sequence of `context` tokens: the sum of attn_flops_at over
// positions 1..context (context (context + 1) / 2 x the per-token FLOPs when linear).
double prefill_attn_flops(const model_config& m, double context);

// Quantities derived from a config; pure arithmetic, checked by hand in the tests.
struct model_derived {
  double routed_params_per_expert_all_layers = 0;  // (total - active) / (N - k)
  double expert_params = 0;                        // per expert per MoE layer
  double always_params = 0;                        // active - k * routed_params_per_expert_all_layers
  double kv_bytes_per_token = 0;                   // all layers, at kv_precision (compressed:
                                                   // the growth per token, see kv_bytes_at)
  double attn_flops_per_context_token = 0;         // decode, all layers (compressed: the growth
                                                   // per token at long context, see attn_flops_at)
};
model_derived derive(const model_config& m);

// Expected distinct experts per MoE layer touched by B tokens under uniform routing:
// N * (1 - (1 - k/N)^B).
double expected_distinct_experts(double n_experts, double k, double tokens);

// Calibration: the achieved fraction of each roof, and where that fraction came from.
struct calibration {
  double bandwidth_efficiency = 1.0;
  double compute_efficiency = 1.0;
  std::string source = "uncalibrated: roofline upper bound";
};

struct projection_options {
  int64_t batch = 1;            // concurrent sequences (decode) / sequences in a prefill step
  int64_t context = 4096;       // tokens of context per sequence
  int64_t devices = 0;          // 0 = the fewest that hold weights + KV cache
  double usable_memory_fraction = 0.9;
  std::optional<precision> weight_precision;  // override the config's
  calibration calib;
};

struct projection {
  std::string target_id;
  std::string model_id;
  int64_t batch = 0, context = 0;
  precision weight_precision = precision::fp8;
  precision compute_precision = precision::fp8;  // the peak used; may differ when unsupported
  double weight_bytes = 0, kv_bytes_total = 0;
  int64_t devices_for_memory = 0;  // fewest devices holding weights + KV
  int64_t devices = 0;             // used in the projection
  bool fits = true;                // the requested devices hold weights + KV
  double experts_per_device = 0;   // routed experts per MoE layer per device (EP spread)
  double distinct_experts_per_step = 0;  // per MoE layer, decode
  double tokens_per_expert_per_step = 0; // decode, B * k / N
  // Decode step of `batch` tokens at `context`.
  double decode_bytes_per_step = 0, decode_flops_per_step = 0, decode_comm_bytes_per_step = 0;
  double decode_t_memory_s = 0, decode_t_compute_s = 0, decode_t_comm_s = 0;
  std::string decode_bound;  // "memory" | "compute" | "interconnect"
  double decode_tok_s = 0;   // all devices
  double tpot_ms = 0;
  // Prefill of `batch` sequences of `context` tokens.
  double prefill_bytes = 0, prefill_flops = 0;
  double prefill_t_memory_s = 0, prefill_t_compute_s = 0, prefill_t_comm_s = 0;
  std::string prefill_bound;
  double prefill_tok_s = 0;
  calibration calib;
  std::vector<std::string> notes;
};
void to_json(nlohmann::json& j, const projection& p);

projection project(const model_config& m, const hardware_target& t, const projection_options& o);

}  // namespace moebench::targets
