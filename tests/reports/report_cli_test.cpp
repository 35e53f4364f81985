// `moebench report` end to end: real runs of every suite that runs in seconds (humaneval with the
// oracle and with the engine generating, a throughput sweep on the fake runner, cost
// projections), rendered as HTML, Markdown, JUnit and JSON; then the HTML opened in Debian's
// headless Chromium (tests/reports/browser_check.mjs): charts drawn, no console errors, nothing
// fetched, every number of each results.json in the tables, a screenshot saved beside the test
// (report_browser_test.png in the test's working directory).
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../harness/test_util.h"

namespace moebench::testing {
namespace {
namespace fs = std::filesystem;

fs::path browser_dir() {
  const char* env = std::getenv("MOEBENCH_BROWSER_DIR");
  return env ? fs::path(env) : fs::path(source_dir()) / "tests/browser";
}

bool browser_available() {
  return std::getenv("MOEBENCH_BROWSER_DIR") || fs::exists(browser_dir() / "node_modules/playwright-core");
}

// tests/reports/browser_check.mjs on `html`; returns its exit status and output.
std::pair<int, std::string> browser_check(const fs::path& html, const std::vector<fs::path>& run_dirs, const std::string& extra,
                                          const fs::path& scratch) {
  std::string results;
  for (const auto& d : run_dirs) results += (results.empty() ? "" : ",") + (d / "results.json").string();
  const fs::path log = scratch / "browser.log";
  const std::string cmd = "MOEBENCH_BROWSER_DIR='" + browser_dir().string() + "' node '" + source_dir() +
                          "/tests/reports/browser_check.mjs' --report '" + html.string() + "' --results '" + results + "' " + extra +
                          " > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, slurp(log)};
}

// The runs every test here renders, made once.
class report_cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new temp_dir();
    const fs::path runs = *dir_ / "runs";
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.end(), {"--out", runs.string(), "--progress", "quiet"});
      const cli_result r = run_cli(args, dir_->path());
      ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    };
    const cli_result synth = run_cli({"model", "synth", "--preset", "dsv3-mini", "-o", (*dir_ / "m.gguf").string()}, dir_->path());
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
    run({"run", "--suite", "humaneval", "--limit", "4", "--run-id", "oracle"});
    run({"run", "--suite", "humaneval", "--model", "gguf:" + (*dir_ / "m.gguf").string(), "--limit", "3", "--n", "2", "--k", "1,2",
         "--temperature", "0.8", "--max-tokens", "16", "--run-id", "engine"});
    run({"run", "--suite", "throughput", "--model", "fake:ttft_ms=5,tpot_ms=1,slots=2", "--scenario", "sweep", "--queries", "4",
         "--min-queries", "2", "--min-duration-s", "0.01", "--input-len", "16", "--output-len", "8", "--max-concurrency", "4",
         "--price", "cpu=0.5", "--run-id", "sweep"});
    run({"run", "--suite", "cost", "--model-config", "deepseek-v3", "--target", "h200,ascend-910c,cpu", "--run-id", "cost"});
    std::ofstream(*dir_ / "claims.json") << R"({"claims": [
      {"claim": "humaneval.pass@1 >= 0.90", "verdict": "FAIL", "run": "engine", "observed": {"value": 0.0, "lo": 0.0, "hi": 0.1, "unit": "fraction", "n": 3, "kind": "measured"}, "reason": "the CI lies below 0.90"},
      {"claim": "cost.usd_per_mtok_input <= 0.30 on h200", "verdict": "PASS", "target": "h200", "reason": "modelled projection"}]})";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // The four runs, and a long-context run in the longctx suite's results layout (a fixture:
  // tests/reports/data/longctx-fixture).
  static std::vector<std::string> run_dirs() {
    std::vector<std::string> out;
    for (const char* id : {"oracle", "engine", "sweep", "cost"}) out.push_back((*dir_ / "runs" / id).string());
    out.push_back(source_dir() + "/tests/reports/data/longctx-fixture");
    return out;
  }
  static cli_result report(std::vector<std::string> extra) {
    std::vector<std::string> args = {"report"};
    for (const auto& d : run_dirs()) args.push_back(d);
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args, dir_->path());
  }
  static temp_dir* dir_;
};
temp_dir* report_cli::dir_ = nullptr;

TEST_F(report_cli, format_follows_the_output_extension) {
  struct want {
    const char* file;
    const char* starts;
  };
  for (const want& w : {want{"r.html", "<!doctype html>"}, want{"r.md", "# moebench report"}, want{"r.xml", "<?xml"},
                        want{"r.json", "{\n  \"runs\""}}) {
    const fs::path out = *dir_ / w.file;
    const cli_result r = report({"-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = slurp(out);
    EXPECT_EQ(text.rfind(w.starts, 0), 0u) << w.file << ": " << text.substr(0, 80);
  }
  const cli_result md = report({"--format", "md"});
  ASSERT_EQ(md.exit_code, 0);
  for (const char* want : {"## throughput", "## Cost and energy", "## Expert load (routing telemetry)", "## Cost per solved task", "## longctx",
                           "| oracle | oracle | 4/4 | 4 | 100.00% [100.00, 100.00]% |"})
    EXPECT_NE(md.out.find(want), std::string::npos) << want << "\n" << md.out;
  const cli_result junit = report({"--format", "junit", "--claims", (*dir_ / "claims.json").string()});
  ASSERT_EQ(junit.exit_code, 0);
  EXPECT_NE(junit.out.find("<failure message=\"FAIL: the CI lies below 0.90\"/>"), std::string::npos) << junit.out;
  EXPECT_NE(junit.out.find("<testsuite name=\"engine/humaneval\""), std::string::npos);
}

TEST_F(report_cli, bad_input_is_an_error_naming_the_field) {
  std::ofstream(*dir_ / "bad-claims.json") << R"({"claims": [{"claim": "x", "verdict": "probably"}]})";
  const cli_result bad = report({"--claims", (*dir_ / "bad-claims.json").string(), "-o", (*dir_ / "x.html").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad-claims.json"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("claims[0].verdict"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(*dir_ / "x.html"));
  const cli_result format = report({"--format", "pdf"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format"), std::string::npos);
}

TEST_F(report_cli, the_report_renders_in_chromium) {
  if (!browser_available()) GTEST_SKIP() << "playwright-core not installed: run ./scripts/browser-setup (./scripts/test does)";
  const fs::path html = *dir_ / "report.html";
  const cli_result r = report({"-o", html.string(), "--claims", (*dir_ / "claims.json").string(), "--title", "browser test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path shot = fs::current_path() / "report_browser_test.png";
  fs::copy_file(html, fs::current_path() / "report_browser_test.html", fs::copy_options::overwrite_existing);
  std::vector<fs::path> dirs;
  for (const auto& d : run_dirs()) dirs.emplace_back(d);
  const auto [status, log] = browser_check(html, dirs, "--screenshot '" + shot.string() + "' --min-charts 8 --claims 2", dir_->path());
  std::cout << log;
  ASSERT_EQ(status, 0) << log;
  EXPECT_TRUE(fs::exists(shot));
  const auto summary = nlohmann::json::parse(log.substr(0, log.find('\n')));
  EXPECT_GE(summary["metrics_checked"].get<int>(), 50);
  EXPECT_EQ(summary["console_errors"].get<int>(), 0);
}

// `moebench demo --quick`: every step runs, the model is cached for the next demo, the report
// holds every run and (with the browser) renders.
TEST(demo_cli, quick_demo_writes_a_report_of_every_suite) {
  temp_dir dir;
  const fs::path out = dir / "demo", cache = dir / "cache";
  const cli_result first = run_cli({"demo", "--quick", "--out", out.string(), "--cache-dir", cache.string(), "--progress", "quiet"}, dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_NE(first.err.find("(synthesised)"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("[8/8]"), std::string::npos) << first.err;
  std::vector<fs::path> runs;
  for (const auto& stamp : fs::directory_iterator(out / "runs"))
    for (const auto& run : fs::directory_iterator(stamp.path())) runs.push_back(run.path());
  std::sort(runs.begin(), runs.end());
  ASSERT_EQ(runs.size(), 8u);
  for (const auto& r : runs) EXPECT_TRUE(fs::exists(r / "results.json")) << r;
  const std::string md = slurp(out / "report.md");
  for (const char* want : {"# moebench demo", "## humaneval", "## throughput", "## Cost and energy", "## Expert load (routing telemetry)",
                           "| humaneval-oracle | oracle | 5/5 | 5 | 100.00% [100.00, 100.00]% |", "cost-rumoured-1t", "cost-deepseek-v4-pro"})
    EXPECT_NE(md.find(want), std::string::npos) << want;
  EXPECT_TRUE(fs::exists(out / "report.html"));
  EXPECT_NE(slurp(out / "demo.log").find("$ moebench run --suite throughput"), std::string::npos);
  // The second demo reuses the model.
  const cli_result second = run_cli({"demo", "--quick", "--out", out.string(), "--cache-dir", cache.string(), "--progress", "quiet"}, dir.path());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("(cached)"), std::string::npos) << second.err;
  if (!browser_available()) return;
  const auto [status, log] = browser_check(out / "report.html", {}, "--min-charts 8", dir.path());
  EXPECT_EQ(status, 0) << log;
}

}  // namespace
}  // namespace moebench::testing
