#pragma once
// The suite interface: a suite is data (tasks) plus a scorer. The harness plans work items
// over a suite's tasks, asks a runner for completions, and hands each completion back to the
// suite to score. It never looks inside a score.
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/results.h"
#include "moebench/runner.h"

namespace moebench {

struct task {
  std::string id;
  std::string prompt;
  std::string reference;          // canonical answer, for the oracle runner
  std::vector<std::string> stop;  // suite-specific stop sequences
};

class suite {
 public:
  virtual ~suite() = default;
  virtual std::string name() const = 0;
  virtual std::string source() const = 0;          // file path or "builtin:..."
  virtual std::string content_sha256() const = 0;  // of the task data
  virtual const std::vector<task>& tasks() const = 0;

  // Scores one completion of `t` and returns the suite's part of the sample record (a JSON
  // object; it must contain "verdict"). Thread-safe: called concurrently from worker threads.
  // Never throws for model failures: those are values in the record.
  virtual nlohmann::json score(const task& t, const completion& c) = 0;

  // Aggregates the records of a run (in plan order, each with the fields the harness writes:
  // task_id, sample_index, completion, score) into a suite_result. `seeds` holds the named
  // seeds (e.g. "bootstrap").
  virtual suite_result aggregate(std::span<const nlohmann::json> records,
                                 const std::map<std::string, uint64_t>& seeds) const = 0;

  // Optional: writes suite-specific files into the run directory (and elsewhere where the
  // suite's conventions say so) once the run is complete. Default: nothing.
  virtual void write_outputs(const std::filesystem::path& /*run_dir*/,
                             std::span<const nlohmann::json> /*records*/) const {}
};

}  // namespace moebench
