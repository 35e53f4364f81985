// `moebench run --suite throughput|cost` and `moebench targets` end to end, with the fake
// runner (a harness self-test): real processes, real files. Figures are checked for
// consistency with each other and with the data files, never for speed.
#include <gtest/gtest.h>

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

fs::path only_run(const fs::path& out) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(out)) dirs.push_back(e.path());
  EXPECT_EQ(dirs.size(), 1u);
  return dirs.empty() ? fs::path() : dirs.front();
}

const nlohmann::json* find_metric(const nlohmann::json& suite, const std::string& name) {
  for (const auto& m : suite.at("metrics"))
    if (m.at("name") == name) return &m;
  return nullptr;
}

TEST(throughput_cli, server_run_puts_every_metric_in_results_json) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "throughput", "--model", "fake:ttft_ms=2,tpot_ms=1,slots=4",
                                "--target", "cpu", "--threads", "1", "--scenario", "server", "--rate", "50",
                                "--queries", "20", "--min-queries", "20", "--min-duration-s", "0",
                                "--input-len", "16", "--output-len", "8", "--slo", "ttft=20000ms,tpot=1000ms",
                                "--seed", "5", "--out", (dir / "runs").string()},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const fs::path run = only_run(dir / "runs");
  const auto results = nlohmann::json::parse(slurp(run / "results.json"));
  ASSERT_EQ(results.at("suites").size(), 1u);
  const auto& s = results["suites"][0];
  EXPECT_EQ(s.at("suite"), "throughput");
  for (const char* name : {"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"}) {
    const auto* m = find_metric(s, name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->at("unit"), "ms");
    EXPECT_EQ(m->at("kind"), "measured");
    for (const char* p : {"mean", "p50", "p90", "p99"}) EXPECT_TRUE(m->at("distribution").contains(p));
  }
  for (const char* name : {"input_tok_s", "output_tok_s", "total_tok_s", "goodput_req_s", "slo_attainment"})
    ASSERT_NE(find_metric(s, name), nullptr) << name;
  // Every query produced 8 tokens and the fake reports 16 prompt tokens: the rates agree.
  EXPECT_NEAR(find_metric(s, "input_tok_s")->at("value").get<double>(),
              2 * find_metric(s, "output_tok_s")->at("value").get<double>(), 1e-6);
  EXPECT_EQ(find_metric(s, "ttft_ms")->at("n"), 20);
  // The fake generates its tokens itself: every count is its own.
  EXPECT_EQ(s.at("token_sources"), (nlohmann::json{{"generator", 20}}));
  ASSERT_FALSE(s.at("validity").is_null());
  EXPECT_TRUE(s["validity"].at("valid").get<bool>()) << s["validity"].dump();
  // The schedule seed is recorded, and the journal holds one record per query.
  EXPECT_TRUE(results.at("seeds").contains("schedule"));
  int64_t lines = 0, levels = 0;
  for_each_jsonl(run / "samples.jsonl", [&](const nlohmann::json& j, int64_t) {
    if (j.at("type") == "level") {
      ++levels;
      return;
    }
    ++lines;
    EXPECT_GE(j.at("issued_ns").get<int64_t>(), j.at("scheduled_ns").get<int64_t>());
  });
  EXPECT_EQ(lines, 20);
  EXPECT_EQ(levels, 1);
  const auto run_json = nlohmann::json::parse(slurp(run / "run.json"));
  EXPECT_TRUE(run_json.at("target").at("id").get<std::string>().starts_with("cpu-"));
  EXPECT_NE(r.out.find("VALID"), std::string::npos);
}

TEST(throughput_cli, too_short_a_run_is_invalid_and_says_why) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "throughput", "--model", "fake:ttft_ms=0,tpot_ms=0,slots=2",
                                "--target", "cpu", "--threads", "1", "--scenario", "offline", "--queries", "4",
                                "--min-queries", "10", "--min-duration-s", "3600", "--input-len", "4",
                                "--output-len", "2", "--out", (dir / "runs").string()},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(only_run(dir / "runs") / "results.json"));
  const auto& v = results["suites"][0].at("validity");
  EXPECT_FALSE(v.at("valid").get<bool>());
  ASSERT_EQ(v.at("reasons").size(), 2u);
  EXPECT_NE(v["reasons"][0].get<std::string>().find("below the minimum 3600.000 s"), std::string::npos);
  EXPECT_NE(v["reasons"][1].get<std::string>().find("4 queries completed successfully, below the minimum 10"),
            std::string::npos);
  EXPECT_NE(r.out.find("INVALID"), std::string::npos);
}

TEST(throughput_cli, sweep_doubles_concurrency_and_stops_where_the_rule_says) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "throughput", "--model", "fake:ttft_ms=4,tpot_ms=2,slots=2",
                                "--target", "cpu", "--threads", "1", "--scenario", "sweep", "--queries", "12",
                                "--min-queries", "1", "--min-duration-s", "0", "--max-concurrency", "16",
                                "--input-len", "8", "--output-len", "6", "--out", (dir / "runs").string()},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(only_run(dir / "runs") / "results.json"));
  const auto& suites = results.at("suites");
  ASSERT_GE(suites.size(), 1u);
  ASSERT_LE(suites.size(), 5u);  // 1, 2, 4, 8, 16
  // The recorded rates decide where it stopped; no assumption about this machine's speed.
  double best = 0;
  for (std::size_t i = 0; i < suites.size(); ++i) {
    EXPECT_EQ(suites[i].at("per_task").at("concurrency"), int64_t{1} << i);
    const double v = find_metric(suites[i], "output_tok_s")->at("value").get<double>();
    const bool saturated = suites[i].at("per_task").at("saturated").get<bool>();
    EXPECT_EQ(saturated, i > 0 && v < best * 1.05) << i;
    if (i + 1 < suites.size()) {
      EXPECT_FALSE(saturated) << "continued past a saturated level " << i;
    } else if (suites.size() < 5) {
      EXPECT_TRUE(saturated) << "stopped early without saturation";
    }
    best = std::max(best, v);
  }
}

TEST(throughput_cli, bad_settings_are_errors_naming_the_flag) {
  temp_dir dir;
  const auto expect_bad = [&](std::vector<std::string> args, const std::string& needle) {
    std::vector<std::string> full = {"run", "--suite", "throughput", "--out", (dir / "runs").string()};
    full.insert(full.end(), args.begin(), args.end());
    const cli_result r = run_cli(full, dir.path());
    EXPECT_EQ(r.exit_code, 2) << needle << ": " << r.out;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  expect_bad({"--model", "fake:", "--scenario", "burst"}, "--scenario");
  expect_bad({"--model", "fake:", "--slo", "ttft=fast"}, "--slo");
  expect_bad({"--model", "fake:", "--scenario", "server", "--rate", "0"}, "--rate");
  expect_bad({"--model", "fake:", "--input-len", "uniform:9..2"}, "--input-len");
  expect_bad({"--model", "fake:slots=0"}, "--model");
  expect_bad({}, "needs a generating runner");
  expect_bad({"--model", "fake:", "--target", "tpu-v9"}, "unknown target 'tpu-v9'");
  // gguf: is the in-process engine; a missing model file is an error naming the file.
  expect_bad({"--model", "gguf:m.gguf"}, "m.gguf: cannot open");
  EXPECT_FALSE(fs::exists(dir / "runs") && !fs::is_empty(dir / "runs"));  // nothing written
}

TEST(throughput_cli, cost_suite_labels_modelled_rows_and_matches_the_projection) {
  temp_dir dir;
  const cli_result r = run_cli({"run", "--suite", "cost", "--target", "h100,h200,ascend-910c", "--model-config",
                                "deepseek-v3", "--batch", "1", "--context", "4096", "--out", (dir / "runs").string()},
                               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(only_run(dir / "runs") / "results.json"));
  ASSERT_EQ(results.at("suites").size(), 3u);
  const cli_result p = run_cli({"targets", "project", "--model-config", "deepseek-v3", "--target", "h200", "--batch",
                                "1", "--context", "4096", "--json"},
                               dir.path());
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto proj = nlohmann::json::parse(p.out);
  const auto& h200 = results["suites"][1];
  EXPECT_EQ(h200.at("per_task").at("target"), "h200");
  for (const auto& m : h200.at("metrics")) EXPECT_EQ(m.at("kind"), "modelled") << m.dump();
  const double decode = find_metric(h200, "decode_tok_s")->at("value").get<double>();
  EXPECT_DOUBLE_EQ(decode, proj.at("decode").at("tok_s").get<double>());
  // $/M output = devices x $/h / (decode tok/s x 3600 / 1e6), at InferenceX's hyperscaler rate.
  const double devices = proj.at("devices").get<double>();
  EXPECT_NEAR(find_metric(h200, "usd_per_mtok_output[inferencex-hyperscaler]")->at("value").get<double>(),
              devices * 1.41 / (decode * 3600 / 1e6), 1e-9);
  EXPECT_NEAR(find_metric(h200, "j_per_output_token_tdp")->at("value").get<double>(), devices * 700 / decode, 1e-9);
  EXPECT_NE(r.out.find("modelled"), std::string::npos);
  EXPECT_NE(r.out.find("ascend-910c"), std::string::npos);
}

TEST(targets_cli, list_json_has_every_figure_with_source_flag_and_confidence) {
  temp_dir dir;
  const cli_result r = run_cli({"targets", "list", "--json", "--no-probe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto all = nlohmann::json::parse(r.out);
  ASSERT_GE(all.size(), 8u);
  for (const auto& t : all)
    for (const auto& [key, f] : t.at("figures").items()) {
      EXPECT_TRUE(t.at("sources").contains(f.at("source").get<std::string>())) << t["id"] << "." << key;
      EXPECT_TRUE(f.contains("flag"));
      EXPECT_TRUE(f.contains("confidence"));
    }
  const cli_result bad = run_cli({"targets", "project", "--model-config", "nope", "--target", "h100"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("deepseek-v3"), std::string::npos);  // lists the built-in configs
}

}  // namespace
}  // namespace moebench
