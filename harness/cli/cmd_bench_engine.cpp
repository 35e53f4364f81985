// `moebench bench engine-batch`: decode throughput of the in-process engine when S sequences
// share each forward step (engine::eval_batch, as `moebench serve --model gguf:` runs them),
// for several S, in interleaved rounds so that a shared machine's load drifts over all of them
// alike. Prints tokens/s per S and the ratio to S = 1.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/engine/engine.h"
#include "moebench/error.h"

namespace moebench::cli {
namespace {

struct engine_batch_request {
  std::string model;
  std::vector<int32_t> sequences{1, 4, 8};
  int64_t steps = 16;    // decode steps per measurement
  int64_t rounds = 3;    // each S measured once per round; the best round counts
  int64_t prompt = 16;   // prompt tokens per sequence before decoding
  int threads = 0;
};

void run_engine_batch(const engine_batch_request& r) {
  if (!r.model.starts_with("gguf:")) throw error("cli.bad_value", {"", 0, "--model"}, "expected gguf:PATH");
  if (r.sequences.empty() || *std::min_element(r.sequences.begin(), r.sequences.end()) < 1)
    throw error("cli.bad_value", {"", 0, "--sequences"}, "need sequence counts >= 1");
  if (r.steps < 1 || r.rounds < 1 || r.prompt < 1)
    throw error("cli.bad_value", {"", 0, "--steps/--rounds/--prompt"}, "must be >= 1");
  const int32_t max_s = *std::max_element(r.sequences.begin(), r.sequences.end());
  engine::engine_options eo;
  eo.threads = r.threads;
  eo.max_sequences = max_s;
  eo.max_batch_tokens = std::max<int64_t>(max_s, r.prompt);
  eo.context_length = r.prompt + r.steps + 1;
  engine::engine e(r.model.substr(5), eo);
  const int64_t n_vocab = e.facts().n_vocab;
  std::vector<int32_t> prompt(static_cast<std::size_t>(r.prompt));
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<std::size_t>(n_vocab));
  std::map<int32_t, double> best_tok_s;
  std::vector<engine::batch_entry> entries;
  std::vector<int32_t> next(static_cast<std::size_t>(max_s));
  for (int64_t round = 0; round < r.rounds; ++round) {
    for (int32_t s : r.sequences) {
      for (int32_t q = 0; q < s; ++q) {
        e.reset(q);
        e.eval(q, prompt);
        next[static_cast<std::size_t>(q)] = static_cast<int32_t>((q * 31 + 7) % n_vocab);
      }
      const int64_t t0 = now_ns();
      for (int64_t step = 0; step < r.steps; ++step) {
        entries.clear();
        for (int32_t q = 0; q < s; ++q) entries.push_back({q, std::span<const int32_t>(&next[static_cast<std::size_t>(q)], 1), true});
        const auto logits = e.eval_batch(entries);
        for (int32_t q = 0; q < s; ++q) {  // greedy, so every sequence keeps decoding
          const auto& l = logits[static_cast<std::size_t>(q)];
          next[static_cast<std::size_t>(q)] = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
        }
      }
      const double tok_s = static_cast<double>(s * r.steps) / (static_cast<double>(now_ns() - t0) / 1e9);
      best_tok_s[s] = std::max(best_tok_s[s], tok_s);
    }
  }
  fmt::print("bench engine-batch: {} ({} threads, {} kernels), {} decode steps x best of {} rounds\n", r.model,
             e.threads(), e.kernels(), r.steps, r.rounds);
  const double base = best_tok_s.contains(1) ? best_tok_s[1] : 0.0;
  for (const auto& [s, v] : best_tok_s)
    fmt::print("sequences {:>4}: {:8.1f} decode tokens/s{}\n", s, v, base > 0 ? fmt::format(", {:.2f}x one sequence", v / base) : "");
}

}  // namespace

void add_bench_engine_command(CLI::App& app, context& /*ctx*/) {
  CLI::App* bench = &bench_subcommand(app);
  auto r = std::make_shared<engine_batch_request>();
  auto* cmd = bench->add_subcommand("engine-batch", "Decode tokens/s of the engine with S sequences per forward step");
  cmd->add_option("--model", r->model, "gguf:PATH")->required();
  cmd->add_option("--sequences", r->sequences, "Sequence counts to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--steps", r->steps, "Decode steps per measurement")->capture_default_str();
  cmd->add_option("--rounds", r->rounds, "Interleaved rounds (best counts)")->capture_default_str();
  cmd->add_option("--prompt", r->prompt, "Prompt tokens per sequence")->capture_default_str();
  cmd->add_option("--threads", r->threads, "Compute threads; 0 = all")->capture_default_str();
  cmd->callback([r] { run_engine_batch(*r); });
}

}  // namespace moebench::cli
