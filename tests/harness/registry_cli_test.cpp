// The suite registry as a user meets it: `moebench run --help` and the errors list every suite,
// a flag of another suite is refused, and run directories written before the registry existed
// (results schema 1, tests/harness/data/runs_v1) still report and resume.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "moebench/io.h"
#include "test_util.h"

namespace moebench {
namespace {

using testing::cli_result;
using testing::run_cli;
using testing::slurp;
using testing::temp_dir;
namespace fs = std::filesystem;

const fs::path fixtures() { return fs::path(testing::source_dir()) / "tests/harness/data/runs_v1"; }

// Every suite linked into this moebench: the names the unknown-suite error lists.
std::vector<std::string> listed_suites(const std::string& err) {
  const auto open = err.find("(available: ");
  const auto close = err.find(')', open);
  std::vector<std::string> out;
  if (open == std::string::npos || close == std::string::npos) return out;
  std::string list = err.substr(open + 12, close - open - 12);
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(", ", start);
    out.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return out;
}

TEST(registry_cli, unknown_suite_and_help_list_every_suite) {
  temp_dir dir;
  const cli_result bad = run_cli({"run", "--suite", "nosuch"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("cli.unknown_suite"), std::string::npos) << bad.err;
  const auto names = listed_suites(bad.err);
  for (const char* expected : {"cost", "humaneval", "throughput"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected << " in " << bad.err;
  const cli_result help = run_cli({"run", "--help"}, dir.path());
  EXPECT_EQ(help.exit_code, 0);
  for (const auto& name : names) {
    EXPECT_NE(help.out.find("\n  " + name + " "), std::string::npos) << name << " in the suite list of --help";
    EXPECT_NE(help.out.find(name), help.out.rfind(name)) << name << " names its option group too";
  }
  // Each suite's own options are in the help.
  for (const char* flag : {"--problems", "--scenario", "--model-config"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
}

TEST(registry_cli, a_flag_of_another_suite_is_an_error_naming_its_suite) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--scenario", "offline", "--out", (dir / "runs").string()},
                               dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cli.not_for_suite"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--scenario"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("throughput"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "runs"));
  const cli_result bad_number = run_cli({"run", "--suite", "humaneval", "--n", "two"}, dir.path());
  EXPECT_EQ(bad_number.exit_code, 2);
  EXPECT_NE(bad_number.err.find("--n"), std::string::npos) << bad_number.err;
}

nlohmann::json comparable(nlohmann::json j) {
  for (const char* volatile_field : {"execution", "created_utc", "finished_utc", "run_id", "executor"})
    j.erase(volatile_field);
  return j;
}

TEST(registry_cli, schema_1_run_directories_still_report) {
  temp_dir dir;
  for (const char* run : {"throughput-v1", "cost-v1"}) {
    const cli_result md = run_cli({"report", (fixtures() / run).string(), "--format", "md"}, dir.path());
    EXPECT_EQ(md.exit_code, 0) << run << ": " << md.err;
    const cli_result js = run_cli({"report", (fixtures() / run).string(), "--format", "json"}, dir.path());
    ASSERT_EQ(js.exit_code, 0) << run << ": " << js.err;
    const auto got = nlohmann::json::parse(js.out);
    EXPECT_EQ(got, nlohmann::json::parse(slurp(fixtures() / run / "results.json"))) << run;
  }
}

TEST(registry_cli, an_interrupted_schema_1_humaneval_run_resumes_to_the_uninterrupted_results) {
  temp_dir dir;
  fs::copy(fixtures() / "humaneval-v1", dir / "humaneval-v1");
  const cli_result r = run_cli({"run", "--resume", (dir / "humaneval-v1").string(), "--progress", "quiet"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = nlohmann::json::parse(slurp(dir / "humaneval-v1/results.json"));
  EXPECT_EQ(got["execution"]["samples_resumed"], 2);
  EXPECT_EQ(got["execution"]["samples_executed"], 4);
  EXPECT_EQ(comparable(got), comparable(nlohmann::json::parse(slurp(fixtures() / "humaneval-v1-finished.results.json"))));
  EXPECT_TRUE(fs::exists(dir / "humaneval-v1/humaneval_results.jsonl"));
  const cli_result md = run_cli({"report", (dir / "humaneval-v1").string(), "--format", "md"}, dir.path());
  EXPECT_EQ(md.exit_code, 0) << md.err;
}

TEST(registry_cli, resume_reaches_each_suite_through_its_run_json) {
  temp_dir dir;
  fs::copy(fixtures() / "throughput-v1", dir / "throughput-v1");
  fs::copy(fixtures() / "cost-v1", dir / "cost-v1");
  const cli_result finished = run_cli({"run", "--resume", (dir / "throughput-v1").string()}, dir.path());
  EXPECT_EQ(finished.exit_code, 2);
  EXPECT_NE(finished.err.find("run.finished"), std::string::npos) << finished.err;
  const cli_result cost = run_cli({"run", "--resume", (dir / "cost-v1").string()}, dir.path());
  EXPECT_EQ(cost.exit_code, 2);
  EXPECT_NE(cost.err.find("start a new run"), std::string::npos) << cost.err;
  const cli_result extra = run_cli({"run", "--resume", (dir / "throughput-v1").string(), "--rate", "3"}, dir.path());
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("--rate"), std::string::npos) << extra.err;
  const cli_result none = run_cli({"run", "--resume", (dir / "nothing").string()}, dir.path());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("run.not_a_run"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace moebench
