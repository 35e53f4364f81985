// The openai runner's I/O: Asio C++20 coroutines over Beast HTTP/1.1, one coroutine per request
// on a strand of one io_context. The only translation unit of the runner that sees Asio.
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/runners/openai.h"
#include "moebench/runners/sse.h"
#include "moebench/text.h"

namespace moebench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;

constexpr std::size_t read_piece_bytes = 16 * 1024;
constexpr std::size_t error_body_bytes = 4 * 1024;

// One request as the runner holds it: the JSON body is built at submit time (the request is
// only borrowed for the duration of submit()).
struct job {
  uint64_t id = 0;
  uint64_t seed = 0;
  std::string body;
  std::string prompt;  // kept only to count its tokens when the server sends no usage
  completion_sink* sink = nullptr;
  asio::strand<asio::io_context::executor_type> strand;
  asio::cancellation_signal cancel;  // emitted on the strand when the runner is destroyed

  explicit job(asio::strand<asio::io_context::executor_type> s) : strand(std::move(s)) {}
};

// What one attempt produced.
struct attempt {
  outcome status = outcome::ok;
  std::string error;
  int http_status = 0;
  std::optional<int64_t> retry_after_ms;
  int64_t chunks = 0;  // content chunks delivered to the sink: > 0 forbids a retry
  bool stale_connection = false;  // a reused keep-alive connection died before any response byte
  bool keep_alive = false;
  bool done_seen = false;  // "data: [DONE]"
  bool usage_seen = false;
  std::string text;
  std::string finish;
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;

  void fail(outcome o, std::string message) {
    status = o;
    error = std::move(message);
  }
};

const boost::system::error_category& http_category() {
  return error_code(http::error::bad_version).category();
}

std::string snippet(std::string_view s) { return to_valid_utf8(truncate_utf8(s, 300)); }

// Replaces every occurrence of the API key: a server may echo request headers in an error body.
std::string redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (std::size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p))
    text.replace(p, secret.size(), "[redacted]");
  return text;
}

finish_reason to_finish(std::string_view f) {
  if (f == "length") return finish_reason::length;
  return finish_reason::stop;  // "stop", "eos", tool calls and server-specific names
}

class openai_runner final : public runner {
 public:
  explicit openai_runner(openai_options o)
      : options_(std::move(o)),
        url_(parse_url(options_.url)),
        ssl_ctx_(ssl::context::tls_client),
        work_(asio::make_work_guard(ioc_)) {
    target_ = url_.base_path + (options_.api == openai_api::chat ? "/chat/completions" : "/completions");
    if (url_.tls) {
      ssl_ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ssl_ctx_.set_default_verify_paths();
      if (!options_.ca_file.empty()) {
        error_code ec;
        ssl_ctx_.load_verify_file(options_.ca_file, ec);
        if (ec)
          throw error("openai.ca_file", {options_.ca_file, 0, "ca_file"},
                      "cannot load trusted certificates (PEM): " + ec.message());
      }
      ssl_ctx_.set_verify_mode(ssl::verify_peer);
      error_code ec;
      asio::ip::make_address(url_.host, ec);
      host_is_ip_ = !ec;
    }
    host_header_ = url_.host;
    if (url_.port != (url_.tls ? "443" : "80")) host_header_ += ":" + url_.port;
    const auto n = std::max<int64_t>(1, options_.threads);
    for (int64_t i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  ~openai_runner() override {
    std::vector<std::shared_ptr<job>> active;
    std::deque<std::shared_ptr<job>> queued;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      queued.swap(queue_);
      for (const auto& [id, j] : active_) active.push_back(j);
    }
    for (const auto& j : queued) {
      completion c;
      c.status = outcome::cancelled;
      c.finish = finish_reason::error;
      c.error = "runner shut down before the request was sent";
      j->sink->on_complete(j->id, std::move(c));
    }
    for (const auto& j : active)
      asio::post(j->strand, [j] { j->cancel.emit(asio::cancellation_type::terminal); });
    {
      std::unique_lock lock(mu_);
      idle_cv_.wait(lock, [&] { return active_.empty() && delivering_ == 0; });
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    for (int fd : pool_) ::close(fd);
  }

  runner_info info() const override {
    runner_info i;
    i.spec = "openai:" + options_.url + "#" + options_.model;
    i.name = options_.model;
    // Identity and policy only: the API key is deliberately absent.
    i.details = {{"url", options_.url},
                 {"model", options_.model},
                 {"api", to_string(options_.api)},
                 {"stream", options_.stream},
                 {"include_usage", options_.include_usage},
                 {"concurrency", options_.concurrency},
                 {"connect_timeout_ms", options_.connect_timeout_ms},
                 {"read_timeout_ms", options_.read_timeout_ms},
                 {"request_timeout_ms", options_.request_timeout_ms},
                 {"max_retries", options_.retry.max_retries},
                 {"authenticated", !options_.api_key.empty()}};
    if (!options_.ca_file.empty()) i.details["ca_file"] = options_.ca_file;
    if (options_.counter) i.details["token_counter"] = options_.counter->name;
    return i;
  }

  void submit(std::span<const request> batch, completion_sink& sink) override {
    for (const auto& r : batch) {
      auto j = std::make_shared<job>(asio::make_strand(ioc_));
      j->id = r.id;
      j->seed = r.params.seed ^ options_.jitter_seed;
      j->body = build_body(r);
      if (options_.counter) j->prompt = r.prompt;
      j->sink = &sink;
      bool start = false;
      {
        std::lock_guard lock(mu_);
        if (!cancelled_) {
          MOEBENCH_CHECK(!active_.contains(j->id), "request id already in flight");
          if (static_cast<int64_t>(active_.size()) < options_.concurrency) {
            active_.emplace(j->id, j);
            start = true;
          } else {
            queue_.push_back(j);
          }
        }
      }
      if (start) spawn(j);
      else if (cancelled_) {
        completion c;
        c.status = outcome::cancelled;
        c.finish = finish_reason::error;
        c.error = "runner is shutting down";
        sink.on_complete(r.id, std::move(c));
      }
    }
  }

  void flush() override {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [&] { return active_.empty() && queue_.empty() && delivering_ == 0; });
  }

 private:
  std::string build_body(const request& r) const {
    nlohmann::json j = {{"model", options_.model},
                        {"max_tokens", r.params.max_tokens},
                        {"temperature", r.params.temperature},
                        {"top_p", r.params.top_p},
                        {"seed", r.params.seed},
                        {"stream", options_.stream}};
    if (options_.api == openai_api::chat)
      j["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", r.prompt}}});
    else
      j["prompt"] = r.prompt;
    // Not in OpenAI's API but understood by vLLM, SGLang and llama-server; sent only when set.
    if (r.params.top_k > 0) j["top_k"] = r.params.top_k;
    if (r.params.min_p > 0) j["min_p"] = r.params.min_p;
    if (!r.params.stop.empty()) j["stop"] = r.params.stop;
    // Throughput runs ask for exact output lengths (vLLM, SGLang, llama-server, moebench serve).
    if (r.params.ignore_eos) j["ignore_eos"] = true;
    if (options_.stream && options_.include_usage) j["stream_options"] = {{"include_usage", true}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  void spawn(const std::shared_ptr<job>& j) {
    asio::co_spawn(j->strand, run_job(j), asio::bind_cancellation_slot(j->cancel.slot(), asio::detached));
  }

  // Delivers the completion. The id leaves the in-flight set first: once on_complete has been
  // called the caller may reuse it. flush() also waits for completions being delivered.
  void complete(const std::shared_ptr<job>& j, completion c) {
    std::shared_ptr<job> next;
    {
      std::lock_guard lock(mu_);
      active_.erase(j->id);
      ++delivering_;
      if (!cancelled_ && !queue_.empty()) {
        next = queue_.front();
        queue_.pop_front();
        active_.emplace(next->id, next);
      }
    }
    j->sink->on_complete(j->id, std::move(c));
    {
      std::lock_guard lock(mu_);
      --delivering_;
      if (active_.empty() && delivering_ == 0) idle_cv_.notify_all();
    }
    if (next) spawn(next);
  }

  bool is_cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  awaitable<void> run_job(std::shared_ptr<job> j) {
    completion c;
    attempt a;
    int64_t retries = 0;
    int64_t attempts = 0;
    std::vector<int64_t> waits_ms;  // before each retry: the schedule the jitter seed produced
    try {
      for (;;) {
        a = attempt{};
        if (is_cancelled()) {  // started just as the runner shut down
          a.fail(outcome::cancelled, "runner shut down");
          break;
        }
        ++attempts;
        co_await run_attempt(*j, a);
        if (a.status == outcome::ok) break;
        if (is_cancelled()) {
          a.fail(outcome::cancelled, "runner shut down: " + a.error);
          break;
        }
        if (a.chunks > 0) {
          a.error += " (partial stream: not retried)";
          break;
        }
        if (!openai_policy::retryable(a.status) || retries >= options_.retry.max_retries) break;
        int64_t wait_ms = openai_policy::backoff_ms(options_.retry, retries + 1, j->seed);
        if (a.retry_after_ms) {
          if (*a.retry_after_ms > options_.retry.max_retry_after_ms) {
            a.error += " (Retry-After " + std::to_string(*a.retry_after_ms / 1000) +
                       " s exceeds the limit of " +
                       std::to_string(options_.retry.max_retry_after_ms / 1000) + " s)";
            break;
          }
          wait_ms = std::max(wait_ms, *a.retry_after_ms);
        }
        waits_ms.push_back(wait_ms);
        asio::steady_timer timer(j->strand, std::chrono::milliseconds(wait_ms));
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || is_cancelled()) {
          a.fail(outcome::cancelled, "runner shut down while waiting to retry");
          break;
        }
        ++retries;
      }
    } catch (const boost::system::system_error& e) {
      if (is_cancelled()) a.fail(outcome::cancelled, "runner shut down");
      else a.fail(outcome::internal, std::string("I/O: ") + e.what());
    } catch (const std::exception& e) {
      a.fail(outcome::internal, e.what());
    }
    c.text = std::move(a.text);
    c.status = a.status;
    c.retries = retries;
    c.error = redact(std::move(a.error), options_.api_key);
    c.finish = a.status == outcome::ok ? to_finish(a.finish) : finish_reason::error;
    c.extra = {{"attempts", attempts},
               {"backoff_ms", waits_ms},
               {"content_chunks", a.chunks},
               {"http_status", a.http_status}};
    count_tokens(*j, a, c);
    complete(j, std::move(c));
  }

  // The server's usage, else the model's tokenizer, else (streams) the content chunks. Failed
  // requests are counted only from usage: their text is not a generation the server finished.
  void count_tokens(const job& j, const attempt& a, completion& c) const {
    c.prompt_tokens = a.prompt_tokens;
    if (a.usage_seen && a.completion_tokens >= 0) {
      c.completion_tokens = a.completion_tokens;
      c.token_source = token_count_source::usage;
      return;
    }
    if (a.status != outcome::ok) return;
    if (options_.counter) {
      try {
        c.completion_tokens = options_.counter->count_completion(c.text);
        // A chat prompt is rendered by the server's template, which the client does not know.
        c.prompt_tokens = options_.api == openai_api::completions ? options_.counter->count_prompt(j.prompt) : -1;
        c.token_source = token_count_source::tokenizer;
        return;
      } catch (const std::exception& e) {
        c.extra["token_counter_error"] = to_valid_utf8(e.what());
        c.prompt_tokens = a.prompt_tokens;
      }
    }
    if (options_.stream) {
      c.completion_tokens = a.chunks;
      c.token_source = token_count_source::chunks;
    }
  }

  awaitable<void> run_attempt(job& j, attempt& a) {
    const int64_t deadline_ns = now_ns() + options_.request_timeout_ms * 1'000'000;
    tcp::resolver::results_type endpoints;
    {
      std::lock_guard lock(mu_);
      endpoints = endpoints_;
    }
    if (endpoints.empty()) {
      tcp::resolver resolver(j.strand);
      error_code ec;
      endpoints = co_await resolver.async_resolve(url_.host, url_.port,
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        a.fail(outcome::unavailable, "resolving " + url_.host + ": " + ec.message());
        co_return;
      }
      std::lock_guard lock(mu_);
      endpoints_ = endpoints;
    }

    if (url_.tls) {
      beast::ssl_stream<beast::tcp_stream> s(j.strand, ssl_ctx_);
      if (!co_await connect(beast::get_lowest_layer(s), endpoints, a)) co_return;
      // OpenSSL checks the name during chain verification, so that a mismatch is reported as
      // X509_V_ERR_HOSTNAME_MISMATCH rather than as an anonymous verification failure.
      SSL* native = s.native_handle();
      X509_VERIFY_PARAM* param = ::SSL_get0_param(native);
      bool named = false;
      if (host_is_ip_) {
        named = ::X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str()) == 1;
      } else {
        ::X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        named = ::X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), url_.host.size()) == 1 &&
                // SNI (never for an IP literal, RFC 6066). SSL_set_tlsext_host_name is a macro
                // with a C cast; this is its expansion.
                ::SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(url_.host.c_str())) == 1;
      }
      if (!named) {
        a.fail(outcome::internal, "TLS: cannot set the expected server name '" + url_.host + "'");
        co_return;
      }
      beast::get_lowest_layer(s).expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
      error_code ec;
      co_await s.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        fail_handshake(ec, ::SSL_get_verify_result(native), a);
        co_return;
      }
      co_await exchange(s, j, a, deadline_ns, false);
      co_return;
    }

    // Plain HTTP: reuse an idle keep-alive connection when there is one. A reused connection
    // that the server closed meanwhile fails before any response byte; the attempt is then
    // repeated once on a fresh connection (not a retry: nothing was received).
    for (int pass = 0; pass < 2; ++pass) {
      int fd = -1;
      if (pass == 0) {
        std::lock_guard lock(mu_);
        if (!pool_.empty()) {
          fd = pool_.back();
          pool_.pop_back();
        }
      }
      beast::tcp_stream s(j.strand);
      if (fd >= 0) {
        error_code ec;
        s.socket().assign(endpoints.begin()->endpoint().protocol(), fd, ec);
        if (ec) {
          ::close(fd);
          fd = -1;
        }
      }
      if (fd < 0 && !co_await connect(s, endpoints, a)) co_return;
      a = attempt{};
      co_await exchange(s, j, a, deadline_ns, fd >= 0);
      if (a.stale_connection) continue;
      if (a.status == outcome::ok && a.keep_alive) {
        error_code ec;
        const int released = s.socket().release(ec);
        if (!ec) {
          std::lock_guard lock(mu_);
          pool_.push_back(released);
        }
      }
      co_return;
    }
  }

  // A failure inside TLS itself (an untrusted or mismatched certificate, a server that does not
  // speak TLS) is a configuration error that another attempt will not fix: invalid_response.
  // Timeouts and lost connections during the handshake are transient as usual.
  void fail_handshake(const error_code& ec, long verify_result, attempt& a) const {
    const std::string what = "TLS handshake with " + host_header_ + ": ";
    if (ec == beast::error::timeout) {
      a.fail(outcome::deadline_exceeded, what + "no answer within " + std::to_string(options_.connect_timeout_ms) + " ms");
      return;
    }
    if (ec.category() != asio::error::get_ssl_category()) {
      a.fail(outcome::unavailable, what + ec.message());
      return;
    }
    std::string message = what + ec.message();
    if (verify_result != X509_V_OK) {
      message += std::string(": ") + ::X509_verify_cert_error_string(verify_result);
      const bool unknown_issuer = verify_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                                  verify_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                                  verify_result == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
                                  verify_result == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                                  verify_result == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
      if (verify_result == X509_V_ERR_HOSTNAME_MISMATCH || verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH)
        message += " (the certificate is not valid for '" + url_.host + "')";
      else if (unknown_issuer)
        message += options_.ca_file.empty()
                       ? " (not trusted by the system store; a private CA is trusted with ?ca_file=PATH)"
                       : " (not trusted by the system store or ca_file " + options_.ca_file + ")";
    } else if (const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
               reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
      message += " (the server does not speak TLS: is it plain http://?)";
    }
    a.fail(outcome::invalid_response, message);
  }

  awaitable<bool> connect(beast::tcp_stream& s, const tcp::resolver::results_type& endpoints, attempt& a) {
    s.expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
    error_code ec;
    co_await s.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) {
      a.fail(outcome::deadline_exceeded, "connecting to " + host_header_ + ": no answer within " +
                                             std::to_string(options_.connect_timeout_ms) + " ms");
      co_return false;
    }
    if (ec) {
      a.fail(outcome::unavailable, "connecting to " + host_header_ + ": " + ec.message());
      co_return false;
    }
    s.socket().set_option(tcp::no_delay(true), ec);
    co_return true;
  }

  template <class Stream>
  void arm(Stream& s, int64_t deadline_ns) {
    const int64_t left_ms = (deadline_ns - now_ns()) / 1'000'000;
    beast::get_lowest_layer(s).expires_after(
        std::chrono::milliseconds(std::max<int64_t>(1, std::min(options_.read_timeout_ms, left_ms))));
  }

  std::string timeout_message(int64_t deadline_ns, std::string_view what) const {
    // arm() rounds the time left down to whole milliseconds.
    if (now_ns() + 1'000'000 >= deadline_ns)
      return "request timeout (" + std::to_string(options_.request_timeout_ms) + " ms) " + std::string(what);
    return "read timeout: no data for " + std::to_string(options_.read_timeout_ms) + " ms " + std::string(what);
  }

  template <class Stream>
  awaitable<void> exchange(Stream& s, job& j, attempt& a, int64_t deadline_ns, bool reused) {
    http::request<http::string_body> req{http::verb::post, target_, 11};
    req.set(http::field::host, host_header_);
    req.set(http::field::user_agent, "moebench");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, options_.stream ? "text/event-stream" : "application/json");
    if (!options_.api_key.empty()) req.set(http::field::authorization, "Bearer " + options_.api_key);
    req.keep_alive(true);
    req.body() = j.body;
    req.prepare_payload();

    error_code ec;
    arm(s, deadline_ns);
    co_await http::async_write(s, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (reused && ec != beast::error::timeout) {
        a.stale_connection = true;
      } else {
        a.fail(ec == beast::error::timeout ? outcome::deadline_exceeded : outcome::unavailable,
               ec == beast::error::timeout ? timeout_message(deadline_ns, "sending the request")
                                           : "sending the request: " + ec.message());
      }
      co_return;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(static_cast<uint64_t>(options_.max_response_bytes));
    arm(s, deadline_ns);
    co_await http::async_read_header(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == beast::error::timeout) {
        a.fail(outcome::deadline_exceeded, timeout_message(deadline_ns, "waiting for the response headers"));
      } else if (reused && !parser.got_some() && buffer.size() == 0 &&
                 (ec == http::error::end_of_stream || ec == asio::error::eof ||
                  ec == asio::error::connection_reset)) {
        a.stale_connection = true;
      } else if (ec == asio::error::operation_aborted) {
        a.fail(outcome::cancelled, "cancelled while waiting for the response headers");
      } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
                 ec == asio::error::eof || ec == asio::error::connection_reset) {
        a.fail(outcome::unavailable, "connection closed before the response headers: " + ec.message());
      } else if (ec.category() == http_category()) {
        a.fail(outcome::invalid_response, "malformed response headers: " + ec.message());
      } else {
        a.fail(outcome::unavailable, "reading the response headers: " + ec.message());
      }
      co_return;
    }
    a.http_status = static_cast<int>(parser.get().result_int());

    std::array<char, read_piece_bytes> piece;
    std::string raw;  // error bodies and non-streamed JSON
    const bool non_ok = a.http_status != 200;
    const auto content_type = parser.get()[http::field::content_type];
    const bool sse_body = !non_ok && content_type.starts_with("text/event-stream");
    sse::parser events(static_cast<std::size_t>(options_.max_event_bytes));
    bool body_failed = false;

    auto on_event = [&](const sse::event& e) {
      if (body_failed || e.type != "message") return;
      if (!handle_event(e.data, j, a)) body_failed = true;
    };

    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      arm(s, deadline_ns);
      co_await http::async_read_some(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t n = piece.size() - parser.get().body().size;
      if (n > 0) {
        const std::string_view bytes(piece.data(), n);
        if (sse_body) {
          if (events.feed(bytes, on_event) == sse::parser::status::too_large) {
            a.fail(outcome::invalid_response, "an SSE event exceeds " +
                                                  std::to_string(options_.max_event_bytes) + " bytes");
            co_return;
          }
          if (body_failed) co_return;
        } else {
          const std::size_t cap = non_ok ? error_body_bytes : static_cast<std::size_t>(options_.max_response_bytes);
          raw.append(bytes.substr(0, cap - std::min(cap, raw.size())));
          if (non_ok && raw.size() >= error_body_bytes) break;  // enough to explain the failure
        }
      }
      if (ec) {
        const std::string after = " after " + std::to_string(a.chunks) + " content chunks";
        if (non_ok) break;  // report the status with what arrived of the body
        if (ec == beast::error::timeout) {
          a.fail(outcome::deadline_exceeded, timeout_message(deadline_ns, "while reading the body" + after));
        } else if (ec == http::error::body_limit) {
          a.fail(outcome::invalid_response, "response exceeds " + std::to_string(options_.max_response_bytes) + " bytes");
        } else if (ec == asio::error::operation_aborted) {
          a.fail(outcome::cancelled, "cancelled while reading the body" + after);
        } else if (ec == http::error::partial_message || ec == asio::error::eof ||
                   ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                   ec == asio::error::broken_pipe) {
          a.fail(outcome::unavailable, "connection lost" + after + ": " + ec.message());
        } else if (ec.category() == http_category()) {
          a.fail(outcome::invalid_response, "malformed HTTP body" + after + ": " + ec.message());
        } else {
          a.fail(outcome::unavailable, "reading the body" + after + ": " + ec.message());
        }
        co_return;
      }
    }

    if (non_ok) {
      a.fail(openai_policy::outcome_of_status(a.http_status),
             "HTTP " + std::to_string(a.http_status) + (raw.empty() ? "" : ": " + snippet(raw)));
      const auto ra = parser.get()[http::field::retry_after];
      if (!ra.empty())
        a.retry_after_ms = openai_policy::parse_retry_after_ms(
            std::string_view(ra.data(), ra.size()),
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
      co_return;
    }
    if (sse_body) {
      if (events.has_partial()) {
        a.fail(outcome::invalid_response, "the stream ended in the middle of an SSE event after " +
                                              std::to_string(a.chunks) + " content chunks");
        co_return;
      }
      if (!a.done_seen && a.finish.empty()) {
        a.fail(outcome::invalid_response, "the stream ended without [DONE] or a finish_reason after " +
                                              std::to_string(a.chunks) + " content chunks");
        co_return;
      }
    } else {
      handle_whole(raw, a);
      if (a.status != outcome::ok) co_return;
    }
    a.keep_alive = parser.keep_alive();
  }

  // One SSE data payload. Returns false (and sets the failure) on a malformed or error event.
  bool handle_event(std::string_view data, job& j, attempt& a) {
    if (data == "[DONE]") {
      a.done_seen = true;
      return true;
    }
    if (a.done_seen) {
      a.fail(outcome::invalid_response, "data after [DONE]");
      return false;
    }
    nlohmann::json e = nlohmann::json::parse(data, nullptr, false);
    if (e.is_discarded() || !e.is_object()) {
      a.fail(outcome::invalid_response, "malformed SSE event (not a JSON object): " + snippet(data));
      return false;
    }
    if (const auto err = e.find("error"); err != e.end() && !err->is_null()) {
      a.fail(outcome::internal, "server error event: " + snippet(err->dump()));
      return false;
    }
    read_usage(e, a);
    const auto choices = e.find("choices");
    if (choices == e.end() || !choices->is_array()) {
      if (a.usage_seen) return true;  // the final usage-only event
      a.fail(outcome::invalid_response, "SSE event without choices: " + snippet(data));
      return false;
    }
    for (const auto& ch : *choices) {
      if (!ch.is_object() || ch.value("index", 0) != 0) continue;
      const nlohmann::json* text = nullptr;
      if (options_.api == openai_api::chat) {
        if (const auto d = ch.find("delta"); d != ch.end() && d->is_object())
          if (const auto t = d->find("content"); t != d->end()) text = &*t;
      } else if (const auto t = ch.find("text"); t != ch.end()) {
        text = &*t;
      }
      if (text && !text->is_null() && !text->is_string()) {
        a.fail(outcome::invalid_response, "choice text is not a string: " + snippet(data));
        return false;
      }
      if (text && text->is_string() && !text->get_ref<const std::string&>().empty()) {
        const auto& t = text->get_ref<const std::string&>();
        a.text += t;
        ++a.chunks;
        j.sink->on_chunk(j.id, t, 1);
      }
      if (const auto f = ch.find("finish_reason"); f != ch.end() && f->is_string()) a.finish = f->get<std::string>();
    }
    return true;
  }

  void read_usage(const nlohmann::json& e, attempt& a) {
    const auto u = e.find("usage");
    if (u == e.end() || !u->is_object()) return;
    const auto p = u->find("prompt_tokens");
    const auto c = u->find("completion_tokens");
    if (p != u->end() && p->is_number_integer()) a.prompt_tokens = p->get<int64_t>();
    if (c != u->end() && c->is_number_integer()) {
      a.completion_tokens = c->get<int64_t>();
      a.usage_seen = true;
    }
  }

  void handle_whole(const std::string& raw, attempt& a) {
    nlohmann::json e = nlohmann::json::parse(raw, nullptr, false);
    if (e.is_discarded() || !e.is_object()) {
      a.fail(outcome::invalid_response, "response is not a JSON object: " + snippet(raw));
      return;
    }
    if (const auto err = e.find("error"); err != e.end() && !err->is_null()) {
      a.fail(outcome::internal, "server error: " + snippet(err->dump()));
      return;
    }
    read_usage(e, a);
    const auto choices = e.find("choices");
    if (choices == e.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
      a.fail(outcome::invalid_response, "response without choices: " + snippet(raw));
      return;
    }
    const auto& ch = (*choices)[0];
    const nlohmann::json* text = nullptr;
    if (options_.api == openai_api::chat) {
      if (const auto m = ch.find("message"); m != ch.end() && m->is_object())
        if (const auto t = m->find("content"); t != m->end()) text = &*t;
    } else if (const auto t = ch.find("text"); t != ch.end()) {
      text = &*t;
    }
    if (!text || !(text->is_string() || text->is_null())) {
      a.fail(outcome::invalid_response, "response choice has no text: " + snippet(raw));
      return;
    }
    if (text->is_string()) a.text = text->get<std::string>();
    if (const auto f = ch.find("finish_reason"); f != ch.end() && f->is_string()) a.finish = f->get<std::string>();
  }

  const openai_options options_;
  const parsed_url url_;
  std::string target_;
  std::string host_header_;
  bool host_is_ip_ = false;
  asio::io_context ioc_;
  ssl::context ssl_ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;

  std::mutex mu_;  // guards everything below
  std::condition_variable idle_cv_;
  bool cancelled_ = false;
  std::unordered_map<uint64_t, std::shared_ptr<job>> active_;
  std::deque<std::shared_ptr<job>> queue_;
  int64_t delivering_ = 0;  // completions being delivered (already out of active_)
  tcp::resolver::results_type endpoints_;
  std::vector<int> pool_;  // idle keep-alive connections (native handles, plain HTTP only)
};

}  // namespace

std::unique_ptr<runner> make_openai_runner(openai_options options) {
  if (options.concurrency < 1) throw error("openai.bad_option", {"", 0, "concurrency"}, "must be >= 1");
  if (options.threads < 1) throw error("openai.bad_option", {"", 0, "threads"}, "must be >= 1");
  return std::make_unique<openai_runner>(std::move(options));
}

}  // namespace moebench
