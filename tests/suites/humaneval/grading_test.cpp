// Grading modes of the humaneval suite end to end through the CLI (docs/grading.md): the
// forgery corpus never passes under split grading; the canonical and wrong solutions keep
// their verdicts; every record and results.json say which mode was used; the PYTHONHASHSEED
// named seed makes repeated runs identical.
#include <gtest/gtest.h>

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

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

fs::path data(const std::string& rel) { return fs::path(testing::source_dir()) / rel; }

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  for_each_jsonl(p, [&](const nlohmann::json& j, int64_t) { out.push_back(j); });
  return out;
}

fs::path only_run(const fs::path& out) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(out)) dirs.push_back(e.path());
  EXPECT_EQ(dirs.size(), 1u);
  return dirs.empty() ? fs::path() : dirs.front();
}

// Runs `samples` (copied into the scratch dir) with `extra` flags; returns the run directory.
fs::path run_samples(const temp_dir& dir, const fs::path& samples, const std::string& name,
                     const std::vector<std::string>& extra) {
  const fs::path copy = dir / (name + ".jsonl");
  std::ofstream(copy, std::ios::binary) << slurp(samples);
  std::vector<std::string> args = {"run", "--suite", "humaneval", "--samples", copy.string(),
                                   "--out", (dir / ("runs-" + name)).string(), "--progress", "quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  const cli_result r = run_cli(args, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return only_run(dir / ("runs-" + name));
}

// Journal records keyed by their line in the samples file.
std::map<int64_t, nlohmann::json> records_by_line(const fs::path& run) {
  std::map<int64_t, nlohmann::json> out;
  for (auto& r : read_jsonl(run / "samples.jsonl")) {
    const int64_t line = r.at("runner_extra").at("source_line").get<int64_t>();
    out[line] = std::move(r);
  }
  return out;
}

TEST(grading, the_forgery_corpus_never_passes_under_split_grading) {
  temp_dir dir;
  const fs::path corpus = data("tests/suites/humaneval/data/forgery_corpus.jsonl");
  const auto attempts = read_jsonl(corpus);
  ASSERT_GE(attempts.size(), 25u);
  const std::vector<std::string> limits = {"--timeout-s", "2", "--cpu-s", "2"};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), limits.begin(), limits.end());
    return a;
  };
  const auto split = records_by_line(run_samples(dir, corpus, "split", with({"--grading", "split"})));
  const auto inproc = records_by_line(run_samples(dir, corpus, "inprocess", with({"--grading", "inprocess"})));
  ASSERT_EQ(split.size(), attempts.size());
  ASSERT_EQ(inproc.size(), attempts.size());
  std::string table = "| attack | task | split | inprocess |\n|---|---|---|---|\n";
  int64_t split_passes = 0, inprocess_passes = 0;
  std::map<std::string, std::string> inprocess_verdict;
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    const auto& s = split.at(static_cast<int64_t>(i + 1))["score"];
    const auto& p = inproc.at(static_cast<int64_t>(i + 1))["score"];
    const std::string attack = a["attack"];
    EXPECT_EQ(s["verdict"], a["expected_split"]) << attack << ": " << s["exec"]["detail"];
    EXPECT_FALSE(s["passed"].get<bool>()) << attack;
    EXPECT_EQ(s["grading"], "split");
    EXPECT_EQ(s["forgeable"], false);
    EXPECT_EQ(p["grading"], "inprocess");
    EXPECT_EQ(p["forgeable"], true);
    split_passes += s["passed"].get<bool>() ? 1 : 0;
    inprocess_passes += p["passed"].get<bool>() ? 1 : 0;
    inprocess_verdict[attack] = p["verdict"];
    table += fmt::format("| {} | {} | {} | {}{} |\n", attack, a["task_id"].get<std::string>(),
                         s["verdict"].get<std::string>(), p["verdict"].get<std::string>(),
                         p["passed"].get<bool>() ? " (FORGED)" : "");
  }
  EXPECT_EQ(split_passes, 0);
  // In-process grading is forgeable, as README.md documents: these attempts pass there.
  for (const char* forged : {"frame_walk_nonce", "gc_scan_nonce", "always_equal_object",
                             "str_subclass_eq", "setprofile_forge_on_check"})
    EXPECT_EQ(inprocess_verdict[forged], "passed") << forged;
  std::printf("forgery corpus: %zu attempts, %lld pass under split, %lld under inprocess\n%s",
              attempts.size(), static_cast<long long>(split_passes),
              static_cast<long long>(inprocess_passes), table.c_str());
}

TEST(grading, canonical_and_wrong_solutions_keep_their_verdicts_under_split) {
  temp_dir dir;
  const fs::path wrong = data("suites/humaneval/data/wrong_solutions.jsonl");
  const auto split = records_by_line(run_samples(dir, wrong, "split", {"--grading", "split"}));
  const auto inproc = records_by_line(run_samples(dir, wrong, "inprocess", {"--grading", "inprocess"}));
  ASSERT_EQ(split.size(), 97u);
  ASSERT_EQ(split.size(), inproc.size());
  for (const auto& [line, s] : split) {
    const auto& p = inproc.at(line);
    EXPECT_EQ(s["score"]["verdict"], p["score"]["verdict"])
        << s["task_id"] << " line " << line << ": " << s["score"]["exec"]["detail"] << "\nvs\n"
        << p["score"]["exec"]["detail"];
    EXPECT_FALSE(s["score"]["passed"].get<bool>()) << s["task_id"];
    // A failed assertion names the same message and test line in both modes (the line
    // numbers differ: the checker's file holds the tests only).
    const std::regex line_no("\\nline [0-9]+: ");
    const std::string sd = s["score"]["exec"]["detail"], pd = p["score"]["exec"]["detail"];
    if (s["score"]["verdict"] == "failed") {
      EXPECT_EQ(std::regex_replace(sd, line_no, "\nline N: "), std::regex_replace(pd, line_no, "\nline N: "))
          << s["task_id"];
    }
  }
  // Canonical solutions: all pass under split grading (the default).
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--model", "oracle", "--out",
                                (dir / "oracle").string(), "--progress", "quiet"},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(only_run(dir / "oracle") / "results.json"));
  const auto& suite = results["suites"][0];
  EXPECT_EQ(suite["verdicts"]["passed"], 49) << suite["verdicts"].dump();
  EXPECT_EQ(suite["grading"]["mode"], "split");
  EXPECT_EQ(suite["grading"]["forgeable"], false);
  EXPECT_NE(r.out.find("grading: split"), std::string::npos) << r.out;
}

TEST(grading, mode_and_hash_seed_are_recorded_and_inprocess_is_labelled_forgeable) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "humaneval", "--limit", "2", "--grading", "inprocess",
                                "--seed-python-hash", "4242", "--out", (dir / "runs").string(),
                                "--progress", "quiet"},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("grading: inprocess (FORGEABLE"), std::string::npos) << r.out;
  const fs::path run = only_run(dir / "runs");
  const auto run_json = nlohmann::json::parse(slurp(run / "run.json"));
  EXPECT_EQ(run_json["seeds"]["python_hash"], 4242);
  EXPECT_EQ(run_json["settings_effective"]["grading"], "inprocess");
  const auto results = nlohmann::json::parse(slurp(run / "results.json"));
  EXPECT_EQ(results["suites"][0]["grading"]["mode"], "inprocess");
  EXPECT_EQ(results["suites"][0]["grading"]["forgeable"], true);
  for (const auto& rec : read_jsonl(run / "samples.jsonl")) {
    EXPECT_EQ(rec["score"]["grading"], "inprocess");
    EXPECT_EQ(rec["score"]["forgeable"], true);
  }
  const cli_result md = run_cli({"report", run.string(), "--format", "md"}, dir.path());
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| inprocess (forgeable) |"), std::string::npos) << md.out;
  // Without an override, the seed derives from --seed; a bad mode or seed is a clear error.
  const cli_result derived = run_cli({"run", "--suite", "humaneval", "--limit", "1", "--seed", "7", "--out",
                                      (dir / "derived").string(), "--progress", "quiet"},
                                     dir.path());
  ASSERT_EQ(derived.exit_code, 0) << derived.err;
  const auto seeds = nlohmann::json::parse(slurp(only_run(dir / "derived") / "run.json"))["seeds"];
  EXPECT_TRUE(seeds.contains("python_hash"));
  EXPECT_LE(seeds["python_hash"].get<uint64_t>(), 0xffffffffULL);
  const cli_result bad = run_cli({"run", "--suite", "humaneval", "--grading", "fancy", "--out",
                                  (dir / "bad").string()},
                                 dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--grading"), std::string::npos) << bad.err;
  const cli_result big = run_cli({"run", "--suite", "humaneval", "--seed-python-hash", "4294967296",
                                  "--out", (dir / "bad").string()},
                                 dir.path());
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_NE(big.err.find("--seed-python-hash"), std::string::npos) << big.err;
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

TEST(grading, repeated_runs_with_one_seed_give_identical_verdicts_and_output) {
  temp_dir dir;
  // The answer depends on set iteration order: right for some hash seeds, wrong for others.
  std::string samples;
  for (int i = 0; i < 8; ++i) {
    const std::string completion = fmt::format(
        "    order = \"\".join(sorted(set(\"abcdefghij{}\"), key=lambda c: hash(c) % 97))\n"
        "    print(order, hash(\"moebench\"))\n"
        "    return order if s == \"aaabcc\" and order[0] < \"e\" else \"a3bc2\" if s == \"aaabcc\" else \"\"\n",
        i);
    samples += nlohmann::json{{"task_id", "moebench/0"}, {"completion", completion}}.dump() + "\n";
  }
  const fs::path file = dir / "hash.jsonl";
  std::ofstream(file, std::ios::binary) << samples;
  auto outcome = [&](const std::string& name, const std::string& seed) {
    const auto recs = records_by_line(run_samples(dir, file, name, {"--seed-python-hash", seed}));
    std::string out;
    for (const auto& [line, r] : recs)
      out += r["score"]["verdict"].get<std::string>() + " " + r["score"]["exec"]["stdout"].get<std::string>();
    return out;
  };
  const std::string a = outcome("a", "11"), b = outcome("b", "11"), c = outcome("c", "12");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace moebench
