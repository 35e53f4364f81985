// libFuzzer entry point for the tokenizer: arbitrary bytes (any pre-tokenizer, special-token
// parsing on or off) must encode without crashing, and decoding must give back the input with
// invalid UTF-8 repaired (the vocabulary has a token for every byte).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "moebench/model/gpt2_bytes.h"
#include "moebench/text.h"
#include "moebench/tokenizer/tokenizer.h"

namespace {

using namespace moebench::tokenizer;

const std::vector<tokenizer>& tokenizers() {
  static const std::vector<tokenizer> all = [] {
    std::vector<tokenizer> out;
    for (const char* pre : {"default", "gpt-2", "llama-bpe", "qwen2", "qwen35", "deepseek-llm",
                            "deepseek-coder", "deepseek-v3", "falcon", "starcoder"}) {
      vocabulary v;
      v.tokens = moebench::gguf::gpt2_byte_tokens();
      const std::string sp = v.tokens[' '];
      for (const char* m : {"t h", "th e", "i n", "e r", "a n", "o n", "1 2", "12 3"}) v.merges.emplace_back(m);
      v.merges.push_back(sp + " t");
      for (const char* t : {"th", "the", "in", "er", "an", "on", "12", "123"}) v.tokens.emplace_back(t);
      v.tokens.push_back(sp + "t");
      v.types.assign(v.tokens.size(), token_type::normal);
      v.tokens.emplace_back("<|end|>");
      v.types.push_back(token_type::control);
      v.tokens.emplace_back("<u>");
      v.types.push_back(token_type::user_defined);
      v.pre = pre;
      v.bos = static_cast<token_id>(v.tokens.size() - 2);
      out.emplace_back(v);
    }
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& toks = tokenizers();
  const tokenizer& tok = toks[data[0] % toks.size()];
  const encode_options opts{.add_special = (data[0] & 0x40) != 0, .parse_special = (data[0] & 0x80) != 0};
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<token_id> ids = tok.encode(text, opts);
  std::string expected = moebench::to_valid_utf8(text);
  if (opts.add_special && tok.add_bos()) expected = "<|end|>" + expected;
  if (tok.decode(ids, {.render_special = true}) != expected) {
    std::fprintf(stderr, "tokenizer round trip failed (pre %d)\n", static_cast<int>(data[0] % toks.size()));
    std::abort();
  }
  return 0;
}
