// The throughput suite's load generator and metrics, on a virtual clock: schedules, stalls and
// latencies are exact, so nothing here depends on how fast the machine is.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "moebench/error.h"
#include "moebench/runners/fake.h"
#include "moebench/suites/throughput.h"

namespace moebench::throughput {
namespace {

// Time only moves when someone says so.
class virtual_clock final : public load_clock {
 public:
  int64_t now_ns() override { return now_; }
  void sleep_until_ns(int64_t t) override { now_ = std::max(now_, t); }
  void advance(int64_t d) { now_ += d; }

 private:
  int64_t now_ = 1'000'000'000;
};

// Completes inline, as a synchronous runner does: `ttft_ns` then one token every `tpot_ns`,
// advancing the virtual clock. Request number `stall_at` (0-based, in submit order) first
// blocks submit() for `stall_ns`: a client-side hiccup the schedule must not forgive.
class inline_fake final : public runner {
 public:
  inline_fake(virtual_clock& c, int64_t ttft_ns, int64_t tpot_ns) : clock_(c), ttft_ns_(ttft_ns), tpot_ns_(tpot_ns) {}
  int64_t stall_at = -1;
  int64_t stall_ns = 0;
  int64_t fail_every = 0;  // every n-th request fails (0 = never)
  int64_t submits = 0;
  int64_t requests_seen = 0;

  runner_info info() const override { return {"inline-fake", "inline-fake", {}}; }
  void submit(std::span<const request> batch, completion_sink& sink) override {
    submits += 1;
    for (const auto& r : batch) {
      if (requests_seen == stall_at) clock_.advance(stall_ns);
      requests_seen += 1;
      if (fail_every > 0 && requests_seen % fail_every == 0) {
        completion c;
        c.status = outcome::unavailable;
        c.error = "injected";
        sink.on_complete(r.id, c);
        continue;
      }
      clock_.advance(ttft_ns_);
      for (int64_t t = 0; t < r.params.max_tokens; ++t) {
        if (t > 0) clock_.advance(tpot_ns_);
        sink.on_chunk(r.id, "x", 1);
      }
      completion c;
      c.prompt_tokens = 7;
      c.completion_tokens = r.params.max_tokens;
      sink.on_complete(r.id, c);
    }
  }

 private:
  virtual_clock& clock_;
  int64_t ttft_ns_, tpot_ns_;
};

std::vector<query> make_queries(int64_t n, int64_t in, int64_t out) {
  plan_options o;
  o.count = n;
  o.input = parse_length(std::to_string(in), "--input-len");
  o.output = parse_length(std::to_string(out), "--output-len");
  return plan_queries(o, word_synthesizer());
}

TEST(poisson_schedule, is_deterministic_for_a_seed_and_differs_between_seeds) {
  const auto a = poisson_schedule_ns(4.0, 1000, 42);
  const auto b = poisson_schedule_ns(4.0, 1000, 42);
  const auto c = poisson_schedule_ns(4.0, 1000, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_GT(a.front(), 0);
}

TEST(poisson_schedule, has_the_requested_rate_and_exponential_gaps) {
  // Fixed seeds make this exact; the tolerances are 7+ standard errors wide, so a correct
  // generator passes for any seed and a wrong rate (even by 5%) cannot.
  for (uint64_t seed : {1ULL, 2ULL, 3ULL}) {
    const double rate = 5.0;
    const int64_t n = 20000;
    const auto t = poisson_schedule_ns(rate, n, seed);
    const double mean_gap_s = static_cast<double>(t.back()) / 1e9 / static_cast<double>(n);
    EXPECT_NEAR(mean_gap_s, 1.0 / rate, 0.2 * 0.025) << "seed " << seed;  // SE = 0.0014 s
    int64_t below_mean = 0, prev = 0;
    for (int64_t x : t) {
      if (static_cast<double>(x - prev) / 1e9 < 1.0 / rate) ++below_mean;
      prev = x;
    }
    // P(gap < mean) = 1 - 1/e for an exponential; SE = 0.0034.
    EXPECT_NEAR(static_cast<double>(below_mean) / static_cast<double>(n), 1 - std::exp(-1.0), 0.025);
  }
}

TEST(poisson_schedule, rejects_a_bad_rate) {
  EXPECT_THROW(poisson_schedule_ns(0, 10, 1), error);
  EXPECT_THROW(poisson_schedule_ns(-1, 10, 1), error);
  EXPECT_THROW(poisson_schedule_ns(std::nan(""), 10, 1), error);
}

TEST(plan, lengths_and_prompts_are_deterministic_per_seed) {
  plan_options o;
  o.count = 50;
  o.input = parse_length("uniform:10..20", "--input-len");
  o.output = parse_length("5", "--output-len");
  o.lengths_seed = 9;
  o.prompts_seed = 10;
  const auto a = plan_queries(o, word_synthesizer());
  const auto b = plan_queries(o, word_synthesizer());
  ASSERT_EQ(a.size(), 50u);
  bool varied = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_GE(a[i].input_tokens, 10);
    EXPECT_LE(a[i].input_tokens, 20);
    EXPECT_EQ(a[i].output_tokens, 5);
    // The word synthesiser writes one word (one BPE token in common vocabularies) per token.
    EXPECT_EQ(std::count(a[i].prompt.begin(), a[i].prompt.end(), ' '), a[i].input_tokens);
    varied = varied || a[i].input_tokens != a[0].input_tokens;
  }
  EXPECT_TRUE(varied);
}

TEST(plan, counting_synthesizer_hits_the_exact_count_of_the_given_tokenizer) {
  // A tokenizer with a BOS token that merges every two words into one token.
  const auto words_of = [](std::string_view t) { return static_cast<int64_t>(std::count(t.begin(), t.end(), ' ')); };
  const auto merging = [&](std::string_view t) { return 1 + (words_of(t) + 1) / 2; };
  const prompt_synthesizer s = counting_synthesizer(merging, "merging");
  EXPECT_TRUE(s.exact);
  for (int64_t n : {1, 2, 3, 17, 100}) {
    const std::string p = s.make(n, 5);
    EXPECT_EQ(merging(p), n) << n;
    EXPECT_EQ(p, s.make(n, 5));  // deterministic per seed
  }
  // A tokenizer that can never produce 3 tokens is an error, not a wrong prompt.
  const prompt_synthesizer odd = counting_synthesizer([&](std::string_view t) { return 2 * words_of(t); }, "even");
  EXPECT_THROW(odd.make(3, 1), error);
}

TEST(plan, parses_length_specs_and_rejects_bad_ones) {
  EXPECT_EQ(parse_length("128", "f").lo, 128);
  const auto u = parse_length("uniform:3..9", "f");
  EXPECT_EQ(u.lo, 3);
  EXPECT_EQ(u.hi, 9);
  for (const char* bad : {"0", "-4", "uniform:9..3", "uniform:0..3", "x", "uniform:1-3", "12abc", ""})
    EXPECT_THROW(parse_length(bad, "--input-len"), error) << bad;
}

TEST(lengths_file, parses_records_and_names_the_bad_line) {
  const auto p = parse_lengths_jsonl("{\"input_tokens\": 3, \"output_tokens\": 4}\n\n{\"input_tokens\": 5, \"output_tokens\": 6}\n", "l.jsonl");
  EXPECT_EQ(p.input, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(p.output, (std::vector<int64_t>{4, 6}));
  try {
    parse_lengths_jsonl("{\"input_tokens\": 3, \"output_tokens\": 4}\n{\"input_tokens\": 0, \"output_tokens\": 4}\n", "l.jsonl");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "lengths.bad_record");
    EXPECT_EQ(e.where().line, 2);
    EXPECT_EQ(e.where().field, "input_tokens");
  }
  EXPECT_THROW(parse_lengths_jsonl("", "l.jsonl"), error);
  EXPECT_THROW(parse_lengths_jsonl("{oops", "l.jsonl"), error);
}

TEST(slo, parses_units_and_rejects_nonsense) {
  const slo s = parse_slo("ttft=2000ms,tpot=80ms,e2el=1.5s");
  EXPECT_DOUBLE_EQ(*s.ttft_ms, 2000);
  EXPECT_DOUBLE_EQ(*s.tpot_ms, 80);
  EXPECT_DOUBLE_EQ(*s.e2el_ms, 1500);
  EXPECT_DOUBLE_EQ(*parse_slo("tpot=500us").tpot_ms, 0.5);
  EXPECT_TRUE(parse_slo("").empty());
  for (const char* bad : {"ttft", "ttft=2000", "ttft=-1ms", "ttft=abcms", "foo=1ms", "ttft=1ms,ttft=2ms"})
    EXPECT_THROW(parse_slo(bad), error) << bad;
}

// Hand-computed: scheduled at 0, issued at 10 ms, chunks at 110, 130, 170, 180 ms
// (4 tokens), complete at 180 ms.
query_record hand_record() {
  query_record q;
  q.scheduled_ns = 0;
  q.issued_ns = 10'000'000;
  q.chunk_ns = {110'000'000, 130'000'000, 170'000'000, 180'000'000};
  q.chunk_tokens = {1, 1, 1, 1};
  q.first_chunk_ns = q.chunk_ns.front();
  q.complete_ns = 180'000'000;
  q.input_tokens = 100;
  q.output_tokens = 4;
  return q;
}

TEST(metrics, ttft_tpot_itl_e2el_match_hand_computed_values) {
  const query_latency l = latency_of(hand_record(), {});
  EXPECT_DOUBLE_EQ(l.ttft_ms, 110);
  EXPECT_DOUBLE_EQ(l.e2el_ms, 180);
  EXPECT_DOUBLE_EQ(l.ttft_from_send_ms, 100);
  EXPECT_DOUBLE_EQ(l.e2el_from_send_ms, 170);
  EXPECT_DOUBLE_EQ(l.queue_delay_ms, 10);
  ASSERT_TRUE(l.tpot_ms.has_value());
  EXPECT_DOUBLE_EQ(*l.tpot_ms, (180.0 - 110.0) / 3);  // (E2EL - TTFT) / (out - 1)

  const scenario_result r = compute_metrics({hand_record()}, 0, {}, {}, scenario::offline);
  const auto get = [&](const char* name) {
    for (const auto& m : r.metrics)
      if (m.name == name) return m;
    ADD_FAILURE() << "missing metric " << name;
    return metric{};
  };
  EXPECT_DOUBLE_EQ(get("itl_ms").distribution->mean, (20.0 + 40.0 + 10.0) / 3);
  EXPECT_DOUBLE_EQ(get("itl_ms").distribution->max, 40.0);
  EXPECT_EQ(get("itl_ms").n, 3);
  EXPECT_DOUBLE_EQ(get("output_tok_s").value, 4 / 0.18);
  EXPECT_DOUBLE_EQ(get("input_tok_s").value, 100 / 0.18);
  EXPECT_DOUBLE_EQ(get("total_tok_s").value, 104 / 0.18);
  EXPECT_DOUBLE_EQ(get("duration_s").value, 0.18);
  EXPECT_DOUBLE_EQ(get("interactivity_tok_s_per_user").value, 1000.0 / (70.0 / 3));
  EXPECT_EQ(get("ttft_ms").unit, "ms");
}

TEST(metrics, one_token_answers_have_no_tpot_and_pass_the_tpot_objective) {
  query_record q = hand_record();
  q.output_tokens = 1;
  const query_latency l = latency_of(q, parse_slo("tpot=1ms"));
  EXPECT_FALSE(l.tpot_ms.has_value());
  EXPECT_TRUE(l.meets_slo);
}

TEST(metrics, goodput_and_attainment_count_requests_meeting_every_objective) {
  // Four requests over 1 s: TTFTs 100, 300, 100, 100 ms; TPOTs 10, 10, 50, 10 ms; the last fails.
  std::vector<query_record> rs;
  const std::array<int64_t, 4> ttft_ms{100, 300, 100, 100};
  const std::array<int64_t, 4> tpot_ms{10, 10, 50, 10};
  for (int i = 0; i < 4; ++i) {
    query_record q;
    q.index = i;
    q.scheduled_ns = q.issued_ns = 0;
    q.output_tokens = 11;
    q.input_tokens = 10;
    int64_t t = ttft_ms[i] * 1'000'000;
    for (int k = 0; k < 11; ++k) {
      q.chunk_ns.push_back(t);
      q.chunk_tokens.push_back(1);
      t += tpot_ms[i] * 1'000'000;
    }
    q.first_chunk_ns = q.chunk_ns.front();
    q.complete_ns = q.chunk_ns.back();
    if (i == 3) {
      q.status = outcome::internal;
      q.error = "boom";
      q.complete_ns = 1'000'000'000;
    }
    rs.push_back(q);
  }
  const scenario_result r = compute_metrics(rs, 0, parse_slo("ttft=200ms,tpot=20ms"), {}, scenario::server);
  const auto get = [&](const char* name) {
    for (const auto& m : r.metrics)
      if (m.name == name) return m;
    ADD_FAILURE() << "missing metric " << name;
    return metric{};
  };
  // Only request 0 meets both; the duration is 1 s (the failed request ends last).
  EXPECT_DOUBLE_EQ(get("goodput_req_s").value, 1.0);
  EXPECT_DOUBLE_EQ(get("goodput_output_tok_s").value, 11.0);
  EXPECT_DOUBLE_EQ(get("slo_attainment").value, 0.25);
  EXPECT_EQ(get("slo_attainment").n, 4);
  ASSERT_EQ(get("slo_attainment").cis.size(), 1u);
  EXPECT_EQ(r.ok, 3);
  EXPECT_EQ(r.failed, 1);
  EXPECT_DOUBLE_EQ(get("output_tok_s").value, 33.0);  // failed requests' tokens do not count
  EXPECT_FALSE(r.validity.valid);
  const auto has = [&](const std::string& part) {
    for (const auto& why : r.validity.reasons)
      if (why.find(part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("1 of 4 queries failed (first: boom)"));
  EXPECT_TRUE(has("p99 TTFT"));  // server rule: p99 over the objective
  EXPECT_TRUE(has("p99 TPOT"));
}

TEST(validity, valid_only_when_minimum_duration_and_query_count_are_met) {
  const std::vector<query_record> one{hand_record()};
  EXPECT_TRUE(compute_metrics(one, 0, {}, {180'000'000, 1}, scenario::offline).validity.valid);
  const auto short_run = compute_metrics(one, 0, {}, {180'000'001, 1}, scenario::offline).validity;
  EXPECT_FALSE(short_run.valid);
  ASSERT_EQ(short_run.reasons.size(), 1u);
  EXPECT_NE(short_run.reasons[0].find("duration 0.180 s is below the minimum"), std::string::npos);
  const auto few = compute_metrics(one, 0, {}, {0, 2}, scenario::offline).validity;
  EXPECT_FALSE(few.valid);
  ASSERT_EQ(few.reasons.size(), 1u);
  EXPECT_NE(few.reasons[0].find("1 queries completed successfully, below the minimum 2"), std::string::npos);
}

TEST(loadgen, server_latency_counts_from_the_scheduled_time_so_a_stall_is_not_hidden) {
  // 40 queries at 100/s (mean gap 10 ms); service takes 1 ms + 4 tokens x 0.5 ms. Query 5's
  // submit() stalls 300 ms: every query scheduled during the stall is issued late.
  virtual_clock clock;
  inline_fake fake(clock, 1'000'000, 500'000);
  fake.stall_at = 5;
  fake.stall_ns = 300'000'000;
  const auto queries = make_queries(40, 16, 4);
  issue_options o;
  o.mode = scenario::server;
  o.arrivals_ns = poisson_schedule_ns(100.0, 40, 7);
  const issue_result ir = issue(fake, queries, o, clock);
  ASSERT_EQ(ir.records.size(), 40u);
  const double service_ms = 1 + 3 * 0.5;
  double max_sched = 0, max_send_after_stall = 0;
  int64_t delayed = 0;
  for (std::size_t i = 0; i < ir.records.size(); ++i) {
    const auto& q = ir.records[i];
    EXPECT_EQ(q.scheduled_ns, ir.start_ns + o.arrivals_ns[i]);
    const query_latency l = latency_of(q, {});
    max_sched = std::max(max_sched, l.e2el_ms);
    if (i > 5) {
      max_send_after_stall = std::max(max_send_after_stall, l.e2el_from_send_ms);
      if (l.queue_delay_ms > 50) ++delayed;
    }
  }
  EXPECT_GT(max_sched, 250.0);                          // the stall shows in scheduled-time latency
  EXPECT_NEAR(max_send_after_stall, service_ms, 1e-9);  // and is invisible from the send time
  EXPECT_GE(delayed, 5);                                // several queries queued behind it
  const scenario_result r = compute_metrics(ir.records, ir.start_ns, {}, {}, scenario::server);
  for (const auto& m : r.metrics) {
    if (m.name == "e2el_ms") {
      EXPECT_GT(m.distribution->p99, 200.0);
    }
    if (m.name == "e2el_from_send_ms") {
      EXPECT_LT(m.distribution->p90, 5.0);
    }
  }
}

TEST(loadgen, without_a_stall_scheduled_and_send_latency_agree) {
  virtual_clock clock;
  inline_fake fake(clock, 1'000'000, 500'000);
  issue_options o;
  o.mode = scenario::server;
  o.arrivals_ns = poisson_schedule_ns(10.0, 30, 7);  // gaps far above the 2.5 ms service time
  const issue_result ir = issue(fake, make_queries(30, 8, 4), o, clock);
  int64_t queued = 0;
  for (const auto& q : ir.records) {
    const query_latency l = latency_of(q, {});
    if (l.queue_delay_ms > 0) ++queued;
    EXPECT_NEAR(l.e2el_ms - l.e2el_from_send_ms, l.queue_delay_ms, 1e-9);
  }
  EXPECT_LE(queued, 2);  // only a gap shorter than the service time can queue
}

TEST(loadgen, offline_submits_everything_at_time_zero_in_one_call) {
  virtual_clock clock;
  inline_fake fake(clock, 2'000'000, 1'000'000);
  issue_options o;
  o.mode = scenario::offline;
  const issue_result ir = issue(fake, make_queries(10, 8, 3), o, clock);
  EXPECT_EQ(fake.submits, 1);
  for (const auto& q : ir.records) EXPECT_EQ(q.scheduled_ns, ir.start_ns);
  // Served one after another: the last completes after 10 x (2 + 2 x 1) ms.
  EXPECT_EQ(ir.records.back().complete_ns - ir.start_ns, 40'000'000);
  EXPECT_EQ(ir.records.back().input_tokens, 7);  // runner-reported
  EXPECT_TRUE(ir.records.back().input_tokens_reported);
}

TEST(loadgen, single_stream_issues_one_at_a_time) {
  virtual_clock clock;
  inline_fake fake(clock, 1'000'000, 1'000'000);
  issue_options o;
  o.mode = scenario::single_stream;
  const issue_result ir = issue(fake, make_queries(5, 8, 2), o, clock);
  EXPECT_EQ(fake.submits, 5);
  for (std::size_t i = 1; i < ir.records.size(); ++i)
    EXPECT_GE(ir.records[i].issued_ns, ir.records[i - 1].complete_ns);
}

TEST(loadgen, failed_requests_are_recorded_not_thrown) {
  virtual_clock clock;
  inline_fake fake(clock, 1'000'000, 1'000'000);
  fake.fail_every = 3;
  issue_options o;
  o.mode = scenario::offline;
  const issue_result ir = issue(fake, make_queries(9, 8, 2), o, clock);
  const scenario_result r = compute_metrics(ir.records, ir.start_ns, {}, {}, scenario::offline);
  EXPECT_EQ(r.failed, 3);
  EXPECT_EQ(r.ok, 6);
  EXPECT_FALSE(r.validity.valid);
}

TEST(loadgen, threaded_fake_runner_queues_beyond_its_slots_and_completes_everything) {
  // Real threads, real clock: only counts and orderings are asserted, never durations.
  fake_runner fake(parse_fake_spec("fake:ttft_ms=1,tpot_ms=0.2,slots=2"));
  issue_options o;
  o.mode = scenario::sweep;
  o.concurrency = 4;
  const auto queries = make_queries(12, 8, 5);
  const issue_result ir = issue(fake, queries, o, steady_load_clock());
  ASSERT_EQ(ir.records.size(), 12u);
  for (const auto& q : ir.records) {
    EXPECT_EQ(q.status, outcome::ok);
    EXPECT_EQ(q.output_tokens, 5);
    EXPECT_EQ(q.chunk_ns.size(), 5u);
    EXPECT_EQ(q.input_tokens, 8);
    EXPECT_GE(q.first_chunk_ns, q.issued_ns);
    EXPECT_GE(q.complete_ns, q.chunk_ns.back());
  }
}

TEST(decode_bandwidth, matches_hand_computed_bytes_rate_and_context) {
  // Query 0: 10 prompt tokens, 5 output tokens, first chunk at 100 ms, done at 500 ms: 4 decoded
  // tokens in 0.4 s, at contexts 11, 12, 13, 14. Query 1: 20 prompt, 3 output, 1.0 s .. 1.2 s:
  // 2 decoded tokens in 0.2 s at contexts 21, 22. Query 2 failed and query 3 produced one
  // token: neither counts.
  std::vector<query_record> r(4);
  const auto set = [&](std::size_t i, int64_t in, int64_t out, int64_t first_ms, int64_t done_ms) {
    r[i].input_tokens = in;
    r[i].output_tokens = out;
    r[i].first_chunk_ns = first_ms * 1'000'000;
    r[i].complete_ns = done_ms * 1'000'000;
  };
  set(0, 10, 5, 100, 500);
  set(1, 20, 3, 1000, 1200);
  set(2, 30, 9, 0, 5000);
  r[2].status = outcome::internal;
  set(3, 7, 1, 10, 10);
  const decode_traffic traffic{1'000'000, 1000};
  const auto d = measure_decode_bandwidth(r, traffic);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->queries, 2);
  EXPECT_EQ(d->decoded_tokens, 6);
  EXPECT_NEAR(d->decode_s, 0.6, 1e-12);
  EXPECT_NEAR(d->decode_tok_s, 10.0, 1e-9);
  // (11 + 12 + 13 + 14 + 21 + 22) / 6 = 93 / 6 = 15.5 (the formula's in + out/2 per query:
  // 4 x 12.5 + 2 x 21.5 = 93).
  EXPECT_NEAR(d->mean_context_tokens, 15.5, 1e-12);
  EXPECT_NEAR(d->bytes_per_token, 1'000'000 + 15'500, 1e-6);
  EXPECT_NEAR(d->achieved_gbs, 1'015'500 * 10.0 / 1e9, 1e-15);
  // Nothing decoded beyond a first token: no measurement, not a division by zero.
  EXPECT_FALSE(measure_decode_bandwidth({r[2], r[3]}, traffic).has_value());
}

TEST(sweep, saturates_below_a_five_percent_gain_over_the_best_level_before) {
  EXPECT_FALSE(sweep_saturated(0, 100, true));
  EXPECT_FALSE(sweep_saturated(100, 105, false));
  EXPECT_TRUE(sweep_saturated(100, 104.9, false));
  EXPECT_TRUE(sweep_saturated(100, 50, false));
}

TEST(fake_spec, parses_and_rejects) {
  const fake_options o = parse_fake_spec("fake:ttft_ms=3,tpot_ms=1.5,slots=8");
  EXPECT_DOUBLE_EQ(o.ttft_ms, 3);
  EXPECT_DOUBLE_EQ(o.tpot_ms, 1.5);
  EXPECT_EQ(o.slots, 8);
  for (const char* bad : {"fake:slots=0", "fake:slots=1.5", "fake:x=1", "fake:ttft_ms", "fake:ttft_ms=-1"})
    EXPECT_THROW(parse_fake_spec(bad), error) << bad;
}

}  // namespace
}  // namespace moebench::throughput
