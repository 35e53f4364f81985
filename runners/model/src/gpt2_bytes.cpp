#include "moebench/model/gpt2_bytes.h"

namespace moebench::gguf {

byte_map::byte_map() {
  to_byte_.fill(-1);
  auto printable = [](int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  int next_extra = 256;
  for (int b = 0; b < 256; ++b) {
    const int cp = printable(b) ? b : next_extra++;
    to_byte_[static_cast<std::size_t>(cp)] = static_cast<int16_t>(b);
    if (cp < 0x80) {
      utf8_[b][0] = static_cast<char>(cp);
      len_[b] = 1;
    } else {
      utf8_[b][0] = static_cast<char>(0xC0 | (cp >> 6));
      utf8_[b][1] = static_cast<char>(0x80 | (cp & 0x3F));
      len_[b] = 2;
    }
  }
}

bool byte_map::decode_text(std::string_view mapped, std::string& raw) const {
  bool pure = true;
  for (std::size_t i = 0; i < mapped.size();) {
    const auto c0 = static_cast<unsigned char>(mapped[i]);
    int b = -1;
    std::size_t n = 1;
    if (c0 < 0x80) {
      b = decode(c0);
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < mapped.size() &&
               (static_cast<unsigned char>(mapped[i + 1]) & 0xC0) == 0x80) {
      n = 2;
      b = decode(((c0 & 0x1Fu) << 6) | (static_cast<unsigned char>(mapped[i + 1]) & 0x3Fu));
    }
    if (b >= 0) {
      raw.push_back(static_cast<char>(b));
    } else {
      // Not a mapped byte: keep the whole character (or the stray byte) as it is.
      if (c0 >= 0xC0) {
        while (i + n < mapped.size() && (static_cast<unsigned char>(mapped[i + n]) & 0xC0) == 0x80) ++n;
      }
      raw.append(mapped.substr(i, n));
      pure = false;
    }
    i += n;
  }
  return pure;
}

const byte_map& gpt2_byte_map() {
  static const byte_map map;
  return map;
}

std::vector<std::string> gpt2_byte_tokens() {
  std::vector<std::string> out;
  out.reserve(256);
  for (int b = 0; b < 256; ++b) out.emplace_back(gpt2_byte_map().encode(static_cast<uint8_t>(b)));
  return out;
}

}  // namespace moebench::gguf
