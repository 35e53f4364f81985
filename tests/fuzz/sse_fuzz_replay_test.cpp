// Replays the SSE fuzz target over seeds (OpenAI-style streams, CR/LF variants, comments,
// multi-line data, oversize lines) and a few thousand deterministic mutations of each.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "replay.h"

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

TEST(sse_fuzz, replays_seeds_and_mutations) {
  const moebench::fuzz::mutation_options o{
      .seed = 0x5353455f66757a7aull,
      .mutations_per_seed = 1000,
      .max_edits = 5,
      .dictionary = {"data:", "data: ", "event:", "id:", "retry:", ":", " ", "\r", "\n", "\r\n", "\n\n",
                     "[DONE]", "{", "}", std::string(1, '\0'), "\xc3"}};
  EXPECT_EQ(moebench::fuzz::replay(seeds(), o), 6 * 1001);
}

}  // namespace
