// Sampling and the generation loop shared by the runner and `moebench generate`.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "moebench/clock.h"
#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/text.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::engine {

sampler::sampler(const generation_params& p) : p_(p), rng_(p.seed) {}

int32_t sampler::sample(std::span<const float> logits) {
  const auto n = static_cast<int32_t>(logits.size());
  if (p_.temperature <= 0.0) {
    // Greedy; ties go to the lower id (as llama.cpp's argmax).
    int32_t best = 0;
    for (int32_t i = 1; i < n; ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  candidates_.resize(static_cast<std::size_t>(n));
  for (int32_t i = 0; i < n; ++i) candidates_[static_cast<std::size_t>(i)] = {logits[i], i};
  const auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::size_t keep = candidates_.size();
  if (p_.top_k > 0 && static_cast<std::size_t>(p_.top_k) < keep) {
    keep = static_cast<std::size_t>(p_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep), candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);
  // Softmax at the temperature (in place: first becomes the probability).
  const double mx = candidates_.front().first;
  double sum = 0;
  for (auto& c : candidates_) {
    const double p = std::exp((c.first - mx) / p_.temperature);
    c.first = static_cast<float>(p);
    sum += p;
  }
  for (auto& c : candidates_) c.first = static_cast<float>(c.first / sum);
  if (p_.top_p < 1.0) {
    double cum = 0;
    std::size_t cut = candidates_.size();
    for (std::size_t i = 0; i < candidates_.size(); ++i) {
      cum += candidates_[i].first;
      if (cum >= p_.top_p) {
        cut = i + 1;
        break;
      }
    }
    candidates_.resize(cut);
  }
  if (p_.min_p > 0.0) {
    const double floor = p_.min_p * candidates_.front().first;
    std::size_t cut = 1;
    while (cut < candidates_.size() && candidates_[cut].first >= floor) ++cut;
    candidates_.resize(cut);
  }
  double total = 0;
  for (const auto& c : candidates_) total += c.first;
  double u = rng_.uniform() * total;
  for (const auto& c : candidates_) {
    u -= c.first;
    if (u < 0) return c.second;
  }
  return candidates_.back().second;
}

namespace {

// Bytes at the end of `s` that start an incomplete UTF-8 sequence (held back from chunks).
std::size_t incomplete_utf8_tail(std::string_view s) {
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    std::size_t need = 1;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return need > back ? back : 0;
  }
  return 0;
}

// Length of the longest suffix of `s` that is a proper prefix of some stop sequence.
std::size_t stop_prefix_tail(std::string_view s, const std::vector<std::string>& stops) {
  std::size_t best = 0;
  for (const std::string& st : stops)
    for (std::size_t len = std::min(st.size() - 1, s.size()); len > best; --len)
      if (s.substr(s.size() - len) == std::string_view(st).substr(0, len)) {
        best = len;
        break;
      }
  return best;
}

token_logprobs top_logprobs(std::span<const float> logits, int32_t token, int32_t k) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  const double lse = mx + std::log(sum);
  token_logprobs out;
  out.token = token;
  out.logprob = static_cast<float>(logits[static_cast<std::size_t>(token)] - lse);
  std::vector<int32_t> ids(logits.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  const auto kk = std::min<std::size_t>(static_cast<std::size_t>(k), ids.size());
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(kk), ids.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)] ||
           (logits[static_cast<std::size_t>(a)] == logits[static_cast<std::size_t>(b)] && a < b);
  });
  for (std::size_t i = 0; i < kk; ++i)
    out.top.emplace_back(ids[i], static_cast<float>(logits[static_cast<std::size_t>(ids[i])] - lse));
  return out;
}

}  // namespace

generation_result generate(engine& e, std::string_view prompt, const generation_params& params,
                           const generate_options& opts) {
  tokenizer::encode_options eo;
  eo.add_special = true;
  return generate_ids(e, e.vocab().encode(prompt, eo), params, opts);
}

generation_result generate_ids(engine& e, std::vector<int32_t> prompt_ids, const generation_params& params,
                               const generate_options& opts) {
  if (prompt_ids.empty()) throw error("engine.empty_prompt", {"", 0, "prompt"}, "the prompt has no tokens");
  const int64_t ctx = e.facts().context_length;
  if (static_cast<int64_t>(prompt_ids.size()) >= ctx)
    throw error("engine.context_full", {"", 0, "prompt"},
                fmt::format("the prompt has {} tokens, the context holds {}", prompt_ids.size(), ctx));
  generation_result r;
  r.prompt_ids = std::move(prompt_ids);
  const int64_t wanted = opts.forced.empty() ? std::max<int64_t>(0, params.max_tokens) : static_cast<int64_t>(opts.forced.size());
  const int64_t max_new = std::min<int64_t>(wanted, ctx - static_cast<int64_t>(r.prompt_ids.size()));
  e.reset(opts.sequence);
  sampler smp(params);
  const tokenizer::tokenizer& vocab = e.vocab();
  std::size_t max_stop = 0;
  for (const std::string& st : params.stop) max_stop = std::max(max_stop, st.size());

  const int64_t t0 = now_ns();
  std::span<const float> logits = e.eval(opts.sequence, r.prompt_ids);
  const int64_t t1 = now_ns();
  r.prefill_ns = t1 - t0;

  std::string full;          // every generated byte so far
  std::size_t emitted = 0;   // bytes of `full` handed to on_text
  int64_t unreported = 0;    // tokens not yet covered by an on_text call
  // Hands settled bytes [emitted, upto) to the caller, repaired to valid UTF-8; r.text is the
  // concatenation of everything handed out.
  auto emit = [&](std::size_t upto) {
    if (upto <= emitted) return;
    const std::string chunk = to_valid_utf8(std::string_view(full).substr(emitted, upto - emitted));
    r.text += chunk;
    if (opts.on_text) opts.on_text(chunk, unreported);
    emitted = upto;
    unreported = 0;
  };
  r.finish = finish_reason::length;
  for (int64_t i = 0; i < max_new; ++i) {
    const int32_t tok = opts.forced.empty() ? smp.sample(logits) : opts.forced[static_cast<std::size_t>(i)];
    if (opts.top_logprobs > 0) {
      r.logprobs.push_back(top_logprobs(logits, tok, opts.top_logprobs));
      r.logprobs.back().routing_margin = e.routing().last_token_margin;
    }
    if (!opts.ignore_eos && opts.forced.empty() && tok == vocab.eos()) {
      r.finish = finish_reason::eos;
      break;
    }
    r.generated_ids.push_back(tok);
    ++unreported;
    const int32_t one[1] = {tok};
    full += vocab.decode(one);
    if (!params.stop.empty() && opts.forced.empty()) {
      // Only the tail can hold a new match: everything before `emitted` was checked already.
      const std::size_t from = emitted > max_stop ? emitted - max_stop : 0;
      std::size_t cut = std::string::npos;
      for (const std::string& st : params.stop) {
        if (st.empty()) continue;
        const std::size_t at = full.find(st, from);
        if (at != std::string::npos) cut = std::min(cut, at);
      }
      if (cut != std::string::npos) {
        full.resize(cut);
        r.finish = finish_reason::stop;
        break;
      }
    }
    const std::size_t hold = std::max(stop_prefix_tail(full, params.stop), incomplete_utf8_tail(full));
    emit(full.size() - hold);
    if (i + 1 < max_new) logits = e.eval(opts.sequence, one);
  }
  emit(full.size());
  r.decode_ns = now_ns() - t1;
  return r;
}

}  // namespace moebench::engine
