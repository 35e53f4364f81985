#include "kernels.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "moebench/error.h"

namespace moebench::engine::detail {
namespace {

uint16_t load_u16(const std::byte* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Every dot follows one accumulation scheme over the weights converted to the f32 values
// dequantize_row() gives them, so dot_T(row, x) == dot_f32(dequantized row, x) bit for bit:
// matmul may take either path depending on how many tokens share a row, and a token's result
// must not depend on its batch. Four accumulators: the same association the SIMD variants use
// at a coarser grain, and a smaller rounding error than one running sum.
template <class Load>
float dot_converted(Load load, const float* b, int64_t n) {
  float s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += load(i + j) * b[i + j];
  for (; i < n; ++i) s[0] += load(i) * b[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

float dot_f32_scalar(const float* a, const float* b, int64_t n) {
  return dot_converted([a](int64_t i) { return a[i]; }, b, n);
}

float dot_f16_scalar(const std::byte* a, const float* b, int64_t n) {
  return dot_converted([a](int64_t i) { return gguf::f16_to_f32(load_u16(a + 2 * i)); }, b, n);
}

float dot_bf16_scalar(const std::byte* a, const float* b, int64_t n) {
  return dot_converted([a](int64_t i) { return gguf::bf16_to_f32(load_u16(a + 2 * i)); }, b, n);
}

// Q8_0 block: f16 scale d, then 32 int8 quants; value = q * d.
constexpr int64_t q8_block = 32;
constexpr int64_t q8_block_bytes = 34;

float dot_q8_0_scalar(const std::byte* a, const float* b, int64_t n) {
  // Blocks hold a multiple of 4 values, so the accumulators line up with dot_f32's.
  float s[4] = {0, 0, 0, 0};
  for (int64_t blk = 0; blk < n / q8_block; ++blk) {
    const std::byte* p = a + blk * q8_block_bytes;
    const float d = gguf::f16_to_f32(load_u16(p));
    const auto* q = reinterpret_cast<const int8_t*>(p + 2);
    const float* x = b + blk * q8_block;
    for (int64_t i = 0; i < q8_block; i += 4)
      for (int j = 0; j < 4; ++j) s[j] += static_cast<float>(q[i + j]) * d * x[i + j];
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

void axpy_scalar(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void dot_f32_x4_scalar(const float* a, const float* b, int64_t b_stride, int64_t n, float* out) {
  for (int64_t t = 0; t < 4; ++t) out[t] = dot_f32_scalar(a, b + t * b_stride, n);
}

void dequant_q8_0_scalar(const std::byte* a, float* y, int64_t n) {
  gguf::dequantize_row(gguf::tensor_type::q8_0, a, y, n);
}

const kernel_table scalar_table{"scalar", dot_f32_scalar, dot_f16_scalar, dot_bf16_scalar,
                                dot_q8_0_scalar, axpy_scalar, dot_f32_x4_scalar, dequant_q8_0_scalar};

}  // namespace

const kernel_table& scalar_kernels() noexcept { return scalar_table; }

const kernel_table& best_kernels() noexcept {
  static const kernel_table* chosen = [] {
    const char* forced = std::getenv("MOEBENCH_KERNELS");
    if (forced != nullptr && std::string_view(forced) == "scalar") return &scalar_table;
    const kernel_table* simd = avx2_kernels();
    return simd != nullptr ? simd : &scalar_table;
  }();
  return *chosen;
}

bool has_direct_dot(gguf::tensor_type t) noexcept {
  return t == gguf::tensor_type::f32 || t == gguf::tensor_type::f16 ||
         t == gguf::tensor_type::bf16 || t == gguf::tensor_type::q8_0;
}

float dot_row(const kernel_table& k, gguf::tensor_type t, const std::byte* row, const float* x,
              int64_t n, float* scratch) {
  switch (t) {
    case gguf::tensor_type::f32:
      return k.dot_f32(reinterpret_cast<const float*>(row), x, n);
    case gguf::tensor_type::f16:
      return k.dot_f16(row, x, n);
    case gguf::tensor_type::bf16:
      return k.dot_bf16(row, x, n);
    case gguf::tensor_type::q8_0:
      return k.dot_q8_0(row, x, n);
    default:
      gguf::dequantize_row(t, row, scratch, n);
      return k.dot_f32(scratch, x, n);
  }
}

}  // namespace moebench::engine::detail
