// Model configs read from a GGUF: the roofline's inputs taken from the file a measured run
// uses, counted by `moebench model inspect`'s rules (moebench::model::summarize).
#include <algorithm>
#include <map>

#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/inspect.h"
#include "moebench/targets/roofline.h"

namespace moebench::targets {
namespace {

// A hyperparameter that may be one number or one per layer: the largest value, or nullopt when
// absent; `uniform` says whether every layer has the same value.
std::optional<double> hyper(const nlohmann::json& hp, const std::string& key, bool* uniform = nullptr) {
  if (uniform != nullptr) *uniform = true;
  const auto it = hp.find(key);
  if (it == hp.end()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  if (!it->is_array() || it->empty()) return std::nullopt;
  double m = 0;
  for (const auto& v : *it) {
    if (!v.is_number()) return std::nullopt;
    if (uniform != nullptr && v.get<double>() != it->front().get<double>()) *uniform = false;
    m = std::max(m, v.get<double>());
  }
  return m;
}

// The precision a GGUF tensor type stores weights at: float types by name, quantised types by
// their bits per weight (block scales included) rounded to the nearest modelled width.
precision precision_of(gguf::tensor_type t) {
  if (t == gguf::tensor_type::f32) return precision::fp32;
  if (t == gguf::tensor_type::f16) return precision::fp16;
  if (t == gguf::tensor_type::bf16) return precision::bf16;
  const auto& tr = gguf::traits(t);
  const double bits = 8.0 * static_cast<double>(tr.block_bytes) / static_cast<double>(tr.block_elements);
  return bits > 6.0 ? precision::int8 : precision::int4;
}

}  // namespace

model_config model_config_from_gguf(const std::filesystem::path& path) {
  const gguf::file f(path);
  const model::model_summary s = model::summarize(f);
  const std::string file = path.string();
  if (s.n_expert == 0 || s.n_expert_used == 0 || s.n_expert_used >= s.n_expert || s.n_moe_layers == 0)
    throw error("model_config.not_moe", {file, 0, s.architecture + ".expert_count"},
                "the roofline models mixture-of-experts decode; this file has " + std::to_string(s.n_expert) +
                    " experts, " + std::to_string(s.n_expert_used) + " used per token, in " +
                    std::to_string(s.n_moe_layers) + " layers");
  const nlohmann::json& hp = s.hyperparameters;
  const auto heads = hyper(hp, "attention.head_count");
  const auto hidden = hyper(hp, "embedding_length");
  if (!heads || !hidden || *heads <= 0 || *hidden <= 0)
    throw error("model_config.bad_gguf", {file, 0, s.architecture + ".attention.head_count"},
                "head_count and embedding_length are required");

  model_config m;
  m.id = "gguf:" + path.filename().string();
  m.name = (s.name.empty() ? path.stem().string() : s.name) + " (" + s.architecture + ", from GGUF)";
  m.status = "model_file";
  m.sources["gguf"] = "metadata and tensor table of " + file + " (" + std::to_string(s.file_bytes) +
                      " bytes), counted as `moebench model inspect` counts";
  const auto put = [&](const char* key, double v, std::string note = "") {
    m.figures[key] = {v, "gguf", figure_flag::model_file, confidence::primary, std::move(note)};
  };
  put("total_params", static_cast<double>(s.total_params), "elements of every tensor");
  put("active_params", static_cast<double>(s.active_params),
      "every non-expert tensor plus experts_per_token/routed_experts of the expert tensors");
  put("layers", s.n_layer);
  put("moe_layers", s.n_moe_layers, "layers with expert tensors");
  put("hidden", *hidden);
  put("attention_heads", *heads);
  put("routed_experts", s.n_expert);
  put("experts_per_token", s.n_expert_used);
  put("shared_experts", s.n_expert_shared);

  // Weight precision: the tensor type holding most bytes among matrices.
  std::map<gguf::tensor_type, uint64_t> bytes_by_type;
  for (const auto& t : s.tensors)
    if (t.shape.size() >= 2) bytes_by_type[t.type] += t.bytes;
  const auto dominant = std::max_element(bytes_by_type.begin(), bytes_by_type.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
  MOEBENCH_CHECK(dominant != bytes_by_type.end(), "a GGUF with experts has matrices");
  m.weight_precision = precision_of(dominant->first);
  put("bytes_per_weight", static_cast<double>(s.weight_bytes) / static_cast<double>(s.total_params),
      "file weight bytes / parameters (" + std::string(gguf::name(dominant->first)) + " holds most bytes)");
  m.kv_precision = precision::fp16;

  if (s.kv_compressed) {
    // DeepSeek-V4 (deepseek4): the hybrid attention's figures, from the file's metadata.
    m.attention = attention_kind::compressed;
    uint32_t csa = 0, hca = 0;
    for (uint32_t r : s.compress_ratios) {
      csa += r == 4 ? 1 : 0;
      hca += r == 128 ? 1 : 0;
    }
    put("head_dim", s.kv_key_length, "attention.key_length: the shared key/value head");
    put("sliding_window", s.sliding_window, "attention.sliding_window");
    put("csa_layers", csa, "layers of attention.compress_ratios 4");
    put("hca_layers", hca, "layers of attention.compress_ratios 128");
    put("indexer_heads", hyper(hp, "attention.indexer.head_count").value_or(0), "attention.indexer.head_count");
    put("indexer_head_dim", s.kv_indexer_key_length, "attention.indexer.key_length");
    put("indexer_top_k", hyper(hp, "attention.indexer.top_k").value_or(0), "attention.indexer.top_k");
    if (s.n_mtp_layers > 0) put("layers", static_cast<double>(s.compress_ratios.size()), "block_count less the MTP layers");
  } else if (s.kv_latent) {
    const auto rank = hyper(hp, "attention.kv_lora_rank");
    const auto rope = hyper(hp, "rope.dimension_count");
    if (!rank || !rope)
      throw error("model_config.bad_gguf", {file, 0, s.architecture + ".attention.kv_lora_rank"},
                  "an MLA file needs kv_lora_rank and rope.dimension_count");
    m.attention = attention_kind::mla;
    put("kv_lora_rank", *rank);
    put("rope_dim", *rope);
  } else {
    bool uniform_kv = true;
    const double head = *hidden / *heads;
    const double k_len = hyper(hp, "attention.key_length").value_or(head);
    const double v_len = hyper(hp, "attention.value_length").value_or(head);
    const auto kv_heads = hyper(hp, "attention.head_count_kv", &uniform_kv);
    bool uniform_heads = true;
    hyper(hp, "attention.head_count", &uniform_heads);
    if (k_len == v_len && uniform_kv && uniform_heads) {
      m.attention = attention_kind::gqa;
      put("kv_heads", kv_heads.value_or(*heads), kv_heads ? "" : "head_count_kv absent: one KV head per head");
      put("head_dim", k_len);
    } else {
      // Keys and values of different lengths (e.g. deepseek2 files in the combined MLA layout,
      // which llama.cpp caches as plain MHA) or per-layer head counts: inspect's byte count.
      m.attention = attention_kind::explicit_bytes;
      put("kv_bytes_per_token", static_cast<double>(s.kv_bytes_per_token),
          "f16 cache as llama.cpp allocates it (keys of " + std::to_string(static_cast<int64_t>(k_len)) +
              " and values of " + std::to_string(static_cast<int64_t>(v_len)) + " per KV head)");
      put("attn_flops_per_context_token", static_cast<double>(s.n_layer) * 2 * *heads * (k_len + v_len),
          "scores and values per head and layer");
    }
  }
  return m;
}

double kv_values_per_token(const model_config& m) {
  switch (m.attention) {
    case attention_kind::mla: return m.get("layers") * (m.get("kv_lora_rank") + m.get("rope_dim"));
    case attention_kind::gqa: return 2 * m.get("layers") * m.get("kv_heads") * m.get("head_dim");
    case attention_kind::explicit_bytes: return m.get("kv_bytes_per_token") / bytes_per_value(m.kv_precision);
    case attention_kind::compressed: return derive(m).kv_bytes_per_token / bytes_per_value(m.kv_precision);
  }
  return 0;
}

}  // namespace moebench::targets
