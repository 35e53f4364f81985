#pragma once
// Expert routing (DeepSeekMoE / Mixtral / Qwen3-MoE), as llama.cpp's build_moe_ffn:
//   probs     = softmax(logits), sigmoid(logits) or sqrt(softplus(logits)) (DeepSeek-V4)
//   selection = probs + bias                       (bias only chooses, never weighs)
//   groups    : score = sum of the top-2 selection values of each group; keep the best
//               n_group_used groups, mask the rest to -inf
//   selected  = top-k of selection;  weights = probs[selected]
//   weights  /= max(sum(weights), 2^-14) when normalising;  weights *= scale (when != 0, 1)
// Ties are broken towards the lower index, for groups and experts alike. A forced selection
// (DeepSeek-V4's hash-routed layers: experts looked up by token id) replaces the top-k; the
// weights are still the probabilities of the chosen experts.
#include <cstdint>
#include <span>

namespace moebench::engine::detail {

enum class gating { softmax, sigmoid, sqrt_softplus };

struct router_config {
  int32_t n_expert = 0;
  int32_t n_used = 0;
  int32_t n_groups = 0;      // 0 or 1 = no group limit
  int32_t n_group_used = 0;
  gating gate = gating::softmax;
  bool normalize = false;
  float scale = 1.0f;
};

struct router_scratch {
  // n_expert floats each, n_groups floats/ints for groups.
  std::span<float> probs;
  std::span<float> selection;
  std::span<float> group_scores;
  std::span<int32_t> group_order;
};

// logits: n_expert router outputs; bias: n_expert selection biases or empty; forced: n_used
// expert ids to use instead of the top-k, or empty.
// selected/weights: n_used outputs, ordered by decreasing selection value (forced: as given).
void route(const router_config& c, std::span<const float> logits, std::span<const float> bias,
           router_scratch s, std::span<int32_t> selected, std::span<float> weights,
           std::span<const int32_t> forced = {});

}  // namespace moebench::engine::detail
