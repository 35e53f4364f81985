// Replays the tokenizer fuzz target over seeds (code, mixed scripts, special-token text,
// invalid UTF-8) and deterministic mutations of each, so CI exercises the entry point.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "replay.h"

namespace {

TEST(tokenizer_fuzz, replays_seeds_and_mutations) {
  const std::vector<std::string> texts = {
      "the then in 123 4567 I'm <|end|><u> x",
      "def f(x):\n\treturn x  \r\n\n   \v\f",
      "\xE4\xB8\xAD\xE6\x96\x87 \xE3\x81\x82 \xED\x95\x9C caf\xC3\xA9 e\xCC\x81 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",
      "\xFF\xC3\x28\xE2\x82\xED\xA0\x80\xF4\x90\x80\x80\xC0\xAF",
      "\xC2\xA0\xC2\x85\xE3\x80\x80\xE2\x80\xA8 !!?? ((",
  };
  // The first byte picks the tokenizer and the special-token options: every 7th value, each with
  // every text; mutations keep it.
  std::vector<std::string> seeds;
  for (const auto& t : texts)
    for (int sel = 0; sel < 256; sel += 7) seeds.push_back(static_cast<char>(sel) + t);
  const moebench::fuzz::mutation_options o{
      .seed = 0x746f6b656e697a65ull, .mutations_per_seed = 20, .keep_prefix = 1,
      .dictionary = {"<|end|>", "<u>", "the", " ", "\n", "\t", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F", "'s"}};
  EXPECT_EQ(moebench::fuzz::replay(seeds, o), 5 * 37 * 21);
}

// The mutator the replay tests share: it must vary the input (or the replays test little) and
// never touch the kept selector prefix.
TEST(fuzz_replay, mutations_vary_and_keep_the_prefix) {
  const std::string seed = std::string("\x07") + "def f(x):\n\treturn x";
  const moebench::fuzz::mutation_options o{.keep_prefix = 1, .dictionary = {"<|end|>"}};
  moebench::rng r(1);
  std::set<std::string> distinct;
  bool grew = false, shrank = false, used_dictionary = false;
  for (int i = 0; i < 300; ++i) {
    std::string s = seed;
    moebench::fuzz::mutate(s, r, o);
    ASSERT_FALSE(s.empty());
    ASSERT_EQ(s[0], '\x07');
    distinct.insert(s);
    grew |= s.size() > seed.size();
    shrank |= s.size() < seed.size();
    used_dictionary |= s.find("<|end|>") != std::string::npos;
  }
  EXPECT_GT(distinct.size(), 250u);
  EXPECT_TRUE(grew && shrank && used_dictionary);
}

}  // namespace
