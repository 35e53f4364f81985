#include "router.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "moebench/error.h"

namespace moebench::engine::detail {
namespace {

// Indices of the k largest values, largest first, ties towards the lower index (partial
// selection sort: k and n are small).
void top_k(std::span<const float> v, int32_t k, std::span<int32_t> out) {
  const auto n = static_cast<int32_t>(v.size());
  for (int32_t j = 0; j < k; ++j) {
    int32_t best = -1;
    for (int32_t i = 0; i < n; ++i) {
      bool taken = false;
      for (int32_t p = 0; p < j; ++p) taken = taken || out[p] == i;
      if (taken) continue;
      if (best < 0 || v[i] > v[best]) best = i;
    }
    out[j] = best;
  }
}

}  // namespace

void route(const router_config& c, std::span<const float> logits, std::span<const float> bias,
           router_scratch s, std::span<int32_t> selected, std::span<float> weights,
           std::span<const int32_t> forced) {
  const int32_t n = c.n_expert;
  MOEBENCH_CHECK(static_cast<int32_t>(logits.size()) == n && c.n_used >= 1 && c.n_used <= n,
                 "router shapes");
  switch (c.gate) {
    case gating::softmax: {
      float mx = -std::numeric_limits<float>::infinity();
      for (int32_t i = 0; i < n; ++i) mx = std::max(mx, logits[i]);
      float sum = 0;
      for (int32_t i = 0; i < n; ++i) sum += s.probs[i] = std::exp(logits[i] - mx);
      for (int32_t i = 0; i < n; ++i) s.probs[i] /= sum;
      break;
    }
    case gating::sigmoid:
      for (int32_t i = 0; i < n; ++i) s.probs[i] = 1.0f / (1.0f + std::exp(-logits[i]));
      break;
    case gating::sqrt_softplus:
      // ggml's softplus: x above 20 is its own softplus.
      for (int32_t i = 0; i < n; ++i)
        s.probs[i] = std::sqrt(logits[i] > 20.0f ? logits[i] : std::log(1.0f + std::exp(logits[i])));
      break;
  }
  for (int32_t i = 0; i < n; ++i) s.selection[i] = s.probs[i] + (bias.empty() ? 0.0f : bias[i]);

  if (c.n_groups > 1) {
    const int32_t per_group = n / c.n_groups;
    int32_t best2[2];
    for (int32_t g = 0; g < c.n_groups; ++g) {
      const std::span<const float> group(s.selection.data() + g * per_group, static_cast<std::size_t>(per_group));
      const int32_t take = std::min(2, per_group);
      top_k(group, take, best2);
      float score = 0;
      for (int32_t j = 0; j < take; ++j) score += group[best2[j]];
      s.group_scores[g] = score;
    }
    top_k(s.group_scores.first(static_cast<std::size_t>(c.n_groups)), c.n_group_used, s.group_order);
    for (int32_t g = 0; g < c.n_groups; ++g) {
      bool kept = false;
      for (int32_t j = 0; j < c.n_group_used; ++j) kept = kept || s.group_order[j] == g;
      if (kept) continue;
      for (int32_t i = 0; i < per_group; ++i)
        s.selection[g * per_group + i] = -std::numeric_limits<float>::infinity();
    }
  }

  if (!forced.empty()) {
    MOEBENCH_CHECK(static_cast<int32_t>(forced.size()) == c.n_used, "forced selection size");
    for (int32_t j = 0; j < c.n_used; ++j) {
      MOEBENCH_CHECK(forced[j] >= 0 && forced[j] < n, "forced expert id in range");
      selected[j] = forced[j];
    }
  } else {
    top_k(s.selection.first(static_cast<std::size_t>(n)), c.n_used, selected);
  }
  float sum = 0;
  for (int32_t j = 0; j < c.n_used; ++j) sum += weights[j] = s.probs[selected[j]];
  if (c.normalize) {
    const float denom = std::max(sum, 6.103515625e-5f);
    for (int32_t j = 0; j < c.n_used; ++j) weights[j] /= denom;
  }
  if (c.scale != 0.0f && c.scale != 1.0f)
    for (int32_t j = 0; j < c.n_used; ++j) weights[j] *= c.scale;
}

}  // namespace moebench::engine::detail
