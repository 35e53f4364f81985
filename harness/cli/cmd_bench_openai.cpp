// `moebench bench openai`: a closed-loop load test of an OpenAI-compatible endpoint through the
// openai runner itself, so that what it measures is the client moebench evaluates with.
// Prints sustained requests/s and the client's CPU time per streamed chunk.
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/runners/openai.h"
#include "moebench/stats.h"

namespace moebench::cli {
namespace {

struct bench_request {
  std::string url;
  std::string model = "echo";
  std::string api = "completions";
  bool no_stream = false;
  int64_t concurrency = 64;
  int64_t threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  int64_t max_tokens = 16;
  std::string prompt = "def add(a, b):\n    return a + b\n";
  std::string api_key_env;
  std::string json_out;
};

int64_t process_cpu_ns() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return (static_cast<int64_t>(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1'000'000'000 +
         (static_cast<int64_t>(ru.ru_utime.tv_usec) + ru.ru_stime.tv_usec) * 1'000;
}

// Request ids carry their slot in the low 20 bits, so the sink finds per-request state
// without a map or a lock.
constexpr int slot_bits = 20;

struct slot_state {
  int64_t submitted_ns = 0;
  int64_t first_chunk_ns = -1;
};

class bench_sink final : public completion_sink {
 public:
  explicit bench_sink(std::size_t slots) : slots_(slots) {}

  void on_chunk(uint64_t id, std::string_view, int64_t) override {
    const int64_t t = now_ns();
    auto& s = slots_[id & ((1u << slot_bits) - 1)];
    if (s.first_chunk_ns < 0) s.first_chunk_ns = t;
    chunks_.fetch_add(1, std::memory_order_relaxed);
  }

  void on_complete(uint64_t id, completion c) override {
    const int64_t t = now_ns();
    const std::size_t slot = id & ((1u << slot_bits) - 1);
    std::lock_guard lock(mu_);
    const auto& s = slots_[slot];
    if (measuring_) {
      outcomes_[std::string(to_string(c.status))] += 1;
      retries_ += c.retries;
      if (c.status == outcome::ok) {
        e2e_ms_.push_back(static_cast<double>(t - s.submitted_ns) / 1e6);
        if (s.first_chunk_ns >= 0) ttft_ms_.push_back(static_cast<double>(s.first_chunk_ns - s.submitted_ns) / 1e6);
      }
    }
    free_.push_back(slot);
    cv_.notify_one();
  }

  std::size_t acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    const std::size_t s = free_.back();
    free_.pop_back();
    return s;
  }

  std::vector<slot_state> slots_;
  std::atomic<int64_t> chunks_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::size_t> free_;
  bool measuring_ = false;
  std::map<std::string, int64_t> outcomes_;
  int64_t retries_ = 0;
  std::vector<double> e2e_ms_, ttft_ms_;
};

int execute_bench(const bench_request& b) {
  if (b.url.empty()) throw error("cli.missing", {"", 0, "--url"}, "--url is required");
  if (b.concurrency < 1 || b.concurrency >= (1 << slot_bits))
    throw error("cli.bad_value", {"", 0, "--concurrency"}, "must be in 1..1048575");
  if (!(b.duration_s > 0) || !(b.warmup_s >= 0))
    throw error("cli.bad_value", {"", 0, "--duration-s/--warmup-s"}, "must be positive");
  openai_options o;
  o.url = b.url;
  o.model = b.model;
  o.api = openai_api_from_string(b.api);
  o.stream = !b.no_stream;
  o.concurrency = b.concurrency;
  o.threads = b.threads;
  o.api_key = api_key_from_env(b.api_key_env, "--api-key-env");
  o.retry.max_retries = 0;  // a load test reports failures, it does not hide them
  parse_url(o.url);
  raise_open_file_limit();

  const auto slots = static_cast<std::size_t>(b.concurrency);
  bench_sink sink(slots);
  for (std::size_t i = 0; i < slots; ++i) sink.free_.push_back(i);
  auto r = make_openai_runner(o);

  request req;
  req.prompt = b.prompt;
  req.params.max_tokens = b.max_tokens;
  req.params.temperature = 0;
  uint64_t seq = 0;
  const int64_t start_ns = now_ns();
  const int64_t measure_from_ns = start_ns + static_cast<int64_t>(b.warmup_s * 1e9);
  const int64_t end_ns = measure_from_ns + static_cast<int64_t>(b.duration_s * 1e9);
  int64_t window_chunks0 = 0, window_cpu0 = 0, completed_at_start = 0;
  bool in_window = false;
  int64_t submitted_in_window = 0;
  for (;;) {
    const std::size_t slot = sink.acquire();
    const int64_t t = now_ns();
    if (!in_window && t >= measure_from_ns) {
      std::lock_guard lock(sink.mu_);
      sink.measuring_ = true;
      in_window = true;
      window_chunks0 = sink.chunks_.load();
      window_cpu0 = process_cpu_ns();
      completed_at_start = 0;
    }
    if (t >= end_ns) {
      std::lock_guard lock(sink.mu_);
      sink.free_.push_back(slot);
      break;
    }
    sink.slots_[slot] = slot_state{t, -1};
    req.id = (++seq << slot_bits) | slot;
    req.params.seed = seq;
    if (in_window) ++submitted_in_window;
    r->submit(std::span<const request>(&req, 1), sink);
  }
  // The window closes now: requests still in flight are not counted.
  int64_t window_chunks, window_cpu, window_end_ns;
  std::map<std::string, int64_t> outcomes;
  std::vector<double> e2e, ttft;
  int64_t retries;
  {
    std::lock_guard lock(sink.mu_);
    sink.measuring_ = false;
    window_end_ns = now_ns();
    window_chunks = sink.chunks_.load() - window_chunks0;
    window_cpu = process_cpu_ns() - window_cpu0;
    outcomes = sink.outcomes_;
    e2e = sink.e2e_ms_;
    ttft = sink.ttft_ms_;
    retries = sink.retries_;
  }
  r->flush();
  r.reset();
  (void)completed_at_start;

  int64_t completed = 0;
  for (const auto& [k, v] : outcomes) completed += v;
  const int64_t ok = outcomes.contains("ok") ? outcomes.at("ok") : 0;
  const double window_s = static_cast<double>(window_end_ns - measure_from_ns) / 1e9;
  const double rps = static_cast<double>(ok) / window_s;
  const double cpu_per_chunk_us = window_chunks > 0 ? static_cast<double>(window_cpu) / 1e3 / static_cast<double>(window_chunks) : 0;
  const double cpu_per_request_us = completed > 0 ? static_cast<double>(window_cpu) / 1e3 / static_cast<double>(completed) : 0;
  const summary e2e_s = summarize(e2e);
  const summary ttft_s = summarize(ttft);

  fmt::print("bench openai: {} model={} api={} stream={} concurrency={} client_threads={} max_tokens={}\n",
             b.url, b.model, b.api, !b.no_stream, b.concurrency, b.threads, b.max_tokens);
  std::string outs;
  for (const auto& [k, v] : outcomes) outs += fmt::format(" {}={}", k, v);
  fmt::print("window: {:.2f} s; completed {} requests:{}; retries {}\n", window_s, completed, outs, retries);
  fmt::print("throughput: {:.0f} ok requests/s, {:.0f} chunks/s\n", rps, static_cast<double>(window_chunks) / window_s);
  fmt::print("latency ms: ttft p50 {:.3f} p99 {:.3f}; e2e p50 {:.3f} p99 {:.3f}\n", ttft_s.p50, ttft_s.p99, e2e_s.p50,
             e2e_s.p99);
  fmt::print("client cpu: {:.1f}% of one core; {:.2f} us per chunk; {:.2f} us per request\n",
             100.0 * static_cast<double>(window_cpu) / 1e9 / window_s, cpu_per_chunk_us, cpu_per_request_us);
  if (!b.json_out.empty()) {
    nlohmann::json j = {{"url", b.url},         {"model", b.model},
                        {"api", b.api},         {"stream", !b.no_stream},
                        {"concurrency", b.concurrency}, {"client_threads", b.threads},
                        {"max_tokens", b.max_tokens},   {"window_s", window_s},
                        {"outcomes", outcomes}, {"ok_requests_per_s", rps},
                        {"chunks", window_chunks},      {"client_cpu_ns", window_cpu},
                        {"client_cpu_per_chunk_us", cpu_per_chunk_us},
                        {"client_cpu_per_request_us", cpu_per_request_us},
                        {"ttft_ms", ttft_s},    {"e2e_ms", e2e_s}};
    write_file_atomic(b.json_out, j.dump(2) + "\n");
  }
  return ok == completed && completed > 0 ? exit_ok : exit_failure;
}

}  // namespace

void add_bench_openai_command(CLI::App& app, context& ctx) {
  CLI::App* bench = &bench_subcommand(app);
  auto* cmd = bench->add_subcommand("openai", "Closed-loop load test of an OpenAI-compatible endpoint");
  auto b = std::make_shared<bench_request>();
  cmd->add_option("--url", b->url, "Base URL, e.g. http://127.0.0.1:8000/v1");
  cmd->add_option("--model", b->model, "Model name sent in each request")->capture_default_str();
  cmd->add_option("--api", b->api, "completions | chat")->capture_default_str();
  cmd->add_flag("--no-stream", b->no_stream, "Ask for whole responses instead of SSE streams");
  cmd->add_option("--concurrency", b->concurrency, "Requests kept in flight")->capture_default_str();
  cmd->add_option("--threads", b->threads, "Client I/O threads")->capture_default_str();
  cmd->add_option("--duration-s", b->duration_s, "Measured window")->capture_default_str();
  cmd->add_option("--warmup-s", b->warmup_s, "Unmeasured warm-up before the window")->capture_default_str();
  cmd->add_option("--max-tokens", b->max_tokens, "max_tokens of each request")->capture_default_str();
  cmd->add_option("--prompt", b->prompt, "Prompt of each request");
  cmd->add_option("--api-key-env", b->api_key_env, "Environment variable holding the API key");
  cmd->add_option("--json", b->json_out, "Also write the figures to this JSON file");
  cmd->callback([b, &ctx] { ctx.exit_code = execute_bench(*b); });
}

}  // namespace moebench::cli
