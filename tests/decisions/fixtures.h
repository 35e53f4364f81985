#pragma once
// Constructed runs for gate and claim tests: results as the suites write them, with known
// per-item outcomes.
#include <string>
#include <vector>

#include <fmt/core.h>

#include "moebench/decisions/run_view.h"
#include "moebench/results.h"
#include "moebench/stats.h"

namespace moebench::testing {

// A HumanEval-format run: item i has `c[i]` passes out of `n` samples; metric pass@1 (and its
// per-task values) as humaneval's aggregate writes them.
inline run_result accuracy_run(const std::string& id, const std::vector<int>& c, int n,
                               const std::string& model = "gguf:m.gguf") {
  run_result r;
  r.run_id = id;
  r.config_hash = "h-" + id;
  r.settings_effective = {{"suite", "humaneval"},
                          {"problems_sha256", "abc"},
                          {"problems_source", "builtin:moebench-humaneval"},
                          {"model", {{"spec", model}}},
                          {"samples_per_task", n},
                          {"limit", 0},
                          {"seeds", {{"bootstrap", 1}, {"sampling", 2}}}};
  r.seeds = {{"bootstrap", 1}, {"sampling", 2}};
  r.model = {{"spec", model}, {"name", "m"}, {"details", nlohmann::json::object()}};
  suite_result s;
  s.suite = "humaneval";
  s.content_sha256 = "abc";
  s.tasks_total = static_cast<int64_t>(c.size());
  s.tasks_evaluated = s.tasks_total;
  double sum = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const double v = static_cast<double>(c[i]) / n;
    s.per_task[fmt::format("t/{}", i)] = {{"n", n}, {"c", c[i]}, {"pass@1", v}};
    sum += v;
  }
  metric m;
  m.name = "pass@1";
  m.unit = "fraction";
  m.n = static_cast<int64_t>(c.size());
  m.value = sum / static_cast<double>(c.size());
  int64_t passes = 0;
  for (int ci : c) passes += ci;
  const auto w = wilson_interval(passes, static_cast<int64_t>(c.size()) * n);
  m.cis.push_back({w.lo, w.hi, 0.95, "wilson_samples"});
  s.metrics.push_back(m);
  s.samples = static_cast<int64_t>(c.size()) * n;
  r.suites.push_back(std::move(s));
  return r;
}

// A throughput-like run holding measured figures without items (one repetition).
inline run_result speed_run(const std::string& id, double output_tok_s, double ttft_ms,
                            const std::string& target = "cpu-avx2-t2") {
  run_result r;
  r.run_id = id;
  r.settings_effective = {{"suite", "throughput"}, {"scenario", "offline"}, {"target", target},
                          {"model", {{"spec", "gguf:m.gguf"}}}};
  r.model = {{"spec", "gguf:m.gguf"}, {"name", "m"}, {"details", nlohmann::json::object()}};
  suite_result s;
  s.suite = "throughput";
  s.per_task = {{"scenario", "offline"}};
  metric a;
  a.name = "output_tok_s";
  a.unit = "tok/s";
  a.value = output_tok_s;
  a.n = 20;
  metric b;
  b.name = "ttft_ms";
  b.unit = "ms";
  b.value = ttft_ms;
  b.n = 20;
  s.metrics = {a, b};
  r.suites.push_back(std::move(s));
  return r;
}

inline decisions::loaded_run loaded(run_result r) {
  std::string name = r.run_id;
  return {name, std::move(r)};
}

}  // namespace moebench::testing
