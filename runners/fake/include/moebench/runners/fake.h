#pragma once
// A harness self-test runner, NOT a model: it streams `max_tokens` placeholder tokens per
// request with configured delays from its own worker threads, so that the load generator's
// queueing, timestamps and metrics can be exercised without a model. Its figures say nothing
// about any model or hardware. Spec: "fake:" or "fake:ttft_ms=20,tpot_ms=5,slots=4".
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "moebench/runner.h"

namespace moebench {

struct fake_options {
  double ttft_ms = 20;   // before the first token
  double tpot_ms = 5;    // between tokens
  int64_t slots = 4;     // requests served at once; more wait in the runner's queue
};
// Error "cli.bad_value" naming the key for anything malformed.
fake_options parse_fake_spec(const std::string& spec);

class fake_runner final : public runner {
 public:
  explicit fake_runner(fake_options o, std::string spec = "fake:");
  ~fake_runner() override;  // waits for queued requests
  fake_runner(const fake_runner&) = delete;
  fake_runner& operator=(const fake_runner&) = delete;

  runner_info info() const override;
  // Queues the batch and returns; workers complete it later.
  void submit(std::span<const request> batch, completion_sink& sink) override;
  void flush() override;

 private:
  struct job {
    uint64_t id = 0;
    int64_t prompt_tokens = 0;
    int64_t max_tokens = 0;
    completion_sink* sink = nullptr;
  };
  void work();

  fake_options options_;
  std::string spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  int64_t active_ = 0;
  bool stopping_ = false;
  std::vector<std::jthread> workers_;
};

}  // namespace moebench
