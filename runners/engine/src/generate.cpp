// Sampling and the generation loop shared by the runner and `moebench generate`.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

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

decoder::decoder(const tokenizer::tokenizer& vocab, const generation_params& params, decoder_options opts,
                 int64_t max_new)
    : vocab_(vocab), sampler_(params), stop_(params.stop), opts_(std::move(opts)), max_new_(std::max<int64_t>(0, max_new)) {
  // Teacher forcing checks nothing: the stop sequences do not apply.
  if (!opts_.forced.empty()) stop_.clear();
  std::erase_if(stop_, [](const std::string& st) { return st.empty(); });
  for (const std::string& st : stop_) max_stop_ = std::max(max_stop_, st.size());
  if (max_new_ == 0) end(finish_reason::length);
}

std::optional<int32_t> decoder::step(std::span<const float> logits, float routing_margin) {
  MOEBENCH_CHECK(!done_, "decoder stepped after the end");
  const std::size_t i = generated_.size();
  MOEBENCH_CHECK(opts_.forced.empty() || i < opts_.forced.size(), "max_new exceeds the forced tokens");
  const int32_t tok = opts_.forced.empty() ? sampler_.sample(logits) : opts_.forced[i];
  if (opts_.top_logprobs > 0) {
    logprobs_.push_back(top_logprobs(logits, tok, opts_.top_logprobs));
    logprobs_.back().routing_margin = routing_margin;
  }
  if (!opts_.ignore_eos && opts_.forced.empty() && tok == vocab_.eos()) {
    end(finish_reason::eos);
    return std::nullopt;
  }
  generated_.push_back(tok);
  ++unsettled_tokens_;
  const int32_t one[1] = {tok};
  full_ += vocab_.decode(one);
  if (!stop_.empty()) {
    // Only the tail can hold a new match: everything before settled_ was checked already.
    const std::size_t from = settled_ > max_stop_ ? settled_ - max_stop_ : 0;
    std::size_t cut = std::string::npos;
    for (const std::string& st : stop_) {
      const std::size_t at = full_.find(st, from);
      if (at != std::string::npos) cut = std::min(cut, at);
    }
    if (cut != std::string::npos) {
      full_.resize(cut);
      end(finish_reason::stop);
      return std::nullopt;
    }
  }
  settle(full_.size() - std::max(stop_prefix_tail(full_, stop_), incomplete_utf8_tail(full_)));
  if (static_cast<int64_t>(generated_.size()) >= max_new_) {
    end(finish_reason::length);
    return std::nullopt;
  }
  return tok;
}

decoder::piece decoder::take() { return std::exchange(pending_, piece{}); }

// Hands settled bytes [settled_, upto) out, repaired to valid UTF-8.
void decoder::settle(std::size_t upto) {
  if (upto <= settled_) return;
  const std::string chunk = to_valid_utf8(std::string_view(full_).substr(settled_, upto - settled_));
  text_ += chunk;
  pending_.text += chunk;
  pending_.tokens += unsettled_tokens_;
  settled_ = upto;
  unsettled_tokens_ = 0;
}

void decoder::end(finish_reason f) {
  finish_ = f;
  done_ = true;
  settle(full_.size());
}

int64_t max_new_tokens(int64_t prompt_tokens, int64_t max_tokens, int64_t context_length) {
  if (prompt_tokens < 1) throw error("engine.empty_prompt", {"", 0, "prompt"}, "the prompt has no tokens");
  if (prompt_tokens >= context_length)
    throw error("engine.context_full", {"", 0, "prompt"},
                fmt::format("the prompt has {} tokens, the context holds {}", prompt_tokens, context_length));
  return std::min<int64_t>(std::max<int64_t>(0, max_tokens), context_length - prompt_tokens);
}

generation_result generate(engine& e, std::string_view prompt, const generation_params& params,
                           const generate_options& opts) {
  tokenizer::encode_options eo;
  eo.add_special = true;
  return generate_ids(e, e.vocab().encode(prompt, eo), params, opts);
}

generation_result generate_ids(engine& e, std::vector<int32_t> prompt_ids, const generation_params& params,
                               const generate_options& opts) {
  const auto n_prompt = static_cast<int64_t>(prompt_ids.size());
  const int64_t wanted = opts.forced.empty() ? params.max_tokens : static_cast<int64_t>(opts.forced.size());
  const int64_t max_new = max_new_tokens(n_prompt, wanted, e.facts().context_length);
  generation_result r;
  r.prompt_ids = std::move(prompt_ids);
  e.reset(opts.sequence);
  decoder d(e.vocab(), params, opts, max_new);

  const int64_t t0 = now_ns();
  std::span<const float> logits = e.eval(opts.sequence, r.prompt_ids);
  const int64_t t1 = now_ns();
  r.prefill_ns = t1 - t0;
  while (!d.done()) {
    const std::optional<int32_t> next = d.step(logits, e.routing().last_token_margin);
    if (decoder::piece p = d.take(); !p.text.empty() && opts.on_text) opts.on_text(p.text, p.tokens);
    if (next) logits = e.eval(opts.sequence, std::span<const int32_t>(&*next, 1));
  }
  r.decode_ns = now_ns() - t1;
  r.generated_ids = d.generated();
  r.text = d.text();
  r.finish = d.finish();
  r.logprobs = std::move(d.logprobs());
  return r;
}

}  // namespace moebench::engine
