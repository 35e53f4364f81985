#include "moebench/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "moebench/error.h"

namespace moebench {

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  MOEBENCH_CHECK(p > 0 && p < 1, "normal_quantile: need 0 < p < 1");
  // Acklam's rational approximations (relative error 1.15e-9) for the central region and the
  // tails, then one Halley step on erfc, which brings the error to the double rounding level.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  double x = 0;
  if (p < p_low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - p_low) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // Halley: e = Phi(x) - p, computed from the tail nearer to x for accuracy.
  const double e = x < 0 ? 0.5 * std::erfc(-x / std::sqrt(2.0)) - p
                         : (1 - p) - 0.5 * std::erfc(x / std::sqrt(2.0));
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double binomial_cdf(int64_t k, int64_t n, double p) {
  MOEBENCH_CHECK(n >= 0 && p >= 0 && p <= 1, "binomial_cdf: need n >= 0, 0 <= p <= 1");
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p == 0) return 1;
  if (p == 1) return 0;
  const double nn = static_cast<double>(n);
  const double log_p = std::log(p), log_q = std::log1p(-p);
  const double log_n_fact = std::lgamma(nn + 1);
  // Sum the terms from the largest one down, in a scaled form, so that small tails keep their
  // relative precision.
  std::vector<double> logs(static_cast<std::size_t>(k + 1));
  double top = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i <= k; ++i) {
    const double ii = static_cast<double>(i);
    const double l = log_n_fact - std::lgamma(ii + 1) - std::lgamma(nn - ii + 1) + ii * log_p +
                     (nn - ii) * log_q;
    logs[static_cast<std::size_t>(i)] = l;
    top = std::max(top, l);
  }
  double sum = 0;
  for (double l : logs) sum += std::exp(l - top);
  return std::min(1.0, std::exp(top) * sum);
}

mcnemar_result mcnemar_exact(int64_t b, int64_t c) {
  MOEBENCH_CHECK(b >= 0 && c >= 0, "mcnemar: counts must be >= 0");
  mcnemar_result r{b, c, 1.0};
  if (b + c == 0) return r;
  r.p_value = std::min(1.0, 2 * binomial_cdf(std::min(b, c), b + c, 0.5));
  return r;
}

paired_bootstrap_result paired_bootstrap(std::span<const double> baseline,
                                         std::span<const double> candidate, uint64_t seed,
                                         int64_t resamples, double level) {
  MOEBENCH_CHECK(baseline.size() == candidate.size(), "paired_bootstrap: unpaired inputs");
  MOEBENCH_CHECK(resamples > 0 && level > 0 && level < 1, "paired_bootstrap: bad parameters");
  paired_bootstrap_result r;
  r.level = level;
  r.n = static_cast<int64_t>(baseline.size());
  if (baseline.empty()) return r;
  std::vector<double> diff(baseline.size());
  for (std::size_t i = 0; i < diff.size(); ++i) diff[i] = candidate[i] - baseline[i];
  r.mean_difference = std::accumulate(diff.begin(), diff.end(), 0.0) / static_cast<double>(diff.size());
  const std::vector<double> means = bootstrap_means(diff, seed, resamples);
  const double alpha = (1 - level) / 2;
  r.ci = {percentile_sorted(means, 100 * alpha), percentile_sorted(means, 100 * (1 - alpha))};
  double sum = 0, sum_sq = 0;
  for (double m : means) {
    sum += m;
    sum_sq += m * m;
  }
  const double mm = sum / static_cast<double>(means.size());
  r.standard_error = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(means.size()) - mm * mm));
  if (r.mean_difference == 0) {
    r.p_value = 1;
    return r;
  }
  // A tolerance keeps sums that equal the observed mean up to rounding on the "as far" side.
  const double observed = std::fabs(r.mean_difference);
  const double tol = 1e-12 * std::max(1.0, observed);
  int64_t extreme = 0;
  for (double m : means)
    if (std::fabs(m - r.mean_difference) >= observed - tol) ++extreme;
  r.p_value = static_cast<double>(1 + extreme) / static_cast<double>(1 + resamples);
  return r;
}

std::string_view to_string(mann_whitney_method m) noexcept {
  switch (m) {
    case mann_whitney_method::exact: return "exact";
    case mann_whitney_method::normal: return "normal";
  }
  return "?";
}

namespace {

// Counts of U = 0 .. m n over the C(m+n, m) arrangements: the coefficients of the Gaussian
// binomial coefficient prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), computed as power series
// truncated at degree m n. Unsigned 128-bit arithmetic wraps modulo 2^128, a ring, so the
// intermediate series may overflow while the final counts (< C(120, 60) < 2^127) are exact.
std::vector<unsigned __int128> u_counts(int64_t m, int64_t n) {
  MOEBENCH_CHECK(m >= 0 && n >= 0 && m + n <= 120, "mann_whitney: exact distribution needs m + n <= 120");
  const auto degree = static_cast<std::size_t>(m * n);
  std::vector<unsigned __int128> c(degree + 1, 0);
  c[0] = 1;
  for (int64_t i = 1; i <= m; ++i) {
    const auto step = static_cast<std::size_t>(i);
    for (std::size_t u = step; u <= degree; ++u) c[u] += c[u - step];
    const auto lag = static_cast<std::size_t>(n + i);
    for (std::size_t u = degree + 1; u-- > lag;) c[u] -= c[u - lag];
  }
  return c;
}

long double to_long_double(unsigned __int128 v) {
  const auto hi = static_cast<uint64_t>(v >> 64);
  const auto lo = static_cast<uint64_t>(v);
  return static_cast<long double>(hi) * 18446744073709551616.0L + static_cast<long double>(lo);
}

// P(U <= u) for every u, from the exact counts.
std::vector<double> u_cdf(int64_t m, int64_t n) {
  const auto counts = u_counts(m, n);
  long double total = 0;
  for (auto v : counts) total += to_long_double(v);
  std::vector<double> cdf(counts.size());
  long double run = 0;
  for (std::size_t u = 0; u < counts.size(); ++u) {
    run += to_long_double(counts[u]);
    cdf[u] = static_cast<double>(run / total);
  }
  return cdf;
}

}  // namespace

double mann_whitney_cdf(int64_t u, int64_t m, int64_t n) {
  if (u < 0) return 0;
  if (u >= m * n) return 1;
  return u_cdf(m, n)[static_cast<std::size_t>(u)];
}

mann_whitney_result mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  MOEBENCH_CHECK(!x.empty() && !y.empty(), "mann_whitney: both samples must be non-empty");
  const auto m = static_cast<int64_t>(x.size());
  const auto n = static_cast<int64_t>(y.size());
  // Mid-ranks of the pooled sample; U_x = R_x - m (m + 1) / 2.
  std::vector<std::pair<double, bool>> pooled;  // value, from x
  pooled.reserve(x.size() + y.size());
  for (double v : x) pooled.emplace_back(v, true);
  for (double v : y) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum_x = 0, tie_term = 0;
  bool ties = false;
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k)
      if (pooled[k].second) rank_sum_x += mid_rank;
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j;
  }
  const double mm = static_cast<double>(m), nn = static_cast<double>(n);
  mann_whitney_result r;
  r.u_x = rank_sum_x - mm * (mm + 1) / 2;
  r.prob_superiority = r.u_x / (mm * nn);
  const double u_big = std::max(r.u_x, mm * nn - r.u_x);
  if (!ties && m + n <= mann_whitney_exact_max_n) {
    r.method = mann_whitney_method::exact;
    // P(U >= u_big) = P(U <= m n - u_big) by symmetry, read from the lower tail, where small
    // probabilities keep their precision.
    const auto cdf = u_cdf(m, n);
    const auto k = m * n - static_cast<int64_t>(std::llround(u_big));
    r.p_value = std::min(1.0, 2 * cdf[static_cast<std::size_t>(k)]);
    return r;
  }
  r.method = mann_whitney_method::normal;
  const double total = mm + nn;
  const double variance = mm * nn / 12 * ((total + 1) - tie_term / (total * (total - 1)));
  if (variance <= 0) {
    r.p_value = 1;
    return r;
  }
  const double z = (u_big - mm * nn / 2 - 0.5) / std::sqrt(variance);
  r.p_value = std::min(1.0, 2 * normal_cdf(-z));
  return r;
}

shift_estimate hodges_lehmann_shift(std::span<const double> x, std::span<const double> y,
                                    double level) {
  MOEBENCH_CHECK(!x.empty() && !y.empty(), "hodges_lehmann: both samples must be non-empty");
  MOEBENCH_CHECK(level > 0 && level < 1, "hodges_lehmann: need 0 < level < 1");
  std::vector<double> diffs;
  diffs.reserve(x.size() * y.size());
  for (double a : x)
    for (double b : y) diffs.push_back(a - b);
  std::sort(diffs.begin(), diffs.end());
  shift_estimate r;
  r.level = level;
  r.estimate = percentile_sorted(diffs, 50);
  const auto m = static_cast<int64_t>(x.size());
  const auto n = static_cast<int64_t>(y.size());
  const int64_t mn = m * n;
  const double half_alpha = (1 - level) / 2;
  // q: the smallest u with P(U <= u) >= alpha/2 (R's qwilcox); the interval is
  // [D_(q), D_(mn + 1 - q)] in 1-based order, and needs q >= 1.
  int64_t q = 0;
  if (m + n <= 120) {
    const auto cdf = u_cdf(m, n);
    while (q < mn && cdf[static_cast<std::size_t>(q)] < half_alpha) ++q;
  } else {
    const double sd = std::sqrt(static_cast<double>(mn) * static_cast<double>(m + n + 1) / 12);
    q = static_cast<int64_t>(std::floor(static_cast<double>(mn) / 2 + normal_quantile(half_alpha) * sd));
  }
  if (q < 1 || q > mn + 1 - q) return r;
  r.ci = interval{diffs[static_cast<std::size_t>(q - 1)], diffs[static_cast<std::size_t>(mn - q)]};
  return r;
}

median_interval median_ci(std::span<const double> values, double level) {
  MOEBENCH_CHECK(level > 0 && level < 1, "median_ci: need 0 < level < 1");
  median_interval r;
  if (values.empty()) return r;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  r.median = percentile_sorted(sorted, 50);
  const auto n = static_cast<int64_t>(sorted.size());
  int64_t best = 0;
  for (int64_t j = 1; 2 * j <= n + 1; ++j) {
    if (1 - 2 * binomial_cdf(j - 1, n, 0.5) >= level) best = j;
    else break;
  }
  if (best == 0) return r;
  r.ci = interval{sorted[static_cast<std::size_t>(best - 1)], sorted[static_cast<std::size_t>(n - best)]};
  r.coverage = 1 - 2 * binomial_cdf(best - 1, n, 0.5);
  return r;
}

int64_t median_ci_min_n(double level) {
  for (int64_t n = 1;; ++n)
    if (1 - 2 * std::pow(0.5, static_cast<double>(n)) >= level) return n;
}

namespace {
double z_sum(double alpha, double power) {
  MOEBENCH_CHECK(alpha > 0 && alpha < 1 && power > 0 && power < 1, "sample size: need 0 < alpha, power < 1");
  return normal_quantile(1 - alpha / 2) + normal_quantile(power);
}
int64_t ceil_count(double v) {
  if (!std::isfinite(v) || v > 9e18) return std::numeric_limits<int64_t>::max();
  // A hair of tolerance so that exact products (e.g. 311.99999999999994) are not pushed up.
  return static_cast<int64_t>(std::ceil(v - 1e-9));
}
}  // namespace

int64_t units_to_resolve(int64_t n, double standard_error, double margin, double alpha, double power) {
  MOEBENCH_CHECK(n >= 1 && standard_error >= 0, "units_to_resolve: need n >= 1, se >= 0");
  if (margin == 0) return std::numeric_limits<int64_t>::max();
  const double ratio = standard_error * z_sum(alpha, power) / std::fabs(margin);
  return std::max<int64_t>(1, ceil_count(static_cast<double>(n) * ratio * ratio));
}

int64_t mcnemar_sample_size(double discordant, double difference, double alpha, double power) {
  MOEBENCH_CHECK(discordant > 0 && discordant <= 1, "mcnemar_sample_size: need 0 < discordant <= 1");
  const double d = std::fabs(difference);
  if (d == 0) return std::numeric_limits<int64_t>::max();
  MOEBENCH_CHECK(d * d < discordant, "mcnemar_sample_size: |difference| must be below sqrt(discordant)");
  const double za = normal_quantile(1 - alpha / 2), zb = normal_quantile(power);
  const double num = za * std::sqrt(discordant) + zb * std::sqrt(discordant - d * d);
  return ceil_count(num * num / (d * d));
}

int64_t mann_whitney_sample_size(double prob_superiority, double alpha, double power) {
  const double effect = prob_superiority - 0.5;
  if (effect == 0) return std::numeric_limits<int64_t>::max();
  const double z = z_sum(alpha, power);
  const double total = z * z / (3 * effect * effect);  // 12 c (1 - c) = 3 for c = 1/2
  return std::max<int64_t>(2, ceil_count(total / 2));
}

std::vector<double> holm_adjust(std::span<const double> p_values) {
  const std::size_t m = p_values.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> out(m);
  double running = 0;
  for (std::size_t rank = 0; rank < m; ++rank) {
    const double adjusted = std::min(1.0, static_cast<double>(m - rank) * p_values[order[rank]]);
    running = std::max(running, adjusted);
    out[order[rank]] = running;
  }
  return out;
}

}  // namespace moebench
