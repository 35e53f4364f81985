// Routing: softmax/sigmoid gating, group-limited top-k, the selection bias used only to choose,
// normalisation and scaling of the weights, and deterministic ties.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "router.h"

namespace moebench::engine::detail {
namespace {

struct routed {
  std::vector<int32_t> selected;
  std::vector<float> weights;
};

routed run(const router_config& c, const std::vector<float>& logits, const std::vector<float>& bias = {}) {
  std::vector<float> probs(logits.size()), selection(logits.size()), group_scores(logits.size());
  std::vector<int32_t> group_order(logits.size());
  routed r{std::vector<int32_t>(static_cast<std::size_t>(c.n_used)), std::vector<float>(static_cast<std::size_t>(c.n_used))};
  route(c, logits, bias, {probs, selection, group_scores, group_order}, r.selected, r.weights);
  return r;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

TEST(router, softmax_top_k_with_probabilities_as_weights) {
  router_config c{.n_expert = 4, .n_used = 2, .gate = gating::softmax};
  const std::vector<float> logits{0.1f, 2.0f, -1.0f, 1.0f};
  const routed r = run(c, logits);
  EXPECT_EQ(r.selected, (std::vector<int32_t>{1, 3}));
  double z = 0;
  for (float l : logits) z += std::exp(l);
  EXPECT_NEAR(r.weights[0], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(r.weights[1], std::exp(1.0) / z, 1e-6);
}

TEST(router, normalised_and_scaled_weights) {
  router_config c{.n_expert = 4, .n_used = 2, .gate = gating::softmax, .normalize = true, .scale = 2.5f};
  const routed r = run(c, {0.1f, 2.0f, -1.0f, 1.0f});
  EXPECT_NEAR(r.weights[0] + r.weights[1], 2.5, 1e-6);
  EXPECT_NEAR(r.weights[0] / r.weights[1], std::exp(1.0), 1e-5);
}

TEST(router, bias_chooses_but_never_weighs) {
  router_config c{.n_expert = 4, .n_used = 1, .gate = gating::sigmoid};
  const std::vector<float> logits{1.0f, 0.5f, 0.0f, -0.5f};
  EXPECT_EQ(run(c, logits).selected[0], 0);
  // A bias large enough to make expert 3 win the selection...
  const routed r = run(c, logits, {0.0f, 0.0f, 0.0f, 0.5f});
  EXPECT_EQ(r.selected[0], 3);
  // ...leaves its weight at the unbiased sigmoid score.
  EXPECT_NEAR(r.weights[0], sigmoid(-0.5f), 1e-7);
}

TEST(router, group_limited_selection) {
  // 8 experts in 4 groups of 2; groups ranked by the sum of their top-2 selection scores.
  // Expert 0 has the single best score but its group (0, 1) sums lower than groups 1 and 2.
  router_config c{.n_expert = 8, .n_used = 2, .n_groups = 4, .n_group_used = 2, .gate = gating::sigmoid};
  const std::vector<float> logits{4.0f, -4.0f, 1.0f, 1.0f, 0.9f, 0.8f, -3.0f, -3.0f};
  const routed r = run(c, logits);
  EXPECT_EQ(r.selected, (std::vector<int32_t>{2, 3}));
  // Without groups, expert 0 is chosen.
  c.n_groups = 0;
  EXPECT_EQ(run(c, logits).selected[0], 0);
}

TEST(router, groups_are_ranked_on_biased_scores) {
  router_config c{.n_expert = 4, .n_used = 1, .n_groups = 2, .n_group_used = 1, .gate = gating::sigmoid};
  const std::vector<float> logits{1.0f, 1.0f, 0.0f, 0.0f};
  EXPECT_LT(run(c, logits).selected[0], 2);
  const routed r = run(c, logits, {0.0f, 0.0f, 0.6f, 0.0f});
  EXPECT_EQ(r.selected[0], 2);
  EXPECT_NEAR(r.weights[0], 0.5f, 1e-7);
}

TEST(router, ties_go_to_the_lower_index) {
  router_config c{.n_expert = 6, .n_used = 3, .gate = gating::softmax};
  const routed r = run(c, {1.0f, 2.0f, 2.0f, 1.0f, 2.0f, 1.0f});
  EXPECT_EQ(r.selected, (std::vector<int32_t>{1, 2, 4}));
  router_config g{.n_expert = 4, .n_used = 1, .n_groups = 2, .n_group_used = 1, .gate = gating::sigmoid};
  EXPECT_EQ(run(g, {0.0f, 0.0f, 0.0f, 0.0f}).selected[0], 0);
}

TEST(router, normalisation_guards_a_zero_sum) {
  router_config c{.n_expert = 2, .n_used = 1, .gate = gating::sigmoid, .normalize = true};
  const routed r = run(c, {-200.0f, -300.0f});
  EXPECT_TRUE(std::isfinite(r.weights[0]));
  EXPECT_GE(r.weights[0], 0.0f);
}

}  // namespace
}  // namespace moebench::engine::detail
