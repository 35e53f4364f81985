#include "moebench/significance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace moebench {
namespace {

TEST(normal, quantiles_match_published_values) {
  // Python's statistics.NormalDist().inv_cdf (Wichura's AS241), independent of our algorithm.
  EXPECT_NEAR(normal_quantile(0.975), 1.9599639845400536, 1e-14);
  EXPECT_NEAR(normal_quantile(0.8), 0.8416212335729144, 1e-14);
  EXPECT_NEAR(normal_quantile(0.995), 2.5758293035489, 1e-13);
  EXPECT_NEAR(normal_quantile(0.02), -2.0537489106318225, 1e-13);
  EXPECT_NEAR(normal_quantile(0.98), 2.053748910631822, 1e-13);
  EXPECT_NEAR(normal_quantile(0.3), -0.5244005127080407, 1e-14);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-11);
  EXPECT_EQ(normal_quantile(0.5), 0.0);
  EXPECT_NEAR(normal_cdf(1.959963984540054), 0.975, 1e-15);
  EXPECT_NEAR(normal_cdf(-1.0), 0.15865525393145707, 1e-15);
  EXPECT_DEATH(normal_quantile(0.0), "0 < p < 1");
}

TEST(binomial, cdf_matches_hand_computed_values) {
  EXPECT_NEAR(binomial_cdf(1, 10, 0.5), 11.0 / 1024, 1e-15);
  EXPECT_NEAR(binomial_cdf(2, 12, 0.5), 79.0 / 4096, 1e-15);
  EXPECT_NEAR(binomial_cdf(0, 3, 0.1), 0.729, 1e-15);
  EXPECT_NEAR(binomial_cdf(1, 3, 0.1), 0.972, 1e-15);
  EXPECT_EQ(binomial_cdf(-1, 3, 0.1), 0.0);
  EXPECT_EQ(binomial_cdf(3, 3, 0.1), 1.0);
  // Symmetry of the fair coin at n = 1001: P(X <= 500) = 1/2 exactly.
  EXPECT_NEAR(binomial_cdf(500, 1001, 0.5), 0.5, 1e-12);
}

TEST(mcnemar, exact_p_values_by_hand) {
  // 10 discordant pairs, 1 of them the candidate's: 2 (1 + 10) / 2^10.
  EXPECT_NEAR(mcnemar_exact(9, 1).p_value, 22.0 / 1024, 1e-15);
  EXPECT_NEAR(mcnemar_exact(1, 9).p_value, 22.0 / 1024, 1e-15);
  // 12 pairs, 2 against: 2 (1 + 12 + 66) / 2^12.
  EXPECT_NEAR(mcnemar_exact(10, 2).p_value, 158.0 / 4096, 1e-15);
  EXPECT_EQ(mcnemar_exact(5, 5).p_value, 1.0);  // capped at 1
  EXPECT_EQ(mcnemar_exact(0, 0).p_value, 1.0);
  EXPECT_NEAR(mcnemar_exact(0, 1).p_value, 1.0, 1e-15);
  EXPECT_NEAR(mcnemar_exact(0, 6).p_value, 2.0 / 64, 1e-15);
}

TEST(mann_whitney, scipy_documented_example) {
  // scipy.stats.mannwhitneyu's documentation: males vs females, U1 = 17, exact p = 1/9,
  // asymptotic p = 0.11134688653314041.
  const std::vector<double> males{19, 22, 16, 29, 24}, females{20, 11, 17, 12};
  const auto r = mann_whitney_u(males, females);
  EXPECT_EQ(r.u_x, 17.0);
  EXPECT_EQ(r.method, mann_whitney_method::exact);
  EXPECT_NEAR(r.p_value, 1.0 / 9, 1e-15);
  EXPECT_NEAR(r.prob_superiority, 17.0 / 20, 1e-15);
  // Swapping the samples mirrors U and keeps p.
  const auto s = mann_whitney_u(females, males);
  EXPECT_EQ(s.u_x, 3.0);
  EXPECT_NEAR(s.p_value, 1.0 / 9, 1e-15);
}

TEST(mann_whitney, normal_approximation_with_ties) {
  // Hand-computed with scipy's formula: U = 13, tie-corrected variance, continuity 0.5.
  const std::vector<double> x{1, 2, 2, 3, 3, 3, 4, 5}, y{2, 3, 4, 4, 5, 6, 6, 7, 8};
  const auto r = mann_whitney_u(x, y);
  EXPECT_EQ(r.method, mann_whitney_method::normal);
  EXPECT_EQ(r.u_x, 13.0);
  EXPECT_NEAR(r.p_value, 0.02837271534602896, 1e-14);
  // All values equal: no evidence at all.
  const std::vector<double> a(9, 1.0), b(9, 1.0);
  EXPECT_EQ(mann_whitney_u(a, b).p_value, 1.0);
}

TEST(mann_whitney, exact_distribution_by_hand) {
  // Complete separation of 9 vs 9: 2 / C(18, 9).
  std::vector<double> lo, hi;
  for (int i = 0; i < 9; ++i) {
    lo.push_back(i);
    hi.push_back(100 + i);
  }
  const auto r = mann_whitney_u(hi, lo);
  EXPECT_EQ(r.u_x, 81.0);
  EXPECT_NEAR(r.p_value, 2.0 / 48620, 1e-19);
  // P(U <= 10) for 9 vs 9, counted by enumerating all 48,620 arrangements.
  EXPECT_NEAR(mann_whitney_cdf(10, 9, 9), 0.002817770464829288, 1e-15);
  EXPECT_NEAR(mann_whitney_cdf(0, 2, 2), 1.0 / 6, 1e-15);
  EXPECT_NEAR(mann_whitney_cdf(1, 2, 2), 2.0 / 6, 1e-15);
  EXPECT_NEAR(mann_whitney_cdf(2, 2, 2), 4.0 / 6, 1e-15);
  // Symmetry at 60 vs 60 (the 128-bit series wrap in between and come back):
  // P(U <= 1799) = P(U >= 1801), so P(U <= 1799) + P(U <= 1800) = 1.
  EXPECT_NEAR(mann_whitney_cdf(1799, 60, 60) + mann_whitney_cdf(1800, 60, 60), 1.0, 1e-12);
  EXPECT_NEAR(mann_whitney_cdf(0, 60, 60), 1.0 / 9.6614908840363322e34, 1e-46);
  // Beyond the exact limit the normal approximation takes over.
  std::vector<double> big_x, big_y;
  for (int i = 0; i < 40; ++i) {
    big_x.push_back(i * 1.01);
    big_y.push_back(i * 0.99 + 0.5);
  }
  EXPECT_EQ(mann_whitney_u(big_x, big_y).method, mann_whitney_method::normal);
}

TEST(hodges_lehmann, moses_interval_matches_enumeration) {
  // Reference: the U distribution enumerated over all arrangements of 9 + 9 ranks, q = 18,
  // interval [D_(18), D_(64)] of the 81 sorted differences, estimate D_(41).
  const std::vector<double> x{11.246, 11.484, 11.59, 11.885, 11.48, 11.845, 10.058, 10.931, 11.887};
  const std::vector<double> y{10.798, 11.302, 9.726, 10.438, 9.993, 10.588, 10.648, 9.526, 9.933};
  const auto r = hodges_lehmann_shift(x, y);
  EXPECT_NEAR(r.estimate, 1.0890000000000004, 1e-12);
  ASSERT_TRUE(r.ci.has_value());
  EXPECT_NEAR(r.ci->lo, 0.49299999999999855, 1e-12);
  EXPECT_NEAR(r.ci->hi, 1.7539999999999996, 1e-12);
  // Two values per side cannot give a 95% interval: P(U = 0) = 1/6 > 0.025.
  const std::vector<double> two_a{1, 2}, two_b{3, 4};
  EXPECT_FALSE(hodges_lehmann_shift(two_a, two_b).ci.has_value());
}

TEST(median_ci, order_statistics_by_hand) {
  // n = 6: [min, max] covers with 1 - 2/64; n = 10: [x_(2), x_(9)] with 1 - 22/1024.
  const std::vector<double> six{5, 1, 4, 2, 6, 3};
  const auto a = median_ci(six);
  ASSERT_TRUE(a.ci.has_value());
  EXPECT_EQ(a.ci->lo, 1.0);
  EXPECT_EQ(a.ci->hi, 6.0);
  EXPECT_NEAR(a.coverage, 1 - 2.0 / 64, 1e-15);
  EXPECT_EQ(a.median, 3.5);
  const std::vector<double> ten{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  const auto b = median_ci(ten);
  ASSERT_TRUE(b.ci.has_value());
  EXPECT_EQ(b.ci->lo, 2.0);
  EXPECT_EQ(b.ci->hi, 9.0);
  EXPECT_NEAR(b.coverage, 1 - 22.0 / 1024, 1e-15);
  const std::vector<double> five{1, 2, 3, 4, 5};
  EXPECT_FALSE(median_ci(five).ci.has_value());
  EXPECT_EQ(median_ci_min_n(0.95), 6);
  EXPECT_EQ(median_ci_min_n(0.99), 8);
}

TEST(paired_bootstrap, degenerate_and_exact_cases) {
  const std::vector<double> same{0, 1, 1, 0, 1};
  const auto a = paired_bootstrap(same, same, 7);
  EXPECT_EQ(a.mean_difference, 0.0);
  EXPECT_EQ(a.p_value, 1.0);
  EXPECT_EQ(a.ci.lo, 0.0);
  EXPECT_EQ(a.ci.hi, 0.0);
  // Every item one better: the difference is certain; p is the smallest a bootstrap can give.
  const std::vector<double> up{1, 2, 2, 1, 2};
  const auto b = paired_bootstrap(same, up, 7, 999);
  EXPECT_EQ(b.mean_difference, 1.0);
  EXPECT_DOUBLE_EQ(b.ci.lo, 1.0);
  EXPECT_DOUBLE_EQ(b.ci.hi, 1.0);
  EXPECT_NEAR(b.p_value, 1.0 / 1000, 1e-15);
  EXPECT_DEATH(paired_bootstrap(same, std::vector<double>{1.0}, 1), "unpaired");
}

TEST(paired_bootstrap, is_the_bootstrap_of_the_differences_and_agrees_with_normal_theory) {
  // 400 paired items, differences -1/0/+1 with mean 0.1 and variance 0.59: normal theory
  // gives se = sqrt(0.59 / 400) = 0.0384 and two-sided p = 2 (1 - Phi(0.1 / 0.0384)) = 0.0092.
  std::vector<double> base, cand, diff;
  rng r(11);
  for (int i = 0; i < 400; ++i) {
    const double b = r.uniform() < 0.5 ? 1 : 0;
    const int pick = i % 20;
    // 7 of 20 +1, 5 of 20 -1, 8 of 20 0: mean 0.1, variance 0.6 - 0.01 = 0.59.
    const double d = pick < 7 ? 1 : (pick < 12 ? -1 : 0);
    base.push_back(b);
    cand.push_back(b + d);
    diff.push_back(d);
  }
  const auto p = paired_bootstrap(base, cand, 99);
  EXPECT_NEAR(p.mean_difference, 0.1, 1e-12);
  const auto same_ci = bootstrap_mean_ci(diff, 99);
  EXPECT_EQ(p.ci.lo, same_ci.lo);
  EXPECT_EQ(p.ci.hi, same_ci.hi);
  const double se = std::sqrt(0.59 / 400);
  EXPECT_NEAR(p.standard_error, se, 0.1 * se);
  const double normal_p = 2 * (1 - normal_cdf(0.1 / se));
  EXPECT_NEAR(p.p_value, normal_p, 0.004);
  EXPECT_LT(p.ci.lo, 0.1);
  EXPECT_GT(p.ci.lo, 0.0);
  // The same seed gives the same answer; another seed another stream.
  EXPECT_EQ(paired_bootstrap(base, cand, 99).p_value, p.p_value);
  EXPECT_NE(paired_bootstrap(base, cand, 100).standard_error, p.standard_error);
}

TEST(sample_size, matches_hand_computed_values) {
  // (1.959964 + 0.841621)^2 = 7.848867: at se 0.05 for 100 units, a margin of 0.05 needs 785.
  EXPECT_EQ(units_to_resolve(100, 0.05, 0.05), 785);
  EXPECT_EQ(units_to_resolve(100, 0.05, 0.10), 197);
  // Connor (1987): psi 0.1, delta 0.05 -> (1.96 sqrt(.1) + 0.8416 sqrt(.0975))^2 / .0025 = 311.6.
  EXPECT_EQ(mcnemar_sample_size(0.1, 0.05), 312);
  // Noether (1987): P(X > Y) = 0.75 -> N = 7.848867 / (3 x 0.0625) = 41.86 -> 21 per side.
  EXPECT_EQ(mann_whitney_sample_size(0.75), 21);
  EXPECT_EQ(mann_whitney_sample_size(0.25), 21);
  EXPECT_EQ(mann_whitney_sample_size(0.5), std::numeric_limits<int64_t>::max());
}

TEST(holm, adjusts_by_hand) {
  const std::vector<double> p{0.01, 0.04, 0.03, 0.005};
  const auto adj = holm_adjust(p);
  ASSERT_EQ(adj.size(), 4u);
  EXPECT_NEAR(adj[0], 0.03, 1e-15);
  EXPECT_NEAR(adj[1], 0.06, 1e-15);
  EXPECT_NEAR(adj[2], 0.06, 1e-15);
  EXPECT_NEAR(adj[3], 0.02, 1e-15);
}

}  // namespace
}  // namespace moebench
