// `moebench run --suite humaneval`: options, run and resume (docs/suites.md).
#include <memory>
#include <optional>

#include "moebench/error.h"
#include "moebench/reports/reports.h"
#include "moebench/runners/replay.h"
#include "moebench/sample_run.h"
#include "moebench/sandbox/sandbox.h"
#include "moebench/stats.h"
#include "moebench/suites/humaneval.h"
#include "moebench/text.h"

namespace moebench::suites {
namespace fs = std::filesystem;
namespace {

// Everything the user can ask of a run. Serialised as settings_requested in run.json (the
// field names are those of results schema 1: run directories written since stay resumable),
// so that --resume re-creates the same run from the directory alone.
struct run_request {
  std::string suite = "humaneval";
  std::string model = "oracle";
  std::string samples;  // evaluate-only: shorthand for --model replay:FILE
  std::string problems = "builtin";
  std::string ks = "1";
  int64_t n = 1;
  int64_t limit = 0;
  uint64_t seed = 0;
  std::optional<uint64_t> seed_sampling, seed_bootstrap;
  std::optional<uint64_t> seed_retry_jitter;  // openai: only
  std::optional<uint64_t> seed_python_hash;   // PYTHONHASHSEED of the programs under test
  std::string grading = "split";              // split | inprocess (docs/grading.md)
  bool before_grading_modes = false;          // resumed from a run.json without "grading"
  double timeout_s = 10.0;
  double cpu_s = 5.0;
  int64_t memory_mb = 1024;
  double temperature = 0.0;
  int64_t max_tokens = 512;
  std::string sandbox = "auto";
  bool require_isolation = false;
  std::string api_key_env;  // the variable's name only; the key is never recorded
  std::string tokenizer;    // openai: GGUF counting tokens when the server sends no usage
};

nlohmann::json optional_json(const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

void to_json(nlohmann::json& j, const run_request& r) {
  j = {{"suite", r.suite},         {"model", r.model},       {"samples", r.samples},
       {"problems", r.problems},   {"k", r.ks},              {"n", r.n},
       {"limit", r.limit},         {"seed", r.seed},         {"timeout_s", r.timeout_s},
       {"cpu_s", r.cpu_s},         {"memory_mb", r.memory_mb}, {"temperature", r.temperature},
       {"max_tokens", r.max_tokens}, {"sandbox", r.sandbox},
       {"require_isolation", r.require_isolation}, {"api_key_env", r.api_key_env}};
  j["seed_sampling"] = optional_json(r.seed_sampling);
  j["seed_bootstrap"] = optional_json(r.seed_bootstrap);
  j["seed_retry_jitter"] = optional_json(r.seed_retry_jitter);
  j["tokenizer"] = r.tokenizer;
  j["grading"] = r.grading;
  j["seed_python_hash"] = optional_json(r.seed_python_hash);
}

void from_json(const nlohmann::json& j, run_request& r) {
  j.at("suite").get_to(r.suite);
  j.at("model").get_to(r.model);
  j.at("samples").get_to(r.samples);
  j.at("problems").get_to(r.problems);
  j.at("k").get_to(r.ks);
  j.at("n").get_to(r.n);
  j.at("limit").get_to(r.limit);
  j.at("seed").get_to(r.seed);
  j.at("timeout_s").get_to(r.timeout_s);
  j.at("cpu_s").get_to(r.cpu_s);
  j.at("memory_mb").get_to(r.memory_mb);
  j.at("temperature").get_to(r.temperature);
  j.at("max_tokens").get_to(r.max_tokens);
  j.at("sandbox").get_to(r.sandbox);
  j.at("require_isolation").get_to(r.require_isolation);
  r.api_key_env = j.value("api_key_env", std::string());
  if (!j.at("seed_sampling").is_null()) r.seed_sampling = j.at("seed_sampling").get<uint64_t>();
  if (!j.at("seed_bootstrap").is_null()) r.seed_bootstrap = j.at("seed_bootstrap").get<uint64_t>();
  // Optional: run.json files written before these existed.
  if (const auto it = j.find("seed_retry_jitter"); it != j.end() && !it->is_null())
    r.seed_retry_jitter = it->get<uint64_t>();
  r.tokenizer = j.value("tokenizer", std::string());
  // Optional: run.json files written before grading modes existed were graded in-process, and
  // their results (and config hash) know no grading mode and no python_hash seed.
  r.before_grading_modes = !j.contains("grading");
  r.grading = j.value("grading", std::string("inprocess"));
  if (const auto it = j.find("seed_python_hash"); it != j.end() && !it->is_null())
    r.seed_python_hash = it->get<uint64_t>();
}

std::vector<int64_t> parse_ks(const std::string& text) {
  std::vector<int64_t> ks;
  for (const auto& part : split(text, ',')) {
    const auto t = std::string(trim(part));
    std::size_t used = 0;
    int64_t k = 0;
    try {
      k = std::stoll(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (t.empty() || used != t.size() || k < 1)
      throw error("cli.bad_value", {"", 0, "--k"}, "expected a comma-separated list of positive integers, got '" + text + "'");
    ks.push_back(k);
  }
  return ks;
}

// The model spec, with --samples folded in.
std::string model_spec(const run_request& r) {
  if (!r.samples.empty()) {
    if (r.model != "oracle" && r.model != "replay:" + r.samples)
      throw error("cli.conflict", {"", 0, "--samples"}, "--samples and --model are exclusive");
    return "replay:" + r.samples;
  }
  return r.model;
}

// A run wired up: the suite, the runner and what they borrow, and the sample run over them.
struct prepared_run {
  std::unique_ptr<executor> exec;
  std::unique_ptr<runner> model;
  std::unique_ptr<humaneval::suite> suite;
  sample_run run;
};

prepared_run prepare(const run_context& ctx, const run_request& req) {
  if (req.n < 1) throw error("cli.bad_value", {"", 0, "--n"}, "must be >= 1");
  if (req.limit < 0) throw error("cli.bad_value", {"", 0, "--limit"}, "must be >= 0");
  if (req.timeout_s <= 0 || req.cpu_s <= 0 || req.memory_mb <= 0)
    throw error("cli.bad_value", {"", 0, "--timeout-s/--cpu-s/--memory-mb"}, "must be positive");

  prepared_run p;
  sample_run& r = p.run;
  const std::vector<int64_t> ks = parse_ks(req.ks);
  humaneval::problem_set problems = humaneval::load_problems(req.problems);

  const std::string spec = model_spec(req);
  const bool remote = spec.starts_with("openai:");
  if (!req.tokenizer.empty() && !remote)
    throw error("cli.conflict", {"", 0, "--tokenizer"},
                "--tokenizer counts the tokens of an openai: model; other runners count their own");
  const humaneval::grading_mode grading = humaneval::grading_mode_from_string(req.grading);
  if (req.seed_python_hash && *req.seed_python_hash > 0xffffffffULL)
    throw error("cli.bad_value", {"", 0, "--seed-python-hash"}, "must be at most 4294967295 (PYTHONHASHSEED's range)");
  r.seeds = {{"sampling", req.seed_sampling.value_or(derive_seed(req.seed, "sampling"))},
             {"bootstrap", req.seed_bootstrap.value_or(derive_seed(req.seed, "bootstrap"))}};
  if (!req.before_grading_modes)
    r.seeds["python_hash"] = req.seed_python_hash.value_or(derive_seed(req.seed, "python_hash") & 0xffffffffULL);
  // Only a remote model retries, so only its runs carry (and hash) the jitter seed.
  if (remote) r.seeds["retry_jitter"] = req.seed_retry_jitter.value_or(derive_seed(req.seed, "retry_jitter"));
  std::unique_ptr<replay_runner> replay;
  std::string samples_path;  // evaluate-only mode
  if (spec.starts_with("replay:")) {
    samples_path = spec.substr(7);
    replay = std::make_unique<replay_runner>(samples_path);
    for (const auto& e : replay->entries())
      if (!problems.index.contains(e.task_id))
        throw error("replay.unknown_task", {samples_path, e.line, "task_id"},
                    "task_id '" + e.task_id + "' is not in the problems (" + problems.source + ")");
  } else if (remote) {
    p.model = ctx.make_runner(spec, {.api_key_env = req.api_key_env,
                                     .retry_jitter_seed = r.seeds.at("retry_jitter"),
                                     .tokenizer = req.tokenizer});
  } else {
    p.model = ctx.make_runner(spec, {});
  }

  humaneval::options opts;
  opts.ks = ks;
  opts.grading = grading;
  opts.label_grading = !req.before_grading_modes;
  opts.limits.wall_ms = static_cast<int64_t>(req.timeout_s * 1000);
  opts.limits.cpu_ms = static_cast<int64_t>(req.cpu_s * 1000);
  opts.limits.memory_bytes = req.memory_mb << 20;
  if (!samples_path.empty()) opts.human_eval_results_path = fs::path(samples_path + "_results.jsonl");

  sandbox::executor_options xo;
  xo.backend = req.sandbox;
  xo.require_isolation = req.require_isolation;
  if (r.seeds.contains("python_hash")) xo.python_hash_seed = static_cast<uint32_t>(r.seeds.at("python_hash"));
  p.exec = sandbox::make_executor(xo);

  const std::string problems_sha = problems.content_sha256;
  const std::string problems_source = problems.source;
  p.suite = std::make_unique<humaneval::suite>(std::move(problems), opts, *p.exec, req.limit);

  if (replay) {
    for (const auto& [t, i] : replay->plan_for(*p.suite)) r.plan.push_back({t, i});
    p.model = std::move(replay);
  } else {
    r.plan = plan_samples(*p.suite, req.n);
  }
  r.suite = p.suite.get();
  r.model = p.model.get();
  r.exec = p.exec.get();
  r.generation.temperature = req.temperature;
  r.generation.max_tokens = req.max_tokens;
  r.model_spec = spec;
  r.requested = req;

  const nlohmann::json details = p.model->info().details;
  r.effective = {{"suite", "humaneval"},
                 {"problems_source", problems_source},
                 {"problems_sha256", problems_sha},
                 {"model", details.contains("samples_sha256")
                               ? nlohmann::json{{"spec", "replay"}, {"samples_sha256", details["samples_sha256"]}}
                               : nlohmann::json{{"spec", spec}}},
                 {"k", ks},
                 {"samples_per_task", samples_path.empty() ? nlohmann::json(req.n) : nlohmann::json("from samples file")},
                 {"limit", req.limit},
                 {"tasks", p.suite->tasks().size()},
                 {"planned_samples", r.plan.size()},
                 {"limits", {{"wall_ms", opts.limits.wall_ms}, {"cpu_ms", opts.limits.cpu_ms},
                             {"memory_bytes", opts.limits.memory_bytes},
                             {"output_bytes", opts.limits.output_bytes},
                             {"file_size_bytes", opts.limits.file_size_bytes},
                             {"processes", opts.limits.processes},
                             {"open_files", opts.limits.open_files}}},
                 {"generation", {{"temperature", req.temperature}, {"max_tokens", req.max_tokens}}},
                 {"seeds", r.seeds},
                 {"require_isolation", req.require_isolation}};
  if (!req.before_grading_modes) r.effective["grading"] = to_string(grading);
  if (!req.tokenizer.empty()) r.effective["token_counter"] = "tokenizer:" + req.tokenizer;
  return p;
}

int execute(const run_context& ctx, const run_request& req, const fs::path& resume_dir) {
  prepared_run p = prepare(ctx, req);
  const sample_run_outcome o = run_samples(ctx, p.run, resume_dir);
  print_run_summary(stdout, o.result, o.dir.string());
  return exit_ok;
}

run_request request_of(const run_context& ctx, const suite_args& a) {
  run_request r;
  if (!ctx.model.empty()) r.model = ctx.model;
  r.samples = a.text("--samples");
  r.problems = a.text("--problems");
  r.ks = a.text("--k");
  r.n = a.integer("--n");
  r.limit = a.integer("--limit");
  r.seed = ctx.seed;
  r.seed_sampling = a.optional_unsigned("--seed-sampling");
  r.seed_bootstrap = a.optional_unsigned("--seed-bootstrap");
  r.seed_retry_jitter = ctx.seed_retry_jitter;
  r.seed_python_hash = a.optional_unsigned("--seed-python-hash");
  r.grading = a.text("--grading");
  r.timeout_s = a.number("--timeout-s");
  r.cpu_s = a.number("--cpu-s");
  r.memory_mb = a.integer("--memory-mb");
  r.temperature = a.number("--temperature");
  r.max_tokens = a.integer("--max-tokens");
  r.sandbox = a.text("--sandbox");
  r.require_isolation = a.on("--require-isolation");
  r.api_key_env = ctx.api_key_env;
  r.tokenizer = ctx.tokenizer;
  return r;
}

}  // namespace

suite_definition humaneval_suite() {
  using k = suite_option::kind;
  suite_definition d;
  d.name = "humaneval";
  d.summary = "HumanEval/EvalPlus problems: completions run in the sandbox, pass@k with CIs";
  d.options = {
      {"--samples", "Evaluate-only: a samples file (task_id, completion); same as --model replay:FILE", ""},
      {"--problems", "Problem file (.jsonl/.jsonl.gz) or 'builtin' (moebench's own set)", "builtin"},
      {"--k", "Comma-separated k values for pass@k", "1"},
      {"--n", "Samples per task (oracle/generation modes)", "1"},
      {"--limit", "Only the first N tasks (0 = all)", "0"},
      {"--seed-sampling", "Override the sampling seed", ""},
      {"--seed-bootstrap", "Override the bootstrap seed", ""},
      {"--seed-python-hash", "Override the PYTHONHASHSEED (and random seed) of the programs under test, 0..4294967295", ""},
      {"--grading",
       "split: candidate and checks in separate sandboxed processes, plain data between them | inprocess: one "
       "program, as human-eval (faster, forgeable)",
       "split"},
      {"--timeout-s", "Wall-clock limit per sample", "10"},
      {"--cpu-s", "CPU-time limit per sample", "5"},
      {"--memory-mb", "Memory limit per sample", "1024"},
      {"--temperature", "Sampling temperature (generation)", "0"},
      {"--max-tokens", "Maximum new tokens (generation)", "512"},
      {"--sandbox", "Executor backend: auto | process | ns", "auto"},
      {"--require-isolation", "Refuse to run unless full sandbox isolation is available", "", k::flag},
  };
  d.run = [](const run_context& ctx, const suite_args& a) { return execute(ctx, request_of(ctx, a), {}); };
  d.rebuild = [](const nlohmann::json& run_json, const suite_data_lookup& data) {
    run_request req;
    try {
      req = run_json.at("settings_requested").get<run_request>();
    } catch (const nlohmann::json::exception& e) {
      throw error("run.bad_run_json", {"run.json", 0, "settings_requested"}, e.what());
    }
    // The problems from the builtin set or the validator's copy, found by content hash.
    const std::string sha = run_json.at("settings_effective").value("problems_sha256", std::string());
    humaneval::problem_set problems = humaneval::load_problems("builtin");
    if (problems.content_sha256 != sha) {
      const fs::path copy = data ? data(sha) : fs::path();
      if (copy.empty())
        throw error("validate.unknown_suite_data", {"run.json", 0, "settings_effective.problems_sha256"},
                    "the run's problems (sha256 " + sha + ", " + req.problems +
                        ") are neither moebench's builtin set nor a file given with --suite-data");
      problems = humaneval::load_problems(copy.string());
    }
    humaneval::options opts;
    opts.ks = parse_ks(req.ks);
    opts.limits.wall_ms = static_cast<int64_t>(req.timeout_s * 1000);
    opts.limits.cpu_ms = static_cast<int64_t>(req.cpu_s * 1000);
    opts.limits.memory_bytes = req.memory_mb << 20;
    // Re-executed exactly as the run graded: its mode and its PYTHONHASHSEED.
    opts.grading = humaneval::grading_mode_from_string(req.grading);
    opts.label_grading = !req.before_grading_modes;
    sandbox::executor_options xo;
    xo.backend = req.sandbox;
    const nlohmann::json seeds = run_json.at("settings_effective").value("seeds", nlohmann::json::object());
    if (seeds.contains("python_hash")) xo.python_hash_seed = static_cast<uint32_t>(seeds.at("python_hash").get<uint64_t>());
    rebuilt_suite out;
    out.exec = sandbox::make_executor(xo);
    out.suite = std::make_unique<humaneval::suite>(std::move(problems), opts, *out.exec, req.limit);
    return out;
  };
  d.resume = [](const run_context& ctx, const fs::path& dir, const nlohmann::json& run_json) {
    run_request req;
    try {
      req = run_json.at("settings_requested").get<run_request>();
    } catch (const nlohmann::json::exception& e) {
      throw error("run.bad_run_json", {(dir / "run.json").string(), 0, "settings_requested"}, e.what());
    }
    return execute(ctx, req, dir);
  };
  return d;
}

}  // namespace moebench::suites
