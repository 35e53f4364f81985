// Replays the tokenizer fuzz target over seeds (code, mixed scripts, special-token text,
// invalid UTF-8) and deterministic mutations of each, so CI exercises the entry point.
#include <gtest/gtest.h>

#include <cstdint>
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

TEST(tokenizer_fuzz, replays_seeds_and_mutations) {
  const std::vector<std::string> texts = {
      "the then in 123 4567 I'm <|end|><u> x",
      "def f(x):\n\treturn x  \r\n\n   \v\f",
      "\xE4\xB8\xAD\xE6\x96\x87 \xE3\x81\x82 \xED\x95\x9C caf\xC3\xA9 e\xCC\x81 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",
      "\xFF\xC3\x28\xE2\x82\xED\xA0\x80\xF4\x90\x80\x80\xC0\xAF",
      "\xC2\xA0\xC2\x85\xE3\x80\x80\xE2\x80\xA8 !!?? ((",
  };
  uint64_t rng = 0x746f6b656e697a65ull;
  int runs = 0;
  for (const auto& t : texts) {
    for (int sel = 0; sel < 256; sel += 7) {
      std::vector<uint8_t> d{static_cast<uint8_t>(sel)};
      d.insert(d.end(), t.begin(), t.end());
      LLVMFuzzerTestOneInput(d.data(), d.size());
      ++runs;
      for (int m = 0; m < 20; ++m) {
        std::vector<uint8_t> e = d;
        const int edits = 1 + static_cast<int>(next(rng) % 4);
        for (int k = 0; k < edits && e.size() > 1; ++k) {
          const std::size_t pos = 1 + next(rng) % (e.size() - 1);
          switch (next(rng) % 3) {
            case 0: e[pos] = static_cast<uint8_t>(next(rng)); break;
            case 1: e.erase(e.begin() + static_cast<std::ptrdiff_t>(pos)); break;
            default: e.insert(e.begin() + static_cast<std::ptrdiff_t>(pos), e[1 + next(rng) % (e.size() - 1)]); break;
          }
        }
        LLVMFuzzerTestOneInput(e.data(), e.size());
        ++runs;
      }
    }
  }
  EXPECT_GT(runs, 3000);
}

}  // namespace
