// Sampling: greedy is argmax, seeds make draws reproducible, filters (top-k, top-p, min-p)
// restrict the support, and the draw follows the tempered distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "moebench/engine/engine.h"

namespace moebench::engine {
namespace {

const std::vector<float> logits{1.0f, 3.0f, 2.0f, 0.0f, 2.5f, -1.0f};

generation_params params(double temperature, uint64_t seed) {
  generation_params p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

std::vector<int32_t> draws(const generation_params& p, int n) {
  sampler s(p);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits));
  return out;
}

TEST(sampler, greedy_is_argmax_with_low_index_ties) {
  EXPECT_EQ(draws(params(0.0, 1), 3), (std::vector<int32_t>{1, 1, 1}));
  sampler s(params(0.0, 1));
  EXPECT_EQ(s.sample(std::vector<float>{0.5f, 2.0f, 2.0f}), 1);
}

TEST(sampler, same_seed_same_draws_other_seed_other_draws) {
  EXPECT_EQ(draws(params(1.0, 42), 64), draws(params(1.0, 42), 64));
  EXPECT_NE(draws(params(1.0, 42), 64), draws(params(1.0, 43), 64));
}

TEST(sampler, top_k_one_is_greedy) {
  generation_params p = params(5.0, 7);
  p.top_k = 1;
  for (int32_t t : draws(p, 50)) EXPECT_EQ(t, 1);
}

TEST(sampler, filters_restrict_the_support) {
  generation_params k = params(10.0, 3);
  k.top_k = 3;
  for (int32_t t : draws(k, 300)) EXPECT_TRUE(t == 1 || t == 4 || t == 2) << t;

  // At temperature 1, p = softmax(logits): 1 -> .41, 4 -> .25, 2 -> .15 ...; top_p 0.6 keeps two.
  generation_params tp = params(1.0, 4);
  tp.top_p = 0.6;
  const auto d = draws(tp, 300);
  EXPECT_EQ(std::set<int32_t>(d.begin(), d.end()), (std::set<int32_t>{1, 4}));

  // min_p 0.5 keeps tokens with p >= 0.5 * p_max: 1 and 4 (e^-0.5 = .61), not 2 (e^-1 = .37).
  generation_params mp = params(1.0, 5);
  mp.min_p = 0.5;
  const auto m = draws(mp, 300);
  EXPECT_EQ(std::set<int32_t>(m.begin(), m.end()), (std::set<int32_t>{1, 4}));
}

TEST(sampler, frequencies_follow_the_tempered_distribution) {
  const int n = 20000;
  const auto d = draws(params(2.0, 11), n);
  std::map<int32_t, int> counts;
  for (int32_t t : d) ++counts[t];
  double z = 0;
  for (float l : logits) z += std::exp(l / 2.0);
  for (int32_t i = 0; i < static_cast<int32_t>(logits.size()); ++i) {
    const double p = std::exp(logits[static_cast<std::size_t>(i)] / 2.0) / z;
    const double sd = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(static_cast<double>(counts[i]) / n, p, 5 * sd) << "token " << i;
  }
}

}  // namespace
}  // namespace moebench::engine
