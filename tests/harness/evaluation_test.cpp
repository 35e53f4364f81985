#include "moebench/evaluation.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "moebench/error.h"
#include "test_util.h"

namespace moebench {
namespace {

// A suite whose verdict is "passed" when the completion equals the reference. Counts calls.
class fake_suite final : public suite {
 public:
  explicit fake_suite(int tasks) {
    for (int i = 0; i < tasks; ++i)
      tasks_.push_back({"t/" + std::to_string(i), "prompt " + std::to_string(i),
                        "answer " + std::to_string(i), {}});
  }
  std::string name() const override { return "fake"; }
  std::string source() const override { return "memory"; }
  std::string content_sha256() const override { return "0"; }
  const std::vector<task>& tasks() const override { return tasks_; }
  nlohmann::json score(const task& t, const completion& c) override {
    scored.fetch_add(1);
    return {{"verdict", c.text == t.reference ? "passed" : "failed"}};
  }
  suite_result aggregate(std::span<const nlohmann::json>,
                         const std::map<std::string, uint64_t>&) const override {
    return {};
  }
  std::atomic<int> scored{0};

 private:
  std::vector<task> tasks_;
};

// Completes on another thread, streaming the answer in two chunks; wrong for odd samples.
class threaded_runner final : public runner {
 public:
  runner_info info() const override { return {"fake", "fake", {}}; }
  void submit(std::span<const request> batch, completion_sink& sink) override {
    for (const auto& req : batch) {
      submitted.fetch_add(1);
      threads_.emplace_back([req, &sink] {
        sink.on_chunk(req.id, "ans", 1);
        sink.on_chunk(req.id, "wer", 1);
        completion c;
        c.text = req.sample_index % 2 == 0 ? req.reference : "wrong";
        c.extra = {{"seed", req.params.seed}};
        sink.on_complete(req.id, std::move(c));
      });
    }
  }
  void flush() override {
    std::lock_guard lock(mu_);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  ~threaded_runner() override { flush(); }
  std::atomic<int> submitted{0};

 private:
  std::mutex mu_;
  std::vector<std::jthread> threads_;
};

TEST(evaluation, scores_every_planned_sample_once_and_journals_it) {
  testing::temp_dir dir;
  fake_suite s(5);
  threaded_runner r;
  const auto plan = plan_samples(s, 3);
  ASSERT_EQ(plan.size(), 15u);
  journal j = journal::open(dir / "samples.jsonl", nullptr);
  evaluation_options opts;
  opts.jobs = 4;
  opts.sampling_seed = 9;
  opts.progress_mode = progress::mode::quiet;
  const auto out = evaluate(s, r, plan, {}, j, opts);
  EXPECT_EQ(out.executed, 15);
  EXPECT_EQ(out.resumed, 0);
  EXPECT_EQ(s.scored.load(), 15);
  ASSERT_EQ(out.records.size(), 15u);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& rec = out.records[i];
    EXPECT_EQ(rec["key"], sample_key(s.tasks()[plan[i].task_index].id, plan[i].sample_index));
    EXPECT_EQ(rec["score"]["verdict"], plan[i].sample_index % 2 == 0 ? "passed" : "failed");
    // The harness timestamped the streamed chunks.
    EXPECT_EQ(rec["generation"]["timing"]["chunks"], 2);
    EXPECT_TRUE(rec["generation"]["timing"]["ttft_ns"].is_number());
    // Per-sample sampling seeds are derived from the named seed and the sample's key.
    EXPECT_EQ(rec["runner_extra"]["seed"], derive_seed(9, rec["key"].get<std::string>()));
  }
  journal_recovery rec;
  journal::open(dir / "samples.jsonl", &rec);
  EXPECT_EQ(rec.records.size(), 15u);
}

TEST(evaluation, skips_journaled_samples_on_resume) {
  testing::temp_dir dir;
  fake_suite s(4);
  threaded_runner r;
  const auto plan = plan_samples(s, 2);
  std::vector<nlohmann::json> journaled = {
      {{"key", "t/1#0"}, {"task_id", "t/1"}, {"sample_index", 0}, {"score", {{"verdict", "failed"}}}},
      {{"key", "t/3#1"}, {"task_id", "t/3"}, {"sample_index", 1}, {"score", {{"verdict", "passed"}}}},
  };
  journal j = journal::open(dir / "samples.jsonl", nullptr);
  evaluation_options opts;
  opts.jobs = 2;
  opts.progress_mode = progress::mode::quiet;
  const auto out = evaluate(s, r, plan, journaled, j, opts);
  EXPECT_EQ(out.resumed, 2);
  EXPECT_EQ(out.executed, 6);
  EXPECT_EQ(r.submitted.load(), 6);
  // The journaled records are kept as they were, not redone.
  EXPECT_EQ(out.records[2]["score"]["verdict"], "failed");
  EXPECT_EQ(out.records[7]["score"]["verdict"], "passed");
}

TEST(evaluation, a_journal_record_outside_the_plan_is_an_error) {
  testing::temp_dir dir;
  fake_suite s(2);
  threaded_runner r;
  journal j = journal::open(dir / "samples.jsonl", nullptr);
  evaluation_options opts;
  opts.progress_mode = progress::mode::quiet;
  try {
    evaluate(s, r, plan_samples(s, 1), {{{"key", "t/9#0"}}}, j, opts);
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "journal.foreign_record");
  }
}

}  // namespace
}  // namespace moebench
