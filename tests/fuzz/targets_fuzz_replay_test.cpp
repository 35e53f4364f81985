// Replays the seed corpus and a few thousand deterministic mutations of it through the fuzz
// entry point, so CI exercises the parsers without libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "moebench/io.h"
#include "replay.h"

namespace {

std::string source_dir() {
  const char* env = std::getenv("MOEBENCH_SOURCE_DIR");
  return env != nullptr ? env : MOEBENCH_TEST_SOURCE_DIR;
}

std::vector<std::string> seeds() {
  const std::string root = source_dir();
  std::vector<std::string> out;
  out.push_back(std::string(1, '\0') + moebench::read_file(root + "/targets/data/accelerators.json"));
  out.push_back(std::string(1, '\1') + moebench::read_file(root + "/targets/data/model_configs.json"));
  for (const auto& e : std::filesystem::directory_iterator(root + "/tests/fuzz/corpus/targets"))
    out.push_back(moebench::read_file(e.path()));
  return out;
}

TEST(targets_fuzz, seed_corpus_and_mutations_only_ever_raise_moebench_errors) {
  const auto corpus = seeds();
  ASSERT_GE(corpus.size(), 4u);
  // The first byte picks the parser: mutations keep it.
  const moebench::fuzz::mutation_options o{
      .seed = 20261128,
      .mutations_per_seed = 3000 / static_cast<int64_t>(corpus.size()),
      .keep_prefix = 1,
      .dictionary = {"{", "}", "[", "]", ",", ":", "\"", "null", "-1", "1e309", "0", "\"value\"",
                     "\"source\"", "\"flag\"", "18446744073709551615"}};
  EXPECT_GE(moebench::fuzz::replay(corpus, o), 3000);
}

}  // namespace
