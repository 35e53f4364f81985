// AVX2 + FMA + F16C variants of kernels.h. Compiled with per-function target attributes, so
// the rest of the binary stays baseline x86-64 and the table is used only after a CPU check.
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <cstring>

#define MOEBENCH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace moebench::engine::detail {
namespace {

MOEBENCH_AVX2 float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

MOEBENCH_AVX2 __m256 load_f16x8(const std::byte* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

MOEBENCH_AVX2 __m256 load_bf16x8(const std::byte* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

// The typed dots convert each weight to the f32 value dequantize_row() gives it and then
// follow dot_f32's accumulation exactly (two 8-lane sums over 16-wide steps, one 8-wide step,
// the same horizontal sum, a scalar tail), so dot_T(row, x) == dot_f32(dequantized row, x)
// bit for bit. matmul may use either path depending on how many tokens share a row; this
// keeps a token's result independent of the batch it is in (kernels_test checks it).
template <class Row>
MOEBENCH_AVX2 float dot_converted(const Row& row, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps();
  __m256 s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(row.load8(i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(row.load8(i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(row.load8(i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += row.load1(i) * b[i];
  return s;
}

struct f16_row {
  const std::byte* a;
  MOEBENCH_AVX2 __m256 load8(int64_t i) const { return load_f16x8(a + 2 * i); }
  float load1(int64_t i) const {
    uint16_t h;
    std::memcpy(&h, a + 2 * i, 2);
    return gguf::f16_to_f32(h);
  }
};

struct bf16_row {
  const std::byte* a;
  MOEBENCH_AVX2 __m256 load8(int64_t i) const { return load_bf16x8(a + 2 * i); }
  float load1(int64_t i) const {
    uint16_t h;
    std::memcpy(&h, a + 2 * i, 2);
    return gguf::bf16_to_f32(h);
  }
};

struct f32_row {
  const float* a;
  MOEBENCH_AVX2 __m256 load8(int64_t i) const { return _mm256_loadu_ps(a + i); }
  float load1(int64_t i) const { return a[i]; }
};

MOEBENCH_AVX2 float dot_f32_avx2(const float* a, const float* b, int64_t n) {
  return dot_converted(f32_row{a}, b, n);
}

MOEBENCH_AVX2 float dot_f16_avx2(const std::byte* a, const float* b, int64_t n) {
  return dot_converted(f16_row{a}, b, n);
}

MOEBENCH_AVX2 float dot_bf16_avx2(const std::byte* a, const float* b, int64_t n) {
  return dot_converted(bf16_row{a}, b, n);
}

MOEBENCH_AVX2 __m256 load_i8x8(const std::byte* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v)));
}

// A Q8_0 block is 32 values: exactly two of dot_f32's 16-wide steps, so the loop below is
// dot_converted's with the scale applied per block (q * d rounds as dequantize_row's does).
MOEBENCH_AVX2 float dot_q8_0_avx2(const std::byte* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps();
  __m256 s1 = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < n / 32; ++blk) {
    const std::byte* p = a + blk * 34;
    uint16_t h;
    std::memcpy(&h, p, 2);
    const __m256 d = _mm256_set1_ps(gguf::f16_to_f32(h));
    const float* x = b + blk * 32;
    s0 = _mm256_fmadd_ps(_mm256_mul_ps(load_i8x8(p + 2), d), _mm256_loadu_ps(x), s0);
    s1 = _mm256_fmadd_ps(_mm256_mul_ps(load_i8x8(p + 10), d), _mm256_loadu_ps(x + 8), s1);
    s0 = _mm256_fmadd_ps(_mm256_mul_ps(load_i8x8(p + 18), d), _mm256_loadu_ps(x + 16), s0);
    s1 = _mm256_fmadd_ps(_mm256_mul_ps(load_i8x8(p + 26), d), _mm256_loadu_ps(x + 24), s1);
  }
  return hsum(_mm256_add_ps(s0, s1));
}

MOEBENCH_AVX2 void axpy_avx2(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

// dot_converted(f32_row) for four tokens at once: each token keeps its own two accumulators
// and sees exactly dot_f32_avx2's operations; the weights are loaded once.
MOEBENCH_AVX2 void dot_f32_x4_avx2(const float* a, const float* b, int64_t b_stride, int64_t n, float* out) {
  const float* b0 = b;
  const float* b1 = b + b_stride;
  const float* b2 = b + 2 * b_stride;
  const float* b3 = b + 3 * b_stride;
  __m256 s00 = _mm256_setzero_ps(), s01 = _mm256_setzero_ps(), s10 = _mm256_setzero_ps(), s11 = _mm256_setzero_ps();
  __m256 s20 = _mm256_setzero_ps(), s21 = _mm256_setzero_ps(), s30 = _mm256_setzero_ps(), s31 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = _mm256_loadu_ps(a + i);
    const __m256 w1 = _mm256_loadu_ps(a + i + 8);
    s00 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b0 + i), s00);
    s01 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(b0 + i + 8), s01);
    s10 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b1 + i), s10);
    s11 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(b1 + i + 8), s11);
    s20 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b2 + i), s20);
    s21 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(b2 + i + 8), s21);
    s30 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b3 + i), s30);
    s31 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(b3 + i + 8), s31);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 w0 = _mm256_loadu_ps(a + i);
    s00 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b0 + i), s00);
    s10 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b1 + i), s10);
    s20 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b2 + i), s20);
    s30 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b3 + i), s30);
  }
  const float* bs[4] = {b0, b1, b2, b3};
  float r[4] = {hsum(_mm256_add_ps(s00, s01)), hsum(_mm256_add_ps(s10, s11)), hsum(_mm256_add_ps(s20, s21)),
                hsum(_mm256_add_ps(s30, s31))};
  for (int t = 0; t < 4; ++t) {
    for (int64_t j = i; j < n; ++j) r[t] += a[j] * bs[t][j];
    out[t] = r[t];
  }
}

MOEBENCH_AVX2 void dequant_q8_0_avx2(const std::byte* a, float* y, int64_t n) {
  for (int64_t blk = 0; blk < n / 32; ++blk) {
    const std::byte* p = a + blk * 34;
    uint16_t h;
    std::memcpy(&h, p, 2);
    const __m256 d = _mm256_set1_ps(gguf::f16_to_f32(h));
    float* o = y + blk * 32;
    for (int g = 0; g < 4; ++g) _mm256_storeu_ps(o + 8 * g, _mm256_mul_ps(load_i8x8(p + 2 + 8 * g), d));
  }
}

const kernel_table avx2_table{"avx2",    dot_f32_avx2, dot_f16_avx2,    dot_bf16_avx2,    dot_q8_0_avx2,
                              axpy_avx2, dot_f32_x4_avx2, dequant_q8_0_avx2};

}  // namespace

const kernel_table* avx2_kernels() noexcept {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                                __builtin_cpu_supports("f16c");
  return supported ? &avx2_table : nullptr;
}

}  // namespace moebench::engine::detail

#else

namespace moebench::engine::detail {
const kernel_table* avx2_kernels() noexcept { return nullptr; }
}  // namespace moebench::engine::detail

#endif
