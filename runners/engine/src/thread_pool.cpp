#include "thread_pool.h"

#include "moebench/error.h"

namespace moebench::engine::detail {

thread_pool::thread_pool(int threads) {
  MOEBENCH_CHECK(threads >= 1, "thread_pool needs at least one thread");
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void thread_pool::drain(int worker) {
  const int64_t n = n_tasks_.load(std::memory_order_acquire);
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n) break;
    (*job_)(t, worker);
  }
}

void thread_pool::run_ref(int64_t n_tasks, task_ref fn) {
  if (n_tasks <= 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard lock(mu_);
    job_ = &fn;
    next_.store(0, std::memory_order_relaxed);
    n_tasks_.store(n_tasks, std::memory_order_relaxed);
    busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  drain(0);
  while (busy_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  job_ = nullptr;
}

void thread_pool::work(int worker) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a short while (the next parallel loop usually follows within microseconds),
    // then sleep on the condition variable.
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < 20000; ++spin) g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      g = generation_.load();
    }
    seen = g;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    drain(worker);
    busy_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace moebench::engine::detail
