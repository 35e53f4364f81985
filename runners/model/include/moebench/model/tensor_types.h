#pragma once
// ggml tensor element types: their numeric ids as stored in GGUF, block layouts, and
// dequantisation to f32 by row. Block layouts are exactly ggml's (ggml-common.h); all
// multi-byte fields are little-endian and blocks are packed without padding.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace moebench::gguf {

// Every type id ggml defines (so that any real file's sizes can be validated); only some can be
// dequantised, see can_dequantize(). Ids 4, 5 (old Q4_2/Q4_3) and 31-33 (removed Q4_0_4_4 etc.)
// and 36-38 are retired in ggml and rejected as unknown.
enum class tensor_type : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_k = 10,
  q3_k = 11,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  iq2_xxs = 16,
  iq2_xs = 17,
  iq3_xxs = 18,
  iq1_s = 19,
  iq4_nl = 20,
  iq3_s = 21,
  iq2_s = 22,
  iq4_xs = 23,
  i8 = 24,
  i16 = 25,
  i32 = 26,
  i64 = 27,
  f64 = 28,
  iq1_m = 29,
  bf16 = 30,
  tq1_0 = 34,
  tq2_0 = 35,
  mxfp4 = 39,
  nvfp4 = 40,
  q1_0 = 41,
  q2_0 = 42,
};

struct tensor_type_traits {
  std::string_view name;   // ggml's name, lower case ("q4_K" is written "q4_k")
  int64_t block_elements;  // elements per block (1 for plain types)
  int64_t block_bytes;     // bytes per block
};

// nullopt for an id ggml does not define (or has retired).
std::optional<tensor_type> tensor_type_from_id(uint32_t id) noexcept;
const tensor_type_traits& traits(tensor_type t) noexcept;
inline std::string_view name(tensor_type t) noexcept { return traits(t).name; }
// Parses "f32", "q4_k", "Q4_K" ...; throws moebench::error "gguf.unknown_tensor_type".
tensor_type tensor_type_from_name(std::string_view name);

// Bytes of one row of `n` elements; nullopt when n is not a multiple of the block size or the
// size overflows.
std::optional<uint64_t> row_bytes(tensor_type t, int64_t n) noexcept;

// Types with a dequantiser here: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, MXFP4.
bool can_dequantize(tensor_type t) noexcept;

// Dequantises one row of n elements (n a multiple of the block size) from `src` (row_bytes(t, n)
// bytes, any alignment) into dst[0..n). Throws moebench::error "gguf.unsupported_type" when
// !can_dequantize(t); a bad n is a broken invariant (MOEBENCH_CHECK).
void dequantize_row(tensor_type t, const std::byte* src, float* dst, int64_t n);

// Quantisers used by the writer. Same n rule; dst holds row_bytes(t, n) bytes.
// Rounding follows ggml's reference quantisers (quantize_row_*_ref): bit-exactly for MXFP4
// (tested against gguf-py), closely but not bit-exactly for Q4_K (tests bound the round-trip
// error instead).
void quantize_row(tensor_type t, const float* src, std::byte* dst, int64_t n);
bool can_quantize(tensor_type t) noexcept;  // f32, f16, bf16, q8_0, q4_k, mxfp4

// IEEE half and bfloat16 conversions (round to nearest even; NaN kept NaN).
float f16_to_f32(uint16_t h) noexcept;
uint16_t f32_to_f16(float f) noexcept;
float bf16_to_f32(uint16_t h) noexcept;
uint16_t f32_to_bf16(float f) noexcept;

}  // namespace moebench::gguf
