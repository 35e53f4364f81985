// The `gguf:PATH` runner: requests complete inline, one after another, on the engine's thread
// pool; text streams to the sink as it settles.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "moebench/engine/engine.h"
#include "moebench/error.h"

namespace moebench::engine {
namespace {

class engine_runner final : public runner {
 public:
  engine_runner(const std::filesystem::path& path, const engine_options& opts)
      : engine_(path, opts), spec_("gguf:" + path.string()) {
    name_ = engine_.facts().name.empty() ? path.stem().string() : engine_.facts().name;
  }

  runner_info info() const override {
    runner_info i;
    i.spec = spec_;
    i.name = name_;
    i.details = engine_.facts();
    i.details["kernels"] = engine_.kernels();
    i.details["threads"] = engine_.threads();
    return i;
  }

  nlohmann::json telemetry(std::span<const nlohmann::json> records) const override {
    return aggregate_telemetry(records);
  }

  void submit(std::span<const request> batch, completion_sink& sink) override {
    for (const request& req : batch) {
      completion c;
      engine_.reset_routing();
      try {
        generate_options go;
        go.ignore_eos = req.params.ignore_eos;
        go.on_text = [&](std::string_view text, int64_t tokens) { sink.on_chunk(req.id, text, tokens); };
        generation_result g = generate(engine_, req.prompt, req.params, go);
        c.text = std::move(g.text);
        c.prompt_tokens = static_cast<int64_t>(g.prompt_ids.size());
        c.completion_tokens = static_cast<int64_t>(g.generated_ids.size());
        c.token_source = token_count_source::generator;
        c.finish = g.finish;
        c.extra = {{"engine", {{"prefill_ns", g.prefill_ns}, {"decode_ns", g.decode_ns}}},
                   {"routing", summarize(engine_.routing())},
                   {"active_params_per_token", engine_.facts().active_params_per_token},
                   {"active_weight_bytes_per_token", engine_.facts().active_weight_bytes_per_token}};
      } catch (const error& e) {
        // A request the engine cannot serve (e.g. a prompt longer than the context) is a failed
        // sample, recorded as such; the run goes on.
        c.status = outcome::internal;
        c.finish = finish_reason::error;
        c.error = e.id() + ": " + e.message();
      }
      sink.on_complete(req.id, std::move(c));
    }
  }

 private:
  engine engine_;
  std::string spec_;
  std::string name_;
};

}  // namespace

nlohmann::json aggregate_telemetry(std::span<const nlohmann::json> records) {
  routing_stats total;
  int64_t samples = 0, prompt_tokens = 0, completion_tokens = 0, prefill_ns = 0, decode_ns = 0;
  double gate_entropy_weighted = 0;
  for (const nlohmann::json& rec : records) {
    if (!rec.is_object() || !rec.contains("runner_extra")) continue;
    const nlohmann::json& x = rec["runner_extra"];
    if (!x.is_object() || !x.contains("routing") || !x.contains("engine")) continue;
    const nlohmann::json& r = x["routing"];
    for (const auto& l : r.value("layers", nlohmann::json::array())) {
      const auto layer = l.at("layer").get<std::size_t>();
      const auto hits = l.at("hits").get<std::vector<int64_t>>();
      if (total.hits.size() <= layer) total.hits.resize(layer + 1);
      auto& h = total.hits[layer];
      if (h.size() < hits.size()) h.resize(hits.size(), 0);
      for (std::size_t e = 0; e < hits.size(); ++e) h[e] += hits[e];
    }
    total.routed_tokens += r.value("routed_tokens", int64_t{0});
    total.near_ties += r.value("near_tie_decisions", int64_t{0});
    total.decisions += r.value("routing_decisions", int64_t{0});
    gate_entropy_weighted += r.value("mean_gate_entropy_bits", 0.0) * static_cast<double>(r.value("routing_decisions", int64_t{0}));
    prefill_ns += x["engine"].value("prefill_ns", int64_t{0});
    decode_ns += x["engine"].value("decode_ns", int64_t{0});
    const auto& g = rec.value("generation", nlohmann::json::object());
    prompt_tokens += std::max<int64_t>(0, g.value("prompt_tokens", int64_t{0}));
    completion_tokens += std::max<int64_t>(0, g.value("completion_tokens", int64_t{0}));
    ++samples;
  }
  total.gate_entropy_bits_sum = gate_entropy_weighted;
  total.gate_entropy_count = total.decisions;
  nlohmann::json out = summarize(total);
  out["samples"] = samples;
  out["prompt_tokens"] = prompt_tokens;
  out["completion_tokens"] = completion_tokens;
  out["prefill_tokens_per_s"] = prefill_ns > 0 ? static_cast<double>(prompt_tokens) / (static_cast<double>(prefill_ns) / 1e9) : 0.0;
  out["decode_tokens_per_s"] = decode_ns > 0 ? static_cast<double>(completion_tokens) / (static_cast<double>(decode_ns) / 1e9) : 0.0;
  return out;
}

std::unique_ptr<runner> make_runner(const std::filesystem::path& gguf_path, const engine_options& opts) {
  return std::make_unique<engine_runner>(gguf_path, opts);
}

}  // namespace moebench::engine
