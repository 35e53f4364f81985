// Leaderboard bundles end to end: submit, validate, leaderboard, and every kind of tampering
// caught with a precise message.
#include <gtest/gtest.h>

#include <map>

#include "../harness/test_util.h"
#include "moebench/io.h"

namespace moebench::testing {
namespace {
namespace fs = std::filesystem;

// A samples file over the first six builtin tasks: canonical solutions for even tasks, a
// known-wrong one for odd tasks (pass@1 = 50%).
std::string write_samples(const temp_dir& dir) {
  std::map<std::string, std::string> wrong;
  for_each_jsonl(source_dir() + "/suites/humaneval/data/wrong_solutions.jsonl", [&](const nlohmann::json& j, int64_t) {
    wrong.emplace(j["task_id"].get<std::string>(), j["completion"].get<std::string>());
  });
  std::string text;
  int i = 0;
  for_each_jsonl(source_dir() + "/suites/humaneval/data/problems.jsonl", [&](const nlohmann::json& j, int64_t) {
    if (i >= 6) return;
    const std::string id = j["task_id"].get<std::string>();
    const std::string completion = i % 2 == 0 ? j["canonical_solution"].get<std::string>() : wrong.at(id);
    text += nlohmann::json{{"task_id", id}, {"completion", completion}}.dump() + "\n";
    ++i;
  });
  const auto path = (dir / "samples.jsonl").string();
  write_file_atomic(path, text);
  return path;
}

// What an attacker without the key does after editing: recompute every hash in the manifest.
void remanifest(const fs::path& bundle) {
  auto m = nlohmann::json::parse(slurp(bundle / "manifest.json"));
  m["files"] = nlohmann::json::object();
  for (const auto& e : fs::recursive_directory_iterator(bundle)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), bundle).generic_string();
    if (rel == "manifest.json" || rel == "signature.json") continue;
    const std::string bytes = slurp(e.path());
    m["files"][rel] = {{"sha256", sha256_hex(bytes)}, {"bytes", bytes.size()}};
  }
  write_file_atomic(bundle / "manifest.json", m.dump(2) + "\n");
}

// Rewrites line `line` (1-based) of a JSONL file with `edit`.
void edit_jsonl(const fs::path& file, int64_t line, const std::function<void(nlohmann::json&)>& edit) {
  std::string out;
  for_each_jsonl(file, [&](const nlohmann::json& j, int64_t n) {
    nlohmann::json r = j;
    if (n == line) edit(r);
    out += r.dump() + "\n";
  });
  write_file_atomic(file, out);
}

class bundle_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_cli({"keygen", "-o", (dir_ / "key").string()}, dir_.path()).exit_code, 0);
    ASSERT_EQ(run_cli({"keygen", "-o", (dir_ / "other").string()}, dir_.path()).exit_code, 0);
    const auto r = run_cli({"run", "--suite", "humaneval", "--samples", write_samples(dir_), "--out", (dir_ / "runs").string(),
                            "--run-id", "r", "--progress", "quiet"},
                           dir_.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // A fresh bundle of the run; signed unless told otherwise.
  fs::path bundle(const std::string& name, bool sign = true) {
    std::vector<std::string> args = {"submit", (dir_ / "runs" / "r").string(), "-o", (dir_ / name).string()};
    if (sign) args.insert(args.end(), {"--sign-key", (dir_ / "key").string()});
    const auto r = run_cli(args, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_ / name;
  }
  cli_result validate(const fs::path& b, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"validate", b.string(), "--reexecute", "-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args, dir_.path());
  }
  // The line of the journal holding sample `key`.
  int64_t line_of(const fs::path& b, const std::string& key) {
    int64_t found = 0;
    for_each_jsonl(b / "run" / "samples.jsonl", [&](const nlohmann::json& j, int64_t n) {
      if (j["key"] == key) found = n;
    });
    return found;
  }
  temp_dir dir_;
};

TEST_F(bundle_cli, an_honest_bundle_validates_and_ranks) {
  const auto b = bundle("b");
  EXPECT_TRUE(fs::exists(b / "logs" / "000001.json"));
  const auto r = validate(b, {"--public-key", (dir_ / "key.pub").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("VALID"), std::string::npos);
  EXPECT_NE(r.out.find("6 of 6 generations re-executed"), std::string::npos) << r.out;
  const auto l = run_cli({"leaderboard", b.string(), "-o", (dir_ / "site").string()}, dir_.path());
  EXPECT_EQ(l.exit_code, 0) << l.err;
  const auto j = nlohmann::json::parse(slurp(dir_ / "site" / "leaderboard.json"));
  ASSERT_EQ(j["boards"].size(), 1u);
  EXPECT_EQ(j["boards"][0]["board"], "humaneval pass@1");
  EXPECT_EQ(j["boards"][0]["entries"][0]["value"], 0.5);
  EXPECT_FALSE(j["boards"][0]["entries"][0]["hardware"]["cpu_model"].get<std::string>().empty());
  EXPECT_NE(slurp(dir_ / "site" / "index.html").find("<td>50.00%</td>"), std::string::npos);
}

TEST_F(bundle_cli, an_edited_metric_is_recomputed_from_the_records) {
  const auto b = bundle("b", false);
  auto res = nlohmann::json::parse(slurp(b / "run" / "results.json"));
  res["suites"][0]["metrics"][0]["value"] = 0.9;
  write_file_atomic(b / "run" / "results.json", res.dump(2));
  auto r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("run/results.json: sha256"), std::string::npos) << r.out;
  remanifest(b);
  r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("results.json says pass@1 = 0.9, the per-sample records give 0.5"), std::string::npos) << r.out;
  // The leaderboard leaves it out, saying why.
  const auto l = run_cli({"leaderboard", b.string(), "-o", (dir_ / "site").string()}, dir_.path());
  EXPECT_NE(l.out.find("0 bundles ranked, 1 rejected"), std::string::npos) << l.out;
}

TEST_F(bundle_cli, an_edited_generation_breaks_the_manifest_and_the_signature) {
  const auto b = bundle("b");
  const int64_t line = line_of(b, "moebench/1#0");
  edit_jsonl(b / "run" / "samples.jsonl", line, [](nlohmann::json& r) { r["completion"] = "    return None\n"; });
  auto r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("run/samples.jsonl: sha256"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(the file was changed)"), std::string::npos) << r.out;
  remanifest(b);
  r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("the ed25519 signature does not verify against manifest.json"), std::string::npos) << r.out;
}

TEST_F(bundle_cli, a_generation_whose_re_execution_fails) {
  // An unsigned bundle whose journal claims a wrong solution passed, consistently re-hashed.
  const auto b = bundle("b", false);
  const int64_t line = line_of(b, "moebench/1#0");
  edit_jsonl(b / "run" / "samples.jsonl", line, [](nlohmann::json& r) {
    r["score"]["verdict"] = "passed";
    r["score"]["passed"] = true;
    r["score"]["result"] = "passed";
  });
  remanifest(b);
  auto r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("sample moebench/1#0: the bundle's verdict is passed, re-execution gives failed"), std::string::npos)
      << r.out;
}

TEST_F(bundle_cli, a_missing_log) {
  const auto b = bundle("b", false);
  fs::remove(b / "logs" / "000003.json");
  auto r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("logs/000003.json is listed in the manifest but missing"), std::string::npos) << r.out;
  remanifest(b);
  r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("(run/samples.jsonl line 3): its execution log logs/000003.json is missing"), std::string::npos)
      << r.out;
}

TEST_F(bundle_cli, a_wrong_signature) {
  const auto b = bundle("b");
  auto sig = nlohmann::json::parse(slurp(b / "signature.json"));
  std::string s = sig["signature"];
  s[0] = s[0] == '0' ? '1' : '0';
  sig["signature"] = s;
  write_file_atomic(b / "signature.json", sig.dump(2));
  auto r = validate(b);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("the ed25519 signature does not verify"), std::string::npos) << r.out;
  // Signed properly, but by a key the leaderboard does not trust.
  const auto c = bundle("c");
  r = validate(c, {"--public-key", (dir_ / "other.pub").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("which is not a trusted key"), std::string::npos) << r.out;
  // Unsigned where a signature is required.
  const auto u = bundle("u", false);
  r = validate(u, {"--require-signature"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("the bundle is not signed"), std::string::npos) << r.out;
}

TEST_F(bundle_cli, suite_data_must_be_known) {
  // A run on a problem file of its own: the validator needs its own copy, found by hash.
  const auto problems = (dir_ / "problems.jsonl").string();
  std::string text;
  int i = 0;
  for_each_jsonl(source_dir() + "/suites/humaneval/data/problems.jsonl", [&](const nlohmann::json& j, int64_t) {
    if (i++ < 3) text += j.dump() + "\n";
  });
  write_file_atomic(problems, text);
  ASSERT_EQ(run_cli({"run", "--suite", "humaneval", "--model", "oracle", "--problems", problems, "--out", (dir_ / "runs").string(),
                     "--run-id", "own", "--progress", "quiet"},
                    dir_.path())
                .exit_code,
            0);
  ASSERT_EQ(run_cli({"submit", (dir_ / "runs" / "own").string(), "-o", (dir_ / "own").string()}, dir_.path()).exit_code, 0);
  auto r = validate(dir_ / "own");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("are neither moebench's builtin set nor a file given with --suite-data"), std::string::npos) << r.out;
  r = validate(dir_ / "own", {"--suite-data", problems});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace moebench::testing
