#include "moebench/targets/roofline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include "detail.h"
#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/io.h"

namespace moebench::embedded {
extern const std::string_view targets_model_configs;
}

namespace moebench::targets {
namespace {
using namespace std::string_view_literals;
constexpr std::array precision_names{
    std::pair{precision::fp32, "fp32"sv}, std::pair{precision::bf16, "bf16"sv}, std::pair{precision::fp16, "fp16"sv},
    std::pair{precision::fp8, "fp8"sv},   std::pair{precision::int8, "int8"sv},
    std::pair{precision::int4, "int4"sv},
};
constexpr std::array attention_names{
    std::pair{attention_kind::mla, "mla"sv},
    std::pair{attention_kind::gqa, "gqa"sv},
    std::pair{attention_kind::explicit_bytes, "explicit"sv},
    std::pair{attention_kind::compressed, "compressed"sv},
};
// DeepSeek-V4's compression ratios (the only ones llama.cpp's deepseek4 runs).
constexpr double csa_ratio = 4, hca_ratio = 128;

// Dispatch of FP8 activations and combine of BF16 ones, per token, routed expert and hidden
// unit (DeepSeek's deployment; ISCA'25 paper section on the EP communication bound).
constexpr double ep_bytes_per_hidden_unit = 1.0 + 2.0;
}  // namespace

std::string_view to_string(precision p) noexcept { return moebench::detail::enum_to_string(precision_names, p); }
std::string_view to_string(attention_kind a) noexcept { return moebench::detail::enum_to_string(attention_names, a); }
precision precision_from_string(std::string_view s) {
  return moebench::detail::enum_from_string(precision_names, s, "precision");
}

double bytes_per_value(precision p) noexcept {
  switch (p) {
    case precision::fp32: return 4;
    case precision::bf16: return 2;
    case precision::fp16: return 2;
    case precision::fp8: return 1;
    case precision::int8: return 1;
    case precision::int4: return 0.5;
  }
  return 0;
}

double model_config::get(std::string_view key) const {
  const auto it = figures.find(std::string(key));
  if (it == figures.end())
    throw error("model_config.missing_figure", {"", 0, std::string(key)},
                "model config '" + id + "' has no figure '" + std::string(key) + "'");
  return it->second.value;
}

void to_json(nlohmann::json& j, const model_config& m) {
  j = {{"id", m.id},
       {"name", m.name},
       {"status", m.status},
       {"weight_precision", to_string(m.weight_precision)},
       {"kv_precision", to_string(m.kv_precision)},
       {"attention", moebench::detail::enum_to_string(attention_names, m.attention)},
       {"figures", m.figures}};
  nlohmann::json used = nlohmann::json::object();
  for (const auto& [k, f] : m.figures)
    if (const auto it = m.sources.find(f.source); it != m.sources.end()) used[f.source] = it->second;
  j["sources"] = used;
  if (!m.data_version.empty()) j["data_version"] = m.data_version;
}

std::vector<model_config> parse_model_configs(std::string_view json_text, const std::string& file) {
  const nlohmann::json root = detail::parse_root(json_text, file);
  const auto sources = detail::parse_sources(root, file);
  const std::string version = detail::required_string(root, "data_version", file, "");
  const auto list = root.find("models");
  if (list == root.end() || !list->is_array() || list->empty())
    throw error("model_config.bad_file", {file, 0, "models"}, "expected a non-empty array");
  std::vector<model_config> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& mj = (*list)[i];
    const std::string path = "models[" + std::to_string(i) + "]";
    if (!mj.is_object()) throw error("model_config.bad_file", {file, 0, path}, "expected an object");
    model_config m;
    m.id = detail::required_string(mj, "id", file, path);
    m.name = detail::required_string(mj, "name", file, path);
    m.status = detail::required_string(mj, "status", file, path);
    m.sources = sources;
    m.data_version = version;
    try {
      m.weight_precision = precision_from_string(detail::required_string(mj, "weight_precision", file, path));
      m.kv_precision = precision_from_string(detail::required_string(mj, "kv_precision", file, path));
    } catch (const error& e) {
      if (e.where().file.empty()) throw error(e.id(), {file, 0, path + ".weight_precision/kv_precision"}, e.message());
      throw;
    }
    const auto figs = mj.find("figures");
    if (figs == mj.end() || !figs->is_object())
      throw error("model_config.bad_file", {file, 0, path + ".figures"}, "expected an object");
    for (const auto& [k, v] : figs->items())
      m.figures.emplace(k, detail::parse_figure(v, sources, file, path + ".figures." + k));
    for (const char* key : {"total_params", "active_params", "layers", "moe_layers", "hidden",
                            "attention_heads", "routed_experts", "experts_per_token"}) {
      const auto it = m.figures.find(key);
      if (it == m.figures.end())
        throw error("model_config.missing_figure", {file, 0, path + ".figures." + key}, "required");
      if (it->second.value <= 0)
        throw error("model_config.bad_figure", {file, 0, path + ".figures." + key}, "must be positive");
    }
    if (const auto it = m.figures.find("bytes_per_weight"); it != m.figures.end() && !(it->second.value > 0))
      throw error("model_config.bad_figure", {file, 0, path + ".figures.bytes_per_weight"}, "must be positive");
    const auto fig = [&](const char* k) { return m.figures.at(k).value; };
    if (fig("active_params") > fig("total_params"))
      throw error("model_config.bad_figure", {file, 0, path + ".figures.active_params"},
                  "active_params exceeds total_params");
    if (fig("experts_per_token") >= fig("routed_experts"))
      throw error("model_config.bad_figure", {file, 0, path + ".figures.experts_per_token"},
                  "experts_per_token must be below routed_experts");
    if (fig("moe_layers") > fig("layers"))
      throw error("model_config.bad_figure", {file, 0, path + ".figures.moe_layers"}, "exceeds layers");
    const auto att = mj.find("attention");
    if (att == mj.end() || !att->is_object())
      throw error("model_config.bad_file", {file, 0, path + ".attention"}, "expected an object");
    const std::string kind = detail::required_string(*att, "kind", file, path + ".attention");
    try {
      m.attention = moebench::detail::enum_from_string(attention_names, kind, "attention_kind");
    } catch (const error& e) {
      throw error(e.id(), {file, 0, path + ".attention.kind"}, e.message());
    }
    std::vector<const char*> keys;
    switch (m.attention) {
      case attention_kind::mla: keys = {"kv_lora_rank", "rope_dim"}; break;
      case attention_kind::gqa: keys = {"kv_heads", "head_dim"}; break;
      case attention_kind::explicit_bytes: keys = {"kv_bytes_per_token", "attn_flops_per_context_token"}; break;
      case attention_kind::compressed:
        keys = {"head_dim", "sliding_window", "csa_layers", "hca_layers", "indexer_heads", "indexer_head_dim",
                "indexer_top_k"};
        break;
    }
    for (const char* key : keys) {
      const auto it = att->find(key);
      if (it == att->end())
        throw error("model_config.missing_figure", {file, 0, path + ".attention." + key}, "required");
      m.figures.emplace(key, detail::parse_figure(*it, sources, file, path + ".attention." + key));
    }
    // Whole-valued counts: a fractional layer or expert count is a typo, not a model.
    if (m.attention == attention_kind::compressed &&
        m.figures.at("csa_layers").value + m.figures.at("hca_layers").value > m.figures.at("layers").value)
      throw error("model_config.bad_figure", {file, 0, path + ".attention.csa_layers"},
                  "csa_layers + hca_layers exceeds layers");
    for (const char* key : {"layers", "moe_layers", "hidden", "attention_heads", "routed_experts",
                            "experts_per_token", "kv_lora_rank", "rope_dim", "kv_heads", "head_dim", "sliding_window",
                            "csa_layers", "hca_layers", "indexer_heads", "indexer_head_dim", "indexer_top_k"})
      if (const auto it = m.figures.find(key);
          it != m.figures.end() && it->second.value != std::floor(it->second.value))
        throw error("model_config.bad_figure", {file, 0, path + "." + key}, "must be a whole number");
    for (const auto& prev : out)
      if (prev.id == m.id) throw error("model_config.duplicate", {file, 0, path + ".id"}, "duplicate id");
    out.push_back(std::move(m));
  }
  return out;
}

const std::vector<model_config>& builtin_model_configs() {
  static const std::vector<model_config> configs =
      parse_model_configs(embedded::targets_model_configs, "builtin:targets/data/model_configs.json");
  return configs;
}

model_config load_model_config(const std::string& name_or_file) {
  for (const auto& m : builtin_model_configs())
    if (m.id == name_or_file) return m;
  if (name_or_file.starts_with("gguf:")) return model_config_from_gguf(name_or_file.substr(5));
  if (name_or_file.ends_with(".gguf")) return model_config_from_gguf(name_or_file);
  std::string file = name_or_file, id;
  if (const auto hash = name_or_file.rfind('#'); hash != std::string::npos) {
    file = name_or_file.substr(0, hash);
    id = name_or_file.substr(hash + 1);
  }
  if (!std::filesystem::is_regular_file(file)) {
    std::string known;
    for (const auto& m : builtin_model_configs()) known += (known.empty() ? "" : ", ") + m.id;
    throw error("model_config.unknown", {"", 0, "--model-config"},
                "'" + name_or_file + "' is neither a built-in model config (" + known +
                    ") nor a readable file");
  }
  auto all = parse_model_configs(read_file(file), file);
  if (id.empty()) {
    if (all.size() == 1) return all.front();
    throw error("model_config.ambiguous", {file, 0, "models"},
                "the file holds several models; name one as FILE#ID");
  }
  for (auto& m : all)
    if (m.id == id) return m;
  throw error("model_config.unknown", {file, 0, "models"}, "no model with id '" + id + "'");
}

model_derived derive(const model_config& m) {
  model_derived d;
  const double n = m.get("routed_experts"), k = m.get("experts_per_token");
  // total = always + L*N*P_e and active = always + L*k*P_e: two equations, two unknowns.
  d.routed_params_per_expert_all_layers = (m.get("total_params") - m.get("active_params")) / (n - k);
  d.expert_params = d.routed_params_per_expert_all_layers / m.get("moe_layers");
  d.always_params = m.get("active_params") - k * d.routed_params_per_expert_all_layers;
  if (d.always_params < 0)
    throw error("model_config.inconsistent", {"", 0, m.id},
                "active_params is too small for experts_per_token routed experts of the size "
                "(total - active) / (routed_experts - experts_per_token) implies");
  const double b_kv = bytes_per_value(m.kv_precision);
  const double layers = m.get("layers"), heads = m.get("attention_heads");
  switch (m.attention) {
    case attention_kind::mla: {
      const double c = m.get("kv_lora_rank"), r = m.get("rope_dim");
      d.kv_bytes_per_token = layers * (c + r) * b_kv;
      // Absorbed decode: scores over (latent + rope) and values over the latent, per head.
      d.attn_flops_per_context_token = layers * 2 * heads * (2 * c + r);
      break;
    }
    case attention_kind::gqa: {
      const double kvh = m.get("kv_heads"), hd = m.get("head_dim");
      d.kv_bytes_per_token = 2 * layers * kvh * hd * b_kv;
      d.attn_flops_per_context_token = layers * 4 * heads * hd;
      break;
    }
    case attention_kind::explicit_bytes:
      d.kv_bytes_per_token = m.get("kv_bytes_per_token");
      d.attn_flops_per_context_token = m.get("attn_flops_per_context_token");
      break;
    case attention_kind::compressed: {
      const double hd = m.get("head_dim"), csa = m.get("csa_layers"), hca = m.get("hca_layers");
      d.kv_bytes_per_token = (csa * (hd + m.get("indexer_head_dim")) / csa_ratio + hca * hd / hca_ratio) * b_kv;
      d.attn_flops_per_context_token = csa * 2 * m.get("indexer_heads") * m.get("indexer_head_dim") / csa_ratio +
                                       hca * 4 * heads * hd / hca_ratio;
      break;
    }
  }
  return d;
}

double kv_bytes_at(const model_config& m, double context) {
  if (m.attention != attention_kind::compressed) return context * derive(m).kv_bytes_per_token;
  const double hd = m.get("head_dim"), b_kv = bytes_per_value(m.kv_precision);
  const double window = std::min(context, m.get("sliding_window"));
  return (m.get("layers") * window * hd + m.get("csa_layers") * std::floor(context / csa_ratio) * (hd + m.get("indexer_head_dim")) +
          m.get("hca_layers") * std::floor(context / hca_ratio) * hd) *
         b_kv;
}

namespace {

// The compressed kind's decode attention FLOPs at each context, with the figures read once.
struct compressed_flops {
  double hd, heads, layers, csa, hca, window, top_k, indexer;
  explicit compressed_flops(const model_config& m)
      : hd(m.get("head_dim")), heads(m.get("attention_heads")), layers(m.get("layers")), csa(m.get("csa_layers")),
        hca(m.get("hca_layers")), window(m.get("sliding_window")), top_k(m.get("indexer_top_k")),
        indexer(2 * m.get("indexer_heads") * m.get("indexer_head_dim")) {}
  double at(double context) const {
    const double csa_blocks = std::floor(context / csa_ratio), hca_blocks = std::floor(context / hca_ratio);
    return 4 * heads * hd * (layers * std::min(context, window) + csa * std::min(csa_blocks, top_k) + hca * hca_blocks) +
           csa * csa_blocks * indexer;
  }
};

}  // namespace

double attn_flops_at(const model_config& m, double context) {
  if (m.attention != attention_kind::compressed) return context * derive(m).attn_flops_per_context_token;
  return compressed_flops(m).at(context);
}

double prefill_attn_flops(const model_config& m, double context) {
  const double c = std::max(0.0, std::floor(context));
  if (m.attention != attention_kind::compressed) return derive(m).attn_flops_per_context_token * c * (c + 1) / 2;
  // The window and the top-k saturate and the block counts step every 4 and 128 positions;
  // summing per position is exact and cheap (a million positions in milliseconds).
  const compressed_flops f(m);
  double sum = 0;
  for (double p = 1; p <= c; ++p) sum += f.at(p);
  return sum;
}

double expected_distinct_experts(double n_experts, double k, double tokens) {
  MOEBENCH_CHECK(n_experts > 0 && k >= 0 && k <= n_experts && tokens >= 0, "bad expert counts");
  return n_experts * (1 - std::pow(1 - k / n_experts, tokens));
}

namespace {

struct peak_choice {
  double tflops = 0;
  precision used = precision::bf16;
};

// The dense peak for computing with weights of precision p; a target without a published peak
// for p computes in BF16 (weights upcast), which the notes say.
peak_choice choose_peak(const hardware_target& t, precision p, std::vector<std::string>& notes) {
  const auto try_key = [&](const char* key, precision used) -> std::optional<peak_choice> {
    if (const auto* f = t.find(key); f != nullptr && f->value > 0) return peak_choice{f->value, used};
    return std::nullopt;
  };
  std::optional<peak_choice> c;
  switch (p) {
    case precision::fp32: c = try_key("fp32_dense_tflops", precision::fp32); break;
    case precision::bf16: c = try_key("bf16_dense_tflops", precision::bf16); break;
    case precision::fp16: c = try_key("fp16_dense_tflops", precision::fp16); break;
    case precision::fp8: c = try_key("fp8_dense_tflops", precision::fp8); break;
    case precision::int8: c = try_key("int8_dense_tops", precision::int8); break;
    case precision::int4:
      c = try_key("int8_dense_tops", precision::int8);
      if (c) notes.push_back("int4 weights computed at the int8 peak");
      break;
  }
  if (c) return *c;
  c = try_key("bf16_dense_tflops", precision::bf16);
  if (!c)
    throw error("targets.missing_figure", {"", 0, "bf16_dense_tflops"},
                "target '" + t.id + "' has no compute peak for " + std::string(to_string(p)) + " or bf16");
  notes.push_back(t.kind == target_kind::measured
                      ? "CPU compute roof: the measured FP32 multiply-add rate, for every precision"
                      : "no " + std::string(to_string(p)) + " peak published for " + t.id +
                            ": BF16 peak used (weights upcast)");
  return *c;
}

}  // namespace

projection project(const model_config& m, const hardware_target& t, const projection_options& o) {
  if (o.batch < 1) throw error("cli.bad_value", {"", 0, "--batch"}, "must be >= 1");
  if (o.context < 0) throw error("cli.bad_value", {"", 0, "--context"}, "must be >= 0");
  if (o.devices < 0) throw error("cli.bad_value", {"", 0, "--devices"}, "must be >= 0");
  if (!(o.usable_memory_fraction > 0 && o.usable_memory_fraction <= 1))
    throw error("cli.bad_value", {"", 0, "usable_memory_fraction"}, "must be in (0, 1]");
  if (!(o.calib.bandwidth_efficiency > 0 && o.calib.bandwidth_efficiency <= 1) ||
      !(o.calib.compute_efficiency > 0 && o.calib.compute_efficiency <= 1))
    throw error("cli.bad_value", {"", 0, "--efficiency"}, "efficiencies must be in (0, 1]");

  projection p;
  p.target_id = t.id;
  p.model_id = m.id;
  p.batch = o.batch;
  p.context = o.context;
  p.calib = o.calib;
  p.weight_precision = o.weight_precision.value_or(m.weight_precision);
  const peak_choice peak = choose_peak(t, p.weight_precision, p.notes);
  p.compute_precision = peak.used;

  const model_derived d = derive(m);
  const auto* stored = m.figures.find("bytes_per_weight") != m.figures.end() ? &m.figures.at("bytes_per_weight") : nullptr;
  const double b_w = !o.weight_precision && stored != nullptr ? stored->value : bytes_per_value(p.weight_precision);
  if (!o.weight_precision && stored != nullptr)
    p.notes.push_back("weights as stored in the model file: " + std::to_string(b_w) + " bytes per parameter");
  const double n = m.get("routed_experts"), k = m.get("experts_per_token");
  const double l_moe = m.get("moe_layers"), hidden = m.get("hidden");
  const double batch = static_cast<double>(o.batch), ctx = static_cast<double>(o.context);

  p.weight_bytes = m.get("total_params") * b_w;
  const double kv_per_sequence = kv_bytes_at(m, ctx);
  p.kv_bytes_total = batch * kv_per_sequence;
  const double mem_per_device = t.at("memory_gb").value * 1e9 * o.usable_memory_fraction;
  const double needed = std::ceil((p.weight_bytes + p.kv_bytes_total) / mem_per_device);
  if (!(needed <= 1e9))
    throw error("roofline.out_of_range", {"", 0, t.id},
                "the model would need more than 10^9 devices of '" + t.id + "': check the figures");
  p.devices_for_memory = std::max<int64_t>(1, static_cast<int64_t>(needed));
  p.devices = o.devices > 0 ? o.devices : p.devices_for_memory;
  p.fits = p.devices >= p.devices_for_memory;
  if (!p.fits)
    p.notes.push_back("weights + KV need " + std::to_string(p.devices_for_memory) + " devices; " +
                      std::to_string(p.devices) + " given: the projection assumes they fit");
  const double devices = static_cast<double>(p.devices);
  p.experts_per_device = n / devices;
  if (p.devices > t.devices_per_node)
    p.notes.push_back("spans " + std::to_string((p.devices + t.devices_per_node - 1) / t.devices_per_node) +
                      " nodes: inter-node links are slower than the scale-up bandwidth assumed here");

  const double bw = devices * t.at("memory_bw_gbs").value * 1e9 * o.calib.bandwidth_efficiency;
  const double flops = devices * peak.tflops * 1e12 * o.calib.compute_efficiency;
  double link = 0;  // per device, one direction, bytes/s
  if (p.devices > 1) {
    if (const auto* f = t.find("scale_up_bw_gbs"); f != nullptr && f->value > 0)
      link = f->value / 2 * 1e9;
    else
      p.notes.push_back("no scale-up bandwidth for " + t.id + ": expert-parallel traffic not modelled");
  }
  const double cross = p.devices > 1 ? (devices - 1) / devices : 0.0;
  const auto comm_time = [&](double tokens, double& bytes_out) {
    bytes_out = tokens * l_moe * k * hidden * ep_bytes_per_hidden_unit * cross;
    return link > 0 ? bytes_out / (devices * link) : 0.0;
  };
  const auto bound_of = [](double tm, double tc, double tn) {
    if (tn > tm && tn > tc) return std::string("interconnect");
    return std::string(tc > tm ? "compute" : "memory");
  };

  // Decode: one step advances every sequence of the batch by one token.
  p.distinct_experts_per_step = expected_distinct_experts(n, k, batch);
  p.tokens_per_expert_per_step = batch * k / n;
  p.decode_bytes_per_step = b_w * (d.always_params + l_moe * p.distinct_experts_per_step * d.expert_params) +
                            batch * kv_per_sequence;
  p.decode_flops_per_step = batch * (2 * m.get("active_params") + attn_flops_at(m, ctx));
  p.decode_t_memory_s = p.decode_bytes_per_step / bw;
  p.decode_t_compute_s = p.decode_flops_per_step / flops;
  p.decode_t_comm_s = comm_time(batch, p.decode_comm_bytes_per_step);
  const double t_decode = std::max({p.decode_t_memory_s, p.decode_t_compute_s, p.decode_t_comm_s});
  p.decode_bound = bound_of(p.decode_t_memory_s, p.decode_t_compute_s, p.decode_t_comm_s);
  p.decode_tok_s = batch / t_decode;
  p.tpot_ms = t_decode * 1e3;

  // Prefill: `batch` prompts of `context` tokens in one pass; causal attention sums
  // 1 + 2 + ... + C context positions per sequence. The KV cache is written once.
  const double tokens = batch * std::max(ctx, 1.0);
  const double ctx1 = std::max(ctx, 1.0);
  double prefill_comm_bytes = 0;
  p.prefill_bytes = b_w * (d.always_params + l_moe * expected_distinct_experts(n, k, tokens) * d.expert_params) +
                    batch * kv_bytes_at(m, ctx1);
  p.prefill_flops = 2 * tokens * m.get("active_params") + batch * prefill_attn_flops(m, ctx1);
  p.prefill_t_memory_s = p.prefill_bytes / bw;
  p.prefill_t_compute_s = p.prefill_flops / flops;
  p.prefill_t_comm_s = comm_time(tokens, prefill_comm_bytes);
  const double t_prefill = std::max({p.prefill_t_memory_s, p.prefill_t_compute_s, p.prefill_t_comm_s});
  p.prefill_bound = bound_of(p.prefill_t_memory_s, p.prefill_t_compute_s, p.prefill_t_comm_s);
  p.prefill_tok_s = tokens / t_prefill;
  p.notes.push_back("roofline: steps take the slowest of memory, compute and interconnect time "
                    "(perfect overlap); launch, synchronisation and imbalance costs are not modelled");
  return p;
}

void to_json(nlohmann::json& j, const projection& p) {
  j = {{"target", p.target_id},
       {"model_config", p.model_id},
       {"batch", p.batch},
       {"context", p.context},
       {"weight_precision", to_string(p.weight_precision)},
       {"compute_precision", to_string(p.compute_precision)},
       {"weight_bytes", p.weight_bytes},
       {"kv_bytes_total", p.kv_bytes_total},
       {"kv_bytes_per_context_token", p.kv_bytes_total / static_cast<double>(p.batch * std::max<int64_t>(p.context, 1))},
       {"devices_for_memory", p.devices_for_memory},
       {"devices", p.devices},
       {"fits", p.fits},
       {"expert_parallel", {{"ep_degree", p.devices},
                            {"routed_experts_per_device_per_layer", p.experts_per_device},
                            {"distinct_experts_per_decode_step_per_layer", p.distinct_experts_per_step},
                            {"tokens_per_expert_per_decode_step", p.tokens_per_expert_per_step}}},
       {"decode", {{"bytes_per_step", p.decode_bytes_per_step},
                   {"flops_per_step", p.decode_flops_per_step},
                   {"interconnect_bytes_per_step", p.decode_comm_bytes_per_step},
                   {"t_memory_s", p.decode_t_memory_s},
                   {"t_compute_s", p.decode_t_compute_s},
                   {"t_interconnect_s", p.decode_t_comm_s},
                   {"bound", p.decode_bound},
                   {"tok_s", p.decode_tok_s},
                   {"tok_s_per_device", p.decode_tok_s / static_cast<double>(p.devices)},
                   {"tpot_ms", p.tpot_ms}}},
       {"prefill", {{"bytes", p.prefill_bytes},
                    {"flops", p.prefill_flops},
                    {"t_memory_s", p.prefill_t_memory_s},
                    {"t_compute_s", p.prefill_t_compute_s},
                    {"t_interconnect_s", p.prefill_t_comm_s},
                    {"bound", p.prefill_bound},
                    {"tok_s", p.prefill_tok_s},
                    {"tok_s_per_device", p.prefill_tok_s / static_cast<double>(p.devices)}}},
       {"calibration", {{"bandwidth_efficiency", p.calib.bandwidth_efficiency},
                        {"compute_efficiency", p.calib.compute_efficiency},
                        {"source", p.calib.source}}},
       {"notes", p.notes},
       {"kind", "modelled"}};
}

}  // namespace moebench::targets
