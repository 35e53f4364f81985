// Dequantisation of hand-built blocks against hand-computed values, and quantiser round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "moebench/error.h"
#include "moebench/model/tensor_types.h"

namespace {

using namespace moebench::gguf;

std::byte b(unsigned v) { return static_cast<std::byte>(v); }
void put16(std::vector<std::byte>& blk, std::size_t at, uint16_t v) {
  blk[at] = b(v & 0xff);
  blk[at + 1] = b(v >> 8);
}

std::vector<float> dequant(tensor_type t, const std::vector<std::byte>& blk, int64_t n) {
  std::vector<float> out(static_cast<std::size_t>(n));
  dequantize_row(t, blk.data(), out.data(), n);
  return out;
}

TEST(tensor_types, traits_and_ids) {
  EXPECT_EQ(*row_bytes(tensor_type::q4_k, 512), 288u);
  EXPECT_EQ(*row_bytes(tensor_type::q8_0, 64), 68u);
  EXPECT_EQ(*row_bytes(tensor_type::q6_k, 256), 210u);
  EXPECT_EQ(*row_bytes(tensor_type::q5_k, 256), 176u);
  EXPECT_EQ(*row_bytes(tensor_type::q5_0, 32), 22u);
  EXPECT_EQ(*row_bytes(tensor_type::bf16, 3), 6u);
  EXPECT_FALSE(row_bytes(tensor_type::q4_k, 255));
  EXPECT_FALSE(tensor_type_from_id(4));   // retired Q4_2
  EXPECT_FALSE(tensor_type_from_id(31));  // removed Q4_0_4_4
  EXPECT_FALSE(tensor_type_from_id(43));
  EXPECT_EQ(tensor_type_from_id(30), tensor_type::bf16);
  EXPECT_EQ(tensor_type_from_name("Q4_K"), tensor_type::q4_k);
  try {
    tensor_type_from_name("q3_x");
    FAIL();
  } catch (const moebench::error& e) {
    EXPECT_EQ(e.id(), "gguf.unknown_tensor_type");
  }
}

TEST(tensor_types, half_and_bfloat) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie -> even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  for (uint32_t h = 0; h < 0x7c00; ++h) ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
}

TEST(tensor_types, q4_0_block) {
  std::vector<std::byte> blk(18);
  put16(blk, 0, 0x3800);  // d = 0.5
  for (int j = 0; j < 16; ++j) blk[2 + j] = b(static_cast<unsigned>(j | ((15 - j) << 4)));
  const auto y = dequant(tensor_type::q4_0, blk, 32);
  EXPECT_EQ(y[0], -4.0f);   // (0 - 8) * 0.5
  EXPECT_EQ(y[15], 3.5f);   // (15 - 8) * 0.5
  EXPECT_EQ(y[16], 3.5f);   // high nibble of byte 0 is 15
  EXPECT_EQ(y[31], -4.0f);
  EXPECT_EQ(y[9], 0.5f);
}

TEST(tensor_types, q5_0_block) {
  std::vector<std::byte> blk(22);
  put16(blk, 0, 0x3400);  // d = 0.25
  // qh = 0x00010001: the 5th bit of values 0 and 16.
  blk[2] = b(0x01);
  blk[4] = b(0x01);
  blk[6] = b(0x21);  // value 0: low nibble 1, value 16: high nibble 2
  const auto y = dequant(tensor_type::q5_0, blk, 32);
  EXPECT_EQ(y[0], 0.25f);   // ((1 | 16) - 16) * 0.25
  EXPECT_EQ(y[16], 0.5f);   // ((2 | 16) - 16) * 0.25
  EXPECT_EQ(y[1], -4.0f);   // (0 - 16) * 0.25
  EXPECT_EQ(y[17], -4.0f);
}

TEST(tensor_types, q8_0_block) {
  std::vector<std::byte> blk(34);
  put16(blk, 0, 0x3800);  // d = 0.5
  blk[2] = b(0x80);       // -128
  blk[3] = b(0x7f);       // 127
  blk[33] = b(0xff);      // -1
  const auto y = dequant(tensor_type::q8_0, blk, 32);
  EXPECT_EQ(y[0], -64.0f);
  EXPECT_EQ(y[1], 63.5f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[31], -0.5f);
}

// Scales sc = {1,2,3,4,17,33,49,63} and mins m = {0,1,2,3,16,32,48,63} packed by hand into
// ggml's 12-byte k-quant scales field.
void put_k_scales(std::vector<std::byte>& blk) {
  const unsigned s[12] = {65, 130, 195, 196, 64, 129, 194, 195, 1, 1, 1, 255};
  for (int i = 0; i < 12; ++i) blk[4 + static_cast<std::size_t>(i)] = b(s[i]);
  put16(blk, 0, 0x3c00);  // d = 1
  put16(blk, 2, 0x3800);  // dmin = 0.5
}

TEST(tensor_types, q4_k_block) {
  std::vector<std::byte> blk(144);
  put_k_scales(blk);
  for (int i = 16; i < 144; ++i) blk[static_cast<std::size_t>(i)] = b(0xa5);  // low 5, high 10
  const auto y = dequant(tensor_type::q4_k, blk, 256);
  // d * sc * q - dmin * m per 32-value sub-block.
  const float expect[8] = {5, 19.5f, 14, 38.5f, 77, 314, 221, 598.5f};
  for (int j = 0; j < 8; ++j)
    for (int l = 0; l < 32; ++l) ASSERT_EQ(y[static_cast<std::size_t>(32 * j + l)], expect[j]) << j;
}

TEST(tensor_types, q5_k_block) {
  std::vector<std::byte> blk(176);
  put_k_scales(blk);
  for (int i = 16; i < 48; ++i) blk[static_cast<std::size_t>(i)] = b(0x05);  // 5th bit of sub-blocks 0, 2
  for (int i = 48; i < 176; ++i) blk[static_cast<std::size_t>(i)] = b(0xa5);
  const auto y = dequant(tensor_type::q5_k, blk, 256);
  const float expect[8] = {21, 19.5f, 62, 38.5f, 77, 314, 221, 598.5f};
  for (int j = 0; j < 8; ++j)
    for (int l = 0; l < 32; ++l) ASSERT_EQ(y[static_cast<std::size_t>(32 * j + l)], expect[j]) << j;
}

TEST(tensor_types, q6_k_block) {
  std::vector<std::byte> blk(210);
  for (int i = 0; i < 128; ++i) blk[static_cast<std::size_t>(i)] = b(0x21);      // ql: low 1, high 2
  for (int i = 128; i < 192; ++i) blk[static_cast<std::size_t>(i)] = b(0xe4);    // qh: 0,1,2,3
  for (int i = 0; i < 16; ++i) blk[192 + static_cast<std::size_t>(i)] = b(static_cast<unsigned>(static_cast<uint8_t>(i - 8)));
  put16(blk, 208, 0x3800);  // d = 0.5
  const auto y = dequant(tensor_type::q6_k, blk, 256);
  // q1 = 1|0<<4 - 32 = -31, q2 = 1|1<<4 - 32 = -15, q3 = 2|2<<4 - 32 = 2, q4 = 2|3<<4 - 32 = 18
  EXPECT_EQ(y[0], 0.5f * -8 * -31);
  EXPECT_EQ(y[32], 0.5f * -6 * -15);
  EXPECT_EQ(y[64], 0.5f * -4 * 2);
  EXPECT_EQ(y[96], 0.5f * -2 * 18);
  EXPECT_EQ(y[16], 0.5f * -7 * -31);
  EXPECT_EQ(y[128], 0.0f);  // scale 0
  EXPECT_EQ(y[128 + 96 + 16], 0.5f * 7 * 18);
}

float rel_rms_error(tensor_type t, const std::vector<float>& x);

// MXFP4 (ggml block_mxfp4): E8M0 exponent byte, then 16 bytes of E2M1 codes. Expected values
// were computed with llama.cpp's gguf-py (gguf/quants.py MXFP4.dequantize_blocks, from the
// llama.cpp v0.4.0 source in node-llama-cpp 3.21.1's gitRelease.bundle, run with Debian's
// python3-numpy) on the same blocks, and agree with the definition: value = code value x
// 2^(e - 127), code values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives.
TEST(tensor_types, mxfp4_blocks_match_gguf_py) {
  EXPECT_EQ(*row_bytes(tensor_type::mxfp4, 64), 34u);
  EXPECT_TRUE(can_dequantize(tensor_type::mxfp4));
  struct expect {
    unsigned e;
    float v1, v5, v7, v9, v15;  // values 1, 5, 7, 9 and 15 (= 16: the high nibbles mirror)
  };
  // qs[j] = j | (15 - j) << 4: value j (< 16) has code j, value 16 + j code 15 - j.
  const expect cases[] = {
      {0, 0x1p-128f, 0x1.8p-126f, 0x1.8p-125f, -0x1p-128f, -0x1.8p-125f},  // subnormal scales
      {1, 0x1p-127f, 0x1.8p-125f, 0x1.8p-124f, -0x1p-127f, -0x1.8p-124f},
      {2, 0x1p-126f, 0x1.8p-124f, 0x1.8p-123f, -0x1p-126f, -0x1.8p-123f},
      {119, 0x1p-9f, 0x1.8p-7f, 0x1.8p-6f, -0x1p-9f, -0x1.8p-6f},
      {127, 0.5f, 3.0f, 6.0f, -0.5f, -6.0f},  // scale 1: the E2M1 values themselves
      {128, 1.0f, 6.0f, 12.0f, -1.0f, -12.0f},
      {130, 4.0f, 24.0f, 48.0f, -4.0f, -48.0f},
  };
  for (const expect& c : cases) {
    std::vector<std::byte> blk(17);
    blk[0] = b(c.e);
    for (unsigned j = 0; j < 16; ++j) blk[1 + j] = b(j | ((15 - j) << 4));
    const auto y = dequant(tensor_type::mxfp4, blk, 32);
    EXPECT_EQ(y[0], 0.0f) << c.e;
    EXPECT_EQ(y[8], 0.0f) << c.e;  // code 8 is -0
    EXPECT_EQ(y[1], c.v1) << c.e;
    EXPECT_EQ(y[5], c.v5) << c.e;
    EXPECT_EQ(y[7], c.v7) << c.e;
    EXPECT_EQ(y[9], c.v9) << c.e;
    EXPECT_EQ(y[15], c.v15) << c.e;
    EXPECT_EQ(y[16], c.v15) << c.e;  // code 15 in the high nibble of byte 0
    EXPECT_EQ(y[23], 0.0f) << c.e;   // code 8
    EXPECT_EQ(y[31], 0.0f) << c.e;   // code 0
    for (int j = 0; j < 16; ++j) EXPECT_EQ(y[static_cast<std::size_t>(16 + j)], y[static_cast<std::size_t>(15 - j)]);
  }
  // e = 254: 6 x 2^126 overflows to infinity, in ggml as here.
  std::vector<std::byte> big(17, b(0x77));
  big[0] = b(254);
  EXPECT_TRUE(std::isinf(dequant(tensor_type::mxfp4, big, 32)[0]));
}

// The quantiser gives exactly the bytes of gguf-py's MXFP4.quantize_blocks (which mirrors
// ggml's quantize_row_mxfp4_ref) for 64 values of the LCG below times 3.
TEST(tensor_types, mxfp4_quantiser_matches_gguf_py) {
  std::vector<float> x(64);
  uint32_t s = 12345;
  for (auto& v : x) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<double>(s >> 8) / 16777216.0 * 2.0 - 1.0) * 3.0f;
  }
  EXPECT_EQ(x[0], -0x1.7054acp+1f);
  EXPECT_EQ(x[3], 0x1.9e6cd8p-1f);
  const unsigned expected[34] = {0x7e, 0xaf, 0x7f, 0xa1, 0x73, 0x76, 0x4e, 0xa0, 0x01, 0xd2, 0xa5, 0x4f,
                                 0xe5, 0xe7, 0x6f, 0xc4, 0xf9, 0x7e, 0x99, 0x5c, 0xc2, 0x57, 0x2f, 0x55,
                                 0x9c, 0xec, 0x97, 0x41, 0x14, 0x64, 0xb3, 0x7e, 0x57, 0xe5};
  std::vector<std::byte> q(34);
  quantize_row(tensor_type::mxfp4, x.data(), q.data(), 64);
  for (int i = 0; i < 34; ++i) EXPECT_EQ(static_cast<unsigned>(q[static_cast<std::size_t>(i)]), expected[i]) << "byte " << i;
  // A 4-bit float keeps about 2 significant bits: round trip within 20% relative RMS.
  EXPECT_LT(rel_rms_error(tensor_type::mxfp4, x), 0.2f);
  EXPECT_EQ(rel_rms_error(tensor_type::mxfp4, std::vector<float>(32, 1.5f)), 0.0f);  // on the grid
}

TEST(tensor_types, unsupported_dequantisation_is_an_error) {
  std::vector<std::byte> blk(84);
  std::vector<float> out(256);
  try {
    dequantize_row(tensor_type::q2_k, blk.data(), out.data(), 256);
    FAIL();
  } catch (const moebench::error& e) {
    EXPECT_EQ(e.id(), "gguf.unsupported_type");
  }
}

float rel_rms_error(tensor_type t, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<std::byte> q(*row_bytes(t, n));
  quantize_row(t, x.data(), q.data(), n);
  std::vector<float> y(x.size());
  dequantize_row(t, q.data(), y.data(), n);
  double err = 0;
  double ref = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    err += (x[i] - y[i]) * (x[i] - y[i]);
    ref += x[i] * x[i];
  }
  return static_cast<float>(std::sqrt(err / ref));
}

TEST(tensor_types, quantisers_round_trip) {
  std::vector<float> x(1024);
  uint32_t s = 12345;
  for (auto& v : x) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(s >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
  EXPECT_LT(rel_rms_error(tensor_type::q8_0, x), 0.01f);
  EXPECT_LT(rel_rms_error(tensor_type::q4_k, x), 0.12f);
  EXPECT_LT(rel_rms_error(tensor_type::f16, x), 1e-3f);
  EXPECT_LT(rel_rms_error(tensor_type::bf16, x), 1e-2f);
  EXPECT_EQ(rel_rms_error(tensor_type::f32, x), 0.0f);
  // Values on the q8_0 grid come back exactly.
  std::vector<float> g(32);
  for (int i = 0; i < 32; ++i) g[static_cast<std::size_t>(i)] = static_cast<float>(i * 8 - 127) / 127.0f * 2.0f;
  g[31] = 2.0f;
  std::vector<std::byte> q(34);
  quantize_row(tensor_type::q8_0, g.data(), q.data(), 32);
  EXPECT_EQ(static_cast<int8_t>(q[2]), -127);
  EXPECT_EQ(static_cast<int8_t>(q[33]), 127);
  // A constant non-negative Q4_K block: min 0, all values reachable.
  std::vector<float> c(256, 3.0f);
  EXPECT_LT(rel_rms_error(tensor_type::q4_k, c), 1e-3f);
}

}  // namespace
