// `moebench serve`'s server with the echo backend, in process, driven by the openai runner:
// the wire format both ways, validation, authentication, 1,000 concurrent streams, shutdown.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "moebench/clock.h"
#include "moebench/runners/openai.h"
#include "moebench/serve/echo_model.h"
#include "moebench/serve/server.h"
#include "test_servers.h"

namespace moebench {
namespace {
using testing::collect_sink;
using namespace std::chrono_literals;

// A server on an ephemeral port, run on its own thread for the test's lifetime.
class running_server {
 public:
  explicit running_server(serve::echo_options eo = {}, serve::server_options so = {}) {
    so.port = 0;
    srv_ = std::make_unique<serve::server>(
        so, [eo](boost::asio::io_context& ioc) { return serve::make_echo_backend(eo, ioc); });
    thread_ = std::thread([this] { srv_->run(); });
  }
  ~running_server() {
    stop();
  }
  void stop() {
    if (!thread_.joinable()) return;
    srv_->shutdown();
    thread_.join();
  }
  serve::server& get() { return *srv_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(srv_->port()) + "/v1"; }

 private:
  std::unique_ptr<serve::server> srv_;
  std::thread thread_;
};

openai_options client(const std::string& url) {
  openai_options o;
  o.url = url;
  o.model = "echo";
  o.read_timeout_ms = 5000;
  o.retry.max_retries = 0;
  return o;
}

completion one(runner& r, const std::string& prompt, int64_t max_tokens, std::vector<std::string> stop = {},
               collect_sink::entry* events = nullptr) {
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = prompt;
  q.params.max_tokens = max_tokens;
  q.params.stop = std::move(stop);
  r.submit(std::span<const request>(&q, 1), sink);
  completion c = sink.wait(1);
  if (events) *events = sink.get(1);
  return c;
}

TEST(echo_model, pieces) {
  EXPECT_EQ(serve::echo_pieces("def f(x):\n    return x\n"),
            (std::vector<std::string>{"def ", "f(x):\n    ", "return ", "x\n"}));
  EXPECT_EQ(serve::echo_pieces("  lead"), (std::vector<std::string>{"  lead"}));
  EXPECT_TRUE(serve::echo_pieces("").empty());
}

TEST(serve_echo, streams_completions_with_usage) {
  running_server s;
  auto r = make_openai_runner(client(s.url()));
  collect_sink::entry ev;
  const completion c = one(*r, "a b c", 5, {}, &ev);
  ASSERT_EQ(c.status, outcome::ok) << c.error;
  EXPECT_EQ(c.text, "a b ca b ");  // the prompt's pieces, cycled
  EXPECT_EQ(ev.chunks, (std::vector<std::string>{"a ", "b ", "c", "a ", "b "}));
  EXPECT_EQ(c.finish, finish_reason::length);
  EXPECT_EQ(c.prompt_tokens, 3);
  EXPECT_EQ(c.completion_tokens, 5);
  EXPECT_EQ(c.token_source, token_count_source::usage);
}

// A counter standing in for a GGUF tokenizer (the CLI test uses a real one): one token per
// byte of the completion, and BOS + one per byte of the prompt, so that counts tell which
// text was counted and how.
std::shared_ptr<const token_counter> byte_counter(std::atomic<int>* calls) {
  auto c = std::make_shared<token_counter>();
  c->count_prompt = [calls](std::string_view t) {
    calls->fetch_add(1);
    return static_cast<int64_t>(t.size()) + 1;
  };
  c->count_completion = [calls](std::string_view t) {
    calls->fetch_add(1);
    return static_cast<int64_t>(t.size());
  };
  c->name = "bytes";
  return c;
}

TEST(serve_echo, token_counts_come_from_usage_else_the_tokenizer_else_chunks) {
  running_server s;
  std::atomic<int> calls{0};
  // usage: asked for and sent; the tokenizer, although given, is not used.
  auto o = client(s.url());
  o.counter = byte_counter(&calls);
  auto with_usage = make_openai_runner(o);
  const completion u = one(*with_usage, "alpha beta gamma", 4);
  ASSERT_EQ(u.status, outcome::ok) << u.error;
  EXPECT_EQ(u.token_source, token_count_source::usage);
  EXPECT_EQ(u.completion_tokens, 4);  // echo pieces, not bytes
  EXPECT_EQ(u.prompt_tokens, 3);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(with_usage->info().details.at("token_counter"), "bytes");

  // No usage (not asked for): the tokenizer counts the text that arrived, and the prompt.
  o.include_usage = false;
  auto counted = make_openai_runner(o);
  const completion t = one(*counted, "alpha beta gamma", 4);
  ASSERT_EQ(t.status, outcome::ok) << t.error;
  EXPECT_EQ(t.token_source, token_count_source::tokenizer);
  EXPECT_EQ(t.text, "alpha beta gammaalpha ");
  EXPECT_EQ(t.completion_tokens, static_cast<int64_t>(t.text.size()));
  EXPECT_EQ(t.prompt_tokens, static_cast<int64_t>(std::string("alpha beta gamma").size()) + 1);
  EXPECT_EQ(calls.load(), 2);

  // Chat: the server's template shapes the prompt, so the client does not guess its count.
  o.api = openai_api::chat;
  auto chat = make_openai_runner(o);
  const completion ch = one(*chat, "alpha beta", 3);
  ASSERT_EQ(ch.status, outcome::ok) << ch.error;
  EXPECT_EQ(ch.token_source, token_count_source::tokenizer);
  EXPECT_EQ(ch.completion_tokens, static_cast<int64_t>(ch.text.size()));
  EXPECT_EQ(ch.prompt_tokens, -1);

  // Neither usage nor a tokenizer: content chunks (one echo piece per event).
  o.api = openai_api::completions;
  o.counter = nullptr;
  auto chunked = make_openai_runner(o);
  collect_sink::entry ev;
  const completion k = one(*chunked, "alpha beta gamma", 5, {}, &ev);
  ASSERT_EQ(k.status, outcome::ok) << k.error;
  EXPECT_EQ(k.token_source, token_count_source::chunks);
  EXPECT_EQ(k.completion_tokens, 5);
  EXPECT_EQ(k.completion_tokens, static_cast<int64_t>(ev.chunks.size()));
  EXPECT_EQ(k.prompt_tokens, -1);

  // A request that failed is not counted from its text.
  o.counter = byte_counter(&calls);
  o.model = "not-served";
  auto failing = make_openai_runner(o);
  const completion f = one(*failing, "alpha", 3);
  EXPECT_EQ(f.status, outcome::invalid_response);
  EXPECT_EQ(f.token_source, token_count_source::none);
  EXPECT_EQ(f.completion_tokens, -1);
}

TEST(serve_echo, honours_stop_sequences) {
  running_server s;
  auto r = make_openai_runner(client(s.url()));
  const completion c = one(*r, "x = 1\ndef g():\n", 50, {"\ndef"});
  ASSERT_EQ(c.status, outcome::ok) << c.error;
  EXPECT_EQ(c.text, "x = 1");
  EXPECT_EQ(c.finish, finish_reason::stop);
  // A "\n" that may begin "\ndef" is held back until the next piece decides: no emitted text
  // is ever taken back, and the chunks add up to the text.
  collect_sink::entry ev;
  const completion d = one(*r, "a\nb\ndef c", 50, {"\ndef", "zzz"}, &ev);
  ASSERT_EQ(d.status, outcome::ok) << d.error;
  EXPECT_EQ(d.text, "a\nb");
  EXPECT_EQ(ev.chunks, (std::vector<std::string>{"a", "\nb"}));
  EXPECT_EQ(d.completion_tokens, 3);
}

TEST(serve_echo, chat_and_whole_responses_agree_with_streams) {
  running_server s;
  for (const auto api : {openai_api::completions, openai_api::chat}) {
    auto o = client(s.url());
    o.api = api;
    auto streamed = make_openai_runner(o);
    o.stream = false;
    auto whole = make_openai_runner(o);
    const completion a = one(*streamed, "one two three four", 6);
    const completion b = one(*whole, "one two three four", 6);
    ASSERT_EQ(a.status, outcome::ok) << a.error;
    ASSERT_EQ(b.status, outcome::ok) << b.error;
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.completion_tokens, b.completion_tokens);
    EXPECT_EQ(b.token_source, token_count_source::usage);
    if (api == openai_api::chat) {
      EXPECT_EQ(a.text.substr(0, 6), "user: ");  // the documented default template
    }
  }
}

TEST(serve_echo, rejects_bad_requests_with_openai_errors) {
  running_server s;
  auto o = client(s.url());
  o.model = "not-served";
  auto r = make_openai_runner(o);
  const completion c = one(*r, "p", 4);
  EXPECT_EQ(c.status, outcome::invalid_response);
  EXPECT_NE(c.error.find("HTTP 404"), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("model_not_found"), std::string::npos) << c.error;
}

TEST(serve_echo, requires_the_api_key_when_configured) {
  serve::server_options so;
  so.api_key = "sk-serve-123";
  running_server s({}, so);
  auto anonymous = make_openai_runner(client(s.url()));
  const completion denied = one(*anonymous, "p", 2);
  EXPECT_EQ(denied.status, outcome::invalid_response);
  EXPECT_NE(denied.error.find("HTTP 401"), std::string::npos) << denied.error;
  auto o = client(s.url());
  o.api_key = "sk-serve-123";
  auto keyed = make_openai_runner(o);
  EXPECT_EQ(one(*keyed, "p", 2).status, outcome::ok);
}

TEST(serve_echo, holds_a_thousand_concurrent_streams) {
  serve::echo_options eo;
  eo.tokens_per_s = 20;  // each stream lasts ~0.5 s: all 1,000 are open at once
  running_server s(eo);
  auto o = client(s.url());
  o.concurrency = 1000;
  auto r = make_openai_runner(o);
  collect_sink sink;
  std::vector<request> batch(1000);
  for (uint64_t i = 0; i < batch.size(); ++i) {
    batch[i].id = i + 1;
    batch[i].prompt = "tok" + std::to_string(i) + " b c d e f g h i j";
    batch[i].params.max_tokens = 10;
  }
  const int64_t t0 = now_ns();
  r->submit(batch, sink);
  for (uint64_t i = 1; i <= batch.size(); ++i) {
    const completion c = sink.wait(i, 60s);
    ASSERT_EQ(c.status, outcome::ok) << i << ": " << c.error;
    ASSERT_EQ(c.completion_tokens, 10);
    ASSERT_EQ(sink.get(i).chunks.size(), 10u);
  }
  const double seconds = static_cast<double>(now_ns() - t0) / 1e9;
  EXPECT_GE(s.get().stats().connections, 1000);  // they were concurrent, not queued
  // Sequential streams would take 1,000 x 0.5 s.
  EXPECT_LT(seconds, 30.0);
}

TEST(serve_echo, shutdown_lets_in_flight_streams_finish) {
  serve::echo_options eo;
  eo.tokens_per_s = 20;
  serve::server_options so;
  so.shutdown_grace_ms = 10'000;
  running_server s(eo, so);
  auto r = make_openai_runner(client(s.url()));
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = "a b c d e f g h";
  q.params.max_tokens = 12;  // ~0.6 s
  r->submit(std::span<const request>(&q, 1), sink);
  while (sink.get(1).chunks.empty()) std::this_thread::sleep_for(5ms);
  s.stop();  // returns once drained
  const completion c = sink.wait(1, 5s);
  EXPECT_EQ(c.status, outcome::ok) << c.error;
  EXPECT_EQ(c.completion_tokens, 12);
  EXPECT_EQ(s.get().stats().generations_completed, 1);
  // And the server is gone.
  EXPECT_EQ(one(*r, "p", 1).status, outcome::unavailable);
}

TEST(serve_echo, shutdown_cuts_streams_cleanly_after_the_grace) {
  serve::echo_options eo;
  eo.tokens_per_s = 10;
  serve::server_options so;
  so.shutdown_grace_ms = 200;
  running_server s(eo, so);
  auto r = make_openai_runner(client(s.url()));
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = "a b c";
  q.params.max_tokens = 200;  // 20 s
  r->submit(std::span<const request>(&q, 1), sink);
  while (sink.get(1).chunks.empty()) std::this_thread::sleep_for(5ms);
  const int64_t t0 = now_ns();
  s.stop();
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e9, 3.0);
  const completion c = sink.wait(1, 5s);
  // The stream ends with an error event: a partial stream, reported, not retried.
  EXPECT_EQ(c.status, outcome::internal) << c.error;
  EXPECT_NE(c.error.find("server_shutdown"), std::string::npos) << c.error;
  EXPECT_EQ(c.retries, 0);
  EXPECT_FALSE(c.text.empty());
  EXPECT_EQ(s.get().stats().generations_cut, 1);
}

}  // namespace
}  // namespace moebench
