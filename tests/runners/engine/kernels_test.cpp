// Every kernel variant against the scalar reference (and the reference against a double
// precision sum), with stated tolerances; the dequantise-then-dot fallback for other types.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "kernels.h"
#include "moebench/model/tensor_types.h"

namespace moebench::engine::detail {
namespace {

std::vector<const kernel_table*> variants() {
  std::vector<const kernel_table*> v{&scalar_kernels()};
  if (avx2_kernels() != nullptr) v.push_back(avx2_kernels());
  return v;
}

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = d(g);
  return v;
}

// Relative tolerance of an n-term f32 dot product against the exact sum, scaled by the sum of
// absolute products (the usual forward error bound, with slack for blocked summation).
double tolerance(const std::vector<float>& a, const std::vector<float>& b, int64_t n) {
  double abs_sum = 0;
  for (int64_t i = 0; i < n; ++i) abs_sum += std::abs(static_cast<double>(a[static_cast<std::size_t>(i)]) * b[static_cast<std::size_t>(i)]);
  return 4.0 * static_cast<double>(n) * 6e-8 * abs_sum + 1e-6;
}

TEST(kernels, best_table_is_a_known_variant) {
  const kernel_table& k = best_kernels();
  EXPECT_TRUE(k.name == "scalar" || k.name == "avx2");
  if (avx2_kernels() == nullptr) {
    EXPECT_EQ(k.name, "scalar");
  }
}

TEST(kernels, dot_f32_matches_exact_sum_for_every_length) {
  for (int64_t n : {1, 3, 7, 8, 15, 16, 17, 31, 64, 100, 1000, 4096}) {
    const auto a = random_floats(n, 1);
    const auto b = random_floats(n, 2);
    double exact = 0;
    for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(a[static_cast<std::size_t>(i)]) * b[static_cast<std::size_t>(i)];
    for (const kernel_table* k : variants())
      EXPECT_NEAR(k->dot_f32(a.data(), b.data(), n), exact, tolerance(a, b, n)) << k->name << " n=" << n;
  }
}

TEST(kernels, typed_dots_match_the_scalar_reference) {
  for (gguf::tensor_type t : {gguf::tensor_type::f16, gguf::tensor_type::bf16, gguf::tensor_type::q8_0}) {
    for (int64_t n : {32, 64, 96, 256, 2048}) {
      const auto w = random_floats(n, 3);
      const auto x = random_floats(n, 4);
      std::vector<std::byte> q(*gguf::row_bytes(t, n));
      gguf::quantize_row(t, w.data(), q.data(), n);
      // The reference: dequantise, then an exact sum over the dequantised values.
      std::vector<float> dq(static_cast<std::size_t>(n));
      gguf::dequantize_row(t, q.data(), dq.data(), n);
      double exact = 0;
      for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(dq[static_cast<std::size_t>(i)]) * x[static_cast<std::size_t>(i)];
      const float ref = dot_row(scalar_kernels(), t, q.data(), x.data(), n, nullptr);
      EXPECT_NEAR(ref, exact, tolerance(dq, x, n)) << gguf::name(t) << " n=" << n;
      for (const kernel_table* k : variants())
        EXPECT_NEAR(dot_row(*k, t, q.data(), x.data(), n, nullptr), ref, 2 * tolerance(dq, x, n))
            << k->name << " " << gguf::name(t) << " n=" << n;
    }
  }
}

// matmul dots a row straight from its stored type for a few tokens and dequantises it once
// for many; a token's result must not depend on which (batched decoding is bitwise equal to
// decoding alone), so every typed dot equals dot_f32 over the dequantised row exactly.
TEST(kernels, typed_dots_equal_dot_f32_of_the_dequantised_row_exactly) {
  for (gguf::tensor_type t : {gguf::tensor_type::f16, gguf::tensor_type::bf16, gguf::tensor_type::q8_0}) {
    for (int64_t n : {32, 64, 96, 256, 2048, 8, 17, 40, 1000}) {
      if (!gguf::row_bytes(t, n)) continue;  // Q8_0 rows are whole blocks of 32
      const auto w = random_floats(n, 11);
      const auto x = random_floats(n, 12);
      std::vector<std::byte> q(*gguf::row_bytes(t, n));
      gguf::quantize_row(t, w.data(), q.data(), n);
      std::vector<float> dq(static_cast<std::size_t>(n));
      gguf::dequantize_row(t, q.data(), dq.data(), n);
      for (const kernel_table* k : variants())
        EXPECT_EQ(dot_row(*k, t, q.data(), x.data(), n, nullptr), k->dot_f32(dq.data(), x.data(), n))
            << k->name << " " << gguf::name(t) << " n=" << n;
    }
  }
}

TEST(kernels, four_token_dot_and_q8_0_dequantisation_are_exact) {
  for (int64_t n : {1, 7, 8, 16, 17, 40, 256, 1000}) {
    const auto a = random_floats(n, 21);
    const auto b = random_floats(4 * (n + 3), 22);
    for (const kernel_table* k : variants()) {
      float out[4];
      k->dot_f32_x4(a.data(), b.data(), n + 3, n, out);
      for (int64_t t = 0; t < 4; ++t)
        EXPECT_EQ(out[t], k->dot_f32(a.data(), b.data() + t * (n + 3), n)) << k->name << " n=" << n << " t=" << t;
    }
  }
  const int64_t n = 256;
  const auto w = random_floats(n, 23);
  std::vector<std::byte> q(*gguf::row_bytes(gguf::tensor_type::q8_0, n));
  gguf::quantize_row(gguf::tensor_type::q8_0, w.data(), q.data(), n);
  std::vector<float> ref(static_cast<std::size_t>(n)), got(static_cast<std::size_t>(n));
  gguf::dequantize_row(gguf::tensor_type::q8_0, q.data(), ref.data(), n);
  for (const kernel_table* k : variants()) {
    k->dequant_q8_0(q.data(), got.data(), n);
    EXPECT_EQ(got, ref) << k->name;
  }
}

TEST(kernels, fallback_types_dequantise_then_dot) {
  const int64_t n = 512;
  const auto w = random_floats(n, 5);
  const auto x = random_floats(n, 6);
  std::vector<std::byte> q(*gguf::row_bytes(gguf::tensor_type::q4_k, n));
  gguf::quantize_row(gguf::tensor_type::q4_k, w.data(), q.data(), n);
  std::vector<float> dq(static_cast<std::size_t>(n)), scratch(static_cast<std::size_t>(n));
  gguf::dequantize_row(gguf::tensor_type::q4_k, q.data(), dq.data(), n);
  double exact = 0;
  for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(dq[static_cast<std::size_t>(i)]) * x[static_cast<std::size_t>(i)];
  EXPECT_FALSE(has_direct_dot(gguf::tensor_type::q4_k));
  for (const kernel_table* k : variants())
    EXPECT_NEAR(dot_row(*k, gguf::tensor_type::q4_k, q.data(), x.data(), n, scratch.data()), exact, tolerance(dq, x, n));
}

TEST(kernels, axpy_matches_the_reference) {
  for (int64_t n : {1, 7, 8, 9, 33, 1000}) {
    const auto x = random_floats(n, 7);
    const auto y0 = random_floats(n, 8);
    for (const kernel_table* k : variants()) {
      auto y = y0;
      k->axpy(0.37f, x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<std::size_t>(i);
        // One fused or unfused multiply-add: at most one rounding apart.
        EXPECT_NEAR(y[u], y0[u] + 0.37 * x[u], 2e-6 * (std::abs(y0[u]) + std::abs(x[u])) + 1e-7) << k->name;
      }
    }
  }
}

}  // namespace
}  // namespace moebench::engine::detail
