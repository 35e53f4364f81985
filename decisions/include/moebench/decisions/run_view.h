#pragma once
// How gates and claims read runs: generic over results.json, so that a new suite is judged
// without changes here. A suite entry (one suite_result) is identified by its suite name and a
// qualifier taken from its per_task object (scenario and level for throughput, the target for
// cost); per-item values of a metric are per_task[item][metric] (numbers or booleans), as
// humaneval writes pass@k per task.
#include <compare>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/results.h"

namespace moebench::decisions {

// A run as given on the command line.
struct loaded_run {
  std::string name;  // the path as given
  run_result result;
};
// Reads RUN/results.json (or a results.json path). Errors name the file ("results.*").
loaded_run load_run(const std::filesystem::path& dir_or_file);

struct entry_id {
  std::string suite;      // "throughput"
  std::string qualifier;  // "sweep concurrency=4", "h100-sxm", "" when the suite has one entry
  std::string label() const;  // "throughput (sweep concurrency=4)"
  auto operator<=>(const entry_id&) const = default;
};
entry_id identify(const suite_result& s);

// The hardware target an entry's figures belong to: per_task.target, else the run's
// settings_effective.target; "" when neither names one.
std::string entry_target(const run_result& run, const suite_result& s);

// True when `name` designates `target`: equal, or a prefix of it ending at a '-' (so that
// "h100" designates "h100-sxm" and "cpu" designates "cpu-avx2-t2").
bool target_matches(std::string_view name, std::string_view target);

// per_task[item][metric] for every item that has it (booleans as 0/1); nullopt when no item has
// it. `samples` receives per_task[item].n where present.
struct item_values {
  std::map<std::string, double> values;
  std::map<std::string, int64_t> samples;
};
std::optional<item_values> per_item_values(const suite_result& s, std::string_view metric);

// Whether a larger value of a metric is better, from its unit (closed list: fraction, rates per
// second, times, prices, energy); nullopt for units without a direction (counts, bytes).
std::optional<bool> higher_is_better(std::string_view unit);

// Shell-style pattern with '*' (any run of characters), matched against the whole text.
bool glob_match(std::string_view pattern, std::string_view text);

// Formats a number for a sentence: 4 significant digits, thousands kept readable.
std::string format_number(double v);

}  // namespace moebench::decisions
