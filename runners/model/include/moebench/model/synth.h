#pragma once
// Synthetic models in llama.cpp's exact GGUF layout (architectures deepseek2, deepseek4,
// qwen3moe, and llama with experts), with seeded weights scaled so activations and logits stay
// well behaved.
// See docs/gguf.md for the presets and the metadata written.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "moebench/model/tensor_types.h"

namespace moebench::model {

enum class synth_arch { deepseek2, qwen3moe, llama, deepseek4 };
// deepseek4 requires sqrt_softplus (llama.cpp's only V4 scoring); the others take softmax or
// sigmoid.
enum class gating_func { softmax, sigmoid, sqrt_softplus };
// deepseek2 only: how the MLA up-projection is stored. `split` (attn_k_b + attn_v_b, with
// key_length_mla/value_length_mla keys: current llama.cpp conversions) or `combined` (one
// attn_kv_b: older files, which llama.cpp still loads as plain MHA).
enum class mla_layout { split, combined };

struct yarn_config {
  float factor = 4.0f;
  uint32_t original_context_length = 256;
  float mscale_all_dim = 1.0f;  // written as rope.scaling.yarn_log_multiplier = 0.1 * this
};

// A model shape. Fields not used by an architecture are ignored (and not written).
struct synth_config {
  synth_arch arch = synth_arch::deepseek2;
  std::string name = "synthetic";
  uint32_t context_length = 1024;
  uint32_t n_embd = 256;
  uint32_t n_layer = 3;
  uint32_t n_head = 4;
  uint32_t n_head_kv = 4;      // qwen3moe, llama
  uint32_t head_dim = 64;      // qwen3moe, llama (key and value length); deepseek4: the query
                               // heads' and the single shared key/value head's length
  uint32_t n_ff = 512;         // dense FFN width (deepseek2 leading dense blocks; llama/qwen3moe:
                               // llama uses it as the expert width, as Mixtral files do)
  uint32_t n_ff_exp = 64;      // expert FFN width (deepseek2, qwen3moe)
  uint32_t n_expert = 16;
  uint32_t n_expert_used = 4;
  uint32_t n_expert_shared = 1;       // deepseek2
  uint32_t n_leading_dense = 1;       // deepseek2
  uint32_t n_expert_groups = 0;       // deepseek2; 0 or 1 = no group-limited routing
  uint32_t n_group_used = 0;          // deepseek2
  gating_func gating = gating_func::softmax;
  bool expert_weights_norm = false;
  float expert_weights_scale = 1.0f;  // deepseek2 (routed_scaling_factor)
  bool expert_selection_bias = false; // deepseek2: exp_probs_b tensor
  uint32_t q_lora_rank = 0;           // deepseek2 (0 = direct attn_q); deepseek4 (> 0)
  uint32_t kv_lora_rank = 64;         // deepseek2
  uint32_t qk_nope_head_dim = 32;     // deepseek2
  uint32_t qk_rope_head_dim = 16;     // deepseek2; deepseek4: the roped (last) dims of a head
  uint32_t v_head_dim = 32;           // deepseek2
  mla_layout layout = mla_layout::split;
  float rope_freq_base = 10000.0f;
  float rms_norm_eps = 1e-6f;
  std::optional<yarn_config> yarn;
  bool tied_embeddings = false;       // no output.weight: llama.cpp reuses token_embd
  // deepseek4 (DeepSeek-V4): per-layer KV compression, hyper-connections, hash routing.
  uint32_t sliding_window = 128;           // raw keys attended: the latest sliding_window tokens
  std::vector<uint32_t> compress_ratios;   // one per layer: 0 (window only), 4 (CSA: compressed
                                           // blocks chosen by the indexer) or 128 (HCA)
  uint32_t indexer_head_count = 16;        // lightning indexer (ratio-4 layers)
  uint32_t indexer_head_dim = 64;           // a multiple of 64 (llama.cpp's Hadamard rotation)
  uint32_t indexer_top_k = 16;             // compressed blocks attended per query
  uint32_t o_groups = 2;                   // grouped low-rank output projection
  uint32_t o_lora_rank = 32;
  float compress_rope_freq_base = 160000.0f;  // RoPE base of compressed layers (and their queries)
  uint32_t hc_mult = 4;                    // hyper-connection residual streams (llama.cpp: 4)
  uint32_t hc_sinkhorn_iters = 20;
  float hc_eps = 1e-6f;
  uint32_t n_hash_layers = 1;              // first layers route by token id (ffn_gate_tid2eid)
  float swiglu_limit = 0.0f;               // SwiGLU clamp of routed and shared experts (0: none)
};

std::vector<std::string_view> preset_names();
// Throws moebench::error "synth.unknown_preset".
synth_config preset(std::string_view name);
// Starts from `base` and applies every field present in `j` (names as in to_json); unknown
// fields and invalid shapes throw moebench::error "synth.bad_config" naming the field.
synth_config config_from_json(const nlohmann::json& j, const synth_config& base,
                              const std::string& source);
void to_json(nlohmann::json& j, const synth_config& c);
// Checks the constraints llama.cpp asserts on load; throws "synth.bad_config".
void validate(const synth_config& c, const std::string& source);

struct synth_options {
  // f32, f16, q8_0, q4_k, or mxfp4: routed experts in MXFP4 and the other matrices in Q8_0, as
  // llama.cpp's DeepSeek-V4 conversion writes them (file type MOSTLY_MXFP4_MOE).
  gguf::tensor_type type = gguf::tensor_type::f32;
  uint64_t seed = 1;
  // Copy tokenizer.* metadata from this GGUF instead of the built-in vocabulary.
  std::optional<std::filesystem::path> vocab_from;
};

// Writes the model. Matrices whose rows do not fit the requested block size fall back to the
// next finer type (q4_k -> q8_0 -> f16); norms, the router and biases stay f32.
void synth(const synth_config& c, const synth_options& o, const std::filesystem::path& out);

// The built-in byte-level BPE vocabulary (tokenizer.ggml.model "gpt2", pre "gpt-2"): the 256
// byte tokens, merges learnt from a small embedded English and code text, and two control
// tokens. Deterministic.
struct builtin_vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;  // llama.cpp: 1 normal, 3 control
  std::vector<std::string> merges;   // "left right", rank order
  int32_t bos_id = 0;
  int32_t eos_id = 0;
};
const builtin_vocab& default_vocab();

}  // namespace moebench::model
