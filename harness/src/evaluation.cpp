#include "moebench/evaluation.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/stats.h"

namespace moebench {

std::vector<work_item> plan_samples(const suite& s, int64_t samples_per_task) {
  std::vector<work_item> plan;
  plan.reserve(s.tasks().size() * static_cast<std::size_t>(std::max<int64_t>(samples_per_task, 0)));
  for (std::size_t t = 0; t < s.tasks().size(); ++t)
    for (int64_t i = 0; i < samples_per_task; ++i) plan.push_back({t, i});
  return plan;
}

std::string sample_key(const std::string& task_id, int64_t sample_index) {
  return task_id + "#" + std::to_string(sample_index);
}

std::map<std::string, int64_t> count_token_sources(const std::vector<nlohmann::json>& records) {
  std::map<std::string, int64_t> out;
  for (const auto& rec : records) {
    const auto g = rec.find("generation");
    if (g == rec.end() || !g->is_object()) continue;
    const auto src = g->find("token_source");
    if (src != g->end() && src->is_string()) out[src->get<std::string>()] += 1;
  }
  return out;
}

namespace {

// Collects the events of one request and timestamps them (the harness reads the clock, not
// the runner). One instance per in-flight request.
class timed_sink final : public completion_sink {
 public:
  explicit timed_sink(int64_t submitted_ns) : submitted_ns_(submitted_ns) {}

  void on_chunk(uint64_t /*request_id*/, std::string_view /*text*/, int64_t tokens) override {
    const int64_t t = now_ns();
    std::lock_guard lock(mu_);
    if (first_chunk_ns_ < 0) first_chunk_ns_ = t;
    if (last_chunk_ns_ >= 0) itl_ns_.push_back(t - last_chunk_ns_);
    last_chunk_ns_ = t;
    chunks_ += 1;
    chunk_tokens_ += tokens;
  }

  void on_complete(uint64_t /*request_id*/, completion result) override {
    const int64_t t = now_ns();
    std::lock_guard lock(mu_);
    complete_ns_ = t;
    result_ = std::move(result);
    cv_.notify_all();
  }

  completion wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return result_.has_value(); });
    return std::move(*result_);
  }

  nlohmann::json timing() const {
    std::lock_guard lock(mu_);
    nlohmann::json j = {{"e2e_ns", complete_ns_ - submitted_ns_}, {"chunks", chunks_},
                        {"chunk_tokens", chunk_tokens_}};
    j["ttft_ns"] = first_chunk_ns_ >= 0 ? nlohmann::json(first_chunk_ns_ - submitted_ns_)
                                        : nlohmann::json(nullptr);
    if (!itl_ns_.empty()) {
      std::vector<double> v(itl_ns_.begin(), itl_ns_.end());
      j["itl_ns"] = summarize(std::move(v));
    }
    return j;
  }

 private:
  const int64_t submitted_ns_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t first_chunk_ns_ = -1;
  int64_t last_chunk_ns_ = -1;
  int64_t complete_ns_ = -1;
  int64_t chunks_ = 0;
  int64_t chunk_tokens_ = 0;
  std::vector<int64_t> itl_ns_;
  std::optional<completion> result_;
};

}  // namespace

evaluation_outcome evaluate(suite& s, runner& r, const std::vector<work_item>& plan,
                            const std::vector<nlohmann::json>& journaled, journal& out,
                            const evaluation_options& options) {
  const auto& tasks = s.tasks();
  std::unordered_map<std::string, std::size_t> plan_index;
  plan_index.reserve(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    MOEBENCH_CHECK(plan[i].task_index < tasks.size(), "plan refers to a task out of range");
    plan_index.emplace(sample_key(tasks[plan[i].task_index].id, plan[i].sample_index), i);
  }

  evaluation_outcome result;
  result.records.resize(plan.size());
  std::vector<char> done(plan.size(), 0);
  int64_t line = 0;
  for (const auto& rec : journaled) {
    ++line;
    const auto key = rec.value("key", std::string());
    const auto it = plan_index.find(key);
    if (it == plan_index.end())
      throw error("journal.foreign_record", {out.path().string(), line, "key"},
                  "journal record '" + key + "' is not part of this run's plan");
    if (done[it->second]) continue;  // a duplicate cannot arise from append-only writes; keep the first
    done[it->second] = 1;
    result.records[it->second] = rec;
    ++result.resumed;
  }

  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < plan.size(); ++i)
    if (!done[i]) pending.push_back(i);

  progress bar(s.name(), static_cast<int64_t>(plan.size()), result.resumed, options.progress_mode);
  std::atomic<std::size_t> next{0};
  std::atomic<uint64_t> next_request_id{1};
  std::mutex submit_mu;
  std::mutex mu;  // guards result.sample_wall_ms, result.executed, first_error
  std::exception_ptr first_error;
  std::atomic<bool> stop{false};

  auto worker = [&] {
    for (;;) {
      if (stop.load()) return;
      const std::size_t slot = next.fetch_add(1);
      if (slot >= pending.size()) return;
      const std::size_t pi = pending[slot];
      const work_item& item = plan[pi];
      const task& t = tasks[item.task_index];
      try {
        request req;
        req.id = next_request_id.fetch_add(1);
        req.task_id = t.id;
        req.sample_index = item.sample_index;
        req.prompt = t.prompt;
        req.reference = t.reference;
        req.params = options.generation;
        req.params.stop.insert(req.params.stop.end(), t.stop.begin(), t.stop.end());
        req.params.seed =
            derive_seed(options.sampling_seed, sample_key(t.id, item.sample_index));
        const int64_t start_ns = now_ns();
        timed_sink sink(start_ns);
        {
          // The runner contract: submit() from one harness thread at a time.
          std::lock_guard submit_lock(submit_mu);
          r.submit(std::span<const request>(&req, 1), sink);
        }
        completion c = sink.wait();
        nlohmann::json record = {{"key", sample_key(t.id, item.sample_index)},
                                 {"task_id", t.id},
                                 {"sample_index", item.sample_index},
                                 {"completion", c.text}};
        record["generation"] = {{"outcome", to_string(c.status)},
                                {"finish_reason", to_string(c.finish)},
                                {"error", c.error},
                                {"retries", c.retries},
                                {"prompt_tokens", c.prompt_tokens},
                                {"completion_tokens", c.completion_tokens},
                                {"token_source", to_string(c.token_source)},
                                {"timing", sink.timing()}};
        if (!c.extra.is_null() && !c.extra.empty()) record["runner_extra"] = c.extra;
        record["score"] = s.score(t, c);
        const int64_t end_ns = now_ns();
        out.append(record);
        {
          std::lock_guard lock(mu);
          result.records[pi] = std::move(record);
          result.executed += 1;
          result.sample_wall_ms.push_back(static_cast<double>(end_ns - start_ns) / 1e6);
        }
        bar.tick();
      } catch (...) {
        std::lock_guard lock(mu);
        if (!first_error) first_error = std::current_exception();
        stop = true;
        return;
      }
    }
  };

  const auto n_threads = static_cast<std::size_t>(
      std::clamp<int64_t>(options.jobs, 1, std::max<int64_t>(1, static_cast<int64_t>(pending.size()))));
  {
    std::vector<std::jthread> threads;
    threads.reserve(n_threads);
    for (std::size_t i = 0; i < n_threads; ++i) threads.emplace_back(worker);
  }
  r.flush();
  bar.finish();
  if (first_error) std::rethrow_exception(first_error);
  return result;
}

}  // namespace moebench
