// `moebench gate` and `moebench claims` end to end: exit codes, formats, errors.
#include <gtest/gtest.h>

#include "../harness/test_util.h"
#include "fixtures.h"
#include "moebench/io.h"

namespace moebench::testing {
namespace {

std::string write_run(const temp_dir& dir, const run_result& r) {
  const auto path = dir / r.run_id;
  std::filesystem::create_directories(path);
  write_file_atomic(path / "results.json", nlohmann::json(r).dump(2));
  return path.string();
}

TEST(gate_cli, exit_codes_and_outputs) {
  temp_dir dir;
  std::vector<int> base(500, 0), cand(500, 0);
  for (int i = 0; i < 350; ++i) base[i] = cand[i] = 1;
  for (int i = 0; i < 35; ++i) cand[i] = 0;
  const auto b = write_run(dir, accuracy_run("base", base, 1));
  const auto c = write_run(dir, accuracy_run("cand", cand, 1, "gguf:other.gguf"));
  const auto junit = (dir / "gate.xml").string(), md = (dir / "gate.md").string();
  auto r = run_cli({"gate", "--baseline", b, "--candidate", c, "--junit", junit, "--md", md}, dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("gate: REGRESSION (exit 1)"), std::string::npos) << r.out;
  EXPECT_NE(slurp(junit).find("<failure"), std::string::npos);
  EXPECT_NE(slurp(md).find("| REGRESSION | humaneval | pass@1 |"), std::string::npos);

  r = run_cli({"gate", "--baseline", b, "--candidate", b, "--format", "json"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["verdict"], "PASS");

  // A policy that fails on INCONCLUSIVE, with a floor no 500-item run can resolve.
  write_file_atomic(dir / "policy.json", R"({"accuracy_floor_points": 0.01, "fail_on_inconclusive": true})");
  std::vector<int> c2 = base;
  c2[0] = 0;
  c2[400] = 1;
  const auto c2p = write_run(dir, accuracy_run("cand2", c2, 1));
  r = run_cli({"gate", "--baseline", b, "--candidate", c2p, "--policy", (dir / "policy.json").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("gate: INCONCLUSIVE"), std::string::npos) << r.out;

  // Bad input: exit 2 with the file and field.
  write_file_atomic(dir / "bad.json", R"({"alpha": "high"})");
  r = run_cli({"gate", "--baseline", b, "--candidate", c, "--policy", (dir / "bad.json").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("alpha"), std::string::npos) << r.err;
  r = run_cli({"gate", "--baseline", (dir / "nosuch").string(), "--candidate", c}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no results.json"), std::string::npos) << r.err;

  // Incomparable runs are refused, saying what differs; --force compares them.
  auto other = accuracy_run("other", cand, 1);
  other.suites[0].content_sha256 = "zzz";
  const auto o = write_run(dir, other);
  r = run_cli({"gate", "--baseline", b, "--candidate", o}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("humaneval content hash: abc"), std::string::npos) << r.err;
  r = run_cli({"gate", "--baseline", b, "--candidate", o, "--force"}, dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("note: forced past a difference: humaneval content hash"), std::string::npos) << r.out;
}

TEST(claims_cli, judges_the_shipped_rumour_file) {
  temp_dir dir;
  std::vector<int> items(40, 1);
  const auto run = write_run(dir, accuracy_run("he", items, 1));
  const auto claims = source_dir() + "/claims/deepseek-v4-rumour.json";
  auto r = run_cli({"claims", "--claims", claims, run}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no run holds swebench.resolved"), std::string::npos) << r.out;
  r = run_cli({"claims", "--claims", claims, run, "--format", "json"}, dir.path());
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["claims"].size(), 8u);
  for (const auto& c : j["claims"]) EXPECT_FALSE(c["reason"].get<std::string>().empty()) << c.dump();
  write_file_atomic(dir / "c.json", R"({"claims": [{"claim": "humaneval.pass@1 => 0.9"}]})");
  r = run_cli({"claims", "--claims", (dir / "c.json").string(), run}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("claims[0].claim"), std::string::npos) << r.err;
  write_file_atomic(dir / "f.json", R"({"claims": [{"claim": "humaneval.pass@1 <= 0.5"}]})");
  r = run_cli({"claims", "--claims", (dir / "f.json").string(), run, "--exit-on-fail"}, dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

}  // namespace
}  // namespace moebench::testing
