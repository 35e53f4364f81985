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

MOEBENCH_AVX2 float dot_f32_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps();
  __m256 s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

MOEBENCH_AVX2 __m256 load_f16x8(const std::byte* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

MOEBENCH_AVX2 __m256 load_bf16x8(const std::byte* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

MOEBENCH_AVX2 float dot_f16_avx2(const std::byte* a, const float* b, int64_t n) {
  __m256 s = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(load_f16x8(a + 2 * i), _mm256_loadu_ps(b + i), s);
  float r = hsum(s);
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, a + 2 * i, 2);
    r += gguf::f16_to_f32(h) * b[i];
  }
  return r;
}

MOEBENCH_AVX2 float dot_bf16_avx2(const std::byte* a, const float* b, int64_t n) {
  __m256 s = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(load_bf16x8(a + 2 * i), _mm256_loadu_ps(b + i), s);
  float r = hsum(s);
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, a + 2 * i, 2);
    r += gguf::bf16_to_f32(h) * b[i];
  }
  return r;
}

MOEBENCH_AVX2 __m256 load_i8x8(const std::byte* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v)));
}

MOEBENCH_AVX2 float dot_q8_0_avx2(const std::byte* a, const float* b, int64_t n) {
  __m256 s = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < n / 32; ++blk) {
    const std::byte* p = a + blk * 34;
    uint16_t h;
    std::memcpy(&h, p, 2);
    const float* x = b + blk * 32;
    __m256 acc = _mm256_mul_ps(load_i8x8(p + 2), _mm256_loadu_ps(x));
    acc = _mm256_fmadd_ps(load_i8x8(p + 10), _mm256_loadu_ps(x + 8), acc);
    acc = _mm256_fmadd_ps(load_i8x8(p + 18), _mm256_loadu_ps(x + 16), acc);
    acc = _mm256_fmadd_ps(load_i8x8(p + 26), _mm256_loadu_ps(x + 24), acc);
    s = _mm256_fmadd_ps(_mm256_set1_ps(gguf::f16_to_f32(h)), acc, s);
  }
  return hsum(s);
}

MOEBENCH_AVX2 void axpy_avx2(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

const kernel_table avx2_table{"avx2", dot_f32_avx2, dot_f16_avx2, dot_bf16_avx2, dot_q8_0_avx2,
                              axpy_avx2};

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
