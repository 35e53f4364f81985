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
  s.n_mtp_layers = u32_or(f, key("nextn_predict_layers"), 0);
  // llama.cpp's deepseek4 counts them only when the first has its nextn projection.
  if (s.architecture == "deepseek4" && s.n_mtp_layers > 0 &&
      (s.n_mtp_layers >= s.n_layer ||
       f.find_tensor(fmt::format("blk.{}.nextn.eh_proj.weight", s.n_layer - s.n_mtp_layers)) == nullptr))
    s.n_mtp_layers = 0;
  if (s.architecture == "deepseek4") {
    // llama.cpp's llama_kv_cache_dsv4: a raw cache of the latest sliding_window keys per layer
    // (one shared key/value head of key_length), compressed key caches (ratio 4: (n + 3) / 4
    // rows of key_length plus as many indexer keys; ratio 128: (n + 127) / 128 rows), and f32
    // compressor state: 2 x ratio rows of 2 x width (values and scores) for the overlapping
    // ratio-4 pools (keys and indexer keys), 128 rows of 2 x key_length for ratio 128.
    // MTP layers (nextn_predict_layers, the last ones) have no cache here.
    const uint64_t d = k_len;
    const uint64_t idx = u32_or(f, key("attention.indexer.key_length"), 0);
    s.sliding_window = u32_or(f, key("attention.sliding_window"), 0);
    const uint32_t n_main = s.n_layer > s.n_mtp_layers ? s.n_layer - s.n_mtp_layers : 0;
    s.compress_ratios = std::vector<uint32_t>(n_main, 0);
    const auto ratios = per_layer(f, key("attention.compress_ratios"), n_main, 0);
    for (uint32_t i = 0; i < n_main; ++i) s.compress_ratios[i] = static_cast<uint32_t>(ratios[i]);
    s.kv_compressed = true;
    s.kv_key_length = static_cast<uint32_t>(d);
    s.kv_indexer_key_length = static_cast<uint32_t>(idx);
    constexpr uint64_t f32_bytes = 4;
    for (uint32_t r : s.compress_ratios) {
      s.kv_fixed_bytes_per_sequence += uint64_t{s.sliding_window} * d * f16_bytes;
      if (r == 4) {
        s.kv_bytes_per_token_exact += static_cast<double>((d + idx) * f16_bytes) / 4.0;
        s.kv_state_bytes_per_sequence += 2 * 4 * (2 * (2 * d) + 2 * (2 * idx)) * f32_bytes;
      } else if (r > 0) {
        s.kv_bytes_per_token_exact += static_cast<double>(d * f16_bytes) / static_cast<double>(r);
        s.kv_state_bytes_per_sequence += uint64_t{r} * 2 * d * f32_bytes;
      }
    }
    s.kv_fixed_bytes_per_sequence += s.kv_state_bytes_per_sequence;
    s.kv_bytes_per_token = static_cast<uint64_t>(std::llround(s.kv_bytes_per_token_exact));
    s.kv_bytes_per_token_expanded = uint64_t{n_main} * d * f16_bytes;
  } else if (s.architecture == "deepseek2" && k_mla && v_mla && *k_mla > 0) {
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
  if (!s.kv_compressed) s.kv_bytes_per_token_exact = static_cast<double>(s.kv_bytes_per_token);

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

double model_summary::kv_bytes_at(uint64_t context) const {
  if (!kv_compressed) return static_cast<double>(context) * static_cast<double>(kv_bytes_per_token);
  // The window holds at most `context` keys; compressed caches hold completed blocks only.
  constexpr double f16_bytes = 2;
  const double window = static_cast<double>(std::min<uint64_t>(context, sliding_window));
  const auto d = static_cast<double>(kv_key_length);
  const auto idx = static_cast<double>(kv_indexer_key_length);
  double bytes = static_cast<double>(kv_state_bytes_per_sequence);
  for (uint32_t r : compress_ratios) {
    bytes += window * d * f16_bytes;
    if (r > 0) bytes += static_cast<double>(context / r) * (r == 4 ? d + idx : d) * f16_bytes;
  }
  return bytes;
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
      {"mtp_layers", s.n_mtp_layers},
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
  if (s.n_mtp_layers > 0)
    j["mtp_note"] = "the last " + std::to_string(s.n_mtp_layers) + " layers are multi-token-prediction layers" +
                    (s.architecture == "deepseek4" ? std::string(": moebench's engine skips them") : std::string());
  if (s.kv_compressed) {
    nlohmann::json at = nlohmann::json::object();
    for (uint64_t c : {uint64_t{4096}, uint64_t{131072}, uint64_t{1048576}})
      at[std::to_string(c)] = {{"bytes", s.kv_bytes_at(c)}, {"bytes_per_token", s.kv_bytes_at(c) / static_cast<double>(c)}};
    j["kv_compressed"] = {{"bytes_per_token", s.kv_bytes_per_token_exact},
                          {"fixed_bytes_per_sequence", s.kv_fixed_bytes_per_sequence},
                          {"state_bytes_per_sequence", s.kv_state_bytes_per_sequence},
                          {"sliding_window", s.sliding_window},
                          {"key_length", s.kv_key_length},
                          {"indexer_key_length", s.kv_indexer_key_length},
                          {"compress_ratios", s.compress_ratios},
                          {"at_context", at}};
  }
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
  if (s.kv_compressed) {
    uint32_t n_ratio[3] = {0, 0, 0};
    for (uint32_t r : s.compress_ratios) ++n_ratio[r == 0 ? 0 : r == 4 ? 1 : 2];
    out += fmt::format(
        "kv cache (f16 keys): {:.4g} bytes per token compressed ({} layers of ratio 4 with indexer keys, {} of "
        "ratio 128, {} window only) + {} bytes per sequence fixed ({}-token windows of {}-value keys, f32 "
        "compressor state); {} bytes per token uncompressed\n",
        s.kv_bytes_per_token_exact, n_ratio[1], n_ratio[2], n_ratio[0], s.kv_fixed_bytes_per_sequence,
        s.sliding_window, s.kv_key_length, s.kv_bytes_per_token_expanded);
    out += "  per token of a sequence at context";
    for (uint64_t c : {uint64_t{4096}, uint64_t{131072}, uint64_t{1048576}})
      out += fmt::format(" {}K: {:.1f} B", c / 1024, s.kv_bytes_at(c) / static_cast<double>(c));
    out += "\n";
  } else {
    out += fmt::format("kv cache (f16): {} bytes per token{}\n", s.kv_bytes_per_token,
                       s.kv_latent ? fmt::format(" (MLA latent; {} bytes expanded to MHA)",
                                                 s.kv_bytes_per_token_expanded)
                                   : std::string());
  }
  if (s.n_mtp_layers > 0)
    out += fmt::format("mtp layers: {} (multi-token prediction{})\n", s.n_mtp_layers,
                       s.architecture == "deepseek4" ? "; skipped by moebench's engine" : "");
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
