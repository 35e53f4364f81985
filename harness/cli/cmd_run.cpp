// `moebench run`: parses the command line into a run_context (settings every suite shares) and
// the chosen suite's options, then calls that suite's definition from the registry
// (docs/suites.md). It knows no suite's insides.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "commands.h"
#include "runner_factory.h"
#include "moebench/error.h"
#include "moebench/suite_registry.h"
#include "moebench/suites/registry.h"

namespace moebench::cli {
namespace fs = std::filesystem;
namespace {

progress::mode parse_progress(const std::string& s) {
  if (s == "auto") return progress::mode::automatic;
  if (s == "tty") return progress::mode::tty;
  if (s == "lines") return progress::mode::lines;
  if (s == "quiet") return progress::mode::quiet;
  throw error("cli.bad_value", {"", 0, "--progress"}, "expected auto, tty, lines or quiet");
}

// One flag of the union of every suite's options, and the suites that declare it.
struct registered_option {
  suite_option::kind k = suite_option::kind::value;
  std::vector<std::string> suites;
  CLI::Option* cli = nullptr;
  std::string value;                // kind::value
  std::vector<std::string> values;  // kind::repeated
  bool on = false;                  // kind::flag
};

struct run_command_state {
  run_context rc;
  std::string suite;
  std::string resume;
  std::string shard;
  std::string progress = "auto";
  std::map<std::string, registered_option> options;  // by flag
};

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// Registers every suite's options on `cmd`, each flag once: its help gives each declaring
// suite's meaning when they differ; it sits in the option group of the suites declaring it.
void add_suite_options(CLI::App* cmd, run_command_state& st, std::span<const suite_definition> suites) {
  struct declared {
    std::vector<std::pair<std::string, suite_option>> by_suite;
  };
  std::vector<std::string> order;
  std::map<std::string, declared> all;
  for (const auto& s : suites)
    for (const auto& o : s.options) {
      if (!all.contains(o.flag)) order.push_back(o.flag);
      auto& d = all[o.flag];
      MOEBENCH_CHECK(d.by_suite.empty() || d.by_suite.front().second.k == o.k,
                     "suites declaring one flag agree on its kind");
      d.by_suite.emplace_back(s.name, o);
    }
  for (const auto& flag : order) {
    const auto& d = all.at(flag);
    registered_option& r = st.options[flag];
    r.k = d.by_suite.front().second.k;
    bool same_help = true, same_default = true;
    for (const auto& [name, o] : d.by_suite) {
      r.suites.push_back(name);
      same_help = same_help && o.help == d.by_suite.front().second.help;
      same_default = same_default && o.default_value == d.by_suite.front().second.default_value;
    }
    std::string help = d.by_suite.front().second.help;
    if (!same_help) {
      help.clear();
      for (const auto& [name, o] : d.by_suite) help += (help.empty() ? "" : "; ") + name + ": " + o.help;
    }
    switch (r.k) {
      case suite_option::kind::value: r.cli = cmd->add_option(flag, r.value, help)->type_name("VALUE"); break;
      case suite_option::kind::repeated:
        r.cli = cmd->add_option(flag, r.values, help)->allow_extra_args(false)->type_name("VALUE");
        break;
      case suite_option::kind::flag: r.cli = cmd->add_flag(flag, r.on, help); break;
    }
    if (same_default && !d.by_suite.front().second.default_value.empty())
      r.cli->default_str(d.by_suite.front().second.default_value);
    r.cli->group(joined(r.suites, ", ") + " options");
  }
}

// The chosen suite's options as given; a flag of another suite is error "cli.not_for_suite".
suite_args args_for(const suite_definition& s, const run_command_state& st) {
  suite_args a(s.options);
  for (const auto& [flag, r] : st.options) {
    if (r.cli->count() == 0) continue;
    if (!a.declares(flag))
      throw error("cli.not_for_suite", {"", 0, flag},
                  fmt::format("{} is not an option of suite {} (it belongs to {})", flag, s.name, joined(r.suites, ", ")));
    switch (r.k) {
      case suite_option::kind::value: a.set(flag, {r.value}); break;
      case suite_option::kind::repeated: a.set(flag, r.values); break;
      case suite_option::kind::flag: a.set(flag); break;
    }
  }
  return a;
}

}  // namespace

void add_run_command(CLI::App& app, context& ctx) {
  const std::span<const suite_definition> suites = moebench::suites::all();
  std::string suite_list;
  for (const auto& s : suites) suite_list += fmt::format("\n  {:<12} {}", s.name, s.summary);
  auto* cmd = app.add_subcommand("run", "Run a suite against a model and journal every sample");
  cmd->footer("Suites:" + suite_list + "\nEach suite's options are in the group named after it (docs/suites.md).");
  auto st = std::make_shared<run_command_state>();
  run_context& rc = st->rc;
  rc.make_runner = [](const std::string& spec, const model_options& o) { return make_runner(spec, o); };
  cmd->add_option("--suite", st->suite, "Suite to run: " + suite_names(suites));
  cmd->add_option("--model", rc.model,
                  "Model spec: oracle | replay:FILE | gguf:PATH | openai:URL#MODEL[?options] (default: the suite's)");
  cmd->add_option("--api-key-env", rc.api_key_env,
                  "openai: environment variable holding the API key (the key is never recorded)");
  cmd->add_option("--tokenizer", rc.tokenizer,
                  "GGUF whose tokenizer counts an openai: model's tokens (and makes throughput prompt lengths exact)");
  cmd->add_option("--seed", rc.seed, "Base seed; named seeds derive from it")->capture_default_str();
  cmd->add_option("--seed-retry-jitter", rc.seed_retry_jitter, "openai: override the retry-jitter seed");
  cmd->add_option("--out", rc.out, "Directory that receives the run directory")->capture_default_str();
  cmd->add_option("--run-id", rc.run_id, "Name of the run directory (default: generated)");
  cmd->add_option("--resume", st->resume, "Continue the run in this directory; settings come from its run.json");
  cmd->add_option("-j,--jobs", rc.jobs, "Parallel samples (0 = all cores)")->capture_default_str();
  cmd->add_option("--shard", st->shard,
                  "Run shard i of n of the plan (0-based i/n), or 'auto' from MOEBENCH_SHARD_INDEX/COUNT, "
                  "JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; join with moebench merge (docs/shards.md)");
  cmd->add_option("--progress", st->progress, "auto | tty | lines | quiet")->capture_default_str();
  add_suite_options(cmd, *st, suites);

  cmd->callback([cmd, st, suites, &ctx] {
    run_context& run = st->rc;
    run.progress_mode = parse_progress(st->progress);
    if (!st->resume.empty()) {
      // Only runtime knobs may accompany --resume: the run's settings come from run.json.
      for (const auto* opt : cmd->get_options())
        if (opt->count() > 0 && opt->get_name() != "--resume" && opt->get_name() != "--progress" &&
            opt->get_name() != "--jobs")
          throw error("cli.conflict", {"", 0, opt->get_name()},
                      "--resume takes the run's settings from its run.json; only --jobs and --progress may be given "
                      "with it");
      nlohmann::json run_json;
      const suite_definition& s = suite_of_run(suites, st->resume, &run_json);
      if (!s.resume)
        throw error("run.not_resumable", {(fs::path(st->resume) / "run.json").string(), 0, "--resume"},
                    "runs of suite " + s.name + " cannot be resumed: start a new run");
      ctx.exit_code = s.resume(run, st->resume, run_json);
      return;
    }
    if (st->suite.empty()) throw error("cli.missing", {"", 0, "--suite"}, "--suite is required (or --resume DIR)");
    run.shard = st->shard.empty() ? shard_from_environment(process_environment())
                                  : parse_shard(st->shard, process_environment());
    const suite_definition* s = find_suite(suites, st->suite);
    if (s == nullptr)
      throw error("cli.unknown_suite", {"", 0, "--suite"},
                  "unknown suite '" + st->suite + "' (available: " + suite_names(suites) + ")");
    ctx.exit_code = s->run(run, args_for(*s, *st));
  });
}

}  // namespace moebench::cli
