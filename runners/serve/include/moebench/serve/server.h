#pragma once
// `moebench serve`: an OpenAI-compatible HTTP/1.1 server over a model_backend.
// Endpoints: POST /v1/completions, POST /v1/chat/completions (streaming with SSE or not,
// `usage`, `stream_options.include_usage`), GET /v1/models, GET /v1/models/{id}, GET /health.
// One io_context on a small thread pool; one coroutine per connection (no thread per request).
// Plain HTTP, or HTTPS (TLS 1.2+ through OpenSSL) when given a certificate and key.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "moebench/serve/model_backend.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace moebench::serve {

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;            // 0 = an ephemeral port; port() tells which
  int64_t threads = 1;             // threads running the io_context
  std::string api_key;             // when set, /v1/* needs "Authorization: Bearer <key>"
  int64_t idle_timeout_ms = 30'000;     // keep-alive idle time, and the bound on slow headers
  int64_t write_timeout_ms = 30'000;    // a client that reads nothing for this long is dropped
  int64_t shutdown_grace_ms = 10'000;   // in-flight generations get this long after shutdown()
  int64_t max_body_bytes = int64_t{16} << 20;
  bool handle_signals = false;     // SIGTERM/SIGINT start a graceful shutdown
  // HTTPS: both PEM files, or neither (plain HTTP). The certificate file may hold the chain.
  std::string tls_cert_file;
  std::string tls_key_file;
};

struct server_stats {
  int64_t connections = 0;
  int64_t requests = 0;
  int64_t generations_completed = 0;  // finished by the model (stop or length)
  int64_t generations_cut = 0;        // cancelled: shutdown grace expired or client went away
};

// Builds the backend once the server's io_context exists (the echo model runs its timers there).
using backend_factory = std::function<std::unique_ptr<model_backend>(boost::asio::io_context&)>;

class server {
 public:
  // Binds and listens at once, so that port() is known before run(). Throws moebench::error
  // ("serve.bind") when the address cannot be bound, ("serve.tls") when the certificate or key
  // cannot be loaded.
  server(server_options options, const backend_factory& make_backend);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  uint16_t port() const noexcept;
  model_card card() const;
  // Serves until a shutdown completes: new connections are refused, idle connections closed,
  // in-flight generations finish (or are cut cleanly, with an error event, after the grace).
  void run();
  // Thread-safe and async-signal-unsafe; may be called before or during run().
  void shutdown();
  server_stats stats() const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace moebench::serve
