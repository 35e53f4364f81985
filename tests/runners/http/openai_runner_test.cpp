// The openai runner against a fault-injecting server: every fault maps to its outcome, with
// the retry count, in bounded time, and no partial stream is ever retried.
#include <chrono>

#include <gtest/gtest.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/runners/openai.h"
#include "test_servers.h"

namespace moebench {
namespace {
using testing::collect_sink;
using testing::fault_server;
using namespace std::chrono_literals;

openai_options fast_options(const std::string& url) {
  openai_options o;
  o.url = url;
  o.model = "m";
  o.connect_timeout_ms = 1000;
  o.read_timeout_ms = 400;
  o.request_timeout_ms = 5000;
  o.retry.max_retries = 2;
  o.retry.initial_backoff_ms = 5;
  o.retry.max_backoff_ms = 20;
  return o;
}

struct result {
  completion c;
  collect_sink::entry e;
  double seconds;
};

result run_one(const openai_options& o, const std::string& prompt = "p") {
  auto r = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 7;
  q.prompt = prompt;
  q.params.max_tokens = 8;
  const int64_t t0 = now_ns();
  r->submit(std::span<const request>(&q, 1), sink);
  result out;
  out.c = sink.wait(7);
  out.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  r->flush();
  out.e = sink.get(7);
  EXPECT_FALSE(out.e.chunk_after_complete);
  EXPECT_FALSE(out.e.completed_twice);
  return out;
}

void ok_stream(const fault_server::connection& c) {
  c.send(fault_server::sse_head());
  c.send(fault_server::text_chunk("Hel"));
  c.send(fault_server::text_chunk("lo"));
  c.send(fault_server::text_chunk("!", "length"));
  c.send(fault_server::event(R"({"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3}})"));
  c.send(fault_server::event("[DONE]"));
}

TEST(openai_runner, stream_with_usage) {
  fault_server s(ok_stream);
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::ok) << r.c.error;
  EXPECT_EQ(r.c.text, "Hello!");
  EXPECT_EQ(r.e.chunks, (std::vector<std::string>{"Hel", "lo", "!"}));
  EXPECT_EQ(r.c.completion_tokens, 3);
  EXPECT_EQ(r.c.prompt_tokens, 4);
  EXPECT_EQ(r.c.finish, finish_reason::length);
  EXPECT_EQ(r.c.retries, 0);
  EXPECT_EQ(r.c.token_source, token_count_source::usage);
  // The request asked for a stream with usage, on the completions endpoint.
  const std::string req = s.last_request();
  EXPECT_NE(req.find("POST /v1/completions HTTP/1.1"), std::string::npos);
  EXPECT_NE(req.find(R"("stream_options":{"include_usage":true})"), std::string::npos);
  EXPECT_NE(req.find(R"("prompt":"p")"), std::string::npos);
  EXPECT_EQ(req.find("Authorization"), std::string::npos);
}

TEST(openai_runner, stream_without_usage_counts_chunks) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send(fault_server::text_chunk("a"));
    c.send(": keep-alive comment\r\n\r\n");
    c.send(fault_server::text_chunk("b", "stop"));
    c.send(fault_server::event("[DONE]"));
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::ok) << r.c.error;
  EXPECT_EQ(r.c.text, "ab");
  EXPECT_EQ(r.c.completion_tokens, 2);
  EXPECT_EQ(r.c.token_source, token_count_source::chunks);
  EXPECT_EQ(r.c.finish, finish_reason::stop);
}

TEST(openai_runner, whole_response_and_chat) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::status(
        200, "",
        R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":2,"completion_tokens":2}})"));
  });
  auto o = fast_options(s.url());
  o.api = openai_api::chat;
  o.stream = false;
  const auto r = run_one(o);
  EXPECT_EQ(r.c.status, outcome::ok) << r.c.error;
  EXPECT_EQ(r.c.text, "hi there");
  EXPECT_TRUE(r.e.chunks.empty());
  EXPECT_EQ(r.c.completion_tokens, 2);
  EXPECT_NE(s.last_request().find("POST /v1/chat/completions"), std::string::npos);
  EXPECT_NE(s.last_request().find(R"("messages":[{"content":"p","role":"user"}])"), std::string::npos);
}

TEST(openai_runner, honours_retry_after_then_succeeds) {
  fault_server s([](const fault_server::connection& c) {
    if (c.index == 0) return c.send(fault_server::status(429, "Retry-After: 1\r\n", R"({"error":"slow down"})"));
    ok_stream(c);
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::ok) << r.c.error;
  EXPECT_EQ(r.c.retries, 1);
  EXPECT_EQ(s.requests(), 2);
  EXPECT_GE(r.seconds, 0.95);  // the 1 s Retry-After, not the 5 ms backoff
  EXPECT_EQ(r.c.extra["attempts"], 2);
}

TEST(openai_runner, rate_limited_until_retries_run_out) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::status(429, "", R"({"error":{"message":"rate limited"}})"));
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::resource_exhausted);
  EXPECT_EQ(r.c.retries, 2);
  EXPECT_EQ(s.requests(), 3);
  EXPECT_EQ(r.c.finish, finish_reason::error);
  EXPECT_NE(r.c.error.find("HTTP 429"), std::string::npos) << r.c.error;
}

TEST(openai_runner, retry_after_beyond_the_limit_fails_at_once) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::status(503, "Retry-After: 3600\r\n", "{}"));
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::unavailable);
  EXPECT_EQ(r.c.retries, 0);
  EXPECT_EQ(s.requests(), 1);
  EXPECT_NE(r.c.error.find("Retry-After"), std::string::npos) << r.c.error;
}

TEST(openai_runner, server_errors_map_to_outcomes) {
  for (const auto& [code, expected, attempts] :
       std::vector<std::tuple<int, outcome, int>>{{500, outcome::internal, 3},
                                                  {503, outcome::unavailable, 3},
                                                  {502, outcome::unavailable, 3},
                                                  {400, outcome::invalid_response, 1},
                                                  {404, outcome::invalid_response, 1},
                                                  {401, outcome::invalid_response, 1}}) {
    fault_server s([code = code](const fault_server::connection& c) {
      c.send(fault_server::status(code, "", R"({"error":{"message":"boom"}})"));
    });
    const auto r = run_one(fast_options(s.url()));
    EXPECT_EQ(r.c.status, expected) << code << ": " << r.c.error;
    EXPECT_EQ(s.requests(), attempts) << code;
    EXPECT_EQ(r.c.retries, attempts - 1) << code;
    EXPECT_NE(r.c.error.find("boom"), std::string::npos) << r.c.error;
  }
}

TEST(openai_runner, reset_mid_stream_is_not_retried) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send(fault_server::text_chunk("par"));
    c.send(fault_server::text_chunk("tial"));
    c.sleep(50ms);
    c.reset();
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::unavailable) << r.c.error;
  EXPECT_EQ(r.c.retries, 0);
  EXPECT_EQ(s.requests(), 1);
  EXPECT_EQ(r.c.text, "partial");
  EXPECT_EQ(r.e.chunks.size(), 2u);
  EXPECT_NE(r.c.error.find("not retried"), std::string::npos) << r.c.error;
}

TEST(openai_runner, reset_before_any_response_is_retried) {
  fault_server s([](const fault_server::connection& c) { c.reset(); });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::unavailable) << r.c.error;
  EXPECT_EQ(r.c.retries, 2);
  EXPECT_EQ(s.requests(), 3);
}

TEST(openai_runner, stalled_stream_times_out) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send(fault_server::text_chunk("x"));
    c.sleep(10s);
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::deadline_exceeded) << r.c.error;
  EXPECT_EQ(r.c.retries, 0);  // one chunk was delivered: never replayed
  EXPECT_LT(r.seconds, 3.0);
  EXPECT_NE(r.c.error.find("read timeout"), std::string::npos) << r.c.error;
}

TEST(openai_runner, slow_headers_time_out_and_are_retried) {
  fault_server s([](const fault_server::connection& c) { c.sleep(10s); });
  auto o = fast_options(s.url());
  o.retry.max_retries = 1;
  const auto r = run_one(o);
  EXPECT_EQ(r.c.status, outcome::deadline_exceeded) << r.c.error;
  EXPECT_EQ(r.c.retries, 1);
  EXPECT_EQ(s.requests(), 2);
  EXPECT_LT(r.seconds, 3.0);
}

TEST(openai_runner, request_timeout_bounds_a_trickling_stream) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    for (int i = 0; i < 100; ++i) {
      c.send(": still here\n");  // keeps the read timeout from firing
      c.sleep(100ms);
    }
  });
  auto o = fast_options(s.url());
  o.request_timeout_ms = 800;
  o.retry.max_retries = 0;
  const auto r = run_one(o);
  EXPECT_EQ(r.c.status, outcome::deadline_exceeded) << r.c.error;
  EXPECT_NE(r.c.error.find("request timeout"), std::string::npos) << r.c.error;
  EXPECT_LT(r.seconds, 3.0);
}

TEST(openai_runner, malformed_event_is_invalid_response) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send(fault_server::text_chunk("ok"));
    c.send(fault_server::event("{not json"));
    c.send(fault_server::event("[DONE]"));
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::invalid_response) << r.c.error;
  EXPECT_EQ(r.c.retries, 0);
  EXPECT_NE(r.c.error.find("not a JSON object"), std::string::npos) << r.c.error;
}

TEST(openai_runner, huge_event_is_refused) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send("data: " + std::string(3 << 20, 'x'));
    c.send("\n\n");
  });
  auto o = fast_options(s.url());
  o.max_event_bytes = 1 << 20;
  const auto r = run_one(o);
  EXPECT_EQ(r.c.status, outcome::invalid_response) << r.c.error;
  EXPECT_NE(r.c.error.find("exceeds"), std::string::npos) << r.c.error;
}

TEST(openai_runner, stream_without_done_is_invalid) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send(fault_server::text_chunk("a"));
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::invalid_response) << r.c.error;
  EXPECT_EQ(r.c.text, "a");
}

TEST(openai_runner, garbage_instead_of_http) {
  fault_server s([](const fault_server::connection& c) { c.send("SSH-2.0-OpenSSH_9.2\r\n\r\n"); });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::invalid_response) << r.c.error;
  EXPECT_EQ(s.requests(), 1);
}

TEST(openai_runner, error_event_mid_stream) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.send(fault_server::text_chunk("a"));
    c.send(fault_server::event(R"({"error":{"message":"engine crashed"}})"));
  });
  const auto r = run_one(fast_options(s.url()));
  EXPECT_EQ(r.c.status, outcome::internal) << r.c.error;
  EXPECT_EQ(r.c.retries, 0);
  EXPECT_NE(r.c.error.find("engine crashed"), std::string::npos);
}

TEST(openai_runner, connection_refused_is_unavailable) {
  int port = 0;
  { fault_server s([](const fault_server::connection&) {}); port = s.port(); }
  const auto r = run_one(fast_options("http://127.0.0.1:" + std::to_string(port) + "/v1"));
  EXPECT_EQ(r.c.status, outcome::unavailable) << r.c.error;
  EXPECT_EQ(r.c.retries, 2);
}

TEST(openai_runner, api_key_is_sent_and_never_reported) {
  const std::string key = "sk-test-9f8e7d6c5b4a";
  fault_server s([&](const fault_server::connection& c) {
    // A server that echoes the request's headers in its error: the key must not reach the record.
    c.send(fault_server::status(400, "", R"({"error":"bad header Authorization: Bearer )" + key + R"("})"));
  });
  auto o = fast_options(s.url());
  o.api_key = key;
  auto r = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 1;
  r->submit(std::span<const request>(&q, 1), sink);
  const completion c = sink.wait(1);
  EXPECT_NE(s.last_request().find("Authorization: Bearer " + key), std::string::npos);
  EXPECT_EQ(c.status, outcome::invalid_response);
  EXPECT_EQ(c.error.find(key), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("[redacted]"), std::string::npos) << c.error;
  EXPECT_EQ(c.extra.dump().find(key), std::string::npos);
  EXPECT_EQ(r->info().details.dump().find(key), std::string::npos);
  EXPECT_EQ(r->info().spec.find(key), std::string::npos);
}

TEST(openai_runner, concurrency_limit_queues_requests) {
  fault_server s([](const fault_server::connection& c) {
    c.sleep(100ms);
    ok_stream(c);
  });
  auto o = fast_options(s.url());
  o.concurrency = 2;
  auto r = make_openai_runner(o);
  collect_sink sink;
  std::vector<request> batch(6);
  for (uint64_t i = 0; i < batch.size(); ++i) batch[i].id = i + 1;
  r->submit(batch, sink);
  for (uint64_t i = 1; i <= 6; ++i) EXPECT_EQ(sink.wait(i).status, outcome::ok);
  r->flush();
  EXPECT_EQ(s.requests(), 6);
  EXPECT_LE(s.max_concurrent(), 2);
}

TEST(openai_runner, an_id_may_be_reused_once_completed) {
  fault_server s(ok_stream);
  auto r = make_openai_runner(fast_options(s.url()));
  for (int i = 0; i < 30; ++i) {
    collect_sink sink;
    request q;
    q.id = 5;  // on_complete ends the request's flight: the harness may reuse its id at once
    r->submit(std::span<const request>(&q, 1), sink);
    ASSERT_EQ(sink.wait(5).status, outcome::ok);
  }
  r->flush();
}

TEST(openai_runner, destruction_cancels_in_flight_requests) {
  fault_server s([](const fault_server::connection& c) {
    c.send(fault_server::sse_head());
    c.sleep(10s);
  });
  auto o = fast_options(s.url());
  o.read_timeout_ms = 30'000;
  o.concurrency = 1;
  collect_sink sink;
  const int64_t t0 = now_ns();
  {
    auto r = make_openai_runner(o);
    std::vector<request> batch(2);
    batch[0].id = 1;
    batch[1].id = 2;  // queued behind the first
    r->submit(batch, sink);
    while (s.requests() < 1) std::this_thread::sleep_for(5ms);
  }
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e9, 3.0);
  EXPECT_EQ(sink.wait(1, 1s).status, outcome::cancelled);
  EXPECT_EQ(sink.wait(2, 1s).status, outcome::cancelled);
}

TEST(openai_policy, status_mapping_and_retryability) {
  using namespace openai_policy;
  EXPECT_EQ(outcome_of_status(429), outcome::resource_exhausted);
  EXPECT_EQ(outcome_of_status(408), outcome::deadline_exceeded);
  EXPECT_EQ(outcome_of_status(503), outcome::unavailable);
  EXPECT_EQ(outcome_of_status(500), outcome::internal);
  EXPECT_EQ(outcome_of_status(422), outcome::invalid_response);
  EXPECT_TRUE(retryable(outcome::resource_exhausted));
  EXPECT_FALSE(retryable(outcome::invalid_response));
  EXPECT_FALSE(retryable(outcome::cancelled));
}

TEST(openai_policy, retry_after) {
  using openai_policy::parse_retry_after_ms;
  EXPECT_EQ(parse_retry_after_ms("7", 0), 7000);
  EXPECT_EQ(parse_retry_after_ms(" 0 ", 0), 0);
  EXPECT_EQ(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 5), 5000);
  EXPECT_EQ(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 50), 0);
  EXPECT_EQ(parse_retry_after_ms("soon", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("-1", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after_ms("", 0), std::nullopt);
}

TEST(openai_policy, backoff_grows_is_capped_jittered_and_reproducible) {
  retry_policy p;
  p.initial_backoff_ms = 100;
  p.max_backoff_ms = 1000;
  p.multiplier = 2;
  for (int64_t retry = 1; retry <= 8; ++retry) {
    const int64_t cap = std::min<int64_t>(1000, 100 << (retry - 1));
    const int64_t b = openai_policy::backoff_ms(p, retry, 42);
    EXPECT_GE(b, cap / 2) << retry;
    EXPECT_LE(b, cap) << retry;
    EXPECT_EQ(b, openai_policy::backoff_ms(p, retry, 42));
  }
  bool differs = false;
  for (uint64_t seed = 0; seed < 16; ++seed)
    differs |= openai_policy::backoff_ms(p, 3, seed) != openai_policy::backoff_ms(p, 3, seed + 100);
  EXPECT_TRUE(differs);
}

// The waits before retries are a pure function of the run's jitter seed and the request's seed:
// two runs with the same seeds wait the same schedule, which the record carries.
TEST(openai_runner, retry_schedule_is_reproducible_from_the_jitter_seed) {
  fault_server srv([](const fault_server::connection& c) { c.send(fault_server::status(503, "", "{}")); });
  auto o = fast_options(srv.url());
  o.retry.max_retries = 3;
  o.retry.initial_backoff_ms = 8;
  o.retry.max_backoff_ms = 64;
  const auto schedule = [&](uint64_t jitter_seed) {
    o.jitter_seed = jitter_seed;
    auto r = make_openai_runner(o);
    collect_sink sink;
    request q;
    q.id = 1;
    q.prompt = "p";
    q.params.seed = 1234;
    r->submit(std::span<const request>(&q, 1), sink);
    const completion c = sink.wait(1);
    EXPECT_EQ(c.status, outcome::unavailable);
    EXPECT_EQ(c.retries, 3);
    return c.extra.at("backoff_ms").get<std::vector<int64_t>>();
  };
  const std::vector<int64_t> a = schedule(99), b = schedule(99);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a, b);
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(a[static_cast<std::size_t>(i)], openai_policy::backoff_ms(o.retry, i + 1, 1234 ^ 99)) << i;
  bool differs = false;
  for (uint64_t seed = 100; seed < 108 && !differs; ++seed) differs = schedule(seed) != a;
  EXPECT_TRUE(differs);
}

TEST(openai_spec, parses_url_model_and_options) {
  const auto o = parse_openai_spec("openai:http://127.0.0.1:8000/v1/#mini?api=chat&stream=0&retries=5&read_timeout_s=2.5");
  EXPECT_EQ(o.url, "http://127.0.0.1:8000/v1/");
  EXPECT_EQ(o.model, "mini");
  EXPECT_EQ(o.api, openai_api::chat);
  EXPECT_FALSE(o.stream);
  EXPECT_EQ(o.retry.max_retries, 5);
  EXPECT_EQ(o.read_timeout_ms, 2500);
  EXPECT_EQ(parse_openai_spec("openai:https://h/v1#m?ca_file=/etc/ca.pem").ca_file, "/etc/ca.pem");
  const auto u = parse_url("https://api.example.com/v1/");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "api.example.com");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.base_path, "/v1");
  const auto v6 = parse_url("http://[::1]:9000");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, "9000");
  EXPECT_EQ(v6.base_path, "");
}

TEST(openai_spec, rejects_bad_specs_with_an_id) {
  for (const char* bad : {"openai:http://h/v1", "openai:ftp://h/v1#m", "openai:http://h/v1#",
                          "openai:http://user:pw@h/v1#m", "openai:http://h:99x/v1#m",
                          "openai:http://h/v1#m?api=rpc", "openai:http://h/v1#m?bogus=1",
                          "openai:http://h/v1#m?retries=-1", "openai:http:///v1#m",
                          "openai:http://h/v1#m?ca_file=ca.pem", "openai:https://h/v1#m?ca_file="}) {
    try {
      parse_openai_spec(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const error& e) {
      EXPECT_EQ(e.id(), "openai.bad_spec") << bad;
      EXPECT_EQ(e.where().field, "--model");
    }
  }
}

}  // namespace
}  // namespace moebench
