#pragma once
// Pre-tokenizers: the split regexes llama.cpp applies for each tokenizer.ggml.pre, compiled with
// PCRE2 (UTF + Unicode properties, JIT). Internal to moebench_tokenizer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/tokenizer/tokenizer.h"

namespace moebench::tokenizer::detail {

// A byte range [begin, end) of the text being split.
struct piece {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// One compiled pattern. Immutable; shared by every thread.
class regex {
 public:
  explicit regex(const std::string& pattern);
  regex(regex&&) noexcept;
  regex& operator=(regex&&) noexcept;
  ~regex();
  // Opaque PCRE2 handle (pcre2_code_8*).
  void* code() const noexcept { return code_; }

 private:
  void* code_ = nullptr;
};

// Per-thread matching state (PCRE2 match data and JIT stack).
class match_scratch {
 public:
  match_scratch();
  match_scratch(match_scratch&&) noexcept;
  match_scratch& operator=(match_scratch&&) noexcept;
  ~match_scratch();
  // Finds the leftmost match of `re` in subject[start, subject.size()), the subject being the
  // whole chunk (lookarounds do not see past it). Returns false when there is none.
  bool find(const regex& re, std::string_view subject, std::size_t start, std::size_t& match_begin,
            std::size_t& match_end);

 private:
  void* match_data_ = nullptr;
  void* match_context_ = nullptr;
  void* jit_stack_ = nullptr;
};

// The patterns of one pre-tokenizer, in the order they are applied.
std::vector<std::string> patterns(pre_tokenizer p);

class splitter {
 public:
  explicit splitter(pre_tokenizer p);
  // Splits valid UTF-8 `text` into pieces that cover it exactly, in order: each pattern in turn
  // splits every piece produced by the previous one into its matches and the gaps between them
  // (llama.cpp's unicode_regex_split). `tmp` is scratch space.
  void split(std::string_view text, match_scratch& scratch, std::vector<piece>& out,
             std::vector<piece>& tmp) const;

 private:
  std::vector<regex> regexes_;
};

}  // namespace moebench::tokenizer::detail
