#pragma once
// What the GGUF reader and writer both need to know about metadata value types: one table of
// names, element sizes and kinds, and the one decoding of a scalar's bytes.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "moebench/model/gguf.h"

namespace moebench::gguf::detail {

struct value_type_traits {
  std::string_view name;
  uint64_t scalar_bytes;  // bytes of one element; 0 for string and array
  bool is_integer;
  bool is_signed;
  bool is_float;
};

constexpr value_type_traits value_traits(value_type t) noexcept {
  switch (t) {
    case value_type::u8: return {"u8", 1, true, false, false};
    case value_type::i8: return {"i8", 1, true, true, false};
    case value_type::u16: return {"u16", 2, true, false, false};
    case value_type::i16: return {"i16", 2, true, true, false};
    case value_type::u32: return {"u32", 4, true, false, false};
    case value_type::i32: return {"i32", 4, true, true, false};
    case value_type::f32: return {"f32", 4, false, false, true};
    case value_type::boolean: return {"bool", 1, false, false, false};
    case value_type::string: return {"string", 0, false, false, false};
    case value_type::array: return {"array", 0, false, false, false};
    case value_type::u64: return {"u64", 8, true, false, false};
    case value_type::i64: return {"i64", 8, true, true, false};
    case value_type::f64: return {"f64", 8, false, false, true};
  }
  return {"?", 0, false, false, false};
}

inline uint64_t load_le(const std::byte* p, uint64_t n) noexcept {
  uint64_t v = 0;
  for (uint64_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// Decodes a scalar of type t at p into the canonical 64-bit payload (that of value and
// owned_value): integers sign- or zero-extended, floats as the bits of a double, bools as stored
// (the reader has checked they are 0 or 1).
inline uint64_t decode_scalar(value_type t, const std::byte* p) noexcept {
  const uint64_t raw = load_le(p, value_traits(t).scalar_bytes);
  switch (t) {
    case value_type::i8: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(raw)));
    case value_type::i16:
      return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(raw)));
    case value_type::i32:
      return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw)));
    case value_type::f32:
      return std::bit_cast<uint64_t>(static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(raw))));
    case value_type::u8:
    case value_type::u16:
    case value_type::u32:
    case value_type::u64:
    case value_type::i64:
    case value_type::f64:
    case value_type::boolean:
    case value_type::string:
    case value_type::array: return raw;
  }
  return raw;
}

}  // namespace moebench::gguf::detail
