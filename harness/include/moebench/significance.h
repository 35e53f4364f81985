#pragma once
// Hypothesis tests, paired comparisons and sample-size estimates: the statistics behind
// decisions (gates, claims), beside stats.h's estimators and intervals.
//
// Conventions: differences are candidate - baseline (or x - y); p-values are two-sided;
// `level` is a confidence level such as 0.95; `alpha` a significance level such as 0.05;
// `power` the probability of detecting the stated effect, such as 0.8.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "moebench/stats.h"

namespace moebench {

// Standard normal distribution: cumulative probability, and its inverse for p in (0, 1)
// (Acklam's rational approximation refined by one Halley step: full double precision).
double normal_cdf(double x);
double normal_quantile(double p);

// P(X <= k) for X ~ Binomial(n, p), summed in log space (exact to ~1e-13 for n in the
// hundreds of thousands). k < 0 -> 0; k >= n -> 1.
double binomial_cdf(int64_t k, int64_t n, double p);

// McNemar's exact test for paired pass/fail items: of the discordant pairs, `b` passed only
// in the baseline and `c` only in the candidate. Under "no change" b ~ Binomial(b + c, 1/2);
// p = min(1, 2 P(X <= min(b, c))), as statsmodels' mcnemar(exact=True).
struct mcnemar_result {
  int64_t b = 0;
  int64_t c = 0;
  double p_value = 1;
};
mcnemar_result mcnemar_exact(int64_t b, int64_t c);

// Paired bootstrap of the mean difference candidate[i] - baseline[i] over items (tasks):
// items are resampled with replacement, `resamples` times from `seed` (the same stream as
// bootstrap_mean_ci over the differences). `ci` is the percentile interval at `level`;
// `p_value` the two-sided bootstrap test of "mean difference 0" (Efron & Tibshirani 16.4: the
// share of resampled means at least as far from the observed mean as the observed mean is from
// 0), (1 + count) / (1 + resamples), and 1 when the observed difference is 0.
// Both spans must have the same length (checked); empty input -> n 0, p 1.
struct paired_bootstrap_result {
  int64_t n = 0;
  double mean_difference = 0;
  interval ci;
  double level = 0.95;
  double p_value = 1;
  double standard_error = 0;  // standard deviation of the resampled means
};
paired_bootstrap_result paired_bootstrap(std::span<const double> baseline,
                                         std::span<const double> candidate, uint64_t seed,
                                         int64_t resamples = 10000, double level = 0.95);

// Mann-Whitney U test of x against y (two-sided), as scipy.stats.mannwhitneyu does:
// `u_x` = #{x_i > y_j} + 0.5 #{x_i == y_j}. Exact distribution when there are no ties and
// n_x + n_y <= mann_whitney_exact_max_n; otherwise the normal approximation with the tie
// correction of the variance and a continuity correction of 0.5. All values tied -> p 1.
enum class mann_whitney_method { exact, normal };
std::string_view to_string(mann_whitney_method m) noexcept;
inline constexpr int64_t mann_whitney_exact_max_n = 60;
struct mann_whitney_result {
  double u_x = 0;
  double p_value = 1;
  mann_whitney_method method = mann_whitney_method::exact;
  double prob_superiority = 0.5;  // u_x / (n_x n_y): P(X > Y) + P(X == Y)/2
};
// Both samples non-empty (checked).
mann_whitney_result mann_whitney_u(std::span<const double> x, std::span<const double> y);

// The null distribution of U for samples of m and n without ties: P(U <= u), exact
// (counts from the Gaussian binomial coefficient). m + n <= 120 (checked).
double mann_whitney_cdf(int64_t u, int64_t m, int64_t n);

// Hodges-Lehmann estimate of the shift x - y (the median of the m n pairwise differences) and
// the distribution-free Moses interval around it: the differences of ranks q and mn + 1 - q,
// q from the exact U distribution (normal approximation past 120 values), as R's wilcox.test.
// `ci` is empty when the samples are too small for the level.
struct shift_estimate {
  double estimate = 0;
  std::optional<interval> ci;
  double level = 0.95;
};
shift_estimate hodges_lehmann_shift(std::span<const double> x, std::span<const double> y,
                                    double level = 0.95);

// Distribution-free interval for a median from order statistics: [x_(j), x_(n+1-j)] with the
// largest j whose coverage 1 - 2 P(B <= j - 1), B ~ Binomial(n, 1/2), is at least `level`.
// Empty when n is too small (fewer than 6 values for 95%).
struct median_interval {
  double median = 0;
  std::optional<interval> ci;
  double coverage = 0;  // achieved, >= level
};
median_interval median_ci(std::span<const double> values, double level = 0.95);
// The fewest values whose order-statistic interval reaches `level` (6 for 0.95).
int64_t median_ci_min_n(double level = 0.95);

// Sample sizes (all rounded up):
// - units_to_resolve: an estimate whose standard error is `standard_error` at `n` units
//   (tasks, samples) lies `margin` from a threshold; the units a (1 - alpha) two-sided
//   interval needs to exclude the threshold with probability `power`, assuming the standard
//   error shrinks as 1 / sqrt(n): n (se (z_{1-alpha/2} + z_power) / margin)^2.
// - mcnemar_sample_size: pairs to detect a difference `difference` in paired proportions when
//   a share `discordant` of the pairs disagree (Connor 1987).
// - mann_whitney_sample_size: repetitions per side for a Mann-Whitney test to detect
//   P(X > Y) = `prob_superiority` (Noether 1987, equal group sizes).
int64_t units_to_resolve(int64_t n, double standard_error, double margin, double alpha = 0.05,
                         double power = 0.8);
int64_t mcnemar_sample_size(double discordant, double difference, double alpha = 0.05,
                            double power = 0.8);
int64_t mann_whitney_sample_size(double prob_superiority, double alpha = 0.05,
                                 double power = 0.8);

// Holm's step-down adjustment of p-values (family-wise error at most alpha when an adjusted
// p-value is compared with alpha); the result is in the input order.
std::vector<double> holm_adjust(std::span<const double> p_values);

}  // namespace moebench
