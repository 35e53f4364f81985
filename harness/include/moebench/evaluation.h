#pragma once
// The evaluation loop: plan -> completions (runner) -> scores (suite) -> journal, in parallel,
// resumable. The harness takes every timestamp here, from the one steady clock.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/journal.h"
#include "moebench/progress.h"
#include "moebench/runner.h"
#include "moebench/suite.h"

namespace moebench {

struct work_item {
  std::size_t task_index = 0;  // into suite.tasks()
  int64_t sample_index = 0;
};

// n samples per task, in task order.
std::vector<work_item> plan_samples(const suite& s, int64_t samples_per_task);

// The journal key of a sample: "<task_id>#<sample_index>".
std::string sample_key(const std::string& task_id, int64_t sample_index);

struct evaluation_options {
  int64_t jobs = 1;                 // worker threads
  generation_params generation;     // per-request params; the seed is derived per sample
  uint64_t sampling_seed = 0;
  progress::mode progress_mode = progress::mode::automatic;
};

struct evaluation_outcome {
  std::vector<nlohmann::json> records;  // every planned sample, in plan order
  int64_t executed = 0;
  int64_t resumed = 0;
  std::vector<double> sample_wall_ms;   // per executed sample: completion + scoring
};

// Runs every planned sample not already in `journaled` (records recovered from the journal),
// appending each finished record to `out` as it is produced. A journaled record whose key is
// not in the plan is error "journal.foreign_record".
evaluation_outcome evaluate(suite& s, runner& r, const std::vector<work_item>& plan,
                            const std::vector<nlohmann::json>& journaled, journal& out,
                            const evaluation_options& options);

// Journal records per generation.token_source (suite_result::token_sources). Records without
// one (journals written before it existed) are left out rather than guessed.
std::map<std::string, int64_t> count_token_sources(const std::vector<nlohmann::json>& records);

}  // namespace moebench
