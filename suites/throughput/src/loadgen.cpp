// The load generator: issues planned queries on schedule and timestamps every event.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/stats.h"
#include "moebench/suites/throughput.h"

namespace moebench::throughput {
namespace {

class steady final : public load_clock {
 public:
  int64_t now_ns() override { return moebench::now_ns(); }
  void sleep_until_ns(int64_t t_ns) override {
    for (int64_t now = moebench::now_ns(); now < t_ns; now = moebench::now_ns())
      std::this_thread::sleep_for(std::chrono::nanoseconds(t_ns - now));
  }
};

// The harness side of the runner contract: timestamps each event on arrival and counts
// completions so that closed-loop scenarios can issue the next query. The timed path takes a
// lock and appends into storage reserved before the run; it does not format or log.
class collector final : public completion_sink {
 public:
  collector(load_clock& clock, std::vector<query_record>& records, uint64_t base_id)
      : clock_(clock), records_(records), base_id_(base_id) {}

  void on_chunk(uint64_t request_id, std::string_view /*text*/, int64_t tokens) override {
    const int64_t t = clock_.now_ns();
    std::lock_guard lock(mu_);
    query_record& q = slot(request_id);
    MOEBENCH_CHECK(q.complete_ns < 0, "runner contract: chunk after on_complete");
    if (q.first_chunk_ns < 0) q.first_chunk_ns = t;
    q.chunk_ns.push_back(t);
    q.chunk_tokens.push_back(tokens);
  }

  void on_complete(uint64_t request_id, completion result) override {
    const int64_t t = clock_.now_ns();
    std::lock_guard lock(mu_);
    query_record& q = slot(request_id);
    MOEBENCH_CHECK(q.complete_ns < 0, "runner contract: on_complete called twice");
    q.complete_ns = t;
    q.status = result.status;
    q.finish = result.finish;
    q.error = std::move(result.error);
    if (result.prompt_tokens >= 0) {
      q.input_tokens = result.prompt_tokens;
      q.input_tokens_reported = true;
    }
    q.token_source = result.token_source;
    if (result.completion_tokens >= 0) {
      q.output_tokens = result.completion_tokens;
    } else {
      int64_t sum = 0;
      for (int64_t n : q.chunk_tokens) sum += n;
      q.output_tokens = sum;
    }
    in_flight_ -= 1;
    completed_ += 1;
    cv_.notify_all();
  }

  // Marks `n` queries as issued, stamping their times; call before submit() (an inline runner
  // completes inside it).
  void issuing(std::size_t first, std::size_t n, int64_t scheduled_ns, int64_t issued_ns) {
    std::lock_guard lock(mu_);
    for (std::size_t i = first; i < first + n; ++i) {
      records_[i].scheduled_ns = scheduled_ns;
      records_[i].issued_ns = issued_ns;
    }
    in_flight_ += static_cast<int64_t>(n);
  }

  void wait_in_flight_below(int64_t limit) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < limit; });
  }

  void wait_completed(int64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return completed_ >= n; });
  }

 private:
  query_record& slot(uint64_t request_id) {
    MOEBENCH_CHECK(request_id >= base_id_ && request_id - base_id_ < records_.size(),
                   "runner contract: event for an unknown request id");
    return records_[request_id - base_id_];
  }

  load_clock& clock_;
  std::vector<query_record>& records_;
  const uint64_t base_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t in_flight_ = 0;
  int64_t completed_ = 0;
};

}  // namespace

load_clock& steady_load_clock() {
  static steady clock;
  return clock;
}

issue_result issue(runner& r, const std::vector<query>& queries, const issue_options& o,
                   load_clock& clock) {
  const std::size_t n = queries.size();
  if (o.mode == scenario::server)
    MOEBENCH_CHECK(o.arrivals_ns.size() == n, "server scenario: one arrival per query");
  MOEBENCH_CHECK(o.concurrency >= 1, "concurrency must be >= 1");

  // Everything allocated before time zero.
  constexpr uint64_t base_id = 1;
  issue_result out;
  out.records.resize(n);
  std::vector<request> requests(n);
  for (std::size_t i = 0; i < n; ++i) {
    const query& q = queries[i];
    query_record& rec = out.records[i];
    rec.index = q.index;
    rec.input_tokens = q.input_tokens;
    rec.chunk_ns.reserve(static_cast<std::size_t>(q.output_tokens) + 2);
    rec.chunk_tokens.reserve(static_cast<std::size_t>(q.output_tokens) + 2);
    request& req = requests[i];
    req.id = base_id + i;
    req.task_id = "query-" + std::to_string(q.index);
    req.sample_index = 0;
    req.prompt = q.prompt;
    req.params = o.generation;
    req.params.max_tokens = q.output_tokens;
    req.params.seed = derive_seed(o.generation.seed, req.task_id);
  }
  collector sink(clock, out.records, base_id);

  out.start_ns = clock.now_ns();
  switch (o.mode) {
    case scenario::offline: {
      sink.issuing(0, n, out.start_ns, clock.now_ns());
      if (n > 0) r.submit(std::span<const request>(requests), sink);
      break;
    }
    case scenario::server: {
      for (std::size_t i = 0; i < n; ++i) {
        const int64_t scheduled = out.start_ns + o.arrivals_ns[i];
        clock.sleep_until_ns(scheduled);
        // A late issue keeps its scheduled time: the lag is part of the measured latency.
        sink.issuing(i, 1, scheduled, clock.now_ns());
        r.submit(std::span<const request>(&requests[i], 1), sink);
      }
      break;
    }
    case scenario::single_stream:
    case scenario::sweep: {
      const int64_t limit = o.mode == scenario::single_stream ? 1 : o.concurrency;
      for (std::size_t i = 0; i < n; ++i) {
        sink.wait_in_flight_below(limit);
        // Closed loop: a query is due the moment a slot frees.
        const int64_t t = clock.now_ns();
        sink.issuing(i, 1, t, t);
        r.submit(std::span<const request>(&requests[i], 1), sink);
      }
      break;
    }
  }
  sink.wait_completed(static_cast<int64_t>(n));
  r.flush();
  return out;
}

}  // namespace moebench::throughput
