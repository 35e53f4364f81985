// Replays the JSONL fuzz target over seed files (our problem set, samples, hostile lines) and
// deterministic mutations of each, so CI exercises the entry point.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

uint64_t next(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

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
  uint64_t rng = 0x6a736f6e6c66757aull;
  int runs = 0;
  for (const auto& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
    ++runs;
    for (int m = 0; m < 400; ++m) {
      std::string e = seed;
      const int edits = 1 + static_cast<int>(next(rng) % 8);
      for (int k = 0; k < edits && !e.empty(); ++k) {
        const std::size_t pos = next(rng) % e.size();
        switch (next(rng) % 4) {
          case 0: e[pos] = static_cast<char>(next(rng)); break;
          case 1: e.erase(pos, 1 + next(rng) % 16); break;
          case 2: e.insert(pos, 1, "{}[]\":,\n\\"[next(rng) % 9]); break;
          default: e.resize(pos); break;
        }
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(e.data()), e.size());
      ++runs;
    }
  }
  EXPECT_GE(runs, 2000);
}

}  // namespace
