// DeepSeek-V4's components (runners/engine/src/deepseek4.h) against scalar references written
// here in double precision from the definitions (llama.cpp v0.4.0 src/models/deepseek4.cpp),
// and the clamped SwiGLU, sqrt-softplus and hash routing of the shared blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "deepseek4.h"
#include "model.h"
#include "moebench/stats.h"
#include "router.h"

namespace moebench::engine::detail {
namespace {

std::vector<float> uniform(std::size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  rng r(seed);
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * static_cast<float>(static_cast<double>(r.next() >> 11) * 0x1p-53);
  return v;
}

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(deepseek4, hyper_connection_weights_match_the_definition) {
  for (int64_t hc : {1, 2, 4}) {
    for (int64_t iters : {1, 3, 20}) {
      const int64_t mix = (2 + hc) * hc;
      const auto mixes = uniform(static_cast<std::size_t>(mix), 1 + hc, -2, 2);
      const auto base = uniform(static_cast<std::size_t>(mix), 2 + hc);
      const std::vector<float> scale{0.7f, 1.3f, 0.9f};
      const float eps = 1e-6f;
      std::vector<float> pre(hc), post(hc), comb(hc * hc);
      dsv4::hc_weights(mixes.data(), scale.data(), base.data(), hc, iters, eps, pre.data(), post.data(), comb.data());
      // Reference: the same steps in double.
      for (int64_t i = 0; i < hc; ++i) {
        EXPECT_NEAR(pre[i], sig(mixes[i] * 0.7 + base[i]) + eps, 1e-6);
        EXPECT_NEAR(post[i], 2 * sig(mixes[hc + i] * 1.3 + base[hc + i]), 1e-6);
      }
      std::vector<double> c(hc * hc);  // c[d + hc s]
      for (int64_t j = 0; j < hc * hc; ++j) c[j] = mixes[2 * hc + j] * 0.9 + base[2 * hc + j];
      for (int64_t s = 0; s < hc; ++s) {
        double z = 0, mx = -1e300;
        for (int64_t d = 0; d < hc; ++d) mx = std::max(mx, c[d + hc * s]);
        for (int64_t d = 0; d < hc; ++d) z += std::exp(c[d + hc * s] - mx);
        for (int64_t d = 0; d < hc; ++d) c[d + hc * s] = std::exp(c[d + hc * s] - mx) / z + eps;
      }
      auto over_s = [&] {
        for (int64_t d = 0; d < hc; ++d) {
          double z = 0;
          for (int64_t s = 0; s < hc; ++s) z += c[d + hc * s];
          for (int64_t s = 0; s < hc; ++s) c[d + hc * s] /= z + eps;
        }
      };
      auto over_d = [&] {
        for (int64_t s = 0; s < hc; ++s) {
          double z = 0;
          for (int64_t d = 0; d < hc; ++d) z += c[d + hc * s];
          for (int64_t d = 0; d < hc; ++d) c[d + hc * s] /= z + eps;
        }
      };
      over_s();
      for (int64_t it = 1; it < iters; ++it) {
        over_d();
        over_s();
      }
      for (int64_t j = 0; j < hc * hc; ++j) EXPECT_NEAR(comb[j], c[j], 1e-6) << hc << " " << iters << " " << j;
      if (iters == 20) {  // Sinkhorn converges to a doubly stochastic matrix
        for (int64_t d = 0; d < hc; ++d) {
          double row = 0, col = 0;
          for (int64_t s = 0; s < hc; ++s) row += comb[d + hc * s], col += comb[s + hc * d];
          EXPECT_NEAR(row, 1.0, 1e-4);
          EXPECT_NEAR(col, 1.0, 1e-4);
        }
      }
    }
  }
}

TEST(deepseek4, hyper_connection_collapse_and_expand) {
  const int64_t hc = 4, n = 37;
  const auto x = uniform(hc * n, 3), f = uniform(n, 4), pre = uniform(hc, 5, 0, 1), post = uniform(hc, 6, 0, 2),
             comb = uniform(hc * hc, 7, 0, 1);
  std::vector<float> out(n), streams(hc * n);
  dsv4::hc_collapse(x.data(), pre.data(), hc, n, out.data());
  dsv4::hc_expand(f.data(), x.data(), post.data(), comb.data(), hc, n, streams.data());
  for (int64_t e = 0; e < n; ++e) {
    double ref = 0;
    for (int64_t i = 0; i < hc; ++i) ref += static_cast<double>(pre[i]) * x[i * n + e];
    EXPECT_NEAR(out[e], ref, 1e-5);
    for (int64_t d = 0; d < hc; ++d) {
      double r = static_cast<double>(post[d]) * f[e];
      for (int64_t s = 0; s < hc; ++s) r += static_cast<double>(comb[d + hc * s]) * x[s * n + e];
      EXPECT_NEAR(streams[d * n + e], r, 1e-5);
    }
  }
  std::vector<float> pre_head(hc);
  const std::vector<float> mixes{0.5f, -1.0f, 2.0f, 0.0f}, base{0.1f, 0.2f, -0.3f, 0.0f};
  dsv4::hc_head_weights(mixes.data(), 1.5f, base.data(), hc, 1e-6f, pre_head.data());
  for (int64_t i = 0; i < hc; ++i) EXPECT_NEAR(pre_head[i], sig(mixes[i] * 1.5 + base[i]) + 1e-6, 1e-7);
}

// The compressor's pool: per dimension a softmax over the entries' scores weighs their values;
// a null entry (the block before the first) is value 0 with score -inf.
TEST(deepseek4, gated_pool_matches_the_definition) {
  const int64_t n = 24, m = 8;
  std::vector<std::vector<float>> kv, sc;
  for (int64_t j = 0; j < m; ++j) {
    kv.push_back(uniform(n, 10 + j));
    sc.push_back(uniform(n, 30 + j, -4, 4));
  }
  for (int64_t missing : {0, 4}) {  // 4: the first block's previous half is absent
    std::vector<const float*> pk, ps;
    for (int64_t j = 0; j < m; ++j) {
      const bool absent = j < missing;
      pk.push_back(absent ? nullptr : kv[j].data());
      ps.push_back(absent ? nullptr : sc[j].data());
    }
    std::vector<float> out(n);
    dsv4::pool(pk, ps, n, out.data());
    for (int64_t i = 0; i < n; ++i) {
      double z = 0, acc = 0;
      for (int64_t j = missing; j < m; ++j) {
        z += std::exp(static_cast<double>(sc[j][i]));
        acc += std::exp(static_cast<double>(sc[j][i])) * kv[j][i];
      }
      EXPECT_NEAR(out[i], acc / z, 1e-6) << missing << " " << i;
    }
  }
}

// One head over keys that are also values, with a sink in the softmax denominator.
TEST(deepseek4, attention_with_sink_matches_the_definition) {
  const int64_t d = 64, n = 150;
  const auto q = uniform(d, 50);
  std::vector<std::vector<float>> keys;
  for (int64_t j = 0; j < n; ++j) keys.push_back(uniform(d, 100 + j));
  const float scale = 1.0f / 8.0f;
  for (const kernel_table* k : {&scalar_kernels(), avx2_kernels()}) {
    if (k == nullptr) continue;
    for (float sink : {-30.0f, 0.0f, 4.0f}) {
      std::vector<float> scores(n), out(d);
      dsv4::attend(*k, q.data(), n, [&](int64_t j) { return keys[j].data(); }, d, scale, sink, scores.data(), out.data());
      std::vector<double> s(n);
      double mx = sink, z = 0;
      for (int64_t j = 0; j < n; ++j) {
        s[j] = 0;
        for (int64_t i = 0; i < d; ++i) s[j] += static_cast<double>(q[i]) * keys[j][i];
        s[j] *= scale;
        mx = std::max(mx, s[j]);
      }
      z = std::exp(sink - mx);
      for (int64_t j = 0; j < n; ++j) z += std::exp(s[j] - mx);
      for (int64_t i = 0; i < d; ++i) {
        double r = 0;
        for (int64_t j = 0; j < n; ++j) r += std::exp(s[j] - mx) / z * keys[j][i];
        EXPECT_NEAR(out[i], r, 1e-6) << k->name << " sink " << sink;
      }
    }
  }
}

// The indexer keeps the top_k blocks by sum_h relu(q_h . k_b) w_h, in block order.
TEST(deepseek4, indexer_selects_the_top_k_blocks) {
  const int64_t heads = 16, d = 64, n_blocks = 175, top_k = 16;
  const auto q = uniform(heads * d, 60), w = uniform(heads, 61), keys = uniform(n_blocks * d, 62);
  std::vector<float> scores(n_blocks), tmp(n_blocks);
  std::vector<int32_t> sel(top_k);
  const int64_t n = dsv4::indexer_select(scalar_kernels(), q.data(), w.data(), keys.data(), n_blocks, heads, d, top_k,
                                         scores.data(), tmp.data(), sel.data());
  ASSERT_EQ(n, top_k);
  std::vector<std::pair<double, int32_t>> ref;
  for (int64_t b = 0; b < n_blocks; ++b) {
    double s = 0;
    for (int64_t h = 0; h < heads; ++h) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += static_cast<double>(q[h * d + i]) * keys[b * d + i];
      s += std::max(0.0, dot) * w[h];
    }
    ref.emplace_back(-s, static_cast<int32_t>(b));
  }
  std::sort(ref.begin(), ref.end());
  std::vector<int32_t> want;
  for (int64_t j = 0; j < top_k; ++j) want.push_back(ref[j].second);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(sel, want);
  EXPECT_GT(-ref[top_k - 1].first - -ref[top_k].first, 1e-6) << "the boundary is not a tie";
  // Scoring in chunks (decode at long context splits the blocks over the threads) then
  // choosing gives the same blocks.
  std::vector<float> chunked(n_blocks, NAN);
  for (int64_t b0 = 0; b0 < n_blocks; b0 += 40)
    dsv4::indexer_scores(scalar_kernels(), q.data(), w.data(), keys.data(), b0, std::min<int64_t>(n_blocks, b0 + 40), heads, d,
                         chunked.data());
  std::vector<int32_t> sel2(top_k);
  ASSERT_EQ(dsv4::top_k_blocks(chunked.data(), n_blocks, top_k, tmp.data(), sel2.data()), top_k);
  EXPECT_EQ(sel2, want);
  // Up to top_k visible blocks: all of them.
  EXPECT_EQ(dsv4::indexer_select(scalar_kernels(), q.data(), w.data(), keys.data(), 9, heads, d, top_k, scores.data(),
                                 tmp.data(), sel.data()),
            9);
  EXPECT_EQ(std::vector<int32_t>(sel.begin(), sel.begin() + 9), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  // Exact ties at the boundary go to the lower block.
  std::vector<float> flat_keys(n_blocks * d, 0.0f);  // every score 0
  EXPECT_EQ(dsv4::indexer_select(scalar_kernels(), q.data(), w.data(), flat_keys.data(), 40, heads, d, 4, scores.data(),
                                 tmp.data(), sel.data()),
            4);
  EXPECT_EQ(std::vector<int32_t>(sel.begin(), sel.begin() + 4), (std::vector<int32_t>{0, 1, 2, 3}));
}

// Expert scores sqrt(softplus(logit)) (softplus(x) = x above 20); hash layers take the experts
// from the token id and weigh them by their scores, normalised and scaled.
TEST(deepseek4, sqrt_softplus_scores_and_forced_selection) {
  const router_config c{.n_expert = 6, .n_used = 2, .gate = gating::sqrt_softplus, .normalize = true, .scale = 1.5f};
  const std::vector<float> logits{0.3f, -2.0f, 25.0f, 1.0f, -0.5f, 3.0f};
  std::vector<float> probs(6), selection(6), gs(6), w(2);
  std::vector<int32_t> go(6), sel(2);
  const router_scratch rs{probs, selection, gs, go};
  auto sp = [](double x) { return x > 20 ? x : std::log1p(std::exp(x)); };
  route(c, logits, {}, rs, sel, w);
  EXPECT_EQ(sel, (std::vector<int32_t>{2, 5}));
  const double a = std::sqrt(sp(25.0)), b = std::sqrt(sp(3.0));
  EXPECT_NEAR(w[0], 1.5 * a / (a + b), 1e-6);
  const std::vector<int32_t> forced{4, 1};
  route(c, logits, {}, rs, sel, w, forced);
  EXPECT_EQ(sel, forced);
  const double e = std::sqrt(sp(-0.5)), f = std::sqrt(sp(-2.0));
  EXPECT_NEAR(w[0], 1.5 * e / (e + f), 1e-6);
  EXPECT_NEAR(w[1], 1.5 * f / (e + f), 1e-6);
}

// The clamped SwiGLU of V4's experts: silu(min(gate, L)) * clamp(up, -L, L), through dense_ffn.
TEST(deepseek4, clamped_swiglu_matches_the_definition) {
  const int64_t E = 32, ff = 8;
  const auto wg = uniform(ff * E, 70, -1, 1), wu = uniform(ff * E, 71, -1, 1), wd = uniform(E * ff, 72, -0.3f, 0.3f);
  const auto x = uniform(E, 73, -1, 1);
  auto mat = [](const std::vector<float>& v, int64_t rows, int64_t cols) {
    return matrix{gguf::tensor_type::f32, rows, cols, reinterpret_cast<const std::byte*>(v.data()),
                  static_cast<uint64_t>(cols) * 4};
  };
  const ffn_weights w{mat(wg, ff, E), mat(wu, ff, E), mat(wd, E, ff)};
  hparams hp;
  hp.n_embd = E;
  hp.n_ff = ff;
  hp.n_expert = 1;
  hp.n_expert_used = 1;
  ffn_scratch s(hp, 1);
  thread_pool pool(1);
  std::vector<worker_scratch> workers(1);
  workers[0].row.resize(64);
  const forward_ctx fc{&scalar_kernels(), &pool, &workers, nullptr};
  for (float limit : {0.0f, 0.5f, 2.0f}) {
    std::vector<float> out(E);
    dense_ffn(fc, w, ff, x.data(), 1, E, out.data(), s, limit);
    int clamped = 0;
    for (int64_t e = 0; e < E; ++e) {
      double r = 0;
      for (int64_t j = 0; j < ff; ++j) {
        double g = 0, u = 0;
        for (int64_t i = 0; i < E; ++i) g += static_cast<double>(wg[j * E + i]) * x[i], u += static_cast<double>(wu[j * E + i]) * x[i];
        if (limit > 0) {
          clamped += (g > limit || std::abs(u) > limit) ? 1 : 0;
          g = std::min<double>(g, limit);
          u = std::clamp<double>(u, -limit, limit);
        }
        r += static_cast<double>(wd[e * ff + j]) * (g / (1 + std::exp(-g)) * u);
      }
      EXPECT_NEAR(out[e], r, 1e-5) << "limit " << limit;
    }
    if (limit == 0.5f) {
      EXPECT_GT(clamped, 0) << "the clamp acts in this case";
    }
  }
}

}  // namespace
}  // namespace moebench::engine::detail
