#include "moebench/stats.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "moebench/error.h"

namespace moebench {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  MOEBENCH_CHECK(n >= 0 && c >= 0 && c <= n, "pass_at_k: need 0 <= c <= n");
  MOEBENCH_CHECK(k >= 1 && k <= n, "pass_at_k: need 1 <= k <= n");
  if (n - c < k) return 1.0;
  double log_prod = 0.0;
  for (int64_t i = n - c + 1; i <= n; ++i)
    log_prod += std::log1p(-static_cast<double>(k) / static_cast<double>(i));
  return -std::expm1(log_prod);
}

interval wilson_interval(int64_t successes, int64_t n, double z) {
  MOEBENCH_CHECK(successes >= 0 && successes <= n, "wilson: need 0 <= successes <= n");
  if (n == 0) return {0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double centre = (p + z2 / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

interval bootstrap_mean_ci(std::span<const double> values, uint64_t seed, int64_t resamples,
                           double level) {
  if (values.empty()) return {0.0, 0.0};
  MOEBENCH_CHECK(level > 0 && level < 1, "bootstrap: bad parameters");
  const std::vector<double> means = bootstrap_means(values, seed, resamples);
  const double alpha = (1 - level) / 2;
  return {percentile_sorted(means, 100 * alpha), percentile_sorted(means, 100 * (1 - alpha))};
}

std::vector<double> bootstrap_means(std::span<const double> values, uint64_t seed,
                                    int64_t resamples) {
  if (values.empty()) return {};
  MOEBENCH_CHECK(resamples > 0, "bootstrap: bad parameters");
  rng r(seed);
  std::vector<double> means(static_cast<std::size_t>(resamples));
  const uint64_t m = values.size();
  for (auto& mean : means) {
    double sum = 0;
    for (uint64_t i = 0; i < m; ++i) sum += values[r.bounded(m)];
    mean = sum / static_cast<double>(m);
  }
  std::sort(means.begin(), means.end());
  return means;
}

double percentile_sorted(std::span<const double> sorted, double p) {
  MOEBENCH_CHECK(!sorted.empty(), "percentile of an empty set");
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = static_cast<std::size_t>(std::ceil(rank));
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

summary summarize(std::vector<double> values) {
  summary s;
  s.n = static_cast<int64_t>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  s.min = values.front();
  s.max = values.back();
  s.p50 = percentile_sorted(values, 50);
  s.p90 = percentile_sorted(values, 90);
  s.p99 = percentile_sorted(values, 99);
  return s;
}

void to_json(nlohmann::json& j, const summary& s) {
  j = {{"n", s.n},     {"mean", s.mean}, {"min", s.min}, {"max", s.max},
       {"p50", s.p50}, {"p90", s.p90},   {"p99", s.p99}};
}
void from_json(const nlohmann::json& j, summary& s) {
  j.at("n").get_to(s.n);
  j.at("mean").get_to(s.mean);
  j.at("min").get_to(s.min);
  j.at("max").get_to(s.max);
  j.at("p50").get_to(s.p50);
  j.at("p90").get_to(s.p90);
  j.at("p99").get_to(s.p99);
}

namespace {
constexpr uint64_t splitmix64_gamma = 0x9e3779b97f4a7c15ULL;
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += splitmix64_gamma);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

rng::rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t rng::bounded(uint64_t bound) {
  MOEBENCH_CHECK(bound > 0, "rng::bounded(0)");
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
  auto low = static_cast<uint64_t>(m);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t derive_seed(uint64_t base, std::string_view name) { return derive_seed(base, name, 0); }

uint64_t derive_seed(uint64_t base, std::string_view name, uint64_t index) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  // splitmix64's state advances by its gamma each step, so step `index` is one multiply away.
  uint64_t x = (base ^ h) + index * splitmix64_gamma;
  return splitmix64(x);
}

}  // namespace moebench
