#pragma once
// The replay half of every fuzz target: feeds a seed corpus and a few thousand deterministic
// mutations of it through the target's LLVMFuzzerTestOneInput, so that CI exercises the entry
// point (and the parser's own checks and aborts) without libFuzzer. The mutations come from the
// harness's portable rng, so a failure reproduces on every machine.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace moebench::fuzz {

struct mutation_options {
  uint64_t seed = 1;                 // of the mutation stream
  int64_t mutations_per_seed = 1000;
  int64_t max_edits = 4;             // each mutation makes 1 to max_edits edits
  std::size_t keep_prefix = 0;       // leading bytes never edited (a target's selector byte)
  // Strings that inserts and overwrites use besides random bytes: the format's punctuation,
  // keywords and delimiters, which random bytes would rarely hit.
  std::vector<std::string> dictionary{};
};

inline void feed(std::string_view bytes) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// One to max_edits edits of `s` after its kept prefix: bit flips, random or dictionary bytes,
// erasures, truncation, duplicated chunks, and boundary integers (counts, lengths, offsets of
// binary formats) written little-endian.
inline void mutate(std::string& s, rng& r, const mutation_options& o) {
  static constexpr std::array<uint64_t, 8> boundary{0, 1, 0x7f, 0xff, 0x7fffffffull, 0xffffffffull,
                                                    0x8000000000000000ull, ~0ull};
  const auto edits = static_cast<int64_t>(1 + r.bounded(static_cast<uint64_t>(o.max_edits)));
  for (int64_t e = 0; e < edits; ++e) {
    if (s.size() < o.keep_prefix) return;
    const uint64_t editable = s.size() - o.keep_prefix;
    // Inserts may go at the end; the other edits need a byte to act on.
    const std::size_t insert_at = o.keep_prefix + r.bounded(editable + 1);
    auto random_byte = [&] { return static_cast<char>(r.bounded(256)); };
    auto token = [&] {
      return o.dictionary.empty() ? std::string(1, random_byte())
                                  : o.dictionary[r.bounded(o.dictionary.size())];
    };
    if (editable == 0) {
      s.insert(insert_at, token());
      continue;
    }
    const std::size_t at = o.keep_prefix + r.bounded(editable);
    switch (r.bounded(8)) {
      case 0: s[at] = static_cast<char>(s[at] ^ (1 << r.bounded(8))); break;
      case 1: s[at] = random_byte(); break;
      case 2: s.insert(insert_at, token()); break;
      case 3: s.replace(at, 1, token()); break;
      case 4: s.erase(at, 1 + r.bounded(16)); break;
      case 5: s.resize(at); break;
      case 6: s.insert(insert_at, s.substr(at, 1 + r.bounded(64))); break;
      case 7: {
        const uint64_t v = boundary[r.bounded(boundary.size())];
        for (std::size_t b = 0; b < 8 && at + b < s.size(); ++b) s[at + b] = static_cast<char>(v >> (8 * b));
        break;
      }
    }
  }
}

// Feeds every seed, then o.mutations_per_seed mutations of each; returns the inputs fed.
inline int64_t replay(const std::vector<std::string>& seeds, const mutation_options& o) {
  rng r(o.seed);
  int64_t runs = 0;
  for (const std::string& seed : seeds) {
    feed(seed);
    ++runs;
    for (int64_t m = 0; m < o.mutations_per_seed; ++m) {
      std::string s = seed;
      mutate(s, r, o);
      feed(s);
      ++runs;
    }
  }
  return runs;
}

}  // namespace moebench::fuzz
