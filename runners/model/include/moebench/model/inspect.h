#pragma once
// A summary of a GGUF model: what `moebench model inspect` prints, and what run provenance
// records about a model. Counting rules (docs/gguf.md):
//  - total_params: elements of every tensor;
//  - active_params: per decoded token; expert tensors (names with "_exps") count
//    n_expert_used / n_expert of their elements, all others fully;
//  - weight_bytes_per_token: bytes read to decode one token: active tensor bytes, except that
//    the token embedding contributes one row (unless the output head reuses it);
//  - kv_bytes_per_token: with an f16 cache as llama.cpp allocates it by default. deepseek2 files
//    with the split MLA layout keep only the latent (kv_lora_rank + rope dims per layer).
//    deepseek4 files (DeepSeek-V4) cache per token only compressed rows: one key of head_dim per
//    4 tokens plus one indexer key per 4 tokens in ratio-4 layers, one key per 128 tokens in
//    ratio-128 layers; every layer also keeps its sliding window of raw keys and the
//    compressors' f32 state, a fixed amount per sequence (kv_fixed_bytes_per_sequence).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/model/gguf.h"

namespace moebench::model {

struct tensor_summary {
  std::string name;
  gguf::tensor_type type = gguf::tensor_type::f32;
  std::vector<int64_t> shape;
  uint64_t elements = 0;
  uint64_t bytes = 0;
  bool expert = false;
};

struct tokenizer_summary {
  std::string model;  // tokenizer.ggml.model, empty if absent
  std::string pre;
  uint64_t n_tokens = 0;
  uint64_t n_merges = 0;
  std::optional<int64_t> bos_id;
  std::optional<int64_t> eos_id;
  std::optional<bool> add_bos;
};

struct model_summary {
  std::string path;
  uint64_t file_bytes = 0;
  std::string architecture;
  std::string name;
  nlohmann::json hyperparameters = nlohmann::json::object();  // every scalar "<arch>.*" key
  std::vector<tensor_summary> tensors;

  uint32_t n_layer = 0;
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  uint32_t n_expert_shared = 0;
  uint32_t n_moe_layers = 0;    // layers with expert tensors
  uint32_t n_expert_groups = 0;
  uint32_t n_group_used = 0;
  std::string gating;           // "softmax", "sigmoid", ... ("softmax" when not stated)

  uint64_t total_params = 0;
  uint64_t active_params = 0;
  uint64_t embedding_params = 0;
  uint64_t expert_params = 0;
  uint64_t weight_bytes = 0;
  uint64_t weight_bytes_per_token = 0;
  uint64_t kv_bytes_per_token = 0;
  bool kv_latent = false;                     // MLA latent cache
  uint64_t kv_bytes_per_token_expanded = 0;   // deepseek2: the same attention as plain MHA;
                                              // deepseek4: every token's key in every layer
  // deepseek4: the compressed cache (kv_bytes_per_token is then its growth per token, which can
  // be fractional: kv_bytes_per_token_exact) and the fixed part per sequence.
  bool kv_compressed = false;
  double kv_bytes_per_token_exact = 0;
  uint64_t kv_fixed_bytes_per_sequence = 0;   // sliding windows (f16) + compressor state (f32)
  uint64_t kv_state_bytes_per_sequence = 0;   // the compressor state alone
  uint32_t sliding_window = 0;
  uint32_t kv_key_length = 0;                 // the shared key/value head
  uint32_t kv_indexer_key_length = 0;
  std::vector<uint32_t> compress_ratios;      // per layer
  uint32_t n_mtp_layers = 0;                  // nextn_predict_layers: not run by moebench's engine
  tokenizer_summary tokenizer;

  // KV bytes of one sequence of `context` tokens (all layers, f16 keys as above).
  double kv_bytes_at(uint64_t context) const;
};

model_summary summarize(const gguf::file& f);
void to_json(nlohmann::json& j, const model_summary& s);
std::string format_text(const model_summary& s);

}  // namespace moebench::model
