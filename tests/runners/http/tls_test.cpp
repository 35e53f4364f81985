// HTTPS end to end: `moebench serve`'s server with a certificate from a throwaway CA made at
// test time, the openai runner trusting that CA through ca_file. Every misconfiguration
// (untrusted certificate, wrong name, plain HTTP on the TLS port, TLS to a plain port) fails
// at once with an error that names it, and is not retried.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/runners/openai.h"
#include "moebench/serve/echo_model.h"
#include "moebench/serve/server.h"
#include "test_servers.h"
#include "test_tls.h"
#include "test_util.h"

namespace moebench {
namespace {
using testing::collect_sink;
using testing::test_pki;
using namespace std::chrono_literals;

class tls_server {
 public:
  tls_server(const test_pki::server_files& f, serve::echo_options eo = {}) {
    serve::server_options so;
    so.port = 0;
    so.tls_cert_file = f.cert.string();
    so.tls_key_file = f.key.string();
    srv_ = std::make_unique<serve::server>(
        so, [eo](boost::asio::io_context& ioc) { return serve::make_echo_backend(eo, ioc); });
    thread_ = std::thread([this] { srv_->run(); });
  }
  ~tls_server() {
    srv_->shutdown();
    thread_.join();
  }
  std::string url(const std::string& scheme = "https", const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(srv_->port()) + "/v1";
  }
  serve::server& get() { return *srv_; }

 private:
  std::unique_ptr<serve::server> srv_;
  std::thread thread_;
};

openai_options client(const std::string& url, const std::string& ca_file) {
  openai_options o;
  o.url = url;
  o.model = "echo";
  o.ca_file = ca_file;
  o.connect_timeout_ms = 5000;
  o.read_timeout_ms = 5000;
  o.retry.max_retries = 3;  // a misconfiguration must not use them
  o.retry.initial_backoff_ms = 400;
  return o;
}

struct timed {
  completion c;
  collect_sink::entry events;
  double seconds = 0;
};

timed one(const openai_options& o, const std::string& prompt = "a b c", int64_t max_tokens = 5) {
  auto r = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = prompt;
  q.params.max_tokens = max_tokens;
  const int64_t t0 = now_ns();
  r->submit(std::span<const request>(&q, 1), sink);
  timed out;
  out.c = sink.wait(1, 20s);
  out.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  out.events = sink.get(1);
  return out;
}

// A misconfiguration: invalid_response, no retry, well under one backoff, and `needle` named.
void expect_refused(const timed& t, const std::string& needle) {
  EXPECT_EQ(t.c.status, outcome::invalid_response) << t.c.error;
  EXPECT_EQ(t.c.retries, 0) << t.c.error;
  EXPECT_EQ(t.c.extra.at("attempts"), 1);
  EXPECT_LT(t.seconds, 2.0);
  EXPECT_NE(t.c.error.find(needle), std::string::npos) << t.c.error;
  EXPECT_TRUE(t.events.chunks.empty());
}

TEST(tls, https_streams_through_a_private_ca) {
  testing::temp_dir dir;
  test_pki pki(dir.path(), "moebench-test");
  tls_server s(pki.issue("server", "IP:127.0.0.1,DNS:localhost"));
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    const timed t = one(client(s.url("https", host), pki.ca_file().string()), "a b c", 5);
    ASSERT_EQ(t.c.status, outcome::ok) << host << ": " << t.c.error;
    EXPECT_EQ(t.c.text, "a b ca b ");
    EXPECT_EQ(t.events.chunks, (std::vector<std::string>{"a ", "b ", "c", "a ", "b "}));
    EXPECT_EQ(t.c.token_source, token_count_source::usage);
    EXPECT_EQ(t.c.completion_tokens, 5);
  }
  // Whole responses and chat over the same TLS server.
  auto o = client(s.url(), pki.ca_file().string());
  o.stream = false;
  o.api = openai_api::chat;
  const timed w = one(o, "x y", 3);
  ASSERT_EQ(w.c.status, outcome::ok) << w.c.error;
  EXPECT_EQ(w.c.completion_tokens, 3);
  EXPECT_GE(s.get().stats().generations_completed, 3);
}

TEST(tls, many_concurrent_https_streams) {
  testing::temp_dir dir;
  test_pki pki(dir.path(), "moebench-test");
  serve::echo_options eo;
  eo.tokens_per_s = 50;
  tls_server s(pki.issue("server", "IP:127.0.0.1"), eo);
  auto o = client(s.url(), pki.ca_file().string());
  o.concurrency = 64;
  auto r = make_openai_runner(o);
  collect_sink sink;
  std::vector<request> batch(64);
  for (uint64_t i = 0; i < batch.size(); ++i) {
    batch[i].id = i + 1;
    batch[i].prompt = "t" + std::to_string(i) + " b c";
    batch[i].params.max_tokens = 6;
  }
  r->submit(batch, sink);
  for (uint64_t i = 1; i <= batch.size(); ++i) {
    const completion c = sink.wait(i, 30s);
    ASSERT_EQ(c.status, outcome::ok) << i << ": " << c.error;
    ASSERT_EQ(c.completion_tokens, 6);
    ASSERT_EQ(c.text.substr(0, 2 + std::to_string(i - 1).size()), "t" + std::to_string(i - 1) + " ");
  }
}

TEST(tls, an_untrusted_certificate_fails_at_once) {
  testing::temp_dir dir;
  test_pki pki(dir.path(), "moebench-test");
  test_pki other(dir.path(), "someone-else");
  tls_server s(pki.issue("server", "IP:127.0.0.1"));
  // Neither the system store nor another CA vouches for it.
  expect_refused(one(client(s.url(), "")), "certificate verify failed");
  const timed t = one(client(s.url(), other.ca_file().string()));
  expect_refused(t, "certificate verify failed");
  EXPECT_NE(t.c.error.find(other.ca_file().string()), std::string::npos) << t.c.error;
}

TEST(tls, a_host_name_mismatch_fails_at_once) {
  testing::temp_dir dir;
  test_pki pki(dir.path(), "moebench-test");
  // Trusted, but issued for other names than the ones the client asks for.
  tls_server s(pki.issue("elsewhere", "DNS:elsewhere.example,IP:10.9.8.7"));
  expect_refused(one(client(s.url("https", "127.0.0.1"), pki.ca_file().string())), "IP address mismatch");
  expect_refused(one(client(s.url("https", "localhost"), pki.ca_file().string())), "hostname mismatch");
}

TEST(tls, plain_http_to_the_tls_port_is_told_to_use_https) {
  testing::temp_dir dir;
  test_pki pki(dir.path(), "moebench-test");
  tls_server s(pki.issue("server", "IP:127.0.0.1"));
  const timed t = one(client(s.url("http"), ""));
  expect_refused(t, "HTTP 400");
  EXPECT_NE(t.c.error.find("https://"), std::string::npos) << t.c.error;
  // The server still serves TLS afterwards.
  EXPECT_EQ(one(client(s.url(), pki.ca_file().string())).c.status, outcome::ok);
}

TEST(tls, https_to_a_plain_port_says_the_server_does_not_speak_tls) {
  serve::server_options so;
  so.port = 0;
  serve::server srv(so, [](boost::asio::io_context& ioc) { return serve::make_echo_backend({}, ioc); });
  std::thread th([&] { srv.run(); });
  const timed t = one(client("https://127.0.0.1:" + std::to_string(srv.port()) + "/v1", ""));
  expect_refused(t, "does not speak TLS");
  srv.shutdown();
  th.join();
}

TEST(tls, bad_certificate_files_are_configuration_errors) {
  testing::temp_dir dir;
  test_pki pki(dir.path(), "moebench-test");
  const auto good = pki.issue("server", "IP:127.0.0.1");
  const auto other = pki.issue("other", "IP:127.0.0.1");
  const auto echo = [](boost::asio::io_context& ioc) { return serve::make_echo_backend({}, ioc); };
  const auto attempt = [&](const std::string& cert, const std::string& key) -> std::string {
    serve::server_options so;
    so.port = 0;
    so.tls_cert_file = cert;
    so.tls_key_file = key;
    try {
      serve::server srv(so, echo);
    } catch (const error& e) {
      EXPECT_EQ(e.id(), "serve.tls");
      return e.where().field + ": " + e.what();
    }
    return "accepted";
  };
  EXPECT_NE(attempt((dir / "missing.pem").string(), good.key.string()).find("--tls-cert"), std::string::npos);
  EXPECT_NE(attempt(good.cert.string(), (dir / "missing.pem").string()).find("--tls-key"), std::string::npos);
  const std::string mismatch = attempt(good.cert.string(), other.key.string());
  EXPECT_NE(mismatch.find("--tls-key"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("does not match"), std::string::npos) << mismatch;
  EXPECT_NE(attempt(good.cert.string(), "").find("--tls-key"), std::string::npos);
  // And the client's CA file.
  try {
    make_openai_runner(client("https://127.0.0.1:1/v1", (dir / "nope.pem").string()));
    ADD_FAILURE() << "accepted a missing ca_file";
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "openai.ca_file");
    EXPECT_EQ(e.where().field, "ca_file");
  }
}

}  // namespace
}  // namespace moebench
