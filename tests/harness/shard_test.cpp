#include "moebench/shard.h"

#include <gtest/gtest.h>

#include <map>

#include <fmt/core.h>

#include "moebench/error.h"

namespace moebench {
namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) {
    const auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

std::string error_field(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const error& e) {
    return e.where().field;
  }
  return "(no error)";
}

TEST(shard, parses_flags_and_scheduler_variables) {
  const auto none = fake_env({});
  EXPECT_EQ(parse_shard("2/8", none), (shard_spec{2, 8}));
  EXPECT_EQ(parse_shard("0/1", none), (shard_spec{0, 1}));
  EXPECT_EQ(error_field([&] { parse_shard("8/8", none); }), "--shard");
  EXPECT_EQ(error_field([&] { parse_shard("-1/8", none); }), "--shard");
  EXPECT_EQ(error_field([&] { parse_shard("1/0", none); }), "--shard");
  EXPECT_EQ(error_field([&] { parse_shard("1-8", none); }), "--shard");
  EXPECT_EQ(error_field([&] { parse_shard("auto", none); }), "--shard");

  EXPECT_EQ(parse_shard("auto", fake_env({{"MOEBENCH_SHARD_INDEX", "3"}, {"MOEBENCH_SHARD_COUNT", "4"}})),
            (shard_spec{3, 4}));
  // Kubernetes Indexed Job: the index from JOB_COMPLETION_INDEX, the count from us.
  EXPECT_EQ(parse_shard("auto", fake_env({{"JOB_COMPLETION_INDEX", "5"}, {"MOEBENCH_SHARD_COUNT", "6"}})),
            (shard_spec{5, 6}));
  EXPECT_EQ(error_field([&] { parse_shard("auto", fake_env({{"JOB_COMPLETION_INDEX", "5"}})); }), "MOEBENCH_SHARD_COUNT");
  // Slurm: --array=1-4 numbers tasks from 1; the minimum is subtracted.
  EXPECT_EQ(parse_shard("auto", fake_env({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"},
                                          {"SLURM_ARRAY_TASK_COUNT", "4"}})),
            (shard_spec{3, 4}));
  EXPECT_EQ(parse_shard("auto", fake_env({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "2"}})),
            (shard_spec{0, 2}));
  EXPECT_EQ(error_field([&] { parse_shard("auto", fake_env({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "2"}})); }),
            "SLURM_ARRAY_TASK_ID");

  EXPECT_FALSE(shard_from_environment(none).has_value());
  // The scheduler's own variables alone never shard a run.
  EXPECT_FALSE(shard_from_environment(fake_env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "2"}})).has_value());
  EXPECT_EQ(shard_from_environment(fake_env({{"MOEBENCH_SHARD_INDEX", "1"}, {"MOEBENCH_SHARD_COUNT", "2"}})),
            (shard_spec{1, 2}));
  EXPECT_EQ(error_field([&] { shard_from_environment(fake_env({{"MOEBENCH_SHARD_INDEX", "1"}})); }), "MOEBENCH_SHARD_COUNT");
}

TEST(shard, positions_partition_the_plan) {
  const std::size_t plan = 23;
  std::vector<int> seen(plan, 0);
  for (int64_t i = 0; i < 5; ++i)
    for (std::size_t p : shard_positions(plan, {i, 5})) {
      EXPECT_EQ(static_cast<int64_t>(p % 5), i);
      seen[p] += 1;
    }
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_EQ(shard_positions(3, {4, 8}).size(), 0u);  // more shards than samples: some are empty
  EXPECT_EQ(shard_positions(10, {0, 1}).size(), 10u);
}

shard_run fake_shard(int64_t index, int64_t count, const std::vector<std::string>& plan, const std::string& hash = "h") {
  shard_run s;
  s.name = fmt::format("runs/s{}", index);
  s.run_json = {{"run_id", s.name}, {"config_hash", hash}, {"shard", {{"index", index}, {"count", count}, {"plan", plan}}}};
  for (std::size_t p : shard_positions(plan.size(), {index, count})) s.records.push_back({{"key", plan[p]}});
  return s;
}

std::string merge_error(const std::vector<shard_run>& shards) {
  try {
    merge_shard_runs(shards, "m");
  } catch (const error& e) {
    return e.id() + ": " + e.message();
  }
  return "(no error)";
}

TEST(shard, merge_checks_coverage_and_names_the_samples) {
  std::vector<std::string> plan;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 3; ++i) plan.push_back(fmt::format("t/{}#{}", t, i));
  const auto merged = merge_shard_runs({fake_shard(2, 3, plan), fake_shard(0, 3, plan), fake_shard(1, 3, plan)}, "m");
  ASSERT_EQ(merged.records.size(), plan.size());
  for (std::size_t p = 0; p < plan.size(); ++p) EXPECT_EQ(merged.records[p]["key"], plan[p]);
  EXPECT_FALSE(merged.run_json.contains("shard"));
  EXPECT_EQ(merged.run_json["run_id"], "m");
  EXPECT_EQ(merged.run_json["merged_from"].size(), 3u);

  // A missing shard: its samples are named.
  EXPECT_EQ(merge_error({fake_shard(0, 3, plan), fake_shard(2, 3, plan)}),
            "merge.gap: shard 1/3 is missing: 4 samples are in no shard (t/0#1, t/1#1, t/2#1, t/3#1)");
  // A shard given twice.
  EXPECT_NE(merge_error({fake_shard(0, 3, plan), fake_shard(0, 3, plan), fake_shard(1, 3, plan), fake_shard(2, 3, plan)})
                .find("merge.overlap: runs/s0 and runs/s0 are both shard 0/3"),
            std::string::npos);
  // A journal short of a sample (a gap), and one holding another shard's sample (an overlap).
  auto short_one = fake_shard(1, 3, plan);
  short_one.records.pop_back();
  EXPECT_EQ(merge_error({fake_shard(0, 3, plan), short_one, fake_shard(2, 3, plan)}),
            "merge.gap: 1 samples are in no shard's journal: t/3#1");
  auto greedy = fake_shard(1, 3, plan);
  greedy.records.push_back({{"key", "t/0#0"}});
  EXPECT_EQ(merge_error({fake_shard(0, 3, plan), greedy, fake_shard(2, 3, plan)}),
            "merge.overlap: 1 samples are in more than one shard: t/0#0 (runs/s0 and runs/s1)");
  // Shards of different runs or different splits.
  EXPECT_NE(merge_error({fake_shard(0, 2, plan), fake_shard(1, 2, plan, "other")}).find("merge.mismatch: shards of different runs"),
            std::string::npos);
  EXPECT_NE(merge_error({fake_shard(0, 2, plan), fake_shard(1, 3, plan)}).find("does not split the same plan"),
            std::string::npos);
}

}  // namespace
}  // namespace moebench
