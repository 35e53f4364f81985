#include "moebench/model/inspect.h"

#include <algorithm>
#include <map>

#include <fmt/core.h>

namespace moebench::model {

namespace {

// Hyperparameters may be one value or one per layer (e.g. gemma4's head_count_kv): returns the
// per-layer values (n_layer of them), `fallback` for each when the key is absent or not integral.
std::vector<uint64_t> per_layer(const gguf::file& f, const std::string& key, uint32_t n_layer,
                                uint64_t fallback) {
  std::vector<uint64_t> out(n_layer, fallback);
  const gguf::value* v = f.find(key);
  if (v == nullptr) return out;
  if (gguf::is_integer(v->type())) {
    const int64_t x = v->as_int();
    out.assign(n_layer, x < 0 ? fallback : static_cast<uint64_t>(x));
  } else if (v->type() == gguf::value_type::array && gguf::is_integer(v->element_type())) {
    for (uint64_t i = 0; i < n_layer && i < v->size(); ++i) {
      const int64_t x = v->int_at(i);
      out[i] = x < 0 ? fallback : static_cast<uint64_t>(x);
    }
  }
  return out;
}

// One value: the largest over layers.
uint32_t u32_or(const gguf::file& f, const std::string& key, uint32_t fallback) {
  const auto v = per_layer(f, key, 1, fallback);
  const gguf::value* raw = f.find(key);
  uint64_t m = v[0];
  if (raw != nullptr && raw->type() == gguf::value_type::array && gguf::is_integer(raw->element_type()))
    for (uint64_t i = 0; i < raw->size(); ++i) m = std::max<uint64_t>(m, static_cast<uint64_t>(std::max<int64_t>(0, raw->int_at(i))));
  return static_cast<uint32_t>(std::min<uint64_t>(m, 0xffffffffu));
}

nlohmann::json scalar_json(const gguf::value& v) {
  using gguf::value_type;
  switch (v.type()) {
    case value_type::u8:
    case value_type::u16:
    case value_type::u32:
    case value_type::u64: return v.as_uint();
    case value_type::i8:
    case value_type::i16:
    case value_type::i32:
    case value_type::i64: return v.as_int();
    case value_type::f32:
    case value_type::f64: return v.as_double();
    case value_type::boolean: return v.as_bool();
    case value_type::string: return std::string(v.as_string());
    case value_type::array: {
      // Per-layer hyperparameters are short numeric arrays: show them; summarise the rest.
      const value_type et = v.element_type();
      if (v.size() <= 1024 && (gguf::is_integer(et) || gguf::is_float(et) || et == value_type::boolean)) {
        nlohmann::json a = nlohmann::json::array();
        for (uint64_t i = 0; i < v.size(); ++i) {
          if (gguf::is_integer(et)) a.push_back(v.int_at(i));
          else if (gguf::is_float(et)) a.push_back(v.double_at(i));
          else a.push_back(v.bool_at(i));
        }
        return a;
      }
      return fmt::format("array[{}] of {}", v.size(), gguf::name(et));
    }
  }
  return nullptr;
}

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", static_cast<double>(b) / (1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.2f} KiB", static_cast<double>(b) / (1ull << 10));
  return fmt::format("{} B", b);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : " x ") + std::to_string(d);
  return s;
}

}  // namespace

model_summary summarize(const gguf::file& f) {
  model_summary s;
  s.path = f.path();
  s.file_bytes = f.file_bytes();
  s.architecture = std::string(f.find_string("general.architecture").value_or(""));
  s.name = std::string(f.find_string("general.name").value_or(""));
  const std::string prefix = s.architecture + ".";
  for (const gguf::metadata_entry& e : f.metadata())
    if (!s.architecture.empty() && e.key.starts_with(prefix))
      s.hyperparameters[std::string(e.key.substr(prefix.size()))] = scalar_json(e.val);

  auto key = [&](std::string_view suffix) { return prefix + std::string(suffix); };
  s.n_layer = u32_or(f, key("block_count"), 0);
  s.n_expert = u32_or(f, key("expert_count"), 0);
  s.n_expert_used = u32_or(f, key("expert_used_count"), 0);
  s.n_expert_shared = u32_or(f, key("expert_shared_count"), 0);
  s.n_expert_groups = u32_or(f, key("expert_group_count"), 0);
  s.n_group_used = u32_or(f, key("expert_group_used_count"), 0);
  switch (u32_or(f, key("expert_gating_func"), 1)) {
    case 2: s.gating = "sigmoid"; break;
    case 3: s.gating = "softmax_weight"; break;
    case 4: s.gating = "sqrt_softplus"; break;
    default: s.gating = "softmax"; break;
  }

  const bool tied = f.find_tensor("output.weight") == nullptr;
  std::map<int64_t, bool> moe_layers;
  for (const gguf::tensor_info& t : f.tensors()) {
    tensor_summary ts;
    ts.name = std::string(t.name);
    ts.type = t.type;
    ts.shape = t.shape;
    ts.elements = static_cast<uint64_t>(t.elements());
    ts.bytes = t.bytes;
    ts.expert = ts.name.find("_exps.") != std::string::npos;
    s.total_params += ts.elements;
    s.weight_bytes += ts.bytes;
    if (ts.expert && s.n_expert > 0) {
      s.expert_params += ts.elements;
      s.active_params += ts.elements / s.n_expert * s.n_expert_used;
      s.weight_bytes_per_token += ts.bytes / s.n_expert * s.n_expert_used;
      int64_t layer = -1;
      if (std::sscanf(ts.name.c_str(), "blk.%ld.", &layer) == 1) moe_layers[layer] = true;
    } else {
      s.active_params += ts.elements;
      if (ts.name == "token_embd.weight") {
        s.embedding_params += ts.elements;
        s.weight_bytes_per_token += tied ? ts.bytes : ts.bytes / static_cast<uint64_t>(t.rows());
      } else {
        s.weight_bytes_per_token += ts.bytes;
      }
    }
    s.tensors.push_back(std::move(ts));
  }
  s.n_moe_layers = static_cast<uint32_t>(moe_layers.size());

  // KV cache per token, f16 elements.
  const uint32_t n_head = u32_or(f, key("attention.head_count"), 0);
  const uint32_t n_embd = u32_or(f, key("embedding_length"), 0);
  const auto n_head_l = per_layer(f, key("attention.head_count"), s.n_layer, 0);
  const uint32_t head = n_head > 0 ? n_embd / n_head : 0;
  const uint32_t k_len = u32_or(f, key("attention.key_length"), head);
  const uint32_t v_len = u32_or(f, key("attention.value_length"), head);
  const auto k_mla = f.find_u32(key("attention.key_length_mla"));
  const auto v_mla = f.find_u32(key("attention.value_length_mla"));
  constexpr uint64_t f16_bytes = 2;
  if (s.architecture == "deepseek2" && k_mla && v_mla && *k_mla > 0) {
    const uint32_t latent = u32_or(f, key("attention.kv_lora_rank"), 0) +
                            u32_or(f, key("rope.dimension_count"), 0);
    s.kv_latent = true;
    s.kv_bytes_per_token = uint64_t{s.n_layer} * latent * f16_bytes;
    s.kv_bytes_per_token_expanded = uint64_t{s.n_layer} * n_head * (*k_mla + *v_mla) * f16_bytes;
  } else {
    // head_count_kv defaults to head_count, layer by layer (as llama.cpp does).
    const auto n_head_kv = f.contains(key("attention.head_count_kv"))
                               ? per_layer(f, key("attention.head_count_kv"), s.n_layer, 0)
                               : n_head_l;
    for (uint64_t kv : n_head_kv) s.kv_bytes_per_token += kv * (uint64_t{k_len} + v_len) * f16_bytes;
    s.kv_bytes_per_token_expanded = s.kv_bytes_per_token;
  }

  tokenizer_summary& tk = s.tokenizer;
  tk.model = std::string(f.find_string("tokenizer.ggml.model").value_or(""));
  tk.pre = std::string(f.find_string("tokenizer.ggml.pre").value_or(""));
  if (const gguf::value* v = f.find("tokenizer.ggml.tokens"); v && v->type() == gguf::value_type::array)
    tk.n_tokens = v->size();
  if (const gguf::value* v = f.find("tokenizer.ggml.merges"); v && v->type() == gguf::value_type::array)
    tk.n_merges = v->size();
  tk.bos_id = f.find_int("tokenizer.ggml.bos_token_id");
  tk.eos_id = f.find_int("tokenizer.ggml.eos_token_id");
  tk.add_bos = f.find_bool("tokenizer.ggml.add_bos_token");
  return s;
}

void to_json(nlohmann::json& j, const model_summary& s) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const tensor_summary& t : s.tensors)
    tensors.push_back({{"name", t.name},
                       {"type", gguf::name(t.type)},
                       {"shape", t.shape},
                       {"elements", t.elements},
                       {"bytes", t.bytes},
                       {"expert", t.expert}});
  auto opt = [](const auto& o) -> nlohmann::json { return o ? nlohmann::json(*o) : nlohmann::json(nullptr); };
  j = nlohmann::json{
      {"path", s.path},
      {"file_bytes", s.file_bytes},
      {"architecture", s.architecture},
      {"name", s.name},
      {"hyperparameters", s.hyperparameters},
      {"experts",
       {{"n_expert", s.n_expert},
        {"n_expert_used", s.n_expert_used},
        {"n_expert_shared", s.n_expert_shared},
        {"n_moe_layers", s.n_moe_layers},
        {"n_expert_groups", s.n_expert_groups},
        {"n_group_used", s.n_group_used},
        {"gating", s.gating}}},
      {"n_layer", s.n_layer},
      {"total_params", s.total_params},
      {"active_params", s.active_params},
      {"embedding_params", s.embedding_params},
      {"expert_params", s.expert_params},
      {"weight_bytes", s.weight_bytes},
      {"weight_bytes_per_token", s.weight_bytes_per_token},
      {"kv_bytes_per_token", s.kv_bytes_per_token},
      {"kv_latent", s.kv_latent},
      {"kv_bytes_per_token_expanded", s.kv_bytes_per_token_expanded},
      {"tokenizer",
       {{"model", s.tokenizer.model},
        {"pre", s.tokenizer.pre},
        {"n_tokens", s.tokenizer.n_tokens},
        {"n_merges", s.tokenizer.n_merges},
        {"bos_id", opt(s.tokenizer.bos_id)},
        {"eos_id", opt(s.tokenizer.eos_id)},
        {"add_bos", opt(s.tokenizer.add_bos)}}},
      {"tensors", tensors},
  };
}

std::string format_text(const model_summary& s) {
  std::string out;
  out += fmt::format("file: {} ({})\n", s.path, human_bytes(s.file_bytes));
  out += fmt::format("architecture: {}  name: {}\n", s.architecture, s.name);
  out += "hyperparameters:\n";
  for (const auto& [k, v] : s.hyperparameters.items()) out += fmt::format("  {} = {}\n", k, v.dump());
  out += fmt::format(
      "experts: {} routed, {} used per token, {} shared, {} MoE layers of {}, gating {}", s.n_expert,
      s.n_expert_used, s.n_expert_shared, s.n_moe_layers, s.n_layer, s.gating);
  if (s.n_expert_groups > 1)
    out += fmt::format(", {} groups ({} used)", s.n_expert_groups, s.n_group_used);
  out += "\n";
  out += fmt::format("parameters: {} total, {} active per token ({} embedding, {} in experts)\n",
                     s.total_params, s.active_params, s.embedding_params, s.expert_params);
  out += fmt::format("weights: {} in all, {} read per decoded token\n", human_bytes(s.weight_bytes),
                     human_bytes(s.weight_bytes_per_token));
  out += fmt::format("kv cache (f16): {} bytes per token{}\n", s.kv_bytes_per_token,
                     s.kv_latent ? fmt::format(" (MLA latent; {} bytes expanded to MHA)",
                                               s.kv_bytes_per_token_expanded)
                                 : std::string());
  out += fmt::format("tokenizer: {} (pre {}), {} tokens, {} merges, bos {}, eos {}, add_bos {}\n",
                     s.tokenizer.model.empty() ? "none" : s.tokenizer.model,
                     s.tokenizer.pre.empty() ? "-" : s.tokenizer.pre, s.tokenizer.n_tokens,
                     s.tokenizer.n_merges,
                     s.tokenizer.bos_id ? std::to_string(*s.tokenizer.bos_id) : "-",
                     s.tokenizer.eos_id ? std::to_string(*s.tokenizer.eos_id) : "-",
                     s.tokenizer.add_bos ? (*s.tokenizer.add_bos ? "yes" : "no") : "-");
  out += fmt::format("tensors ({}):\n", s.tensors.size());
  for (const tensor_summary& t : s.tensors)
    out += fmt::format("  {:<32} {:<6} {:<20} {:>12}\n", t.name, gguf::name(t.type),
                       shape_text(t.shape), t.bytes);
  return out;
}

}  // namespace moebench::model
