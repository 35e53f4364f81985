// `moebench bench report`: how long `moebench report` takes, and how large its HTML is, for a
// run of many samples. It writes a synthetic results.json (HumanEval-format samples, one task
// each by default: the largest per_task a run of that many samples can have; a throughput
// sweep; cost rows for several targets and tiers; routing telemetry of a DeepSeek-V3-sized
// model), then reads and renders it as `moebench report` does, several times.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/io.h"
#include "moebench/provenance.h"
#include "moebench/reports/reports.h"
#include "moebench/results.h"
#include "moebench/stats.h"

namespace moebench::cli {
namespace fs = std::filesystem;
namespace {

struct bench_report_options {
  int64_t samples = 100000;
  int64_t samples_per_task = 1;
  int64_t repeat = 3;
  uint64_t seed = 1;
  std::string dir;  // keep the synthetic run here ("" = a temporary directory, removed)
};

metric make_metric(std::string name, double value, std::string unit, int64_t n, figure_kind kind) {
  return {.name = std::move(name), .value = value, .unit = std::move(unit), .n = n, .cis = {}, .distribution = {}, .kind = kind};
}

run_result synthetic_run(const bench_report_options& o) {
  rng gen(o.seed);
  run_result r;
  r.run_id = fmt::format("bench-report-{}", o.samples);
  r.created_utc = r.finished_utc = utc_now_iso8601();
  r.seeds = {{"sampling", o.seed}, {"bootstrap", derive_seed(o.seed, "bootstrap")}};
  r.settings_effective = {{"suite", "humaneval"}, {"synthetic", true}, {"samples", o.samples}};
  r.config_hash = config_hash(r.settings_effective);
  r.build = current_build_info();
  r.host = current_host_info();
  r.model = {{"spec", "synthetic"}, {"name", "synthetic (moebench bench report)"}};
  r.executor = {{"backend", "none"}, {"isolation_level", "none"}};

  // HumanEval-format: each task solved with its own probability.
  suite_result he;
  he.suite = "humaneval";
  he.source = "synthetic";
  const int64_t n = std::max<int64_t>(1, o.samples_per_task);
  const int64_t tasks = std::max<int64_t>(1, o.samples / n);
  he.tasks_total = he.tasks_evaluated = tasks;
  he.samples = tasks * n;
  std::vector<double> per_task_pass;
  int64_t passed = 0;
  for (int64_t t = 0; t < tasks; ++t) {
    const double p = gen.uniform();
    int64_t c = 0;
    for (int64_t i = 0; i < n; ++i) c += gen.uniform() < p;
    passed += c;
    const double p1 = pass_at_k(n, c, 1);
    per_task_pass.push_back(p1);
    he.per_task[fmt::format("synthetic/{}", t)] = {{"n", n}, {"c", c}, {"pass@1", p1}};
  }
  double mean = 0;
  for (double v : per_task_pass) mean += v;
  mean /= static_cast<double>(tasks);
  metric p1 = make_metric("pass@1", mean, "fraction", tasks, figure_kind::measured);
  const interval boot = bootstrap_mean_ci(per_task_pass, r.seeds["bootstrap"], 1000);
  const interval wil = wilson_interval(passed, he.samples);
  p1.cis = {{boot.lo, boot.hi, 0.95, "bootstrap_tasks"}, {wil.lo, wil.hi, 0.95, "wilson_samples"}};
  he.metrics.push_back(p1);
  he.verdicts = {{"passed", passed}, {"failed", he.samples - passed}};
  r.suites.push_back(std::move(he));

  // A throughput sweep of 8 levels.
  for (int level = 0; level < 8; ++level) {
    const int concurrency = 1 << level;
    suite_result s;
    s.suite = "throughput";
    s.source = fmt::format("sweep concurrency={}", concurrency);
    s.samples = 64;
    for (const char* name : {"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"}) {
      std::vector<double> v;
      for (int i = 0; i < 64; ++i) v.push_back((10 + 90 * gen.uniform()) * (1 + 0.2 * level));
      metric m = make_metric(name, 0, "ms", 64, figure_kind::measured);
      m.distribution = summarize(v);
      m.value = m.distribution->mean;
      s.metrics.push_back(m);
    }
    s.metrics.push_back(make_metric("output_tok_s", 50.0 * concurrency / (1 + 0.1 * level), "tok/s", 64, figure_kind::measured));
    s.metrics.push_back(make_metric("interactivity_tok_s_per_user", 1000 / s.metrics[1].distribution->p50, "tok/s/user", 64, figure_kind::measured));
    s.per_task = {{"scenario", "sweep"}, {"concurrency", concurrency}, {"saturated", level == 7}};
    s.validity = run_validity{};
    r.suites.push_back(std::move(s));
  }

  // Cost rows: 8 targets x 3 tiers.
  for (int t = 0; t < 8; ++t) {
    suite_result s;
    s.suite = "cost";
    s.source = fmt::format("target-{} (modelled)", t);
    s.metrics.push_back(make_metric("decode_tok_s", 1000.0 * (t + 1), "tok/s", 1, figure_kind::modelled));
    for (const char* tier : {"a", "b", "c"})
      for (const char* basis : {"input", "output", "total"})
        s.metrics.push_back(make_metric(fmt::format("usd_per_mtok_{}[tier-{}]", basis, tier), gen.uniform() * 2, "usd/Mtok", 1, figure_kind::modelled));
    s.metrics.push_back(make_metric("j_per_output_token_tdp", gen.uniform() * 3, "J/tok", 1, figure_kind::modelled));
    s.per_task = {{"target", fmt::format("target-{}", t)}, {"kind", "modelled"}, {"notes", {"synthetic row"}}};
    r.suites.push_back(std::move(s));
  }

  // Routing telemetry: 58 MoE layers x 256 experts (DeepSeek-V3's shape).
  nlohmann::json layers = nlohmann::json::array();
  for (int l = 0; l < 58; ++l) {
    std::vector<int64_t> hits(256);
    for (auto& h : hits) h = static_cast<int64_t>(gen.bounded(10000));
    layers.push_back({{"layer", l + 3}, {"hits", hits}, {"imbalance", 1.0 + gen.uniform()}, {"load_entropy_bits", 7.9}});
  }
  r.model["telemetry"] = {{"layers", layers}, {"mean_imbalance", 1.5}, {"samples", he.samples},
                          {"prompt_tokens", 150 * he.samples}, {"completion_tokens", 200 * he.samples}};
  return r;
}

void run_bench_report(const bench_report_options& o) {
  if (o.samples < 1) throw error("cli.bad_value", {"", 0, "--samples"}, "must be >= 1");
  if (o.repeat < 1) throw error("cli.bad_value", {"", 0, "--repeat"}, "must be >= 1");
  fs::path dir = o.dir;
  const bool temporary = dir.empty();
  if (temporary) {
    std::string tmpl = (fs::temp_directory_path() / "moebench-bench-report-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw error("io.write", {tmpl}, "cannot create a temporary directory");
    dir = tmpl;
  }
  fs::create_directories(dir);
  const fs::path results = dir / "results.json";
  write_file_atomic(results, nlohmann::json(synthetic_run(o)).dump(2) + "\n");
  fmt::print("synthetic run: {} samples ({} per task), results.json {:.1f} MB, in {}\n", o.samples, o.samples_per_task,
             static_cast<double>(fs::file_size(results)) / 1e6, dir.string());
  const fs::path out = dir / "report.html";
  std::vector<double> read_s, render_s, write_s, total_s;
  std::size_t bytes = 0;
  for (int64_t i = 0; i < o.repeat; ++i) {
    const int64_t t0 = now_ns();
    std::vector<run_result> runs{load_run_result(results)};
    const int64_t t1 = now_ns();
    const std::string html = render_report(runs, report_format::html);
    const int64_t t2 = now_ns();
    write_file_atomic(out, html);
    const int64_t t3 = now_ns();
    bytes = html.size();
    read_s.push_back(static_cast<double>(t1 - t0) / 1e9);
    render_s.push_back(static_cast<double>(t2 - t1) / 1e9);
    write_s.push_back(static_cast<double>(t3 - t2) / 1e9);
    total_s.push_back(static_cast<double>(t3 - t0) / 1e9);
    fmt::print("  run {}: read {:.3f} s, render {:.3f} s, write {:.3f} s, total {:.3f} s\n", i + 1, read_s.back(), render_s.back(),
               write_s.back(), total_s.back());
  }
  const auto best = std::min_element(total_s.begin(), total_s.end()) - total_s.begin();
  fmt::print("report.html: {:.2f} MB; best of {}: {:.3f} s (read {:.3f}, render {:.3f}, write {:.3f})\n", static_cast<double>(bytes) / 1e6,
             o.repeat, total_s[best], read_s[best], render_s[best], write_s[best]);
  fmt::print("same as: moebench report {} -o {} --timing\n", results.string(), out.string());
  if (temporary) fs::remove_all(dir);
}

}  // namespace

void add_bench_report_command(CLI::App& app, context& /*ctx*/) {
  CLI::App* bench = &bench_subcommand(app);
  auto o = std::make_shared<bench_report_options>();
  auto* cmd = bench->add_subcommand("report", "Time and size of the HTML report for a run of many samples");
  cmd->add_option("--samples", o->samples, "Samples in the synthetic run")->capture_default_str();
  cmd->add_option("--samples-per-task", o->samples_per_task, "Samples per task (1: the most tasks)")->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "Renderings (the best is reported)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the synthetic figures")->capture_default_str();
  cmd->add_option("--dir", o->dir, "Keep the synthetic run and the report in this directory");
  cmd->callback([o] { run_bench_report(*o); });
}

}  // namespace moebench::cli
