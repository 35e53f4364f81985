#pragma once
// Shards: one run's plan split over n processes or machines (docs/shards.md). Shard i of n
// takes the plan positions p with p mod n == i (round robin: balanced, and deterministic for a
// given plan, which the config hash pins down). `moebench merge` joins the shard runs into one
// run equal to an unsharded one.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moebench {

struct shard_spec {
  int64_t index = 0;  // 0-based, < count
  int64_t count = 1;
  bool operator==(const shard_spec&) const = default;
};

// Reads an environment variable ("" when unset); injected so tests need no real environment.
using env_lookup = std::function<std::string(const char* name)>;
env_lookup process_environment();

// `--shard` as given: "i/n" (0 <= i < n), or "auto": MOEBENCH_SHARD_INDEX and
// MOEBENCH_SHARD_COUNT; else JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) with
// MOEBENCH_SHARD_COUNT; else SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN with
// SLURM_ARRAY_TASK_COUNT (or MOEBENCH_SHARD_COUNT). Errors "cli.bad_value" naming --shard or the
// variable.
shard_spec parse_shard(std::string_view text, const env_lookup& env);
// Without --shard: MOEBENCH_SHARD_INDEX / MOEBENCH_SHARD_COUNT when both are set (one alone is
// an error), nothing otherwise. The scheduler variables need --shard auto, so that a job that
// happens to run in an array is not split by surprise.
std::optional<shard_spec> shard_from_environment(const env_lookup& env);

// The positions of `plan_size` that shard `s` runs, ascending.
std::vector<std::size_t> shard_positions(std::size_t plan_size, shard_spec s);

// One finished shard run as `moebench merge` reads it.
struct shard_run {
  std::string name;                     // the directory as given
  nlohmann::json run_json;              // its run.json (holds "shard": {index, count, plan})
  std::vector<nlohmann::json> records;  // its journal, in file order
};
// Reads DIR/run.json and DIR/samples.jsonl of a finished shard run (results.json present).
// Errors "merge.not_a_shard", "merge.unfinished", "run.bad_run_json", "jsonl.bad_json".
shard_run read_shard_run(const std::filesystem::path& dir);

// Joins shards into the journal of the whole run: checks that every shard belongs to one run
// (identical config hash, shard count and plan), that no shard index repeats and none is
// missing, and that the journals hold every sample of the plan exactly once. A gap or an
// overlap is error "merge.gap" / "merge.overlap" naming the samples (the first 10 and a
// count) and the shards; other mismatches "merge.mismatch". Returns the records in plan order
// and the run.json of the merged run (the shard's, without "shard", with "merged_from").
struct merged_shards {
  nlohmann::json run_json;
  std::vector<nlohmann::json> records;
};
merged_shards merge_shard_runs(const std::vector<shard_run>& shards, const std::string& merged_run_id);

void to_json(nlohmann::json& j, const shard_spec& s);
void from_json(const nlohmann::json& j, shard_spec& s);
std::string to_string(const shard_spec& s);  // "2/8"

}  // namespace moebench
