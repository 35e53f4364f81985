// The HTTP side of `moebench serve`: Beast over Asio C++20 coroutines, one coroutine per
// connection on its own strand. Backends produce tokens on their own threads (or this
// io_context's); a per-request stream_state queues the formatted SSE bytes and wakes the
// connection's writer, which coalesces whatever has queued into one chunk write. A connection
// is a plain TCP stream or a TLS stream over one; everything after the handshake is the same
// code, templated on the stream.
#include "moebench/serve/server.h"

#include <atomic>
#include <cstdio>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "moebench/error.h"

namespace moebench::serve {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;
using strand_type = asio::strand<asio::io_context::executor_type>;
using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string error_body(std::string_view message, std::string_view type, std::string_view code = {},
                       std::string_view param = {}) {
  json e = {{"message", message}, {"type", type}};
  e["code"] = code.empty() ? json(nullptr) : json(code);
  e["param"] = param.empty() ? json(nullptr) : json(param);
  return dump(json{{"error", e}});
}

// A request the server could not accept: the status and the OpenAI-style error body.
struct rejection {
  http::status status;
  std::string body;
};

enum class api_kind { completions, chat };

struct parsed_request {
  api_kind api = api_kind::completions;
  generation_request gen;
  bool stream = false;
  bool include_usage = false;
};

[[noreturn]] void reject(std::string message, std::string_view param = {}) {
  throw rejection{http::status::bad_request, error_body(message, "invalid_request_error", {}, param)};
}

double number_in(const json& body, const char* key, double fallback, double lo, double hi) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) reject(std::string("'") + key + "' must be a number", key);
  const double v = it->get<double>();
  if (!(v >= lo && v <= hi))
    reject(std::string("'") + key + "' must be between " + json(lo).dump() + " and " + json(hi).dump(), key);
  return v;
}

std::string text_content(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {  // [{"type":"text","text":"..."}]
    std::string out;
    for (const auto& part : content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
        reject("only text content parts are supported", "messages");
      out += part["text"].get<std::string>();
    }
    return out;
  }
  reject("message content must be a string or an array of text parts", "messages");
}

parsed_request parse_request(std::string_view body_text, api_kind api, const model_backend& backend,
                             const model_card& card) {
  json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) reject("the request body must be a JSON object");
  parsed_request r;
  r.api = api;
  const auto model = body.find("model");
  if (model == body.end() || !model->is_string()) reject("'model' is required", "model");
  if (model->get<std::string>() != card.id)
    throw rejection{http::status::not_found,
                    error_body("the model '" + model->get<std::string>() + "' does not exist (this server has '" +
                                   card.id + "')",
                               "invalid_request_error", "model_not_found")};
  if (api == api_kind::completions) {
    const auto prompt = body.find("prompt");
    if (prompt == body.end()) reject("'prompt' is required", "prompt");
    if (prompt->is_string()) r.gen.prompt = prompt->get<std::string>();
    else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) r.gen.prompt = (*prompt)[0].get<std::string>();
    else reject("'prompt' must be a string (or an array of one string)", "prompt");
  } else {
    const auto messages = body.find("messages");
    if (messages == body.end() || !messages->is_array() || messages->empty())
      reject("'messages' must be a non-empty array", "messages");
    std::vector<chat_message> ms;
    for (const auto& m : *messages) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content"))
        reject("each message needs a string 'role' and a 'content'", "messages");
      ms.push_back({m["role"].get<std::string>(), text_content(m["content"])});
    }
    r.gen.prompt = backend.render_chat(ms);
    r.gen.chat = true;
  }
  const char* max_key = body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (const auto mt = body.find(max_key); mt != body.end() && !mt->is_null()) {
    if (!mt->is_number_integer() || mt->get<int64_t>() < 0) reject(std::string("'") + max_key + "' must be an integer >= 0", max_key);
    r.gen.max_tokens = mt->get<int64_t>();
  } else {
    r.gen.max_tokens = api == api_kind::completions ? 16 : (int64_t{1} << 30);
  }
  r.gen.temperature = number_in(body, "temperature", 1.0, 0.0, 2.0);
  r.gen.top_p = number_in(body, "top_p", 1.0, 0.0, 1.0);
  r.gen.min_p = number_in(body, "min_p", 0.0, 0.0, 1.0);
  if (const auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
    if (!k->is_number_integer()) reject("'top_k' must be an integer", "top_k");
    r.gen.top_k = std::max<int64_t>(0, k->get<int64_t>());  // vLLM's -1 = off
  }
  if (const auto s = body.find("seed"); s != body.end() && !s->is_null()) {
    if (!s->is_number_integer()) reject("'seed' must be an integer", "seed");
    r.gen.seed = s->is_number_unsigned() ? s->get<uint64_t>() : static_cast<uint64_t>(s->get<int64_t>());
  }
  if (const auto n = body.find("n"); n != body.end() && !n->is_null() && *n != 1)
    reject("only n = 1 is supported", "n");
  if (const auto st = body.find("stop"); st != body.end() && !st->is_null()) {
    if (st->is_string()) {
      r.gen.stop.push_back(st->get<std::string>());
    } else if (st->is_array() && st->size() <= 64) {
      for (const auto& s : *st) {
        if (!s.is_string()) reject("'stop' must be a string or an array of strings", "stop");
        r.gen.stop.push_back(s.get<std::string>());
      }
    } else {
      reject("'stop' must be a string or an array of at most 64 strings", "stop");
    }
  }
  if (const auto ie = body.find("ignore_eos"); ie != body.end() && !ie->is_null()) {
    if (!ie->is_boolean()) reject("'ignore_eos' must be a boolean", "ignore_eos");
    r.gen.ignore_eos = ie->get<bool>();
  }
  if (const auto s = body.find("stream"); s != body.end() && !s->is_null()) {
    if (!s->is_boolean()) reject("'stream' must be a boolean", "stream");
    r.stream = s->get<bool>();
  }
  if (const auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object()) reject("'stream_options' must be an object", "stream_options");
    if (!r.stream) reject("'stream_options' is only allowed with stream = true", "stream_options");
    if (const auto u = so->find("include_usage"); u != so->end()) {
      if (!u->is_boolean()) reject("'stream_options.include_usage' must be a boolean", "stream_options");
      r.include_usage = u->get<bool>();
    }
  }
  return r;
}

std::string_view finish_name(generation_finish f) {
  switch (f) {
    case generation_finish::stop: return "stop";
    case generation_finish::length: return "length";
    case generation_finish::cancelled: return "cancelled";
    case generation_finish::error: return "error";
    case generation_finish::rejected: return "error";
  }
  return "error";
}

json usage_json(const generation_summary& s) {
  return {{"prompt_tokens", s.prompt_tokens},
          {"completion_tokens", s.completion_tokens},
          {"total_tokens", s.prompt_tokens + s.completion_tokens}};
}

// Bodies built outside coroutines: GCC 12 miscompiles initializer lists inside them.
std::string health_body(bool draining) { return dump(json{{"status", draining ? "draining" : "ok"}}); }

std::string models_body(const model_card& card, bool list) {
  const json model = {{"id", card.id}, {"object", "model"}, {"created", 0}, {"owned_by", card.owned_by}};
  return dump(list ? json{{"object", "list"}, {"data", json::array({model})}} : model);
}

// One request's output on its way from the backend to the connection's writer.
class stream_state final : public generation_sink, public std::enable_shared_from_this<stream_state> {
 public:
  stream_state(strand_type strand, const parsed_request& r, std::string id, int64_t created, std::string model)
      : notify_(strand),
        strand_(std::move(strand)),
        stream_(r.stream),
        include_usage_(r.include_usage),
        chat_(r.api == api_kind::chat) {
    notify_.expires_at(asio::steady_timer::time_point::max());
    const char* object = chat_ ? "chat.completion.chunk" : "text_completion";
    head_ = "data: {\"id\":" + dump(id) + ",\"object\":\"" + object + "\",\"created\":" + std::to_string(created) +
            ",\"model\":" + dump(model) + ",\"choices\":[";
    id_ = std::move(id);
    model_ = std::move(model);
    created_ = created;
    if (stream_ && chat_)  // chat streams open with the assistant role
      pending_ = head_ + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
  }

  void on_token(std::string_view text) override {
    std::lock_guard lock(mu_);
    if (finished_) return;
    ++tokens_;
    if (!stream_) {
      text_.append(text);
      return;
    }
    if (text.empty()) return;
    const std::string t = dump(json(text));
    if (chat_)
      pending_ += head_ + "{\"index\":0,\"delta\":{\"content\":" + t + "},\"finish_reason\":null}]}\n\n";
    else
      pending_ += head_ + "{\"index\":0,\"text\":" + t + ",\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    wake_locked();
  }

  void on_finish(const generation_summary& s) override {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    summary_ = s;
    if (stream_) {
      if (s.finish == generation_finish::rejected) {
        pending_ += "data: " + error_body(s.error, "invalid_request_error") + "\n\n";
      } else if (s.finish == generation_finish::cancelled || s.finish == generation_finish::error) {
        pending_ += "data: " + error_body(s.finish == generation_finish::error ? s.error : "generation cancelled: the server is shutting down",
                                          "server_error", s.finish == generation_finish::error ? "" : "server_shutdown") + "\n\n";
      } else {
        const std::string f = std::string(finish_name(s.finish));
        if (chat_)
          pending_ += head_ + "{\"index\":0,\"delta\":{},\"finish_reason\":\"" + f + "\"}]}\n\n";
        else
          pending_ += head_ + "{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"" + f + "\"}]}\n\n";
        if (include_usage_) pending_ += head_ + "],\"usage\":" + dump(usage_json(s)) + "}\n\n";
        pending_ += "data: [DONE]\n\n";
      }
    }
    wake_locked();
  }

  // Takes what has queued. Returns false when nothing has and the generation is not over:
  // the caller then awaits wait().
  bool take(std::string& out, bool& finished) {
    std::lock_guard lock(mu_);
    out.clear();
    out.swap(pending_);
    finished = finished_;
    if (out.empty() && !finished_) {
      waiting_ = true;
      return false;
    }
    return true;
  }

  awaitable<void> wait() {
    error_code ec;
    co_await notify_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // The whole response of a non-streamed request.
  std::string whole_body() {
    std::lock_guard lock(mu_);
    json choice = {{"index", 0}, {"finish_reason", finish_name(summary_.finish)}};
    if (chat_) choice["message"] = {{"role", "assistant"}, {"content", text_}};
    else {
      choice["text"] = text_;
      choice["logprobs"] = nullptr;
    }
    json j = {{"id", id_}, {"object", chat_ ? "chat.completion" : "text_completion"}, {"created", created_},
              {"model", model_}, {"choices", json::array({choice})}, {"usage", usage_json(summary_)}};
    return dump(j);
  }

  generation_summary summary() {
    std::lock_guard lock(mu_);
    return summary_;
  }

  std::unique_ptr<generation> gen;

 private:
  void wake_locked() {
    if (!waiting_) return;
    waiting_ = false;
    // The timer belongs to the connection's strand; the wait was started there before
    // waiting_ was set, so this post always finds it pending.
    asio::post(strand_, [self = shared_from_this()] { self->notify_.cancel(); });
  }

  asio::steady_timer notify_;
  strand_type strand_;
  const bool stream_;
  const bool include_usage_;
  const bool chat_;
  std::string head_;
  std::string id_;
  std::string model_;
  int64_t created_ = 0;
  std::mutex mu_;
  std::string pending_;
  std::string text_;
  int64_t tokens_ = 0;
  bool waiting_ = false;
  bool finished_ = false;
  generation_summary summary_;
};

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

struct connection {
  connection(tcp::socket s, strand_type st)
      : stream(std::in_place_type<plain_stream>, std::move(s)), strand(std::move(st)) {}
  // Plain until a TLS handshake replaces it (on the strand, before any request is read).
  std::variant<plain_stream, tls_stream> stream;
  // The TCP layer under either: timeouts, cancellation and closing act here.
  beast::tcp_stream& transport() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream);
  }
  strand_type strand;  // the socket's executor: every operation on the connection runs here
  bool idle = true;                        // touched on the strand only
  std::shared_ptr<stream_state> current;   // the request in progress, on the strand only
};

}  // namespace

class server::impl {
 public:
  impl(server_options o, const backend_factory& make_backend)
      : options_(std::move(o)), acceptor_(ioc_), signals_(ioc_), grace_timer_(ioc_) {
    backend_ = make_backend(ioc_);
    MOEBENCH_CHECK(backend_ != nullptr, "backend factory returned nothing");
    card_ = backend_->card();
    if (options_.tls_cert_file.empty() != options_.tls_key_file.empty())
      throw error("serve.tls", {"", 0, options_.tls_cert_file.empty() ? "--tls-cert" : "--tls-key"},
                  "HTTPS needs both a certificate and its private key");
    if (!options_.tls_cert_file.empty()) load_tls();
    error_code ec;
    const auto addr = asio::ip::make_address(options_.host, ec);
    if (ec) throw error("serve.bad_host", {"", 0, "--host"}, "not an IP address: '" + options_.host + "'");
    const tcp::endpoint ep(addr, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw error("serve.bind", {"", 0, "--port"},
                  "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
  }

  uint16_t port() const noexcept { return port_; }
  model_card card() const { return card_; }

  void run() {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    if (options_.handle_signals) {
      signals_.add(SIGTERM);
      signals_.add(SIGINT);
      signals_.async_wait([this](const error_code& ec, int) {
        if (!ec) begin_drain();
      });
    }
    std::vector<std::thread> extra;
    for (int64_t i = 1; i < options_.threads; ++i) extra.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : extra) t.join();
  }

  void shutdown() {
    asio::post(ioc_, [this] { begin_drain(); });
  }

  server_stats stats() const {
    server_stats s;
    s.connections = connections_.load();
    s.requests = requests_.load();
    s.generations_completed = completed_.load();
    s.generations_cut = cut_.load();
    return s;
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      strand_type strand = asio::make_strand(ioc_);
      tcp::socket sock = co_await acceptor_.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (draining_ || !acceptor_.is_open()) co_return;
        // Out of descriptors or a connection aborted while queued: pause briefly, go on.
        asio::steady_timer t(ioc_, std::chrono::milliseconds(10));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      auto c = std::make_shared<connection>(std::move(sock), strand);
      {
        std::lock_guard lock(mu_);
        if (draining_) co_return;
        conns_.insert(c);
      }
      connections_.fetch_add(1);
      asio::co_spawn(c->strand, session(c), asio::detached);
    }
  }

  void unregister(const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mu_);
    conns_.erase(c);
    if (draining_ && conns_.empty()) grace_timer_.cancel();
  }

  // Runs on the io_context (not a strand): from the signal handler or shutdown().
  void begin_drain() {
    std::vector<std::shared_ptr<connection>> conns;
    {
      std::lock_guard lock(mu_);
      if (draining_) return;
      draining_ = true;
      conns.assign(conns_.begin(), conns_.end());
    }
    error_code ec;
    acceptor_.close(ec);
    signals_.cancel(ec);
    for (const auto& c : conns)
      asio::post(c->strand, [c] {
        if (c->idle) c->transport().cancel();
      });
    if (conns.empty()) return;
    grace_timer_.expires_after(std::chrono::milliseconds(options_.shutdown_grace_ms));
    grace_timer_.async_wait([this](const error_code& e) {
      if (!e) cut_all();
    });
  }

  // The grace period is over: cancel every generation (its stream ends with an error event),
  // and a little later drop connections that still have not finished writing.
  void cut_all() {
    std::vector<std::shared_ptr<connection>> conns;
    {
      std::lock_guard lock(mu_);
      conns.assign(conns_.begin(), conns_.end());
    }
    for (const auto& c : conns)
      asio::post(c->strand, [c] {
        if (c->current && c->current->gen) c->current->gen->cancel();
        if (c->idle) c->transport().cancel();
      });
    grace_timer_.expires_after(std::chrono::seconds(2));
    grace_timer_.async_wait([this](const error_code& e) {
      if (e) return;
      std::vector<std::shared_ptr<connection>> left;
      {
        std::lock_guard lock(mu_);
        left.assign(conns_.begin(), conns_.end());
      }
      for (const auto& c : left) asio::post(c->strand, [c] { c->transport().cancel(); });
    });
  }

  template <class Stream, class Body>
  awaitable<bool> write_response(connection& c, Stream& stream, http::response<Body>& res) {
    error_code ec;
    c.transport().expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  template <class Stream>
  awaitable<bool> send_simple(connection& c, Stream& stream, unsigned version, bool keep_alive, http::status status,
                              std::string body) {
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "moebench");
    res.set(http::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    co_return co_await write_response(c, stream, res);
  }

  bool authorized(const http::request<http::string_body>& req) const {
    if (options_.api_key.empty()) return true;
    const auto h = req[http::field::authorization];
    const std::string expected = "Bearer " + options_.api_key;
    if (h.size() != expected.size()) return false;
    unsigned char diff = 0;  // constant time in the key's length
    for (std::size_t i = 0; i < h.size(); ++i) diff |= static_cast<unsigned char>(h[i] ^ expected[i]);
    return diff == 0;
  }

  void load_tls() {
    tls_ctx_.emplace(ssl::context::tls_server);
    tls_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    error_code ec;
    tls_ctx_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec)
      throw error("serve.tls", {options_.tls_cert_file, 0, "--tls-cert"},
                  "cannot load the certificate (PEM): " + ec.message());
    tls_ctx_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
      throw error("serve.tls", {options_.tls_key_file, 0, "--tls-key"},
                  "the private key does not match the certificate " + options_.tls_cert_file);
    if (ec)
      throw error("serve.tls", {options_.tls_key_file, 0, "--tls-key"},
                  "cannot load the private key (PEM): " + ec.message());
    if (::SSL_CTX_check_private_key(tls_ctx_->native_handle()) != 1)
      throw error("serve.tls", {options_.tls_key_file, 0, "--tls-key"},
                  "the private key does not match the certificate " + options_.tls_cert_file);
  }

  // On a TLS server: the handshake, or, for a client that speaks plain HTTP, nothing (the
  // requests it sends are then answered with a 400 naming the problem). False: give up the
  // connection (handshake failed or timed out).
  awaitable<bool> start_tls(connection& c, beast::flat_buffer& buffer, bool& plain_client) {
    error_code ec;
    auto& plain = std::get<plain_stream>(c.stream);
    plain.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    const bool hello = co_await beast::async_detect_ssl(plain, buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    if (!hello) {
      plain_client = true;
      co_return true;
    }
    plain_stream tcp_layer = std::move(plain);
    auto& tls = c.stream.emplace<tls_stream>(std::move(tcp_layer), *tls_ctx_);
    tls.next_layer().expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    const std::size_t used = co_await tls.async_handshake(ssl::stream_base::server, buffer.data(),
                                                          asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    buffer.consume(used);
    co_return true;
  }

  awaitable<void> session(std::shared_ptr<connection> c) {
    beast::flat_buffer buffer;
    bool plain_client = false;
    if (!tls_ctx_ || co_await start_tls(*c, buffer, plain_client)) {
      if (auto* tls = std::get_if<tls_stream>(&c->stream)) co_await serve_requests(*c, *tls, buffer, false);
      else co_await serve_requests(*c, std::get<plain_stream>(c->stream), buffer, plain_client);
    }
    error_code ec;
    c->transport().socket().shutdown(tcp::socket::shutdown_send, ec);
    c->transport().close();
    c->current.reset();
    unregister(c);
  }

  // `plain_on_tls`: a plain-HTTP client on the TLS port; each request is refused (400) and the
  // connection closed.
  template <class Stream>
  awaitable<void> serve_requests(connection& conn, Stream& stream, beast::flat_buffer& buffer, bool plain_on_tls) {
    connection* c = &conn;
    for (;;) {
      if (draining_) break;
      http::request_parser<http::string_body> parser;
      parser.header_limit(64 * 1024);
      parser.body_limit(static_cast<uint64_t>(options_.max_body_bytes));
      c->idle = true;
      c->transport().expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
      error_code ec;
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      c->idle = false;
      if (ec == http::error::body_limit) {
        co_await send_simple(*c, stream, 11, false, http::status::payload_too_large,
                             error_body("request body too large", "invalid_request_error"));
        break;
      }
      if (ec) {
        if (ec.category() == error_code(http::error::bad_version).category() && ec != http::error::end_of_stream &&
            ec != http::error::partial_message)
          co_await send_simple(*c, stream, 11, false, http::status::bad_request,
                               error_body("malformed HTTP request: " + ec.message(), "invalid_request_error"));
        break;
      }
      requests_.fetch_add(1);
      if (plain_on_tls) {
        co_await send_simple(*c, stream, parser.get().version(), false, http::status::bad_request,
                             error_body("this server speaks HTTPS only: use an https:// URL", "invalid_request_error",
                                        "tls_required"));
        break;
      }
      auto& req = parser.get();
      const bool keep_alive = req.keep_alive() && !draining_;
      const bool ok = co_await handle(*c, stream, req, keep_alive);
      if (!ok || !keep_alive) break;
    }
  }

  template <class Stream>
  awaitable<bool> handle(connection& c, Stream& stream, http::request<http::string_body>& req, bool keep_alive) {
    const unsigned version = req.version();
    std::string_view target(req.target().data(), req.target().size());
    if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);

    if (target == "/health") {
      if (req.method() != http::verb::get && req.method() != http::verb::head)
        co_return co_await send_simple(c, stream, version, keep_alive, http::status::method_not_allowed,
                                       error_body("use GET", "invalid_request_error"));
      std::string body = health_body(draining_);
      co_return co_await send_simple(c, stream, version, keep_alive,
                                     draining_ ? http::status::service_unavailable : http::status::ok,
                                     std::move(body));
    }
    if (!target.starts_with("/v1/"))
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::not_found,
                                     error_body("no such endpoint: " + std::string(target), "invalid_request_error"));
    if (!authorized(req))
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::unauthorized,
                                     error_body("missing or invalid API key", "authentication_error", "invalid_api_key"));

    if (target == "/v1/models" || target == "/v1/models/" + card_.id) {
      if (req.method() != http::verb::get)
        co_return co_await send_simple(c, stream, version, keep_alive, http::status::method_not_allowed,
                                       error_body("use GET", "invalid_request_error"));
      std::string body = models_body(card_, target == "/v1/models");
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::ok, std::move(body));
    }
    std::optional<api_kind> api;
    if (target == "/v1/completions") api = api_kind::completions;
    if (target == "/v1/chat/completions") api = api_kind::chat;
    if (!api)
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::not_found,
                                     error_body("no such endpoint: " + std::string(target), "invalid_request_error"));
    if (req.method() != http::verb::post)
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::method_not_allowed,
                                     error_body("use POST", "invalid_request_error"));
    if (draining_)
      co_return co_await send_simple(c, stream, version, false, http::status::service_unavailable,
                                     error_body("the server is shutting down", "server_error", "server_shutdown"));

    parsed_request pr;
    std::optional<rejection> rej;
    try {
      pr = parse_request(req.body(), *api, *backend_, card_);
    } catch (rejection& r) {
      rej = std::move(r);
    }
    if (rej) co_return co_await send_simple(c, stream, version, keep_alive, rej->status, std::move(rej->body));
    co_return co_await generate(c, stream, version, keep_alive, pr);
  }

  template <class Stream>
  awaitable<bool> generate(connection& c, Stream& stream, unsigned version, bool keep_alive, const parsed_request& pr) {
    const std::string id = (pr.api == api_kind::chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id_.fetch_add(1));
    const int64_t created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto state = std::make_shared<stream_state>(c.strand, pr, id, created, card_.id);
    c.current = state;
    state->gen = backend_->start(pr.gen, state);
    if (const generation_summary early = state->summary(); early.finish == generation_finish::rejected) {
      // Backends reject inline, before any byte of the response: a plain 400.
      c.current.reset();
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::bad_request,
                                     error_body(early.error, "invalid_request_error"));
    }

    error_code ec;
    bool client_ok = true;
    std::string out;
    bool finished = false;
    if (pr.stream) {
      // The response is framed by hand so that the header, the events that have queued and
      // the end of the body leave in one write: an instant generation costs one syscall.
      const bool chunked = version >= 11;
      std::string wire = "HTTP/1.1 200 OK\r\nServer: moebench\r\nContent-Type: text/event-stream\r\n"
                         "Cache-Control: no-cache\r\n";
      wire += chunked ? "Transfer-Encoding: chunked\r\n" : "";
      wire += keep_alive && chunked ? "\r\n" : "Connection: close\r\n\r\n";
      bool head_sent = false;
      while (client_ok) {
        const bool have = state->take(out, finished);
        if (!have && head_sent) {
          co_await state->wait();
          continue;
        }
        if (head_sent) wire.clear();
        head_sent = true;
        if (!out.empty()) {
          if (chunked) {
            char size[24];
            const int n = std::snprintf(size, sizeof size, "%zx\r\n", out.size());
            wire.append(size, static_cast<std::size_t>(n));
          }
          wire += out;
          if (chunked) wire += "\r\n";
        }
        if (finished && chunked) wire += "0\r\n\r\n";
        c.transport().expires_after(std::chrono::milliseconds(options_.write_timeout_ms));
        co_await asio::async_write(stream, asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) client_ok = false;
        if (finished) break;
      }
    } else {
      while (!finished) {
        if (!state->take(out, finished)) co_await state->wait();
      }
    }
    if (!client_ok) {
      // The client went away (or stopped reading): the model must stop too.
      state->gen->cancel();
      while (!finished) {
        if (!state->take(out, finished)) co_await state->wait();
      }
    }
    const generation_summary summary = state->summary();
    c.current.reset();
    if (summary.finish == generation_finish::cancelled || !client_ok) cut_.fetch_add(1);
    else completed_.fetch_add(1);
    if (!client_ok) co_return false;
    // Without chunked framing (HTTP/1.0) the body ends with the connection.
    if (pr.stream) co_return version >= 11 && summary.finish != generation_finish::cancelled;
    if (summary.finish == generation_finish::cancelled)
      co_return co_await send_simple(c, stream, version, false, http::status::service_unavailable,
                                     error_body("generation cancelled: the server is shutting down", "server_error",
                                                "server_shutdown"));
    if (summary.finish == generation_finish::error)
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::internal_server_error,
                                     error_body(summary.error, "server_error"));
    if (summary.finish == generation_finish::rejected)
      co_return co_await send_simple(c, stream, version, keep_alive, http::status::bad_request,
                                     error_body(summary.error, "invalid_request_error"));
    co_return co_await send_simple(c, stream, version, keep_alive, http::status::ok, state->whole_body());
  }

  const server_options options_;
  std::optional<ssl::context> tls_ctx_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  std::unique_ptr<model_backend> backend_;
  model_card card_;
  uint16_t port_ = 0;

  std::mutex mu_;
  std::unordered_set<std::shared_ptr<connection>> conns_;
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> next_id_{1};
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> cut_{0};
};

server::server(server_options options, const backend_factory& make_backend)
    : impl_(std::make_unique<impl>(std::move(options), make_backend)) {}
server::~server() = default;
uint16_t server::port() const noexcept { return impl_->port(); }
model_card server::card() const { return impl_->card(); }
void server::run() { impl_->run(); }
void server::shutdown() { impl_->shutdown(); }
server_stats server::stats() const { return impl_->stats(); }

}  // namespace moebench::serve
