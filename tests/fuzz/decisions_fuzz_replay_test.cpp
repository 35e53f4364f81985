// Replays the shipped claims files, a gate policy and claim expressions, and deterministic
// mutations of them, through the fuzz entry point.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "moebench/io.h"
#include "replay.h"

namespace {

std::string source_dir() {
  const char* env = std::getenv("MOEBENCH_SOURCE_DIR");
  return env != nullptr ? env : MOEBENCH_TEST_SOURCE_DIR;
}

TEST(decisions_fuzz, seeds_and_mutations_only_ever_raise_moebench_errors) {
  const std::string root = source_dir();
  const std::vector<std::string> corpus = {
      std::string(1, '\0') + moebench::read_file(root + "/claims/deepseek-v4-rumour.json"),
      std::string(1, '\0') + moebench::read_file(root + "/claims/deepseek-v4-published.json"),
      std::string(1, '\1') + R"({"alpha": 0.05, "accuracy_floor_points": 1, "speed_floor_percent": 3,
          "min_repetitions": 9, "fail_on_inconclusive": false, "multiple_comparisons": "holm",
          "exclude": ["*.duration_s"], "metrics": {"throughput.*_ms": {"floor_percent": 10, "gate": true}}})",
      std::string(1, '\2') + "ratio(cost.decode_tok_s_per_device, ascend-910c, h100) >= 60%",
      std::string(1, '\2') + "cost.usd_per_mtok_input[tier] <= 0.30 on ascend-910c",
      std::string(1, '\2') + "model.total_params in [0.9e12, 1.1e12]"};
  const moebench::fuzz::mutation_options o{
      .seed = 20261204,
      .mutations_per_seed = 3000 / static_cast<int64_t>(corpus.size()),
      .keep_prefix = 1,
      .dictionary = {"{", "}", "[", "]", ",", ":", "\"", ">=", "<=", "==", " in ", " on ", "ratio(", ")",
                     "%", "1e309", "-0", "model.", "\"claim\"", "\"claims\"", "\"metrics\""}};
  EXPECT_GE(moebench::fuzz::replay(corpus, o), 3000);
}

}  // namespace
