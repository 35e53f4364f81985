// Replays the SSE fuzz target over seeds (OpenAI-style streams, CR/LF variants, comments,
// multi-line data, oversize lines) and a few thousand deterministic mutations of each.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> seeds() {
  return {
      std::string("\x05") + "data: {\"choices\":[{\"index\":0,\"text\":\"Hel\"}]}\n\ndata: [DONE]\n\n",
      std::string("\x01") + "event: ping\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n: comment\r\n\r\n",
      std::string("\x02") + "data:no-space\rdata\r\r\n\nretry: 5\nunknown: x\n\n",
      std::string("\x03") + "data: " + std::string(300, 'x') + "\n\n",
      std::string("\x04id: a\0b\ndata: z\n\n", 18),
      std::string("\x00", 1) + "\n\n\n\r\r\r\n\n:::\n",
  };
}

uint64_t next(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

TEST(sse_fuzz, replays_seeds_and_mutations) {
  uint64_t rng = 0x5353455f66757a7aull;
  const std::string alphabet("data: \r\n:{}[]DONE\0x\xc3", 20);
  int runs = 0;
  for (const auto& seed : seeds()) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
    ++runs;
    for (int m = 0; m < 1000; ++m) {
      std::string d = seed;
      const int edits = 1 + static_cast<int>(next(rng) % 5);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = d.empty() ? 0 : next(rng) % d.size();
        switch (next(rng) % 4) {
          case 0: if (!d.empty()) d[at] = alphabet[next(rng) % alphabet.size()]; break;
          case 1: d.insert(at, 1, alphabet[next(rng) % alphabet.size()]); break;
          case 2: if (!d.empty()) d.erase(at, 1 + next(rng) % 8); break;
          case 3: d.insert(at, d.substr(at, next(rng) % 64)); break;
        }
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(d.data()), d.size());
      ++runs;
    }
  }
  EXPECT_EQ(runs, 6 * 1001);
}

}  // namespace
