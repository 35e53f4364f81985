// `moebench generate`: one prompt through the in-process engine; prints the continuation and
// prefill/decode speed, or (with --json) token ids and top-K logprobs per generated position.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/text.h"

namespace moebench::cli {
namespace {

struct generate_request {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  std::string force_ids;
  int64_t n_predict = 32;
  double temperature = 0.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  double min_p = 0.0;
  uint64_t seed = 0;
  int32_t logprobs = 0;
  int threads = 0;
  int64_t context = 0;
  int64_t batch = 32;
  bool ignore_eos = false;
  bool json = false;
  std::vector<std::string> stop;
};

std::vector<int32_t> parse_ids(const std::string& text, const char* flag) {
  std::vector<int32_t> ids;
  for (const std::string& part : split(text, ',')) {
    const std::string_view t = trim(part);
    if (t.empty()) continue;
    std::size_t used = 0;
    long v = -1;
    try {
      v = std::stol(std::string(t), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t.size() || v < 0 || v > INT32_MAX)
      throw error("cli.bad_value", {"", 0, flag}, "expected comma-separated token ids, got '" + std::string(t) + "'");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

void run_generate(const generate_request& r) {
  if (!r.model.starts_with("gguf:"))
    throw error("cli.unknown_model", {"", 0, "--model"}, "generate needs a gguf:PATH model spec, got '" + r.model + "'");
  if (r.n_predict < 0) throw error("cli.bad_value", {"", 0, "--n-predict"}, "must be >= 0");
  if (r.logprobs < 0) throw error("cli.bad_value", {"", 0, "--logprobs"}, "must be >= 0");
  if (!r.prompt_ids.empty() && !r.prompt.empty())
    throw error("cli.conflict", {"", 0, "--prompt-ids"}, "--prompt and --prompt-ids are exclusive");
  engine::engine_options eo;
  eo.threads = r.threads;
  eo.context_length = r.context;
  eo.max_batch_tokens = r.batch;
  engine::engine e(r.model.substr(5), eo);

  generation_params gp;
  gp.max_tokens = r.n_predict;
  gp.temperature = r.temperature;
  gp.top_k = r.top_k;
  gp.top_p = r.top_p;
  gp.min_p = r.min_p;
  gp.seed = r.seed;
  gp.stop = r.stop;
  engine::generate_options go;
  go.top_logprobs = r.logprobs;
  go.ignore_eos = r.ignore_eos;
  if (!r.force_ids.empty()) go.forced = parse_ids(r.force_ids, "--force-ids");
  if (!r.json) go.on_text = [](std::string_view text, int64_t) {
    fmt::print("{}", text);
    std::fflush(stdout);
  };
  const engine::generation_result g =
      r.prompt_ids.empty() ? engine::generate(e, r.prompt, gp, go) : engine::generate_ids(e, parse_ids(r.prompt_ids, "--prompt-ids"), gp, go);

  const double prefill_s = static_cast<double>(g.prefill_ns) / 1e9;
  const double decode_s = static_cast<double>(g.decode_ns) / 1e9;
  const double prefill_tps = prefill_s > 0 ? static_cast<double>(g.prompt_ids.size()) / prefill_s : 0.0;
  // The first generated token comes from the prefill logits; decode steps = generated - 1.
  const auto decode_steps = static_cast<double>(g.generated_ids.empty() ? 0 : g.generated_ids.size() - 1);
  const double decode_tps = decode_s > 0 ? decode_steps / decode_s : 0.0;
  if (r.json) {
    nlohmann::json lp = nlohmann::json::array();
    for (const auto& p : g.logprobs) {
      nlohmann::json top = nlohmann::json::array();
      for (const auto& [id, v] : p.top) top.push_back({{"id", id}, {"logprob", v}});
      nlohmann::json pos = {{"id", p.token}, {"logprob", p.logprob}, {"top", top}};
      // The smallest margin of a routing choice behind this position's logits (null: no MoE).
      pos["routing_margin"] = std::isfinite(p.routing_margin) ? nlohmann::json(p.routing_margin) : nlohmann::json(nullptr);
      lp.push_back(pos);
    }
    nlohmann::json out = {{"model", e.facts()},
                          {"kernels", e.kernels()},
                          {"threads", e.threads()},
                          {"prompt_ids", g.prompt_ids},
                          {"generated_ids", g.generated_ids},
                          {"text", g.text},
                          {"finish_reason", to_string(g.finish)},
                          {"logprobs", lp},
                          {"prefill_tokens_per_s", prefill_tps},
                          {"decode_tokens_per_s", decode_tps},
                          {"prefill_ns", g.prefill_ns},
                          {"decode_ns", g.decode_ns},
                          {"routing", engine::summarize(e.routing())}};
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print("\n");
    std::fprintf(stderr, "prompt %zu tokens, prefill %.1f tok/s; generated %zu tokens, decode %.1f tok/s (%s, %d threads, finish %s)\n",
                 g.prompt_ids.size(), prefill_tps, g.generated_ids.size(), decode_tps, std::string(e.kernels()).c_str(),
                 e.threads(), std::string(to_string(g.finish)).c_str());
  }
}

}  // namespace

void add_generate_command(CLI::App& app, context& /*ctx*/) {
  auto r = std::make_shared<generate_request>();
  auto* cmd = app.add_subcommand("generate", "Generate a continuation with the in-process engine");
  cmd->add_option("--model", r->model, "Model spec: gguf:PATH")->required();
  cmd->add_option("--prompt", r->prompt, "Prompt text (BOS added as the vocabulary asks)");
  cmd->add_option("--prompt-ids", r->prompt_ids, "Prompt as comma-separated token ids (used as given)");
  cmd->add_option("--n-predict", r->n_predict, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temp", r->temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", r->top_k, "Top-k filter; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", r->top_p, "Nucleus filter")->capture_default_str();
  cmd->add_option("--min-p", r->min_p, "Min-p filter")->capture_default_str();
  cmd->add_option("--seed", r->seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--stop", r->stop, "Stop sequence (repeatable)");
  cmd->add_option("--logprobs", r->logprobs, "Top-K logprobs per generated position (with --json)")->capture_default_str();
  cmd->add_option("--threads", r->threads, "Threads; 0 = all")->capture_default_str();
  cmd->add_option("--ctx", r->context, "Context length; 0 = min(model, 4096)")->capture_default_str();
  cmd->add_option("--batch", r->batch, "Prefill tokens per forward step")->capture_default_str();
  cmd->add_option("--force-ids", r->force_ids, "Teacher forcing: score these continuation ids instead of sampling");
  cmd->add_flag("--ignore-eos", r->ignore_eos, "Generate exactly --n-predict tokens");
  cmd->add_flag("--json", r->json, "Print one JSON object");
  cmd->callback([r] { run_generate(*r); });
}

}  // namespace moebench::cli
