#pragma once
// The engine's inner loops, as a table of functions (ggml-backend style). Every entry has a
// scalar reference; an AVX2+FMA variant is chosen once at start-up when the CPU supports it.
// Tests compare every variant with the reference (tests/runners/engine/kernels_test.cpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "moebench/model/tensor_types.h"

namespace moebench::engine::detail {

struct kernel_table {
  std::string_view name;  // "scalar" or "avx2"
  // sum_i a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  // The same with the first operand stored as IEEE half / bfloat16 / Q8_0 blocks (n a multiple
  // of 32 for Q8_0); the activations stay f32 (no activation quantisation).
  float (*dot_f16)(const std::byte* a, const float* b, int64_t n);
  float (*dot_bf16)(const std::byte* a, const float* b, int64_t n);
  float (*dot_q8_0)(const std::byte* a, const float* b, int64_t n);
  // y[i] += a * x[i]
  void (*axpy)(float a, const float* x, float* y, int64_t n);
  // out[t] = dot_f32(a, b + t * b_stride, n) for t < 4, bit for bit, with each element of `a`
  // loaded once for the four tokens (batched matmul).
  void (*dot_f32_x4)(const float* a, const float* b, int64_t b_stride, int64_t n, float* out);
  // The n values of a Q8_0 row (n a multiple of 32) as dequantize_row() gives them, bit for bit.
  void (*dequant_q8_0)(const std::byte* a, float* y, int64_t n);
};

const kernel_table& scalar_kernels() noexcept;
// nullptr when not compiled in (non-x86) or when this CPU lacks AVX2/FMA/F16C.
const kernel_table* avx2_kernels() noexcept;
// The fastest table for this CPU; MOEBENCH_KERNELS=scalar forces the reference.
const kernel_table& best_kernels() noexcept;

// Types with a direct dot kernel; others are dequantised by row first (dot_row_needs_scratch).
bool has_direct_dot(gguf::tensor_type t) noexcept;

// One row of a weight of type `t` (n elements) dotted with f32 `x`. `scratch` (n floats) is
// used for types without a direct kernel.
float dot_row(const kernel_table& k, gguf::tensor_type t, const std::byte* row, const float* x,
              int64_t n, float* scratch);

}  // namespace moebench::engine::detail
