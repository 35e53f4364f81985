#pragma once
// The run of a suite whose work is samples: a moebench::suite scored over a runner's
// completions (humaneval and every suite shaped like it). It creates the run directory (or
// continues one), runs the evaluation loop into the journal, aggregates, writes the suite's
// outputs and results.json. A suite built on it prepares only the suite, the runner, the plan
// and its settings (docs/suites.md).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/evaluation.h"
#include "moebench/executor.h"
#include "moebench/results.h"
#include "moebench/runner.h"
#include "moebench/suite.h"
#include "moebench/suite_registry.h"

namespace moebench {

struct sample_run {
  moebench::suite* suite = nullptr;  // required; borrowed
  runner* model = nullptr;           // required; borrowed
  const executor* exec = nullptr;    // optional: its isolation is recorded in run.json
  std::vector<work_item> plan;
  // settings_requested of run.json, in the suite's own form: its resume rebuilds the run
  // from it. Must hold "suite".
  nlohmann::json requested;
  // settings_effective: everything that determines the results and nothing else (no output
  // paths, no thread counts); the config hash covers exactly this.
  nlohmann::json effective;
  std::map<std::string, uint64_t> seeds;  // must hold "sampling"
  generation_params generation;
  std::string model_spec;  // names the default run id
};

struct sample_run_outcome {
  std::filesystem::path dir;
  run_result result;  // as written to results.json
};

// A new run in ctx.out (ctx.run_id or a generated id), or, when `resume_dir` is given, the
// continuation of that run: journaled samples are kept, a torn last record is repaired (and
// said on stderr), the rest is evaluated. Errors: "run.exists", "run.config_changed",
// "run.bad_run_json", and the journal's.
sample_run_outcome run_samples(const run_context& ctx, sample_run& r, const std::filesystem::path& resume_dir = {});

}  // namespace moebench
