// `moebench run --suite humaneval --model gguf:...` end to end on a synthetic model: every
// record is complete and well formed (generation, routing telemetry, score), pass@k is
// reported, and the run carries the engine's telemetry summary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using moebench::testing::cli_result;
using moebench::testing::run_cli;
using moebench::testing::slurp;
using moebench::testing::temp_dir;

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(engine_run, humaneval_generation_run_is_complete_and_well_formed) {
  temp_dir dir;
  const std::string model = (dir / "m.gguf").string();
  cli_result r = run_cli({"model", "synth", "--preset", "dsv3-mini", "--type", "q8_0", "-o", model}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli({"run", "--suite", "humaneval", "--model", "gguf:" + model, "--n", "4", "--k", "1,2", "--limit", "3",
               "--temperature", "0.8", "--max-tokens", "40", "--out", (dir / "runs").string(), "--progress", "quiet"},
              dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(dir / "runs")) runs.push_back(e.path());
  ASSERT_EQ(runs.size(), 1u);
  const fs::path run = runs[0];

  const auto records = read_jsonl(run / "samples.jsonl");
  ASSERT_EQ(records.size(), 12u) << "3 tasks x 4 samples";
  std::map<std::string, std::set<std::string>> completions;
  std::set<std::string> keys;
  for (const auto& rec : records) {
    keys.insert(rec.at("key").get<std::string>());
    const auto& g = rec.at("generation");
    EXPECT_EQ(g.at("outcome"), "ok") << rec.dump();
    const std::string finish = g.at("finish_reason").get<std::string>();
    EXPECT_TRUE(finish == "stop" || finish == "length" || finish == "eos") << finish;
    EXPECT_GT(g.at("prompt_tokens").get<int64_t>(), 0);
    EXPECT_GE(g.at("completion_tokens").get<int64_t>(), 0);
    EXPECT_EQ(g.at("token_source"), "generator");  // the engine counted its own tokens
    EXPECT_LE(g.at("completion_tokens").get<int64_t>(), 40);
    if (finish == "length") {
      EXPECT_EQ(g.at("completion_tokens").get<int64_t>(), 40);
    }
    EXPECT_TRUE(rec.at("completion").is_string());
    for (const char* stop : {"\ndef ", "\nclass ", "\nif __name__", "\nprint("})
      EXPECT_EQ(rec["completion"].get<std::string>().find(stop), std::string::npos) << "stop sequences cut the text";
    // Routing telemetry of this sample: 2 MoE layers, 4 experts per token each.
    const auto& routing = rec.at("runner_extra").at("routing");
    ASSERT_EQ(routing.at("layers").size(), 2u);
    const int64_t tokens = routing.at("routed_tokens").get<int64_t>();
    EXPECT_EQ(tokens, g["prompt_tokens"].get<int64_t>() + g["completion_tokens"].get<int64_t>() -
                          (finish == "eos" || g["completion_tokens"].get<int64_t>() == 0 ? 0 : 1))
        << "every evaluated token is routed once per layer";
    for (const auto& l : routing["layers"]) {
      int64_t hits = 0;
      for (const auto& h : l.at("hits")) hits += h.get<int64_t>();
      EXPECT_EQ(hits, 4 * tokens);
      EXPECT_GE(l.at("imbalance").get<double>(), 1.0);
    }
    EXPECT_GT(rec["runner_extra"].at("active_weight_bytes_per_token").get<double>(), 0.0);
    EXPECT_TRUE(rec.at("score").contains("verdict")) << rec["score"].dump();
    completions[rec.at("task_id").get<std::string>()].insert(rec["completion"].get<std::string>());
  }
  EXPECT_EQ(keys.size(), 12u);
  int varied = 0;
  for (const auto& [task, texts] : completions) varied += texts.size() > 1 ? 1 : 0;
  EXPECT_GT(varied, 0) << "samples at temperature 0.8 with per-sample seeds differ";

  const auto results = nlohmann::json::parse(slurp(run / "results.json"));
  std::set<std::string> metrics;
  for (const auto& m : results["suites"][0]["metrics"]) metrics.insert(m["name"].get<std::string>());
  EXPECT_TRUE(metrics.contains("pass@1") && metrics.contains("pass@2")) << results["suites"][0]["metrics"].dump();
  EXPECT_EQ(results["model"]["details"]["architecture"], "deepseek2");
  const auto& t = results["model"]["telemetry"];
  EXPECT_EQ(t["samples"], 12);
  EXPECT_EQ(t["layers"].size(), 2u);
  EXPECT_GT(t["decode_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(t["prefill_tokens_per_s"].get<double>(), 0.0);
}

}  // namespace
