#pragma once
// The GPT-2 byte <-> Unicode mapping of byte-level BPE: every byte is shown as one printable
// code point so that vocabularies and merges are plain text. GGUF files spell the tokens and
// merges of byte-level vocabularies (tokenizer.ggml.model "gpt2") this way, so both the
// tokenizer and the built-in vocabulary of synthetic models use it. Printable Latin-1 bytes
// ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) map to themselves; the other 68 bytes, in
// increasing order, map to U+0100, U+0101, ...
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moebench::gguf {

class byte_map {
 public:
  byte_map();
  // UTF-8 of the code point that stands for byte `b` (2 bytes at most).
  std::string_view encode(uint8_t b) const noexcept { return {utf8_[b].data(), len_[b]}; }
  // The byte a code point stands for, or -1 when it is not one of the 256.
  int decode(uint32_t code_point) const noexcept {
    return code_point < to_byte_.size() ? to_byte_[code_point] : -1;
  }
  // Decodes mapped text to raw bytes. Code points outside the mapping are kept as their UTF-8;
  // returns false when there was any (the text is then not a pure byte-level string).
  bool decode_text(std::string_view mapped, std::string& raw) const;

 private:
  std::array<std::array<char, 2>, 256> utf8_{};
  std::array<uint8_t, 256> len_{};
  std::array<int16_t, 324> to_byte_{};
};

const byte_map& gpt2_byte_map();
// The spellings of bytes 0..255 in order: the first 256 tokens of a byte-level vocabulary.
std::vector<std::string> gpt2_byte_tokens();

}  // namespace moebench::gguf
