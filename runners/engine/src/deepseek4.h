#pragma once
// DeepSeek-V4's building blocks (GGUF architecture deepseek4, as llama.cpp v0.4.0's
// src/models/deepseek4.cpp and src/llama-kv-cache-dsv4.cpp compute them), exposed so that
// tests can check each against a scalar reference. The forward pass is in deepseek4.cpp.
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

#include "kernels.h"

namespace moebench::engine::detail::dsv4 {

// Hyper-connections: the residual stream of a token is hc copies ("streams") of n_embd. Before a
// sub-block (attention or FFN), `mixes` = hc_fn . rms_norm(all streams) ((2 + hc) hc values) give
//   pre[i]      = sigmoid(mixes[i] scale[0] + base[i]) + eps              (i < hc)
//   post[i]     = 2 sigmoid(mixes[hc + i] scale[1] + base[hc + i])
//   comb[d + hc s] = mixes[2 hc + d + hc s] scale[2] + base[2 hc + d + hc s], then Sinkhorn:
//     softmax over d (for each s), + eps, divide each d by its sum over s (+ eps), then
//     (iters - 1) times: divide each s by its sum over d (+ eps), each d by its sum over s (+ eps).
// The sub-block's input is sum_i pre[i] stream_i; its output f re-enters as
//   stream'_d = post[d] f + sum_s comb[d + hc s] stream_s.
void hc_weights(const float* mixes, const float* scale, const float* base, int64_t hc, int64_t iters, float eps,
                float* pre, float* post, float* comb);
// out[e] = sum_i pre[i] x[i][e]; x: [hc][n].
void hc_collapse(const float* x, const float* pre, int64_t hc, int64_t n, float* out);
// out[d][e] = post[d] f[e] + sum_s comb[d + hc s] residual[s][e]; residual, out: [hc][n] (distinct).
void hc_expand(const float* f, const float* residual, const float* post, const float* comb, int64_t hc, int64_t n,
               float* out);
// The head's weights: pre[i] = sigmoid(mixes[i] scale + base[i]) + eps.
void hc_head_weights(const float* mixes, float scale, const float* base, int64_t hc, float eps, float* pre);

// The compressor's gated pooling of one block, per dimension i < n: a softmax over the entries'
// scores weighs their values, out[i] = sum_j softmax_j(score_j[i]) kv_j[i]. An entry whose
// pointers are null is the zero value with score -inf (the block before the first, for the
// overlapping ratio-4 pools).
void pool(std::span<const float* const> kv, std::span<const float* const> score, int64_t n, float* out);

// Attention of one query head over n keys that are also the values (V4's single shared key/value
// head), with a sink logit in the softmax denominator: p_j = exp(s_j) / (sum_k exp(s_k) +
// exp(sink)), s_j = scale q.key_j, out = sum_j p_j key_j. key_at(j) gives key j; scores holds n.
template <class KeyAt>
void attend(const kernel_table& k, const float* q, int64_t n, KeyAt key_at, int64_t d, float scale, float sink,
            float* scores, float* out) {
  float mx = sink;
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = k.dot_f32(key_at(j), q, d) * scale;
    mx = std::max(mx, scores[j]);
  }
  double sum = std::exp(static_cast<double>(sink - mx));
  for (int64_t j = 0; j < n; ++j) sum += scores[j] = std::exp(scores[j] - mx);
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < d; ++i) out[i] = 0.0f;
  for (int64_t j = 0; j < n; ++j) k.axpy(scores[j] * inv, key_at(j), out, d);
}

// The lightning indexer's choice among n_blocks visible compressed blocks for one query:
// score_b = sum_h relu(q_h . key_b) w_h over n_heads heads of dim d (q: [n_heads][d], keys:
// [n_blocks][d]); the top_k best blocks (all of them when n_blocks <= top_k), written to `out`
// in increasing block order; returns how many. scores and tmp hold n_blocks floats each.
int64_t indexer_select(const kernel_table& k, const float* q, const float* w, const float* keys, int64_t n_blocks,
                       int64_t n_heads, int64_t d, int64_t top_k, float* scores, float* tmp, int32_t* out);
// The two halves of indexer_select: the scores of blocks [b0, b1), and the choice among n scored
// blocks (n > top_k) of the top_k best, ties to the lower block, in block order.
void indexer_scores(const kernel_table& k, const float* q, const float* w, const float* keys, int64_t b0, int64_t b1,
                    int64_t n_heads, int64_t d, float* scores);
int64_t top_k_blocks(const float* scores, int64_t n, int64_t top_k, float* tmp, int32_t* out);

}  // namespace moebench::engine::detail::dsv4
