// The built-in byte-level BPE vocabulary of synthetic models: merges learnt, deterministically,
// from a small text of our own, so that token ids are meaningful for English and code.
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "moebench/error.h"
#include "moebench/model/gpt2_bytes.h"
#include "moebench/model/synth.h"

namespace moebench::model {

namespace {

constexpr std::string_view training_text = R"TXT(
The benchmark measures how fast a model answers and how often the answer is right. A mixture of
experts routes every token to a few experts out of many, so the weights read for one token are a
small part of the whole model. The router picks the experts with the highest scores; the shared
experts run for every token. When the cache holds the keys and values of earlier tokens, the next
token only needs one more row. The quick brown fox jumps over the lazy dog, and then the dog runs
after the fox into the forest, where there are trees, rivers and other animals.
It is what it is: we don't know, they're here, you'll see, I'm sure, she's right, we've done it.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 12 16 32 64 128 256 512 1024 2048 4096 3.14159 2.71828 100%.

def add(a, b):
    """Return the sum of a and b."""
    return a + b

def fibonacci(n):
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)

for i in range(10):
    print(i, fibonacci(i))

class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()

#include <stdio.h>
int main(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
        printf("%s\n", argv[i]);
    }
    return 0;
}
)TXT";

enum class char_class { letter, digit, space, other };
char_class classify(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return char_class::letter;
  if (c >= '0' && c <= '9') return char_class::digit;
  if (c == ' ' || c == '\n' || c == '\t' || c == '\r') return char_class::space;
  return char_class::other;
}

// A simplified GPT-2 style pre-split: runs of one class, a single leading space attached to the
// following letters/digits/punctuation. Merges never cross these boundaries.
std::vector<std::string> pre_split(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    if (text[j] == ' ' && j + 1 < text.size() &&
        classify(static_cast<unsigned char>(text[j + 1])) != char_class::space)
      ++j;
    const char_class c = classify(static_cast<unsigned char>(text[j]));
    std::size_t k = j + 1;
    while (k < text.size() && classify(static_cast<unsigned char>(text[k])) == c) ++k;
    words.emplace_back(text.substr(i, k - i));
    i = k;
  }
  return words;
}

builtin_vocab build() {
  constexpr std::size_t vocab_size = 512;
  constexpr std::size_t n_special = 2;
  const std::vector<std::string> bytes = gguf::gpt2_byte_tokens();

  std::map<std::string, int> word_counts;
  for (const std::string& w : pre_split(training_text)) ++word_counts[w];
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [w, n] : word_counts) {
    std::vector<std::string> symbols;
    for (unsigned char c : w) symbols.push_back(bytes[c]);
    words.emplace_back(std::move(symbols), n);
  }

  builtin_vocab v;
  v.tokens = bytes;
  while (v.tokens.size() + n_special < vocab_size) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [symbols, n] : words)
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += n;
    // Most frequent pair; ties go to the lexicographically smallest (std::map order).
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (best == pairs.end() || it->second > best->second) best = it;
    MOEBENCH_CHECK(best != pairs.end(), "builtin vocabulary: training text too small");
    const auto [left, right] = best->first;
    const std::string merged = left + right;
    v.merges.push_back(left + " " + right);
    // Different pairs can spell the same string ("a"+"bc", "ab"+"c"): one token serves both.
    if (std::find(v.tokens.begin(), v.tokens.end(), merged) == v.tokens.end())
      v.tokens.push_back(merged);
    for (auto& [symbols, n] : words) {
      std::vector<std::string> next;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          next.push_back(merged);
          ++i;
        } else {
          next.push_back(symbols[i]);
        }
      }
      symbols = std::move(next);
    }
  }
  v.token_types.assign(v.tokens.size(), 1);
  v.bos_id = static_cast<int32_t>(v.tokens.size());
  v.tokens.emplace_back("<|begin_of_text|>");
  v.eos_id = static_cast<int32_t>(v.tokens.size());
  v.tokens.emplace_back("<|end_of_text|>");
  v.token_types.push_back(3);
  v.token_types.push_back(3);
  return v;
}

}  // namespace

const builtin_vocab& default_vocab() {
  static const builtin_vocab v = build();
  return v;
}

}  // namespace moebench::model
