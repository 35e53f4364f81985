// Latency, throughput, goodput and validity from the load generator's records.
#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "moebench/error.h"
#include "moebench/stats.h"
#include "moebench/suites/throughput.h"
#include "moebench/text.h"

namespace moebench::throughput {

std::string slo::describe() const {
  std::string out;
  const auto add = [&](const char* name, const std::optional<double>& v) {
    if (v) out += (out.empty() ? "" : ",") + fmt::format("{}={}ms", name, *v);
  };
  add("ttft", ttft_ms);
  add("tpot", tpot_ms);
  add("e2el", e2el_ms);
  return out;
}

slo parse_slo(std::string_view text) {
  slo s;
  if (trim(text).empty()) return s;
  for (const auto& part : split(text, ',')) {
    const std::string item(trim(part));
    const auto eq = item.find('=');
    const auto bad = [&](const std::string& why) {
      return error("cli.bad_value", {"", 0, "--slo"},
                   "'" + item + "': " + why + " (expected e.g. ttft=2000ms,tpot=80ms,e2el=30s)");
    };
    if (eq == std::string::npos) throw bad("missing '='");
    const std::string key = item.substr(0, eq);
    std::string value = item.substr(eq + 1);
    double scale_to_ms = 0;
    if (value.ends_with("ms")) {
      scale_to_ms = 1;
      value.resize(value.size() - 2);
    } else if (value.ends_with("us")) {
      scale_to_ms = 1e-3;
      value.resize(value.size() - 2);
    } else if (value.ends_with("s")) {
      scale_to_ms = 1e3;
      value.resize(value.size() - 1);
    } else {
      throw bad("a unit is required: ms, s or us");
    }
    double v = 0;
    std::size_t used = 0;
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (value.empty() || used != value.size() || !std::isfinite(v) || v <= 0)
      throw bad("expected a positive number");
    std::optional<double>* slot = key == "ttft" ? &s.ttft_ms
                                  : key == "tpot" ? &s.tpot_ms
                                  : key == "e2el" ? &s.e2el_ms
                                                  : nullptr;
    if (slot == nullptr) throw bad("unknown objective '" + key + "' (ttft, tpot, e2el)");
    if (slot->has_value()) throw bad("given twice");
    *slot = v * scale_to_ms;
  }
  return s;
}

query_latency latency_of(const query_record& q, const slo& s) {
  query_latency l;
  l.ok = q.status == outcome::ok && q.complete_ns >= 0;
  // A runner that does not stream shows its first token no earlier than the whole answer.
  const int64_t first = q.first_chunk_ns >= 0 ? q.first_chunk_ns : q.complete_ns;
  l.ttft_ms = static_cast<double>(first - q.scheduled_ns) / 1e6;
  l.e2el_ms = static_cast<double>(q.complete_ns - q.scheduled_ns) / 1e6;
  l.ttft_from_send_ms = static_cast<double>(first - q.issued_ns) / 1e6;
  l.e2el_from_send_ms = static_cast<double>(q.complete_ns - q.issued_ns) / 1e6;
  l.queue_delay_ms = static_cast<double>(q.issued_ns - q.scheduled_ns) / 1e6;
  if (q.output_tokens > 1) l.tpot_ms = (l.e2el_ms - l.ttft_ms) / static_cast<double>(q.output_tokens - 1);
  // TPOT is undefined for one-token answers: the objective does not apply to them.
  l.meets_slo = l.ok && (!s.ttft_ms || l.ttft_ms <= *s.ttft_ms) &&
                (!s.tpot_ms || !l.tpot_ms || *l.tpot_ms <= *s.tpot_ms) &&
                (!s.e2el_ms || l.e2el_ms <= *s.e2el_ms);
  return l;
}

namespace {
metric latency_metric(std::string name, std::vector<double> values) {
  metric m;
  m.name = std::move(name);
  m.unit = "ms";
  m.n = static_cast<int64_t>(values.size());
  m.distribution = summarize(std::move(values));
  m.value = m.distribution->mean;
  return m;
}
metric rate_metric(std::string name, double value, std::string unit, int64_t n) {
  metric m;
  m.name = std::move(name);
  m.value = value;
  m.unit = std::move(unit);
  m.n = n;
  return m;
}
}  // namespace

scenario_result compute_metrics(const std::vector<query_record>& records, int64_t start_ns,
                                const slo& s, const validity_rules& rules, scenario mode) {
  scenario_result out;
  std::vector<double> ttft, tpot, itl, e2el, ttft_send, e2el_send, queue;
  int64_t end_ns = start_ns, in_tokens = 0, out_tokens = 0, good = 0, good_out_tokens = 0;
  std::string first_error;
  for (const auto& q : records) {
    MOEBENCH_CHECK(q.complete_ns >= 0, "compute_metrics: a query never completed");
    end_ns = std::max(end_ns, q.complete_ns);
    const query_latency l = latency_of(q, s);
    if (!l.ok) {
      out.failed += 1;
      if (first_error.empty()) first_error = q.error.empty() ? std::string(to_string(q.status)) : q.error;
      continue;
    }
    out.ok += 1;
    ttft.push_back(l.ttft_ms);
    e2el.push_back(l.e2el_ms);
    ttft_send.push_back(l.ttft_from_send_ms);
    e2el_send.push_back(l.e2el_from_send_ms);
    queue.push_back(l.queue_delay_ms);
    if (l.tpot_ms) tpot.push_back(*l.tpot_ms);
    for (std::size_t c = 1; c < q.chunk_ns.size(); ++c)
      itl.push_back(static_cast<double>(q.chunk_ns[c] - q.chunk_ns[c - 1]) / 1e6);
    in_tokens += q.input_tokens;
    out_tokens += q.output_tokens;
    if (l.meets_slo) {
      good += 1;
      good_out_tokens += q.output_tokens;
    }
  }
  const int64_t duration_ns = std::max<int64_t>(end_ns - start_ns, 1);
  out.duration_s = static_cast<double>(duration_ns) / 1e9;
  const double secs = out.duration_s;

  if (!ttft.empty()) {
    out.metrics.push_back(latency_metric("ttft_ms", ttft));
    out.metrics.push_back(latency_metric("e2el_ms", e2el));
  }
  if (!tpot.empty()) out.metrics.push_back(latency_metric("tpot_ms", tpot));
  if (!itl.empty()) out.metrics.push_back(latency_metric("itl_ms", itl));
  if (!ttft.empty()) {
    out.metrics.push_back(latency_metric("ttft_from_send_ms", ttft_send));
    out.metrics.push_back(latency_metric("e2el_from_send_ms", e2el_send));
    out.metrics.push_back(latency_metric("queue_delay_ms", queue));
  }
  out.metrics.push_back(rate_metric("input_tok_s", static_cast<double>(in_tokens) / secs, "tok/s", out.ok));
  out.metrics.push_back(rate_metric("output_tok_s", static_cast<double>(out_tokens) / secs, "tok/s", out.ok));
  out.metrics.push_back(
      rate_metric("total_tok_s", static_cast<double>(in_tokens + out_tokens) / secs, "tok/s", out.ok));
  out.metrics.push_back(rate_metric("request_s", static_cast<double>(out.ok) / secs, "req/s", out.ok));
  if (!tpot.empty()) {
    const double p50 = summarize(tpot).p50;
    if (p50 > 0) out.metrics.push_back(rate_metric("interactivity_tok_s_per_user", 1000.0 / p50, "tok/s/user",
                                                   static_cast<int64_t>(tpot.size())));
  }
  out.metrics.push_back(rate_metric("duration_s", secs, "s", static_cast<int64_t>(records.size())));
  const auto total = static_cast<int64_t>(records.size());
  if (!s.empty()) {
    out.metrics.push_back(rate_metric("goodput_req_s", static_cast<double>(good) / secs, "req/s", total));
    out.metrics.push_back(
        rate_metric("goodput_output_tok_s", static_cast<double>(good_out_tokens) / secs, "tok/s", total));
    metric att = rate_metric("slo_attainment", total > 0 ? static_cast<double>(good) / static_cast<double>(total) : 0,
                             "fraction", total);
    const interval w = wilson_interval(good, total);
    att.cis.push_back({w.lo, w.hi, 0.95, "wilson_samples"});
    out.metrics.push_back(att);
  }

  auto& v = out.validity;
  if (duration_ns < rules.min_duration_ns)
    v.reasons.push_back(fmt::format("duration {:.3f} s is below the minimum {:.3f} s", secs,
                                    static_cast<double>(rules.min_duration_ns) / 1e9));
  if (out.ok < rules.min_queries)
    v.reasons.push_back(fmt::format("{} queries completed successfully, below the minimum {}", out.ok,
                                    rules.min_queries));
  if (out.failed > 0)
    v.reasons.push_back(fmt::format("{} of {} queries failed (first: {})", out.failed, total, first_error));
  if (mode == scenario::server && !ttft.empty()) {
    // MLPerf server rule: the p99 latencies must meet the constraints the rate was run under.
    const summary t = summarize(ttft);
    if (s.ttft_ms && t.p99 > *s.ttft_ms)
      v.reasons.push_back(fmt::format("p99 TTFT {:.1f} ms exceeds the SLO {} ms", t.p99, *s.ttft_ms));
    if (s.tpot_ms && !tpot.empty()) {
      const summary p = summarize(tpot);
      if (p.p99 > *s.tpot_ms)
        v.reasons.push_back(fmt::format("p99 TPOT {:.1f} ms exceeds the SLO {} ms", p.p99, *s.tpot_ms));
    }
  }
  v.valid = v.reasons.empty();
  return out;
}

std::optional<decode_bandwidth> measure_decode_bandwidth(const std::vector<query_record>& records,
                                                         const decode_traffic& traffic) {
  decode_bandwidth d;
  double context_sum = 0;
  int64_t decode_ns = 0;
  for (const query_record& q : records) {
    if (q.status != outcome::ok || q.output_tokens < 2 || q.first_chunk_ns < 0 || q.complete_ns < q.first_chunk_ns)
      continue;
    const double steps = static_cast<double>(q.output_tokens - 1);
    d.queries += 1;
    d.decoded_tokens += q.output_tokens - 1;
    decode_ns += q.complete_ns - q.first_chunk_ns;
    context_sum += steps * static_cast<double>(q.input_tokens) + steps * static_cast<double>(q.output_tokens) / 2;
  }
  if (d.decoded_tokens == 0 || decode_ns <= 0) return std::nullopt;
  d.decode_s = static_cast<double>(decode_ns) / 1e9;
  d.decode_tok_s = static_cast<double>(d.decoded_tokens) / d.decode_s;
  d.mean_context_tokens = context_sum / static_cast<double>(d.decoded_tokens);
  d.bytes_per_token = traffic.weight_bytes_per_token + traffic.kv_bytes_per_context_token * d.mean_context_tokens;
  d.achieved_gbs = d.bytes_per_token * d.decode_tok_s / 1e9;
  return d;
}

}  // namespace moebench::throughput
