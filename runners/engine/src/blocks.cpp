// Shared building blocks of the architectures: weight loading, matmul, norms, RoPE/YaRN,
// SwiGLU FFN, the routed MoE FFN and GQA attention.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "model.h"
#include "moebench/error.h"

namespace moebench::engine::detail {

std::string blk(int64_t layer, std::string_view name) { return fmt::format("blk.{}.{}.weight", layer, name); }

const gguf::tensor_info& loader::info(const std::string& name, std::span<const int64_t> shape) const {
  const gguf::tensor_info* t = f_.find_tensor(name);
  if (t == nullptr)
    throw error("engine.missing_tensor", {f_.path(), 0, name}, fmt::format("tensor '{}' is missing", name));
  int64_t want = 1;
  for (int64_t d : shape) want *= d;
  if (t->shape[0] != shape[0] || t->elements() != want)
    throw error("engine.bad_shape", {f_.path(), 0, name},
                fmt::format("tensor '{}' has shape [{}], expected [{}]", name, fmt::join(t->shape, ", "),
                            fmt::join(shape, ", ")));
  if (!gguf::can_dequantize(t->type))
    throw error("engine.unsupported_type", {f_.path(), 0, name},
                fmt::format("tensor '{}' has type {}, which the engine cannot read", name, gguf::name(t->type)));
  return *t;
}

matrix loader::mat(const std::string& name, int64_t cols, int64_t rows) const {
  const int64_t shape[2] = {cols, rows};
  const gguf::tensor_info& t = info(name, shape);
  const auto rb = gguf::row_bytes(t.type, cols);
  MOEBENCH_CHECK(rb.has_value(), "row size of a validated tensor");
  return {t.type, rows, cols, f_.data(t).data(), *rb};
}

const float* loader::vec(const std::string& name, int64_t n) const {
  const int64_t shape[1] = {n};
  const gguf::tensor_info& t = info(name, shape);
  if (t.type == gguf::tensor_type::f32) return reinterpret_cast<const float*>(f_.data(t).data());
  auto& v = owned_.emplace_back(static_cast<std::size_t>(n));
  f_.dequantize_row(t, 0, v.data());
  return v.data();
}

std::vector<float>& loader::dequantized(const std::string& name, int64_t cols, int64_t rows) const {
  const int64_t shape[2] = {cols, rows};
  const gguf::tensor_info& t = info(name, shape);
  auto& v = owned_.emplace_back(static_cast<std::size_t>(cols * rows));
  for (int64_t r = 0; r < rows; ++r) f_.dequantize_row(t, r, v.data() + r * cols);
  return v;
}

namespace {

void matmul_rows(const kernel_table& k, const matrix& w, int64_t r0, int64_t r1, const float* x,
                 int64_t x_stride, int64_t n_tok, float* y, int64_t y_stride, float* scratch) {
  // Few tokens (decode): dot straight from the stored type. Several tokens (prefill, batched
  // decode) or a type without a direct kernel: dequantise each row once and dot it with four
  // tokens at a time. Both paths give the same bits per token (kernels.h), so a token's result
  // does not depend on the batch it is in.
  if (w.type != gguf::tensor_type::f32 && has_direct_dot(w.type) && n_tok < 4) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t t = 0; t < n_tok; ++t)
        y[t * y_stride + r] = dot_row(k, w.type, w.row(r), x + t * x_stride, w.cols, scratch);
    return;
  }
  float four[4];
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = scratch;
    if (w.type == gguf::tensor_type::f32) row = reinterpret_cast<const float*>(w.row(r));
    else if (w.type == gguf::tensor_type::q8_0) k.dequant_q8_0(w.row(r), scratch, w.cols);
    else gguf::dequantize_row(w.type, w.row(r), scratch, w.cols);
    int64_t t = 0;
    for (; t + 4 <= n_tok; t += 4) {
      k.dot_f32_x4(row, x + t * x_stride, x_stride, w.cols, four);
      for (int64_t i = 0; i < 4; ++i) y[(t + i) * y_stride + r] = four[i];
    }
    for (; t < n_tok; ++t) y[t * y_stride + r] = k.dot_f32(row, x + t * x_stride, w.cols);
  }
}

}  // namespace

void matmul(const forward_ctx& fc, const matrix& w, const float* x, int64_t x_stride, int64_t n_tok,
            float* y, int64_t y_stride) {
  // Chunks of rows sized so that each holds a few KiB of weights and there are several per
  // thread (load balance on a shared machine).
  const int64_t threads = fc.pool->size();
  const int64_t chunk = std::max<int64_t>(4, w.rows / (threads * 4));
  const int64_t n_chunks = (w.rows + chunk - 1) / chunk;
  auto job = [&](int64_t c, int worker) {
    const int64_t r0 = c * chunk;
    const int64_t r1 = std::min(w.rows, r0 + chunk);
    matmul_rows(*fc.k, w, r0, r1, x, x_stride, n_tok, y, y_stride, (*fc.workers)[static_cast<std::size_t>(worker)].row.data());
  };
  fc.pool->run(n_chunks, job);
}

void matmul_serial(const forward_ctx& fc, int worker, const matrix& w, const float* x, int64_t x_stride,
                   int64_t n_tok, float* y, int64_t y_stride) {
  matmul_rows(*fc.k, w, 0, w.rows, x, x_stride, n_tok, y, y_stride,
              (*fc.workers)[static_cast<std::size_t>(worker)].row.data());
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0;  // ggml accumulates the sum of squares in double
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void rope_cache(const rope_params& r, int64_t pos, float* cache) {
  // As ggml: theta_i = pos * base^(-2i/n_rot) by repeated multiplication; YaRN blends the
  // interpolated and extrapolated angle with a linear ramp over the correction dims and
  // scales the magnitude by attn_factor * (1 + 0.1 ln(1/freq_scale)).
  const float theta_scale = std::pow(r.freq_base, -2.0f / static_cast<float>(r.n_rot));
  const auto corr_dim = [&](float n_rot_beta) {
    return static_cast<float>(r.n_rot) *
           std::log(static_cast<float>(r.n_ctx_orig) / (n_rot_beta * 2.0f * static_cast<float>(M_PI))) /
           (2.0f * std::log(r.freq_base));
  };
  const float low = std::max(0.0f, std::floor(corr_dim(r.beta_fast)));
  const float high = std::min(static_cast<float>(r.n_rot - 1), std::ceil(corr_dim(r.beta_slow)));
  float theta = static_cast<float>(pos);
  for (int64_t i0 = 0; i0 < r.n_rot; i0 += 2) {
    const float theta_extrap = theta;
    const float theta_interp = r.freq_scale * theta_extrap;
    float th = theta_interp;
    float mscale = r.attn_factor;
    if (r.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i0 / 2) - low) / std::max(0.001f, high - low);
      const float ramp_mix = (1.0f - std::min(1.0f, std::max(0.0f, y))) * r.ext_factor;
      th = theta_interp * (1.0f - ramp_mix) + theta_extrap * ramp_mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / r.freq_scale);
    }
    cache[i0] = std::cos(th) * mscale;
    cache[i0 + 1] = std::sin(th) * mscale;
    theta *= theta_scale;
  }
}

void rope_apply(const rope_params& r, const float* cache, float* x) {
  const int64_t half = r.n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float c = cache[2 * i];
    const float s = cache[2 * i + 1];
    float* a = r.neox ? x + i : x + 2 * i;
    float* b = r.neox ? x + i + half : x + 2 * i + 1;
    const float x0 = *a;
    const float x1 = *b;
    *a = x0 * c - x1 * s;
    *b = x0 * s + x1 * c;
  }
}

ffn_scratch::ffn_scratch(const hparams& hp, int64_t max_tokens) {
  const auto T = static_cast<std::size_t>(max_tokens);
  const auto ff = static_cast<std::size_t>(std::max({hp.n_ff, hp.n_ff_exp * std::max<int64_t>(1, hp.n_expert_shared), hp.n_ff_exp}));
  const auto E = static_cast<std::size_t>(hp.n_embd);
  const auto n_exp = static_cast<std::size_t>(std::max<int64_t>(1, hp.n_expert));
  const auto k = static_cast<std::size_t>(std::max<int64_t>(1, hp.n_expert_used));
  gate.resize(T * ff);
  up.resize(T * ff);
  router_logits.resize(T * n_exp);
  selected.resize(T * k);
  weights.resize(T * k);
  probs.resize(n_exp);
  selection.resize(n_exp);
  group_scores.resize(n_exp);
  group_order.resize(n_exp);
  expert_tokens.resize(T * k);
  expert_slot.resize(T * k);
  expert_count.resize(n_exp + 1);
  xe.resize(T * E);
  he.resize(T * ff);
  ye.resize(T * E);
}

namespace {

// Telemetry of one token's routing: hits, the entropy of its normalised weights, and whether
// the last choice was a near tie (selection holds route()'s scores for this token).
void record_routing(routing_stats& r, int64_t layer, const int32_t* sel, const float* wt, int64_t k,
                    std::span<const float> selection, bool last_token, bool forced) {
  auto& hits = r.hits[static_cast<std::size_t>(layer)];
  float sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::abs(wt[j]);
  double h = 0;
  for (int64_t j = 0; j < k; ++j) {
    ++hits[static_cast<std::size_t>(sel[j])];
    const double p = sum > 0 ? std::abs(wt[j]) / sum : 0.0;
    if (p > 0) h -= p * std::log2(p);
  }
  r.gate_entropy_bits_sum += h;
  r.gate_entropy_count += 1;
  if (forced) return;  // looked up by token id: no decision a score margin could flip
  const float last = selection[static_cast<std::size_t>(sel[k - 1])];
  float best_other = -std::numeric_limits<float>::infinity();
  for (std::size_t e = 0; e < selection.size(); ++e)
    if (std::find(sel, sel + k, static_cast<int32_t>(e)) == sel + k) best_other = std::max(best_other, selection[e]);
  r.decisions += 1;
  if (std::isfinite(best_other)) {
    if (last - best_other < routing_stats::near_tie_margin) r.near_ties += 1;
    if (last_token) r.last_token_margin = std::min(r.last_token_margin, last - best_other);
  }
}

void swiglu(float* gate, const float* up, int64_t n, float limit) {
  if (limit > 1e-6f) {  // llama.cpp applies a clamp above 1e-6
    for (int64_t i = 0; i < n; ++i) {
      const float g = std::min(gate[i], limit);
      gate[i] = g / (1.0f + std::exp(-g)) * std::clamp(up[i], -limit, limit);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace

void dense_ffn(const forward_ctx& fc, const ffn_weights& w, int64_t ff, const float* x, int64_t n_tok,
               int64_t n_embd, float* out, ffn_scratch& s, float swiglu_limit) {
  matmul(fc, w.gate, x, n_embd, n_tok, s.gate.data(), ff);   // [T][ff]
  matmul(fc, w.up, x, n_embd, n_tok, s.up.data(), ff);       // [T][ff]
  swiglu(s.gate.data(), s.up.data(), n_tok * ff, swiglu_limit);
  matmul(fc, w.down, s.gate.data(), ff, n_tok, out, n_embd);  // [T][E]
}

void moe_ffn(const forward_ctx& fc, const hparams& hp, const moe_weights& w, int64_t layer, const float* x,
             int64_t n_tok, float* out, ffn_scratch& s, const int32_t* forced) {
  const int64_t E = hp.n_embd;
  const int64_t n_exp = hp.n_expert;
  const int64_t k = hp.n_expert_used;
  const int64_t ff = w.ff;
  matmul(fc, w.router, x, E, n_tok, s.router_logits.data(), n_exp);  // [T][n_expert]

  const router_scratch rs{s.probs, s.selection, s.group_scores, s.group_order};
  const std::span<const float> bias = w.bias != nullptr ? std::span<const float>(w.bias, static_cast<std::size_t>(n_exp))
                                                        : std::span<const float>();
  for (int64_t t = 0; t < n_tok; ++t) {
    int32_t* sel = s.selected.data() + t * k;
    float* wt = s.weights.data() + t * k;
    const std::span<const int32_t> forced_t =
        forced != nullptr ? std::span<const int32_t>(forced + t * k, static_cast<std::size_t>(k)) : std::span<const int32_t>();
    route(hp.router, std::span<const float>(s.router_logits.data() + t * n_exp, static_cast<std::size_t>(n_exp)), bias, rs,
          std::span<int32_t>(sel, static_cast<std::size_t>(k)), std::span<float>(wt, static_cast<std::size_t>(k)), forced_t);
    if (fc.routing != nullptr)
      record_routing(*fc.routing, layer, sel, wt, k, s.selection, t == n_tok - 1, forced != nullptr);
  }

  // Group the (token, slot) pairs by expert so each expert's weights are read once per step.
  std::fill(s.expert_count.begin(), s.expert_count.end(), 0);
  for (int64_t i = 0; i < n_tok * k; ++i) ++s.expert_count[static_cast<std::size_t>(s.selected[static_cast<std::size_t>(i)]) + 1];
  for (int64_t e = 0; e < n_exp; ++e) s.expert_count[static_cast<std::size_t>(e + 1)] += s.expert_count[static_cast<std::size_t>(e)];
  // expert_count[e] is now the start of expert e's range; fill and shift back.
  for (int64_t i = 0; i < n_tok * k; ++i) {
    const auto e = static_cast<std::size_t>(s.selected[static_cast<std::size_t>(i)]);
    const int32_t at = s.expert_count[e]++;
    s.expert_tokens[static_cast<std::size_t>(at)] = static_cast<int32_t>(i / k);
    s.expert_slot[static_cast<std::size_t>(at)] = static_cast<int32_t>(i);
  }
  int32_t begin = 0;
  for (int64_t e = 0; e < n_exp; ++e) {
    const int32_t end = s.expert_count[static_cast<std::size_t>(e)];
    const int64_t m = end - begin;
    if (m > 0) {
      for (int64_t i = 0; i < m; ++i)
        std::copy_n(x + s.expert_tokens[static_cast<std::size_t>(begin + i)] * E, E, s.xe.data() + i * E);
      matmul(fc, w.gate_exps.slice(e * ff, ff), s.xe.data(), E, m, s.gate.data(), ff);  // [m][ff]
      matmul(fc, w.up_exps.slice(e * ff, ff), s.xe.data(), E, m, s.up.data(), ff);      // [m][ff]
      swiglu(s.gate.data(), s.up.data(), m * ff, w.swiglu_limit);
      matmul(fc, w.down_exps.slice(e * E, E), s.gate.data(), ff, m, s.ye.data(), E);    // [m][E]
      for (int64_t i = 0; i < m; ++i) {
        const auto idx = static_cast<std::size_t>(begin + i);
        fc.k->axpy(s.weights[static_cast<std::size_t>(s.expert_slot[idx])], s.ye.data() + i * E,
                   out + s.expert_tokens[idx] * E, E);
      }
    }
    begin = end;
  }
}

void ffn_block(const forward_ctx& fc, const hparams& hp, const ffn_block_weights& w, int64_t layer, float* x,
               float* h, float* y, int64_t n_tok, ffn_scratch& s) {
  const int64_t E = hp.n_embd;
  for (int64_t t = 0; t < n_tok; ++t) rms_norm(x + t * E, w.norm, h + t * E, E, hp.rms_eps);
  if (w.dense) {
    dense_ffn(fc, w.ffn, w.ffn_ff, h, n_tok, E, y, s);
  } else {
    if (w.ffn_ff > 0) dense_ffn(fc, w.ffn, w.ffn_ff, h, n_tok, E, y, s);
    else std::fill_n(y, n_tok * E, 0.0f);
    moe_ffn(fc, hp, w.moe, layer, h, n_tok, y, s);
  }
  for (int64_t i = 0; i < n_tok * E; ++i) x[i] += y[i];
}

void output_head(const forward_ctx& fc, const hparams& hp, const batch& bt, const float* norm, const matrix& out,
                 const float* x, float* h, float* logits) {
  const int64_t E = hp.n_embd;
  const auto n_out = static_cast<int64_t>(bt.outputs.size());
  if (n_out == 0) return;  // only prefill chunks before their last
  for (int64_t i = 0; i < n_out; ++i)
    rms_norm(x + bt.outputs[static_cast<std::size_t>(i)] * E, norm, h + i * E, E, hp.rms_eps);
  matmul(fc, out, h, E, n_out, logits, hp.n_vocab);  // [n_out][V]
}

void gqa_attention(const forward_ctx& fc, const hparams& hp, const batch& bt, int64_t layer, const float* q,
                   float scale, float* out) {
  const int64_t H = hp.n_head;
  const int64_t hd = hp.head_dim;
  const int64_t kv_w = hp.n_head_kv * hd;
  const int64_t group = H / hp.n_head_kv;
  auto job = [&](int64_t task, int worker) {
    const int64_t t = task / H;
    const int64_t h = task % H;
    const int64_t n_ctx = bt.pos[static_cast<std::size_t>(t)] + 1;
    const float* k_cache = bt.cache(t, layer, 2 * kv_w);  // [ctx][kv_w]
    const float* v_cache = k_cache + bt.ctx * kv_w;        // [ctx][kv_w]
    const int64_t kvh = h / group;
    const float* qh = q + (t * H + h) * hd;
    float* sc = (*fc.workers)[static_cast<std::size_t>(worker)].scores.data();
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n_ctx; ++j) {
      sc[j] = fc.k->dot_f32(k_cache + j * kv_w + kvh * hd, qh, hd) * scale;
      mx = std::max(mx, sc[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < n_ctx; ++j) sum += sc[j] = std::exp(sc[j] - mx);
    const auto inv = static_cast<float>(1.0 / sum);
    float* o = out + (t * H + h) * hd;
    std::fill_n(o, hd, 0.0f);
    for (int64_t j = 0; j < n_ctx; ++j) fc.k->axpy(sc[j] * inv, v_cache + j * kv_w + kvh * hd, o, hd);
  };
  fc.pool->run(bt.size() * H, job);
}

void count_matrix(model_facts& f, const matrix& m, double active_fraction) {
  const double params = static_cast<double>(m.rows) * static_cast<double>(m.cols);
  f.total_params += params;
  f.weight_bytes += static_cast<double>(m.bytes());
  f.active_params_per_token += params * active_fraction;
  f.active_weight_bytes_per_token += static_cast<double>(m.bytes()) * active_fraction;
}

}  // namespace moebench::engine::detail
