// Shards as separate processes (as a Kubernetes Indexed Job or a Slurm array runs them), then
// `moebench merge`: the merged run equals a single run.
#include <gtest/gtest.h>

#include <cstdlib>

#include "moebench/io.h"
#include "test_util.h"

namespace moebench::testing {
namespace {

// Starts moebench with extra environment variables; returns the child's pid.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
            const std::filesystem::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "a", stderr)) ::_exit(127);
    exec_moebench(args);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// results.json without what legitimately differs between runs of the same settings.
nlohmann::json stable_results(const std::filesystem::path& dir) {
  auto j = nlohmann::json::parse(slurp(dir / "results.json"));
  for (const char* k : {"run_id", "created_utc", "finished_utc", "execution"}) j.erase(k);
  // The engine's rates are timings, like execution.
  if (j["model"].contains("telemetry"))
    for (const char* k : {"decode_tokens_per_s", "prefill_tokens_per_s"}) j["model"]["telemetry"].erase(k);
  return j;
}

void check_shards_merge_to_a_single_run(const std::vector<std::string>& run_args) {
  temp_dir dir;
  const std::string out = (dir / "runs").string();
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = run_args;
    a.insert(a.end(), {"--out", out, "--progress", "quiet"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // Three shards at once, each told its index the way a scheduler would.
  const pid_t a = spawn(with({"--shard", "0/3", "--run-id", "s0"}), {}, dir / "s0.log");
  const pid_t b = spawn(with({"--run-id", "s1"}), {{"MOEBENCH_SHARD_INDEX", "1"}, {"MOEBENCH_SHARD_COUNT", "3"}}, dir / "s1.log");
  const pid_t c = spawn(with({"--shard", "auto", "--run-id", "s2"}),
                        {{"JOB_COMPLETION_INDEX", "2"}, {"MOEBENCH_SHARD_COUNT", "3"}}, dir / "s2.log");
  ASSERT_EQ(wait_exit(a), 0) << slurp(dir / "s0.log");
  ASSERT_EQ(wait_exit(b), 0) << slurp(dir / "s1.log");
  ASSERT_EQ(wait_exit(c), 0) << slurp(dir / "s2.log");
  const auto s1 = nlohmann::json::parse(slurp(dir / "runs" / "s1" / "results.json"));
  EXPECT_EQ(s1["shard"], (nlohmann::json{{"index", 1}, {"count", 3}}));

  auto r = run_cli(with({"--run-id", "whole"}), dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"merge", out + "/s2", out + "/s0", out + "/s1", "-o", out + "/merged"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("merged 3 shards"), std::string::npos) << r.out;
  EXPECT_EQ(stable_results(dir / "runs" / "merged"), stable_results(dir / "runs" / "whole"));
  const auto merged_run = nlohmann::json::parse(slurp(dir / "runs" / "merged" / "run.json"));
  EXPECT_EQ(merged_run["merged_from"].size(), 3u);
  EXPECT_FALSE(merged_run.contains("shard"));

  // A gap: one shard left out is named with its samples; nothing is written.
  r = run_cli({"merge", out + "/s0", out + "/s2", "-o", out + "/partial"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("shard 1/3 is missing"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "runs" / "partial"));
  // An overlap.
  r = run_cli({"merge", out + "/s0", out + "/s1", out + "/s1", out + "/s2", "-o", out + "/twice"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("are both shard 1/3"), std::string::npos) << r.err;
  // Not a shard.
  r = run_cli({"merge", out + "/whole", "-o", out + "/x"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a shard"), std::string::npos) << r.err;
}

TEST(shard_cli, oracle_shards_merge_to_the_single_run) {
  check_shards_merge_to_a_single_run({"run", "--suite", "humaneval", "--model", "oracle", "--limit", "12", "--n", "2", "--k", "1,2"});
}

TEST(shard_cli, engine_shards_merge_to_the_single_run) {
  // Sampled generations: each sample's seed derives from its key, not from its shard.
  temp_dir dir;
  const auto model = (dir / "m.gguf").string();
  ASSERT_EQ(run_cli({"model", "synth", "--preset", "dsv3-mini", "-o", model}, dir.path()).exit_code, 0);
  check_shards_merge_to_a_single_run({"run", "--suite", "humaneval", "--model", "gguf:" + model, "--limit", "4", "--n", "2",
                                      "--temperature", "0.8", "--max-tokens", "12", "-j", "1"});
}

TEST(shard_cli, measurements_refuse_to_be_sharded) {
  temp_dir dir;
  const auto r = run_cli({"run", "--suite", "throughput", "--model", "fake:ttft_ms=1,tpot_ms=1", "--shard", "0/2",
                          "--out", (dir / "runs").string()},
                         dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot be sharded"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace moebench::testing
