#pragma once
// A small fork-join pool for the forward pass: run(n, fn) calls fn(task, worker) for every task
// in [0, n) across the workers and the calling thread, and returns when all are done. Workers
// spin briefly before sleeping, since a decode step issues dozens of short parallel loops.
// Thread-safety: run() is called from one thread at a time (the owner of the context).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace moebench::engine::detail {

// A non-owning reference to a callable (no allocation on the timed path).
class task_ref {
 public:
  template <class F>
  task_ref(F& f) noexcept  // NOLINT(google-explicit-constructor)
      : obj_(&f), call_([](void* o, int64_t task, int worker) { (*static_cast<F*>(o))(task, worker); }) {}
  void operator()(int64_t task, int worker) const { call_(obj_, task, worker); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int);
};

class thread_pool {
 public:
  explicit thread_pool(int threads);  // total threads including the caller; >= 1
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  template <class F>
  void run(int64_t n_tasks, F&& fn) {
    auto& f = fn;
    run_ref(n_tasks, task_ref(f));
  }

 private:
  void run_ref(int64_t n_tasks, task_ref fn);
  void work(int worker);
  void drain(int worker);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> n_tasks_{0};
  std::atomic<int> busy_{0};
  task_ref* job_ = nullptr;
  bool stop_ = false;
};

}  // namespace moebench::engine::detail
