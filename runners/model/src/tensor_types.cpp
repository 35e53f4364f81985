#include "moebench/model/tensor_types.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "moebench/error.h"

namespace moebench::gguf {

namespace {

constexpr int64_t qk_k = 256;  // super-block size of the k-quants

struct type_row {
  tensor_type type;
  tensor_type_traits traits;
};

// Sizes from ggml-common.h's block structs (see docs/gguf.md for the layouts).
constexpr std::array<type_row, 34> type_table{{
    {tensor_type::f32, {"f32", 1, 4}},
    {tensor_type::f16, {"f16", 1, 2}},
    {tensor_type::q4_0, {"q4_0", 32, 18}},
    {tensor_type::q4_1, {"q4_1", 32, 20}},
    {tensor_type::q5_0, {"q5_0", 32, 22}},
    {tensor_type::q5_1, {"q5_1", 32, 24}},
    {tensor_type::q8_0, {"q8_0", 32, 34}},
    {tensor_type::q8_1, {"q8_1", 32, 36}},
    {tensor_type::q2_k, {"q2_k", qk_k, 84}},
    {tensor_type::q3_k, {"q3_k", qk_k, 110}},
    {tensor_type::q4_k, {"q4_k", qk_k, 144}},
    {tensor_type::q5_k, {"q5_k", qk_k, 176}},
    {tensor_type::q6_k, {"q6_k", qk_k, 210}},
    {tensor_type::q8_k, {"q8_k", qk_k, 292}},
    {tensor_type::iq2_xxs, {"iq2_xxs", qk_k, 66}},
    {tensor_type::iq2_xs, {"iq2_xs", qk_k, 74}},
    {tensor_type::iq3_xxs, {"iq3_xxs", qk_k, 98}},
    {tensor_type::iq1_s, {"iq1_s", qk_k, 50}},
    {tensor_type::iq4_nl, {"iq4_nl", 32, 18}},
    {tensor_type::iq3_s, {"iq3_s", qk_k, 110}},
    {tensor_type::iq2_s, {"iq2_s", qk_k, 82}},
    {tensor_type::iq4_xs, {"iq4_xs", qk_k, 136}},
    {tensor_type::i8, {"i8", 1, 1}},
    {tensor_type::i16, {"i16", 1, 2}},
    {tensor_type::i32, {"i32", 1, 4}},
    {tensor_type::i64, {"i64", 1, 8}},
    {tensor_type::f64, {"f64", 1, 8}},
    {tensor_type::iq1_m, {"iq1_m", qk_k, 56}},
    {tensor_type::bf16, {"bf16", 1, 2}},
    {tensor_type::tq1_0, {"tq1_0", qk_k, 54}},
    {tensor_type::tq2_0, {"tq2_0", qk_k, 66}},
    {tensor_type::mxfp4, {"mxfp4", 32, 17}},
    {tensor_type::nvfp4, {"nvfp4", 64, 36}},
    {tensor_type::q1_0, {"q1_0", 128, 18}},
}};
// q2_0 is listed separately to keep the table's size honest in one place.
constexpr type_row q2_0_row{tensor_type::q2_0, {"q2_0", 64, 18}};

uint16_t load_u16(const std::byte* p) noexcept {
  return static_cast<uint16_t>(static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8));
}
uint32_t load_u32(const std::byte* p) noexcept {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
void store_u16(std::byte* p, uint16_t v) noexcept {
  p[0] = static_cast<std::byte>(v & 0xff);
  p[1] = static_cast<std::byte>(v >> 8);
}
uint8_t u8(const std::byte* p, int64_t i) noexcept { return static_cast<uint8_t>(p[i]); }

}  // namespace

std::optional<tensor_type> tensor_type_from_id(uint32_t id) noexcept {
  for (const auto& r : type_table)
    if (static_cast<uint32_t>(r.type) == id) return r.type;
  if (id == static_cast<uint32_t>(q2_0_row.type)) return q2_0_row.type;
  return std::nullopt;
}

const tensor_type_traits& traits(tensor_type t) noexcept {
  for (const auto& r : type_table)
    if (r.type == t) return r.traits;
  MOEBENCH_CHECK(t == tensor_type::q2_0, "tensor type outside the closed enum");
  return q2_0_row.traits;
}

tensor_type tensor_type_from_name(std::string_view n) {
  std::string lower(n);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& r : type_table)
    if (r.traits.name == lower) return r.type;
  if (q2_0_row.traits.name == lower) return q2_0_row.type;
  throw error("gguf.unknown_tensor_type", fmt::format("unknown tensor type '{}'", n));
}

std::optional<uint64_t> row_bytes(tensor_type t, int64_t n) noexcept {
  const tensor_type_traits& tr = traits(t);
  if (n < 0 || n % tr.block_elements != 0) return std::nullopt;
  const auto blocks = static_cast<uint64_t>(n / tr.block_elements);
  const auto bb = static_cast<uint64_t>(tr.block_bytes);
  if (blocks > std::numeric_limits<uint64_t>::max() / bb) return std::nullopt;
  return blocks * bb;
}

bool can_quantize(tensor_type t) noexcept {
  return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::bf16 ||
         t == tensor_type::q8_0 || t == tensor_type::q4_k || t == tensor_type::mxfp4;
}

// ---- half precision ------------------------------------------------------------------------

float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float f) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t exp = (x >> 23) & 0xffu;
  const uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff)  // inf or NaN (keep NaN quiet and non-zero)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? 0x200u : 0u));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign;  // underflow -> signed zero
    // Subnormal: shift the full mantissa (with its implicit bit) and round to nearest even.
    const uint32_t m = mant | 0x800000u;
    const auto shift = static_cast<uint32_t>(14 - e);
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;  // may carry into the exponent: fine
  return static_cast<uint16_t>(sign | r);
}

float bf16_to_f32(uint16_t h) noexcept { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
  const uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

// ---- dequantisation ------------------------------------------------------------------------

namespace {

// Block layouts (byte offsets inside one block), as ggml-common.h:
//   q4_0 (32 values, 18 bytes): d:f16 @0, qs[16] @2 (low nibbles: values 0..15, high: 16..31)
//   q5_0 (32, 22): d:f16 @0, qh:u32 @2 (5th bits), qs[16] @6
//   q8_0 (32, 34): d:f16 @0, qs:int8[32] @2
//   q4_k (256, 144): d:f16 @0, dmin:f16 @2, scales[12] @4 (8 x 6-bit scale + 8 x 6-bit min),
//                    qs[128] @16
//   q5_k (256, 176): d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
//   q6_k (256, 210): ql[128] @0, qh[64] @128, scales:int8[16] @192, d:f16 @208
//   mxfp4 (32, 17): e:E8M0 @0 (scale 2^(e-127)), qs[16] @1 (4-bit E2M1 codes; low nibbles:
//                   values 0..15, high: 16..31)

void dequant_q4_0(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 18, y += 32) {
    const float d = f16_to_f32(load_u16(x));
    for (int j = 0; j < 16; ++j) {
      const uint8_t q = u8(x, 2 + j);
      y[j] = static_cast<float>((q & 0xf) - 8) * d;
      y[j + 16] = static_cast<float>((q >> 4) - 8) * d;
    }
  }
}

void dequant_q5_0(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 22, y += 32) {
    const float d = f16_to_f32(load_u16(x));
    const uint32_t qh = load_u32(x + 2);
    for (int j = 0; j < 16; ++j) {
      const uint8_t q = u8(x, 6 + j);
      const int lo = static_cast<int>((q & 0xf) | (((qh >> j) & 1u) << 4)) - 16;
      const int hi = static_cast<int>((q >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16;
      y[j] = static_cast<float>(lo) * d;
      y[j + 16] = static_cast<float>(hi) * d;
    }
  }
}

void dequant_q8_0(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 34, y += 32) {
    const float d = f16_to_f32(load_u16(x));
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(u8(x, 2 + j))) * d;
  }
}

// The header Q4_K and Q5_K super-blocks share: d:f16 @0, dmin:f16 @2, and @4 twelve bytes
// packing eight 6-bit scales and eight 6-bit mins, one pair per 32-value sub-block.
struct k_header {
  float d;
  float dmin;
  const std::byte* packed;

  explicit k_header(const std::byte* block)
      : d(f16_to_f32(load_u16(block))), dmin(f16_to_f32(load_u16(block + 2))), packed(block + 4) {}

  // Sub-block j (0..7) decodes as d * scale * q - dmin * min: returns {d * scale, dmin * min}.
  std::pair<float, float> scale_min(int j) const {
    int sc = 0;
    int m = 0;
    if (j < 4) {
      sc = u8(packed, j) & 63;
      m = u8(packed, j + 4) & 63;
    } else {
      sc = (u8(packed, j + 4) & 0xf) | ((u8(packed, j - 4) >> 6) << 4);
      m = (u8(packed, j + 4) >> 4) | ((u8(packed, j) >> 6) << 4);
    }
    return {d * static_cast<float>(sc), dmin * static_cast<float>(m)};
  }
};

// The inverse of k_header::scale_min's unpacking: eight 6-bit scales and mins into 12 bytes.
void pack_scale_min_k(const std::array<int, 8>& sc, const std::array<int, 8>& m, std::byte* packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<std::byte>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<std::byte>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<std::byte>((sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4));
  }
}

void dequant_q4_k(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 144) {
    const k_header h(x);
    const std::byte* q = x + 16;
    for (int j = 0; j < 4; ++j, q += 32) {  // 64 values per step: two 32-value sub-blocks
      const auto [d1, m1] = h.scale_min(2 * j);
      const auto [d2, m2] = h.scale_min(2 * j + 1);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(u8(q, l) & 0xf) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(u8(q, l) >> 4) - m2;
    }
  }
}

void dequant_q5_k(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 176) {
    const k_header h(x);
    const std::byte* qh = x + 16;
    const std::byte* ql = x + 48;
    for (int j = 0; j < 4; ++j, ql += 32) {
      const auto [d1, m1] = h.scale_min(2 * j);
      const auto [d2, m2] = h.scale_min(2 * j + 1);
      const int bit_lo = 2 * j;
      const int bit_hi = 2 * j + 1;
      for (int l = 0; l < 32; ++l)
        *y++ = d1 * static_cast<float>((u8(ql, l) & 0xf) + (((u8(qh, l) >> bit_lo) & 1) << 4)) - m1;
      for (int l = 0; l < 32; ++l)
        *y++ = d2 * static_cast<float>((u8(ql, l) >> 4) + (((u8(qh, l) >> bit_hi) & 1) << 4)) - m2;
    }
  }
}

void dequant_q6_k(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 210) {
    const float d = f16_to_f32(load_u16(x + 208));
    const std::byte* ql = x;
    const std::byte* qh = x + 128;
    const std::byte* sc = x + 192;
    for (int n = 0; n < 2; ++n, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int h = u8(qh, l);
        const int q1 = ((u8(ql, l) & 0xf) | (((h >> 0) & 3) << 4)) - 32;
        const int q2 = ((u8(ql, l + 32) & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const int q3 = ((u8(ql, l) >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const int q4 = ((u8(ql, l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32;
        auto s = [&](int k) { return d * static_cast<float>(static_cast<int8_t>(u8(sc, k))); };
        y[l] = s(is) * static_cast<float>(q1);
        y[l + 32] = s(is + 2) * static_cast<float>(q2);
        y[l + 64] = s(is + 4) * static_cast<float>(q3);
        y[l + 96] = s(is + 6) * static_cast<float>(q4);
      }
    }
  }
}

// E2M1 code -> twice its value (ggml's kvalues_mxfp4: sign bit 3, then 0, 0.5, 1, 1.5, 2, 3, 4, 6
// doubled), so that the block scale can be stored as 2^(e-128).
constexpr std::array<int8_t, 16> mxfp4_doubled{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Half the E8M0 scale, 2^(e-128), built from bits as ggml_e8m0_to_fp32_half does (e = 0 and 1
// are the subnormals 2^-128 and 2^-127).
float e8m0_half(uint8_t e) noexcept {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  return std::bit_cast<float>(bits);
}

void dequant_mxfp4(const std::byte* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 17, y += 32) {
    const float d = e8m0_half(u8(x, 0));
    for (int j = 0; j < 16; ++j) {
      const uint8_t q = u8(x, 1 + j);
      y[j] = static_cast<float>(mxfp4_doubled[q & 0xf]) * d;
      y[j + 16] = static_cast<float>(mxfp4_doubled[q >> 4]) * d;
    }
  }
}

void dequant_f32(const std::byte* x, float* y, int64_t n) {
  std::memcpy(y, x, static_cast<std::size_t>(n) * 4);
}
void dequant_f16(const std::byte* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(load_u16(x + 2 * i));
}
void dequant_bf16(const std::byte* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(load_u16(x + 2 * i));
}

// Converts nb blocks of x to f32 in y.
using dequant_fn = void (*)(const std::byte* x, float* y, int64_t nb);

// The one place that says which types moebench dequantises; nullptr for the others.
dequant_fn dequantizer(tensor_type t) noexcept {
  switch (t) {
    case tensor_type::f32: return dequant_f32;
    case tensor_type::f16: return dequant_f16;
    case tensor_type::bf16: return dequant_bf16;
    case tensor_type::q8_0: return dequant_q8_0;
    case tensor_type::q4_0: return dequant_q4_0;
    case tensor_type::q5_0: return dequant_q5_0;
    case tensor_type::q4_k: return dequant_q4_k;
    case tensor_type::q5_k: return dequant_q5_k;
    case tensor_type::q6_k: return dequant_q6_k;
    case tensor_type::mxfp4: return dequant_mxfp4;
    case tensor_type::q4_1:
    case tensor_type::q5_1:
    case tensor_type::q8_1:
    case tensor_type::q2_k:
    case tensor_type::q3_k:
    case tensor_type::q8_k:
    case tensor_type::iq2_xxs:
    case tensor_type::iq2_xs:
    case tensor_type::iq3_xxs:
    case tensor_type::iq1_s:
    case tensor_type::iq4_nl:
    case tensor_type::iq3_s:
    case tensor_type::iq2_s:
    case tensor_type::iq4_xs:
    case tensor_type::i8:
    case tensor_type::i16:
    case tensor_type::i32:
    case tensor_type::i64:
    case tensor_type::f64:
    case tensor_type::iq1_m:
    case tensor_type::tq1_0:
    case tensor_type::tq2_0:
    case tensor_type::nvfp4:
    case tensor_type::q1_0:
    case tensor_type::q2_0: return nullptr;
  }
  return nullptr;
}

}  // namespace

bool can_dequantize(tensor_type t) noexcept { return dequantizer(t) != nullptr; }

void dequantize_row(tensor_type t, const std::byte* src, float* dst, int64_t n) {
  const dequant_fn dequant = dequantizer(t);
  if (dequant == nullptr)
    throw error("gguf.unsupported_type",
                fmt::format("tensor type {} cannot be dequantised by moebench", name(t)));
  const int64_t be = traits(t).block_elements;
  MOEBENCH_CHECK(n >= 0 && n % be == 0, "dequantize_row: row length not a multiple of the block size");
  dequant(src, dst, n / be);
}

// ---- quantisation --------------------------------------------------------------------------

namespace {

int nearest(float v) noexcept { return static_cast<int>(std::lrintf(v)); }

void quant_q8_0(const float* x, std::byte* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32, y += 34) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(y, f32_to_f16(d));
    for (int j = 0; j < 32; ++j)
      y[2 + j] = static_cast<std::byte>(static_cast<int8_t>(std::clamp(nearest(x[j] * id), -127, 127)));
  }
}

// Q4_K: x ~= d * sc[j] * q - dmin * m[j] for the 8 sub-blocks j of 32 values, q in 0..15,
// sc and m 6-bit. Each sub-block's scale and min are fitted to its range, then both are
// quantised against the super-block's largest; the 4-bit values are fitted to the quantised
// scale and min so that rounding of the scales does not compound.
void quant_q4_k(const float* x, std::byte* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += qk_k, y += 144) {
    std::array<float, 8> scale{};
    std::array<float, 8> minv{};
    for (int j = 0; j < 8; ++j) {
      const float* s = x + 32 * j;
      float lo = s[0];
      float hi = s[0];
      for (int l = 1; l < 32; ++l) {
        lo = std::min(lo, s[l]);
        hi = std::max(hi, s[l]);
      }
      lo = std::min(lo, 0.0f);  // ggml's layout subtracts a non-negative min
      scale[j] = (hi - lo) / 15.0f;
      minv[j] = -lo;
    }
    const float max_scale = *std::max_element(scale.begin(), scale.end());
    const float max_min = *std::max_element(minv.begin(), minv.end());
    const float d = max_scale / 63.0f;
    const float dmin = max_min / 63.0f;
    const uint16_t d16 = f32_to_f16(d);
    const uint16_t dmin16 = f32_to_f16(dmin);
    const float dq = f16_to_f32(d16);
    const float dminq = f16_to_f32(dmin16);
    std::array<int, 8> sc{};
    std::array<int, 8> m{};
    for (int j = 0; j < 8; ++j) {
      sc[j] = dq > 0.0f ? std::clamp(nearest(scale[j] / dq), 0, 63) : 0;
      m[j] = dminq > 0.0f ? std::clamp(nearest(minv[j] / dminq), 0, 63) : 0;
    }
    store_u16(y, d16);
    store_u16(y + 2, dmin16);
    pack_scale_min_k(sc, m, y + 4);
    std::array<uint8_t, qk_k> q{};
    for (int j = 0; j < 8; ++j) {
      const float ds = dq * static_cast<float>(sc[j]);
      const float mn = dminq * static_cast<float>(m[j]);
      for (int l = 0; l < 32; ++l)
        q[static_cast<std::size_t>(32 * j + l)] = static_cast<uint8_t>(
            ds > 0.0f ? std::clamp(nearest((x[32 * j + l] + mn) / ds), 0, 15) : 0);
    }
    // Values 64k..64k+31 go to the low nibbles of bytes 32k..32k+31, 64k+32.. to the high ones.
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l)
        y[16 + 32 * k + l] = static_cast<std::byte>(q[static_cast<std::size_t>(64 * k + l)] |
                                                    (q[static_cast<std::size_t>(64 * k + 32 + l)] << 4));
  }
}

// MXFP4 as ggml's quantize_row_mxfp4_ref: the shared exponent e = floor(log2(amax)) - 2 + 127
// (so the largest magnitude lands between 4 and 8 times the half scale, the top of the E2M1
// range being 12 halves), then each value takes the nearest code, ties to the lower code.
void quant_mxfp4(const float* x, std::byte* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32, y += 17) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    // ggml stores the exponent as a uint8 without a range check; clamping keeps tiny (below
    // 2^-125) and huge blocks representable instead of wrapping.
    const float e_f = amax > 0.0f ? std::floor(std::log2(amax)) - 2.0f + 127.0f : 0.0f;
    const auto e = static_cast<uint8_t>(std::clamp(e_f, 0.0f, 254.0f));
    const float d = e8m0_half(e);
    const auto best = [&](float v) {
      int bi = 0;
      float be = std::fabs(static_cast<float>(mxfp4_doubled[0]) * d - v);
      for (int k = 1; k < 16; ++k) {
        const float err = std::fabs(static_cast<float>(mxfp4_doubled[static_cast<std::size_t>(k)]) * d - v);
        if (err < be) {
          bi = k;
          be = err;
        }
      }
      return static_cast<unsigned>(bi);
    };
    y[0] = static_cast<std::byte>(e);
    for (int j = 0; j < 16; ++j) y[1 + j] = static_cast<std::byte>(best(x[j]) | (best(x[j + 16]) << 4));
  }
}

}  // namespace

void quantize_row(tensor_type t, const float* src, std::byte* dst, int64_t n) {
  MOEBENCH_CHECK(can_quantize(t), "quantize_row: unsupported type");
  const int64_t be = traits(t).block_elements;
  MOEBENCH_CHECK(n >= 0 && n % be == 0, "quantize_row: row length not a multiple of the block size");
  if (t == tensor_type::f32) {
    std::memcpy(dst, src, static_cast<std::size_t>(n) * 4);
  } else if (t == tensor_type::f16) {
    for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_f16(src[i]));
  } else if (t == tensor_type::bf16) {
    for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_bf16(src[i]));
  } else if (t == tensor_type::q8_0) {
    quant_q8_0(src, dst, n / be);
  } else if (t == tensor_type::mxfp4) {
    quant_mxfp4(src, dst, n / be);
  } else {
    quant_q4_k(src, dst, n / be);
  }
}

}  // namespace moebench::gguf
