#include "moebench/runners/replay.h"

#include <algorithm>
#include <unordered_map>

#include "moebench/error.h"
#include "moebench/evaluation.h"
#include "moebench/io.h"

namespace moebench {

replay_runner::replay_runner(const std::filesystem::path& samples) : path_(samples) {
  const std::string text = read_file(samples);
  sha256_ = sha256_hex(text);
  std::unordered_map<std::string, int64_t> per_task;
  for_each_jsonl_text(text, samples.string(), [&](const nlohmann::json& j, int64_t line) {
    const input_location where{samples.string(), line};
    replay_entry e;
    e.task_id = require_string(j, "task_id", where);
    e.completion = require_string(j, "completion", where);
    e.fields = j;
    e.line = line;
    e.sample_index = per_task[e.task_id]++;
    by_key_.emplace(sample_key(e.task_id, e.sample_index), entries_.size());
    entries_.push_back(std::move(e));
  });
  if (entries_.empty()) throw error("replay.empty", {samples.string()}, "no samples in file");
}

runner_info replay_runner::info() const {
  return {"replay:" + path_.string(), "replay",
          {{"samples_file", path_.string()}, {"samples_sha256", sha256_},
           {"samples", entries_.size()}}};
}

void replay_runner::submit(std::span<const request> batch, completion_sink& sink) {
  for (const auto& req : batch) {
    completion c;
    const auto it = by_key_.find(sample_key(req.task_id, req.sample_index));
    if (it == by_key_.end()) {
      c.status = outcome::invalid_response;
      c.finish = finish_reason::error;
      c.error = "no such sample in " + path_.string();
    } else {
      const auto& e = entries_[it->second];
      c.text = e.completion;
      c.extra = {{"source_line", e.line}, {"sample_fields", e.fields}};
    }
    sink.on_complete(req.id, std::move(c));
  }
}

std::vector<std::pair<std::size_t, int64_t>> replay_runner::plan_for(const suite& s) const {
  std::unordered_map<std::string, std::size_t> task_index;
  for (std::size_t i = 0; i < s.tasks().size(); ++i) task_index.emplace(s.tasks()[i].id, i);
  std::vector<std::pair<std::size_t, int64_t>> plan;
  plan.reserve(entries_.size());
  for (const auto& e : entries_) {
    const auto it = task_index.find(e.task_id);
    if (it != task_index.end()) plan.emplace_back(it->second, e.sample_index);
  }
  std::stable_sort(plan.begin(), plan.end());
  return plan;
}

runner_info oracle_runner::info() const {
  return {"oracle", "oracle", {{"description", "the suite's canonical solutions"}}};
}

void oracle_runner::submit(std::span<const request> batch, completion_sink& sink) {
  for (const auto& req : batch) {
    completion c;
    c.text = req.reference;
    sink.on_complete(req.id, std::move(c));
  }
}

}  // namespace moebench
