// Replays the seed corpus and a few thousand deterministic mutations of it through the fuzz
// entry point, so CI exercises the parsers without libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "moebench/io.h"
#include "moebench/stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string source_dir() {
  const char* env = std::getenv("MOEBENCH_SOURCE_DIR");
  return env != nullptr ? env : MOEBENCH_TEST_SOURCE_DIR;
}

void feed(const std::string& bytes) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
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
  for (const auto& s : corpus) feed(s);
  static constexpr std::string_view tokens[] = {"{", "}", "[", "]", ",", ":", "\"", "null", "-1", "1e309",
                                                "0", "\"value\"", "\"source\"", "\"flag\"", "18446744073709551615"};
  moebench::rng r(20261128);
  for (int i = 0; i < 3000; ++i) {
    std::string s = corpus[r.bounded(corpus.size())];
    const int edits = 1 + static_cast<int>(r.bounded(4));
    for (int e = 0; e < edits && s.size() > 1; ++e) {
      const std::size_t pos = 1 + r.bounded(s.size() - 1);
      switch (r.bounded(4)) {
        case 0: s[pos] = static_cast<char>(r.bounded(256)); break;
        case 1: s.erase(pos, 1 + r.bounded(16)); break;
        case 2: s.insert(pos, tokens[r.bounded(std::size(tokens))]); break;
        case 3: s.resize(pos); break;
      }
    }
    feed(s);
  }
}

}  // namespace
