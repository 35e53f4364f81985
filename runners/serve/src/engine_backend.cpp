#include "moebench/serve/engine_backend.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "moebench/error.h"
#include "moebench/serve/chat_template.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::serve {
namespace {

// One request, from start() to on_finish. The fields below `sink` belong to the scheduler
// thread once the job is queued.
struct job {
  std::vector<int32_t> prompt;
  generation_params params;
  engine::decoder_options decode_opts;
  int64_t max_new = 0;
  std::shared_ptr<generation_sink> sink;
  std::atomic<bool> cancelled{false};

  std::optional<engine::decoder> dec;
  int32_t slot = -1;
  std::size_t prefilled = 0;  // prompt tokens evaluated
  int32_t next = -1;          // the token to evaluate next, once decoding
  bool decoding = false;
};

// What the scheduler and the request handles share (handles may outlive the backend).
struct queue_state {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<job>> waiting;
  bool stop = false;
};

class engine_generation final : public generation {
 public:
  engine_generation(std::shared_ptr<job> j, std::shared_ptr<queue_state> q) : job_(std::move(j)), q_(std::move(q)) {}
  void cancel() override {
    job_->cancelled = true;
    std::lock_guard lock(q_->mu);  // the scheduler re-checks under the lock before it sleeps
    q_->cv.notify_all();
  }

 private:
  std::shared_ptr<job> job_;
  std::shared_ptr<queue_state> q_;
};

class finished_generation final : public generation {
 public:
  void cancel() override {}
};

generation_finish to_finish(finish_reason f) {
  switch (f) {
    case finish_reason::stop:
    case finish_reason::eos: return generation_finish::stop;
    case finish_reason::length: return generation_finish::length;
    case finish_reason::error: return generation_finish::error;
  }
  return generation_finish::error;
}

class engine_backend final : public model_backend {
 public:
  engine_backend(const std::filesystem::path& path, const engine_backend_options& o)
      : engine_(path, with_batch_room(o.engine)), q_(std::make_shared<queue_state>()), stats_(o.stats) {
    card_.id = !o.id.empty() ? o.id : !engine_.facts().name.empty() ? engine_.facts().name : path.stem().string();
    card_.context_tokens = engine_.facts().context_length;
    chat_ = detect_chat_format(engine_.chat_template());
    slots_.resize(static_cast<std::size_t>(engine_.max_sequences()));
    thread_ = std::thread([this] { schedule(); });
  }

  ~engine_backend() override {
    {
      std::lock_guard lock(q_->mu);
      q_->stop = true;
    }
    q_->cv.notify_all();
    thread_.join();
  }

  model_card card() const override { return card_; }

  std::string render_chat(const std::vector<chat_message>& messages) const override {
    return serve::render_chat(chat_, messages);
  }

  // Runs on the server's I/O threads: tokenizing here keeps long prompts off the scheduler.
  std::unique_ptr<generation> start(const generation_request& r, std::shared_ptr<generation_sink> sink) override {
    auto j = std::make_shared<job>();
    tokenizer::encode_options eo;
    eo.add_special = true;     // BOS as the vocabulary asks, as generate() does
    eo.parse_special = r.chat;  // a chat template's markers are control tokens
    j->prompt = engine_.vocab().encode(r.prompt, eo);
    try {
      j->max_new = engine::max_new_tokens(static_cast<int64_t>(j->prompt.size()), r.max_tokens,
                                          engine_.facts().context_length);
    } catch (const error& e) {
      generation_summary s;
      s.finish = generation_finish::rejected;
      s.prompt_tokens = static_cast<int64_t>(j->prompt.size());
      s.error = e.message();
      sink->on_finish(s);
      return std::make_unique<finished_generation>();
    }
    if (j->max_new == 0) {  // nothing to generate: no slot needed
      generation_summary s;
      s.finish = generation_finish::length;
      s.prompt_tokens = static_cast<int64_t>(j->prompt.size());
      sink->on_finish(s);
      return std::make_unique<finished_generation>();
    }
    j->params.max_tokens = r.max_tokens;
    j->params.temperature = r.temperature;
    j->params.top_p = r.top_p;
    j->params.top_k = r.top_k;
    j->params.min_p = r.min_p;
    j->params.seed = r.seed;
    j->params.stop = r.stop;
    j->decode_opts.ignore_eos = r.ignore_eos;
    j->sink = std::move(sink);
    {
      std::lock_guard lock(q_->mu);
      q_->waiting.push_back(j);
    }
    q_->cv.notify_all();
    return std::make_unique<engine_generation>(std::move(j), q_);
  }

 private:
  static engine::engine_options with_batch_room(engine::engine_options o) {
    // Every running sequence gets its decode token in every step.
    o.max_batch_tokens = std::max<int64_t>(o.max_batch_tokens, o.max_sequences);
    return o;
  }

  static void finish(job& j, generation_finish f, std::string message = {}) {
    generation_summary s;
    s.finish = f;
    s.prompt_tokens = static_cast<int64_t>(j.prompt.size());
    s.completion_tokens = j.dec ? static_cast<int64_t>(j.dec->generated().size()) : 0;
    s.error = std::move(message);
    j.sink->on_finish(s);
  }

  void release(job& j) {
    if (j.slot < 0) return;
    slots_[static_cast<std::size_t>(j.slot)] = false;
    j.slot = -1;
  }

  // Waits for work, drops cancelled requests, admits waiting ones into free slots. Returns
  // false once the backend is stopping.
  bool admit() {
    std::vector<std::shared_ptr<job>> dropped;
    {
      std::unique_lock lock(q_->mu);
      q_->cv.wait(lock, [&] { return q_->stop || !q_->waiting.empty() || !running_.empty(); });
      if (q_->stop) return false;
      std::erase_if(q_->waiting, [&](const std::shared_ptr<job>& j) {
        if (!j->cancelled) return false;
        dropped.push_back(j);
        return true;
      });
      while (!q_->waiting.empty()) {
        const auto free = std::find(slots_.begin(), slots_.end(), false);
        if (free == slots_.end()) break;
        std::shared_ptr<job> j = std::move(q_->waiting.front());
        q_->waiting.pop_front();
        *free = true;
        j->slot = static_cast<int32_t>(free - slots_.begin());
        running_.push_back(std::move(j));
      }
    }
    for (const auto& j : dropped) finish(*j, generation_finish::cancelled);
    return true;
  }

  void schedule() {
    std::vector<engine::batch_entry> entries;
    std::vector<job*> owners;
    while (admit()) {
      // Cancelled sequences leave at once: their slot serves the next request.
      std::erase_if(running_, [&](const std::shared_ptr<job>& j) {
        if (!j->cancelled) return false;
        release(*j);
        finish(*j, generation_finish::cancelled);
        return true;
      });
      // One decode token per running sequence, then prefill chunks in admission order.
      entries.clear();
      owners.clear();
      int64_t budget = engine_.max_batch_tokens();
      for (const auto& j : running_)
        if (j->decoding) {
          entries.push_back({j->slot, std::span<const int32_t>(&j->next, 1), true});
          owners.push_back(j.get());
          --budget;
        }
      for (const auto& j : running_) {
        if (j->decoding || budget == 0) continue;
        if (j->prefilled == 0) {
          engine_.reset(j->slot);
          j->dec.emplace(engine_.vocab(), j->params, j->decode_opts, j->max_new);
        }
        const auto n = std::min<std::size_t>(j->prompt.size() - j->prefilled, static_cast<std::size_t>(budget));
        entries.push_back({j->slot, std::span<const int32_t>(j->prompt).subspan(j->prefilled, n),
                           j->prefilled + n == j->prompt.size()});
        owners.push_back(j.get());
        budget -= static_cast<int64_t>(n);
      }
      if (entries.empty()) continue;
      std::span<const std::span<const float>> logits;
      try {
        logits = engine_.eval_batch(entries);
      } catch (const error& e) {
        // The admission checks make this unreachable; should it happen, only this step's
        // requests fail.
        for (job* j : owners) {
          release(*j);
          finish(*j, generation_finish::error, e.id() + ": " + e.message());
        }
        std::erase_if(running_, [](const std::shared_ptr<job>& j) { return j->slot < 0; });
        continue;
      }
      if (stats_) {
        const auto n = static_cast<int64_t>(entries.size());
        stats_->steps.fetch_add(1, std::memory_order_relaxed);
        stats_->step_sequences.fetch_add(n, std::memory_order_relaxed);
        stats_->step_tokens.fetch_add(engine_.max_batch_tokens() - budget, std::memory_order_relaxed);
        if (n > stats_->max_step_sequences.load(std::memory_order_relaxed))
          stats_->max_step_sequences.store(n, std::memory_order_relaxed);
      }
      for (std::size_t i = 0; i < entries.size(); ++i) {
        job& j = *owners[i];
        if (!j.decoding) {
          j.prefilled += entries[i].tokens.size();
          if (!entries[i].logits) continue;
        }
        const std::optional<int32_t> next = j.dec->step(logits[i], engine_.routing().last_token_margin);
        if (engine::decoder::piece p = j.dec->take(); !p.text.empty()) j.sink->on_token(p.text);
        if (next) {
          j.next = *next;
          j.decoding = true;
        } else {
          release(j);
          finish(j, to_finish(j.dec->finish()));
        }
      }
      std::erase_if(running_, [](const std::shared_ptr<job>& j) { return j->slot < 0; });
    }
    // Stopping: nothing more is evaluated.
    for (const auto& j : running_) finish(*j, generation_finish::cancelled);
    running_.clear();
    std::deque<std::shared_ptr<job>> left;
    {
      std::lock_guard lock(q_->mu);
      left.swap(q_->waiting);
    }
    for (const auto& j : left) finish(*j, generation_finish::cancelled);
  }

  engine::engine engine_;
  std::shared_ptr<queue_state> q_;
  model_card card_;
  chat_format chat_ = chat_format::plain;
  std::vector<bool> slots_;                    // scheduler thread only
  std::vector<std::shared_ptr<job>> running_;  // scheduler thread only, in admission order
  std::shared_ptr<engine_backend_stats> stats_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<model_backend> make_engine_backend(const std::filesystem::path& gguf_path,
                                                   const engine_backend_options& options) {
  return std::make_unique<engine_backend>(gguf_path, options);
}

}  // namespace moebench::serve
