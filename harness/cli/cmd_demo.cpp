// `moebench demo`: the embedded default. Synthesises a small DeepSeek-V3-style model (cached),
// runs every suite that works in-process on this machine, and writes one HTML report. No
// download, a few minutes on 2 cores.
//
// Each step is a `moebench` command line run inside this process through the same command
// table as the CLI (run, report), so the demo exercises exactly what a user would type, and a
// suite that `moebench run` learns (through the suite registry) joins the demo by adding its
// command line to demo_plan(). Each step's console output goes to demo.log; the terminal shows
// the steps, a progress bar for the long one and a one-line result per step.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/model/gguf.h"
#include "moebench/model/synth.h"
#include "moebench/provenance.h"
#include "moebench/results.h"
#include "moebench/suite_registry.h"
#include "moebench/suites/registry.h"

namespace moebench::cli {
namespace fs = std::filesystem;
namespace {

struct demo_options {
  std::string out = "demo";
  std::string cache_dir;       // "" = $XDG_CACHE_HOME/moebench or ~/.cache/moebench
  int64_t samples_per_task = 4;
  int64_t max_tokens = 64;
  double cpu_price = 0.10;     // $/hour assumed for this host (tier "user" in the results)
  std::string progress = "auto";
  bool quick = false;          // a smoke run: 5 problems, 1 sample each, short measurements
};

// The demo model: dsv3-mini (DeepSeek-V3's architecture: MLA, sigmoid-gated group-limited
// routing with selection bias, a shared expert, a leading dense layer) with more layers and
// experts so that the expert-load view has something to show.
model::synth_config demo_model_config() {
  model::synth_config c = model::preset("dsv3-mini");
  c = model::config_from_json({{"name", "dsv3-demo"}, {"n_layer", 5}, {"n_expert", 32}, {"n_expert_used", 4},
                               {"n_expert_groups", 4}, {"n_group_used", 2}},
                              c, "moebench demo");
  return c;
}

fs::path default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "moebench";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "moebench";
  return fs::path(".cache") / "moebench";
}

// The synthetic model, written once per configuration and moebench build; later runs reuse it.
fs::path demo_model(const fs::path& cache_dir, bool* cached) {
  const model::synth_config c = demo_model_config();
  const model::synth_options o;  // f32 weights, seed 1
  const build_info b = current_build_info();
  const std::string key = sha256_hex(nlohmann::json(c).dump() + "|seed=" + std::to_string(o.seed) + "|" + b.version + "|" + b.git_commit);
  const fs::path path = cache_dir / ("demo-" + c.name + "-" + key.substr(0, 12) + ".gguf");
  *cached = fs::exists(path);
  if (*cached) return path;
  fs::create_directories(cache_dir);
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  model::synth(c, o, tmp);
  fs::rename(tmp, path);  // atomic: a killed demo leaves no half-written model behind
  return path;
}

// Runs `moebench ARGS...` in this process with its standard output appended to `log`.
// Returns the command's exit code; moebench::error propagates.
int run_in_process(const std::vector<std::string>& args, std::FILE* log) {
  CLI::App app{"moebench"};
  app.require_subcommand(1);
  context ctx;
  add_run_command(app, ctx);
  add_report_command(app, ctx);
  std::vector<std::string> owned = {"moebench"};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  fmt::print(log, "\n$ {}\n", fmt::join(owned, " "));
  std::fflush(log);
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(::fileno(log), STDOUT_FILENO);
  struct restore {
    int fd;
    ~restore() {
      std::fflush(stdout);
      ::dup2(fd, STDOUT_FILENO);
      ::close(fd);
    }
  } guard{saved};
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    throw error("demo.step", fmt::format("moebench {}: {}", fmt::join(args, " "), e.what()));
  }
  return ctx.exit_code;
}

struct demo_step {
  std::string title;            // what the terminal shows
  std::string run_id;           // "" for steps that make no run
  std::vector<std::string> args;
  double weight = 1;            // expected share of the time, for the ETA
};

// Every suite that runs in-process here, as the command lines a user would type.
std::vector<demo_step> demo_plan(const fs::path& model, const fs::path& runs, const demo_options& o) {
  const std::string m = "gguf:" + model.string();
  const std::string price = fmt::format("cpu={}", o.cpu_price);
  auto run = [&](std::string id, std::vector<std::string> args) {
    args.insert(args.begin(), "run");
    args.insert(args.end(), {"--out", runs.string(), "--run-id", id});
    return args;
  };
  // --quick: the same steps, smaller (tests and a first look).
  const std::string limit = o.quick ? "5" : "0";
  const std::string samples = o.quick ? "1" : std::to_string(o.samples_per_task);
  const std::string max_tokens = o.quick ? "16" : std::to_string(o.max_tokens);
  // 96 queries of 32 output tokens last about 2 s at the 1,400 output tok/s this engine reaches
  // on 2 idle cores, twice the 1 s minimum; on a loaded machine they take longer, never less.
  const std::string queries = o.quick ? "8" : "96", min_queries = o.quick ? "4" : "16";
  const std::string min_duration = o.quick ? "0.2" : "1", cost_min_duration = min_duration;
  std::vector<demo_step> plan;
  plan.push_back({"HumanEval-format, canonical solutions (the harness checking itself)", "humaneval-oracle",
                  run("humaneval-oracle", {"--suite", "humaneval", "--model", "oracle", "--limit", limit, "--progress", "quiet"}), 2});
  plan.push_back({fmt::format("HumanEval-format, the engine generating {} sample(s) per problem", samples), "humaneval-engine",
                  run("humaneval-engine", {"--suite", "humaneval", "--model", m, "--limit", limit, "--n", samples, "--k",
                                           samples == "1" ? "1" : "1," + samples, "--temperature", "0.8", "--max-tokens", max_tokens,
                                           "--progress", o.progress}),
                  60});
  plan.push_back({"throughput on this CPU: a concurrency sweep of the engine", "throughput-cpu",
                  run("throughput-cpu", {"--suite", "throughput", "--model", m, "--target", "cpu", "--scenario", "sweep",
                                         "--max-concurrency", "8", "--queries", queries, "--min-queries", min_queries, "--min-duration-s",
                                         min_duration, "--input-len", "64", "--output-len", "32", "--price", price, "--progress", "quiet"}),
                  20});
  plan.push_back({"cost of the demo model: measured on this CPU, projected on accelerators", "cost-demo-model",
                  run("cost-demo-model", {"--suite", "cost", "--model-config", m, "--model", m, "--target", "cpu,h100-sxm,h200,mi300x",
                                          "--queries", queries, "--min-queries", min_queries, "--min-duration-s", cost_min_duration,
                                          "--input-len", "64", "--output-len", "32", "--price", price, "--progress", "quiet"}),
                  10});
  // Long context, once this build has the suite (issue 13): needles in a haystack and the depth x
  // length grid, up to 768 tokens (the demo model's context is 1,024, answers included).
  const auto registered = suites::all();
  if (std::any_of(registered.begin(), registered.end(), [](const suite_definition& d) { return d.name == "longctx"; }))
    plan.push_back({"long context: needles and a depth x length grid up to 768 tokens", "longctx",
                    run("longctx", {"--suite", "longctx", "--model", m, "--tasks", "niah_single,needle_grid", "--lengths",
                                    o.quick ? "256,512" : "256,512,768", "--depths", "0,50,100", "--n", o.quick ? "1" : "2",
                                    "--max-tokens", "16", "--progress", "quiet"}),
                    10});
  for (const char* config : {"deepseek-v3", "rumoured-1t", "deepseek-v4-flash", "deepseek-v4-pro"})
    plan.push_back({fmt::format("cost projection: {} on modelled accelerators", config), fmt::format("cost-{}", config),
                    run(fmt::format("cost-{}", config), {"--suite", "cost", "--model-config", config, "--target",
                                                         "h100-sxm,h200,b200,mi300x,ascend-910c", "--progress", "quiet"}),
                    1});
  return plan;
}

// One line of what a finished run found, for the terminal.
std::string step_result(const fs::path& run_dir) {
  const run_result r = load_run_result(run_dir);
  std::string out;
  double best_tok_s = 0;
  int invalid = 0, levels = 0, targets = 0;
  const metric* cheapest = nullptr;
  std::string cheapest_where;
  for (const auto& s : r.suites) {
    for (const auto& m : s.metrics) {
      if (s.suite == "humaneval" && m.name.starts_with("pass@"))
        out += fmt::format("{}{} {:.1f}%", out.empty() ? "" : ", ", m.name, 100 * m.value);
      if (s.suite == "throughput" && m.name == "output_tok_s") best_tok_s = std::max(best_tok_s, m.value);
      if (s.suite == "longctx" && (m.name == "effective_length" || m.name.starts_with("score@")))
        out += fmt::format("{}{} {:.4g}", out.empty() ? "" : ", ", m.name, m.value);
      if (s.suite == "cost" && m.name.starts_with("usd_per_mtok_total") && (!cheapest || m.value < cheapest->value)) {
        cheapest = &m;
        cheapest_where = s.source;
      }
    }
    if (s.suite == "throughput") {
      ++levels;
      invalid += s.validity && !s.validity->valid;
    }
    targets += s.suite == "cost";
  }
  if (levels > 0) out += fmt::format("{} levels ({} INVALID), peak {:.0f} output tok/s", levels, invalid, best_tok_s);
  if (targets > 0) {
    out += fmt::format("{} targets", targets);
    if (cheapest)
      out += fmt::format(", cheapest ${:.4g} per million tokens: {}, tier {}", cheapest->value, cheapest_where,
                         std::string_view(cheapest->name).substr(std::string_view("usd_per_mtok_total[").size(),
                                                                 cheapest->name.size() - std::string_view("usd_per_mtok_total[]").size()));
  }
  return out;
}

int run_demo(const demo_options& o) {
  if (o.samples_per_task < 1) throw error("cli.bad_value", {"", 0, "--samples-per-task"}, "must be >= 1");
  if (o.max_tokens < 1) throw error("cli.bad_value", {"", 0, "--max-tokens"}, "must be >= 1");
  if (!(o.cpu_price >= 0)) throw error("cli.bad_value", {"", 0, "--cpu-price"}, "must be >= 0");
  const int64_t start_ns = now_ns();
  const fs::path out = o.out;
  std::string stamp = utc_now_iso8601();  // 2026-12-04T18:30:00Z -> 20261204T183000Z
  std::erase_if(stamp, [](char c) { return c == '-' || c == ':'; });
  fs::path runs = out / "runs" / stamp;
  for (int i = 2; fs::exists(runs); ++i) runs = out / "runs" / fmt::format("{}-{}", stamp, i);
  fs::create_directories(runs);
  const fs::path log_path = out / "demo.log";
  std::FILE* log = std::fopen(log_path.c_str(), "w");
  if (!log) throw error("io.write", {log_path.string()}, "cannot open the demo log");
  struct closer {
    std::FILE* f;
    ~closer() { std::fclose(f); }
  } log_guard{log};
  auto elapsed = [&] { return static_cast<double>(now_ns() - start_ns) / 1e9; };

  bool cached = false;
  const fs::path cache = o.cache_dir.empty() ? default_cache_dir() : fs::path(o.cache_dir);
  const fs::path model = demo_model(cache, &cached);
  fmt::print(stderr, "moebench demo: model {} ({})\n", model.string(), cached ? "cached" : "synthesised");

  const auto plan = demo_plan(model, runs, o);
  double total_weight = 0, done_weight = 0;
  for (const auto& s : plan) total_weight += s.weight;
  std::vector<std::string> run_dirs, failed;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& step = plan[i];
    const double eta = done_weight > 0 ? elapsed() * (total_weight - done_weight) / done_weight : 0;
    fmt::print(stderr, "[{}/{}] {}{}\n", i + 1, plan.size(), step.title,
               done_weight > 0 ? fmt::format(" (elapsed {:.0f} s, about {:.0f} s to go)", elapsed(), eta) : "");
    const int64_t step_start = now_ns();
    // A failed step is reported and the demo goes on: the report shows what did run.
    int rc = exit_internal;
    std::string why;
    try {
      rc = run_in_process(step.args, log);
      why = fmt::format("exited with {}", rc);
    } catch (const error& e) {
      why = e.what();
    }
    done_weight += step.weight;
    const fs::path dir = runs / step.run_id;
    if (rc != exit_ok || !fs::exists(dir / "results.json")) {
      failed.push_back(step.title);
      fmt::print(stderr, "      FAILED: {} (see {})\n", why, log_path.string());
      fmt::print(log, "FAILED: {}\n", why);
      continue;
    }
    run_dirs.push_back(dir.string());
    fmt::print(stderr, "      {:.1f} s: {}\n", static_cast<double>(now_ns() - step_start) / 1e9, step_result(dir));
  }
  if (run_dirs.empty()) throw error("demo.failed", fmt::format("no step of the demo finished; see {}", log_path.string()));
  const fs::path html = out / "report.html";
  std::vector<std::string> report = {"report"};
  report.insert(report.end(), run_dirs.begin(), run_dirs.end());
  std::vector<std::string> html_args = report, md_args = report;
  html_args.insert(html_args.end(), {"--title", "moebench demo", "-o", html.string()});
  md_args.insert(md_args.end(), {"--title", "moebench demo", "-o", (out / "report.md").string()});
  run_in_process(html_args, log);
  run_in_process(md_args, log);
  fmt::print(stderr, "moebench demo: done in {:.0f} s{}\n", elapsed(),
             failed.empty() ? "" : fmt::format(", {} of {} steps FAILED", failed.size(), plan.size()));
  fmt::print("report: {}\nruns: {}\nlog: {}\n", html.string(), runs.string(), log_path.string());
  return failed.empty() ? exit_ok : exit_failure;
}

}  // namespace

void add_demo_command(CLI::App& app, context& ctx) {
  auto o = std::make_shared<demo_options>();
  auto* cmd = app.add_subcommand("demo", "Synthesise a small DeepSeek-V3-style model, run every in-process suite, write report.html");
  cmd->add_option("--out", o->out, "Directory for report.html, report.md, demo.log and runs/")->capture_default_str();
  cmd->add_option("--cache-dir", o->cache_dir, "Where the synthetic model is kept (default: $XDG_CACHE_HOME/moebench or ~/.cache/moebench)");
  cmd->add_option("--samples-per-task", o->samples_per_task, "HumanEval-format samples the engine generates per problem")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "Tokens generated per HumanEval-format sample at most")->capture_default_str();
  cmd->add_option("--cpu-price", o->cpu_price,
                  "Assumed $/hour of this host for its measured cost rows (an assumption, shown as tier 'user')")
      ->capture_default_str();
  cmd->add_option("--progress", o->progress, "auto | tty | lines | quiet (the HumanEval-format step's bar)")->capture_default_str();
  cmd->add_flag("--quick", o->quick, "A smoke run: 5 problems, 1 sample each, 16 tokens, short measurements");
  cmd->callback([o, &ctx] { ctx.exit_code = run_demo(*o); });
}

}  // namespace moebench::cli
