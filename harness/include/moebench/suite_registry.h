#pragma once
// The registry of suites behind `moebench run` (docs/suites.md). A suite, in its own folder
// under suites/, declares a suite_definition: its name, its options, how it starts a run and
// how it continues one. The CLI parses the command line into a run_context (settings every
// suite shares) and suite_args (the suite's own options) and calls the definition; it knows no
// suite's insides. A program may call the same definitions in-process (`moebench demo`).
//
// Thread-safety: definitions are immutable after construction; run and resume are called
// from one thread and may use as many threads as they like inside.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/progress.h"
#include "moebench/runner.h"
#include "moebench/shard.h"

namespace moebench {

// One option a suite adds to `moebench run`. Several suites may declare the same flag with a
// meaning of their own (the CLI registers it once and its --help gives each suite's meaning);
// a flag given to a suite that does not declare it is error "cli.not_for_suite".
struct suite_option {
  enum class kind {
    value,     // --flag VALUE, at most once
    repeated,  // --flag VALUE, any number of times (values in order)
    flag,      // --flag, a switch without a value
  };
  std::string flag;           // "--lengths"
  std::string help;           // one line
  std::string default_value;  // used when the flag is absent ("" = none); shown in --help
  kind k = kind::value;
};

// The values of one suite's options as given (by the CLI, or built by a program). Typed
// getters convert with error "cli.bad_value" naming the flag; asking for a flag the suite did
// not declare is a programming error (checked, aborts).
class suite_args {
 public:
  explicit suite_args(std::span<const suite_option> declared);

  // Records what was given for `flag`: one value for kind::value, any number for repeated,
  // none for a flag. Error "cli.not_for_suite" for a flag the suite does not declare.
  suite_args& set(std::string_view flag, std::vector<std::string> values = {});

  bool declares(std::string_view flag) const noexcept;
  bool given(std::string_view flag) const;
  // The value given, else the declared default ("" when neither).
  std::string text(std::string_view flag) const;
  // Every value of a repeated option, in order (empty when absent).
  std::vector<std::string> texts(std::string_view flag) const;
  int64_t integer(std::string_view flag) const;
  uint64_t unsigned_integer(std::string_view flag) const;
  // The value when given, nothing otherwise (overrides of derived seeds).
  std::optional<uint64_t> optional_unsigned(std::string_view flag) const;
  double number(std::string_view flag) const;  // finite
  bool on(std::string_view flag) const;        // a switch: given or not

 private:
  const suite_option& option(std::string_view flag) const;
  std::vector<suite_option> declared_;
  std::map<std::string, std::vector<std::string>, std::less<>> given_;
};

// What a run adds to a model spec when it builds its runner. Each field applies to the runner
// kinds named; the others ignore it.
struct model_options {
  std::string api_key_env;         // openai: the variable holding the API key (read by the
                                   // factory; the key itself is never recorded)
  uint64_t retry_jitter_seed = 0;  // openai: the run's named seed "retry_jitter"
  std::string tokenizer;           // openai: GGUF counting tokens the server does not report
  int64_t context_tokens = 0;      // gguf: KV context per sequence (0 = the engine's default)
};

// Builds the runner of a model spec ("oracle", "gguf:PATH", "openai:URL#MODEL", "fake:...").
// Given by the composing program: the harness and the suites know no runner kinds. Errors:
// "cli.unknown_model" and the runner's own.
using runner_factory = std::function<std::unique_ptr<runner>(const std::string& spec, const model_options&)>;

// Settings every suite shares, parsed once by the CLI. A new run reads all of them; a resumed
// run takes its settings from its run.json and only the runtime knobs (jobs, progress) here.
struct run_context {
  std::string model;                          // --model as given; "" = not given (each suite
                                              // states its default or requires it)
  std::string api_key_env;                    // --api-key-env (openai:)
  std::string tokenizer;                      // --tokenizer GGUF (token counting)
  uint64_t seed = 0;                          // --seed: named seeds derive from it
  std::optional<uint64_t> seed_retry_jitter;  // --seed-retry-jitter (openai:)
  std::filesystem::path out = "runs";         // --out: where run directories are created
  std::string run_id;                         // --run-id ("" = generated)
  int64_t jobs = 0;                           // -j: parallel samples (0 = all cores)
  progress::mode progress_mode = progress::mode::automatic;
  runner_factory make_runner;                 // required
  // --shard (or MOEBENCH_SHARD_INDEX/COUNT): a new run of a sample suite runs only this slice
  // of its plan (run_samples applies it; docs/shards.md). Measurement suites refuse it. A
  // resumed run takes its shard from run.json, never from here.
  std::optional<shard_spec> shard;
};

class suite;
class executor;

// A finished run's suite rebuilt from its run.json, to check the run (moebench validate): the
// tasks, the scorer and the aggregate, without a runner. `exec` is what the suite scores with.
struct rebuilt_suite {
  std::unique_ptr<executor> exec;
  std::unique_ptr<moebench::suite> suite;
};
// The validator's own copy of a suite's data, by content sha256 ("" when it has none): a
// rebuilt suite reads its data from here, never from the paths a run.json names.
using suite_data_lookup = std::function<std::filesystem::path(const std::string& content_sha256)>;

struct suite_definition {
  std::string name;     // "humaneval": a C++ identifier, unique
  std::string summary;  // one line for --help: what the suite measures
  std::vector<suite_option> options;
  // Starts a new run under ctx.out and returns the process exit code (exit_ok when the run
  // completed, whatever the model scored). Bad settings throw moebench::error before the run
  // directory exists. Required.
  std::function<int(const run_context& ctx, const suite_args& args)> run;
  // Continues the run in `dir` (its run.json parsed as `run_json`, whose
  // settings_requested.suite is this suite): finished work is kept, the rest is done.
  // Optional: when empty, --resume says this suite's runs cannot be resumed.
  std::function<int(const run_context& ctx, const std::filesystem::path& dir, const nlohmann::json& run_json)> resume;
  // Rebuilds the suite of a finished run of this suite (run.json as `run_json`), its data
  // from the suite's builtin copy or `data`. Errors "validate.unknown_suite_data" when the
  // validator has no copy of the run's data. Optional: when empty, moebench validate says
  // this suite's runs cannot be re-checked.
  std::function<rebuilt_suite(const nlohmann::json& run_json, const suite_data_lookup& data)> rebuild;
};

// The definition named `name`, or nullptr.
const suite_definition* find_suite(std::span<const suite_definition> suites, std::string_view name);
// "cost, humaneval, throughput": the names, in registry order.
std::string suite_names(std::span<const suite_definition> suites);
// The suite a run directory belongs to: settings_requested.suite of its run.json. Errors
// "run.not_a_run" (no run.json), "run.bad_run_json", "cli.unknown_suite".
const suite_definition& suite_of_run(std::span<const suite_definition> suites, const std::filesystem::path& dir,
                                     nlohmann::json* run_json);

}  // namespace moebench
