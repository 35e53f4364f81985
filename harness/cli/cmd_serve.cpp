// `moebench serve`: the OpenAI-compatible server (runners/serve). Models: `echo` (a fake for
// load-testing clients) and `gguf:PATH` (the in-process engine with continuous batching).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/serve/echo_model.h"
#include "moebench/serve/engine_backend.h"
#include "moebench/serve/server.h"

namespace moebench::cli {

std::string api_key_from_env(const std::string& env_name, const char* flag) {
  if (env_name.empty()) return {};
  const char* v = std::getenv(env_name.c_str());
  if (!v || !*v)
    throw error("cli.missing_api_key", {"", 0, flag},
                "the environment variable " + env_name + " is not set or empty");
  return v;
}

void raise_open_file_limit() {
  // Each stream is a socket; the default soft limit (often 1024) is far below the hard one.
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

namespace {

struct serve_request {
  std::string model;
  std::string host = "127.0.0.1";
  int64_t port = 8000;
  std::string port_file;
  int64_t threads = 1;
  double echo_tokens_per_s = 0;
  int64_t echo_max_tokens = 256;
  std::string model_name;
  int engine_threads = 0;
  int32_t parallel = 4;
  int64_t context = 0;
  int64_t batch_tokens = 64;
  std::string api_key_env;
  double shutdown_grace_s = 10;
  double idle_timeout_s = 30;
  std::string tls_cert;  // PEM; with tls_key: HTTPS
  std::string tls_key;
};

int execute_serve(const serve_request& r) {
  if (r.port < 0 || r.port > 65535) throw error("cli.bad_value", {"", 0, "--port"}, "must be in 0..65535");
  if (r.threads < 1) throw error("cli.bad_value", {"", 0, "--threads"}, "must be >= 1");
  if (r.echo_tokens_per_s < 0) throw error("cli.bad_value", {"", 0, "--echo-tokens-per-s"}, "must be >= 0");
  if (r.echo_max_tokens < 0) throw error("cli.bad_value", {"", 0, "--echo-max-tokens"}, "must be >= 0");
  if (!(r.shutdown_grace_s >= 0) || !(r.idle_timeout_s > 0))
    throw error("cli.bad_value", {"", 0, "--shutdown-grace-s/--idle-timeout-s"}, "must be positive");

  serve::backend_factory factory;
  std::shared_ptr<serve::engine_backend_stats> engine_stats;
  if (r.model == "echo") {
    serve::echo_options eo;
    eo.tokens_per_s = r.echo_tokens_per_s;
    eo.max_tokens = r.echo_max_tokens;
    factory = [eo](boost::asio::io_context& ioc) { return serve::make_echo_backend(eo, ioc); };
  } else if (r.model.starts_with("gguf:")) {
    if (r.engine_threads < 0) throw error("cli.bad_value", {"", 0, "--engine-threads"}, "must be >= 0");
    if (r.parallel < 1 || r.parallel > 4096) throw error("cli.bad_value", {"", 0, "--parallel"}, "must be in 1..4096");
    if (r.context < 0) throw error("cli.bad_value", {"", 0, "--context"}, "must be >= 0");
    if (r.batch_tokens < 1) throw error("cli.bad_value", {"", 0, "--batch-tokens"}, "must be >= 1");
    serve::engine_backend_options eo;
    eo.id = r.model_name;
    eo.engine.threads = r.engine_threads;
    eo.engine.max_sequences = r.parallel;
    eo.engine.context_length = r.context;
    eo.engine.max_batch_tokens = r.batch_tokens;
    eo.stats = engine_stats = std::make_shared<serve::engine_backend_stats>();
    // Loaded before the server binds, so a bad file fails at once with its own error.
    auto backend = std::make_shared<std::unique_ptr<serve::model_backend>>(
        serve::make_engine_backend(r.model.substr(5), eo));
    factory = [backend](boost::asio::io_context&) { return std::move(*backend); };
  } else {
    throw error("cli.unknown_model", {"", 0, "--model"}, "unknown model '" + r.model + "' (available: echo, gguf:PATH)");
  }

  serve::server_options so;
  so.host = r.host;
  so.port = static_cast<uint16_t>(r.port);
  so.threads = r.threads;
  so.api_key = api_key_from_env(r.api_key_env, "--api-key-env");
  so.shutdown_grace_ms = static_cast<int64_t>(r.shutdown_grace_s * 1000);
  so.idle_timeout_ms = static_cast<int64_t>(r.idle_timeout_s * 1000);
  so.handle_signals = true;
  so.tls_cert_file = r.tls_cert;
  so.tls_key_file = r.tls_key;
  raise_open_file_limit();
  serve::server srv(so, factory);
  // The port file appears complete or not at all: a test polls for it.
  if (!r.port_file.empty()) write_file_atomic(r.port_file, std::to_string(srv.port()) + "\n");
  fmt::print("moebench serve: model {} listening on {}://{}:{}/v1\n", srv.card().id,
             r.tls_cert.empty() ? "http" : "https", r.host, srv.port());
  std::fflush(stdout);
  srv.run();
  const serve::server_stats s = srv.stats();
  fmt::print(stderr, "moebench serve: stopped: {} connections, {} requests, {} generations completed, {} cut\n",
             s.connections, s.requests, s.generations_completed, s.generations_cut);
  if (engine_stats && engine_stats->steps > 0) {
    const auto steps = static_cast<double>(engine_stats->steps.load());
    fmt::print(stderr, "moebench serve: engine: {} steps, {:.2f} sequences and {:.1f} tokens per step, at most {} sequences\n",
               engine_stats->steps.load(), static_cast<double>(engine_stats->step_sequences.load()) / steps,
               static_cast<double>(engine_stats->step_tokens.load()) / steps, engine_stats->max_step_sequences.load());
  }
  return exit_ok;
}

}  // namespace

void add_serve_command(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  auto r = std::make_shared<serve_request>();
  cmd->add_option("--model", r->model, "Model: gguf:PATH (the in-process engine) or echo (a deterministic fake)")
      ->required();
  cmd->add_option("--host", r->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", r->port, "Port (0 = ephemeral; see --port-file)")->capture_default_str();
  cmd->add_option("--port-file", r->port_file, "Write the bound port to this file once listening");
  cmd->add_option("--threads", r->threads, "I/O threads")->capture_default_str();
  cmd->add_option("--model-name", r->model_name,
                  "gguf: the model id clients send (default: the GGUF's general.name, else the file stem)");
  cmd->add_option("--engine-threads", r->engine_threads, "gguf: compute threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--parallel", r->parallel, "gguf: sequences decoded at once (batched); more requests queue")
      ->capture_default_str();
  cmd->add_option("--context", r->context, "gguf: context tokens per sequence (0 = min(the model's, 4096))")
      ->capture_default_str();
  cmd->add_option("--batch-tokens", r->batch_tokens,
                  "gguf: tokens per forward step (decode tokens plus prefill chunks; at least --parallel)")
      ->capture_default_str();
  cmd->add_option("--echo-tokens-per-s", r->echo_tokens_per_s,
                  "echo: tokens per second per stream (0 = all at once)")->capture_default_str();
  cmd->add_option("--echo-max-tokens", r->echo_max_tokens, "echo: cap on tokens per request")->capture_default_str();
  cmd->add_option("--api-key-env", r->api_key_env,
                  "Require the API key held by this environment variable (Bearer token)");
  cmd->add_option("--shutdown-grace-s", r->shutdown_grace_s,
                  "On SIGTERM, let in-flight generations run this long before cutting them")->capture_default_str();
  cmd->add_option("--idle-timeout-s", r->idle_timeout_s, "Close idle keep-alive connections after this long")
      ->capture_default_str();
  cmd->add_option("--tls-cert", r->tls_cert, "Serve HTTPS with this PEM certificate (chain); needs --tls-key");
  cmd->add_option("--tls-key", r->tls_key, "PEM private key of --tls-cert");
  cmd->callback([r, &ctx] { ctx.exit_code = execute_serve(*r); });
}

}  // namespace moebench::cli
