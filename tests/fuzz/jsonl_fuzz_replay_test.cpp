// Replays the JSONL fuzz target over seed files (our problem set, samples, hostile lines) and
// deterministic mutations of each, so CI exercises the entry point.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "replay.h"

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(jsonl_fuzz, replays_seeds_and_mutations) {
  const std::filesystem::path data = std::filesystem::path(MOEBENCH_TEST_SOURCE_DIR) / "suites/humaneval/data";
  std::string problems = slurp(data / "problems.jsonl");
  ASSERT_FALSE(problems.empty());
  const std::vector<std::string> seeds = {
      problems.substr(0, 4000),
      slurp(data / "wrong_solutions.jsonl").substr(0, 3000),
      R"({"task_id": "a", "prompt": "", "canonical_solution": "", "test": "", "entry_point": "f"})" "\n"
      R"({"task_id": "a", "prompt": 1})" "\n",
      "{\"task_id\": \"\xFF\xFE\", \"completion\": \"\\ud800\"}\n[1]\n{\n\"x\":1e999999}\n",
      std::string("{\"a\":\"\0\"}\n", 10),
  };
  const moebench::fuzz::mutation_options o{.seed = 0x6a736f6e6c66757aull,
                                           .mutations_per_seed = 400,
                                           .max_edits = 8,
                                           .dictionary = {"{", "}", "[", "]", "\"", ":", ",", "\n", "\\"}};
  EXPECT_EQ(moebench::fuzz::replay(seeds, o), 5 * 401);
}

}  // namespace
