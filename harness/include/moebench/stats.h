#pragma once
// Statistics for honest numbers: unbiased pass@k, confidence intervals, percentiles, and a
// portable seeded random generator (the same stream on every platform and standard library).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace moebench {

// Unbiased pass@k estimator (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), computed as
// 1 - prod_{i=n-c+1..n} (1 - k/i) in log space, stable for n in the thousands.
// Preconditions (checked): 0 <= c <= n, 1 <= k <= n.
double pass_at_k(int64_t n, int64_t c, int64_t k);

struct interval {
  double lo = 0;
  double hi = 0;
};

// Wilson score interval for a binomial proportion; z = 1.96 gives 95%. n == 0 -> [0, 1].
interval wilson_interval(int64_t successes, int64_t n, double z = 1.959963984540054);

// Percentile bootstrap CI of the mean of `values` (e.g. per-task pass@k), resampling the
// values with replacement `resamples` times from `seed`. Empty input -> [0, 0].
interval bootstrap_mean_ci(std::span<const double> values, uint64_t seed,
                           int64_t resamples = 10000, double level = 0.95);
// The resampled means behind bootstrap_mean_ci, sorted ascending (empty input -> empty).
std::vector<double> bootstrap_means(std::span<const double> values, uint64_t seed,
                                    int64_t resamples = 10000);

// Percentile with linear interpolation between closest ranks (numpy's default), p in [0, 100].
// `sorted` must be ascending and non-empty.
double percentile_sorted(std::span<const double> sorted, double p);

struct summary {
  int64_t n = 0;
  double mean = 0, min = 0, max = 0, p50 = 0, p90 = 0, p99 = 0;
};
summary summarize(std::vector<double> values);
void to_json(nlohmann::json& j, const summary& s);
void from_json(const nlohmann::json& j, summary& s);

// xoshiro256** seeded through splitmix64: a small, fast, portable generator. Unlike the
// std:: distributions, bounded() gives the same values with every standard library.
class rng {
 public:
  explicit rng(uint64_t seed);
  uint64_t next();
  // Uniform in [0, bound) without modulo bias (Lemire's method). bound > 0.
  uint64_t bounded(uint64_t bound);
  // Uniform in [0, 1) with 53 random bits.
  double uniform();

 private:
  uint64_t s_[4];
};

// Derives an independent seed for a named purpose from a base seed (splitmix64 over the
// base xor a hash of the name), so that one --seed can feed several named streams.
uint64_t derive_seed(uint64_t base, std::string_view name);
// The index-th seed of the named stream: the splitmix64 sequence that derive_seed(base, name)
// starts (index 0 is derive_seed(base, name) itself). Random access, so that many generators
// (one per tensor row, say) can be seeded independently and in any order.
uint64_t derive_seed(uint64_t base, std::string_view name, uint64_t index);

}  // namespace moebench
