#pragma once
// The HumanEval-format suite: problem files as OpenAI's human-eval and EvalPlus write them
// (task_id, prompt, canonical_solution, test, entry_point; .jsonl or .jsonl.gz), scored by
// running prompt + completion + test + check(entry_point) in the executor.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "moebench/executor.h"
#include "moebench/suite.h"

namespace moebench::humaneval {

struct problem {
  std::string task_id;
  std::string prompt;
  std::string canonical_solution;
  std::string test;
  std::string entry_point;
  int64_t line = 0;  // in the source file
};

struct problem_set {
  std::string source;  // path, or "builtin:moebench-humaneval"
  std::string content_sha256;
  std::vector<problem> problems;
  std::unordered_map<std::string, std::size_t> index;  // task_id -> position
};

inline constexpr const char* builtin_problems_name = "builtin:moebench-humaneval";

// Loads a problem file. "builtin" or builtin_problems_name loads the problem set compiled into
// moebench. Errors name file:line:field ("humaneval.missing_field", "humaneval.duplicate_task",
// "jsonl.bad_json", ...).
problem_set load_problems(const std::string& path_or_builtin);
// Parses problems from text (`name` for error messages).
problem_set parse_problems(std::string_view text, const std::string& name);

// The program human-eval runs for a completion: prompt + completion + "\n" + test + "\n" +
// "check(entry_point)".
std::string build_program(const problem& p, std::string_view completion);

// How a completion is graded (docs/grading.md).
//  - split: the candidate (prompt + completion) and the checker (prompt helpers, test,
//    check(entry_point)) run in two sandboxed processes that exchange plain data only; the
//    program under test cannot reach the verdict. Needs executor_info::split_grading.
//  - inprocess: human-eval's way, one program prompt + completion + test + check(...): faster,
//    but a completion written to attack the harness can forge its verdict.
enum class grading_mode { split, inprocess };
std::string_view to_string(grading_mode g) noexcept;
// Throws moebench::error("humaneval.bad_grading") for an unknown name.
grading_mode grading_mode_from_string(std::string_view s);

// The two halves of split grading for a completion: candidate = prompt + completion; checker
// setup = prompt (its helpers; the entry point is then rebound to a proxy); checker = test +
// check(entry_point).
split_program build_split_program(const problem& p, std::string_view completion);

// human-eval's `result` string for a verdict: "passed", "timed out" or "failed: <detail>".
std::string human_eval_result_string(const exec_result& r);

struct options {
  std::vector<int64_t> ks{1};
  grading_mode grading = grading_mode::split;
  // Records and results say which mode graded (and whether it is forgeable). Off only to
  // resume a run written before grading modes existed, whose results must stay as they were.
  bool label_grading = true;
  exec_limits limits;
  int64_t keep_output_bytes = 4096;  // stdout/stderr kept in each sample record
  // Where to also write human-eval's "<samples>_results.jsonl" (evaluate-only mode).
  std::optional<std::filesystem::path> human_eval_results_path;
};

class suite final : public moebench::suite {
 public:
  // `limit` > 0 keeps only the first `limit` problems. `exec` must outlive the suite. Throws
  // moebench::error("humaneval.grading_unavailable") for split grading on an executor that
  // cannot run it.
  suite(problem_set problems, options opts, executor& exec, int64_t limit = 0);

  std::string name() const override { return "humaneval"; }
  std::string source() const override { return problems_.source; }
  std::string content_sha256() const override { return problems_.content_sha256; }
  const std::vector<task>& tasks() const override { return tasks_; }
  nlohmann::json score(const task& t, const completion& c) override;
  suite_result aggregate(std::span<const nlohmann::json> records,
                         const std::map<std::string, uint64_t>& seeds) const override;
  void write_outputs(const std::filesystem::path& run_dir,
                     std::span<const nlohmann::json> records) const override;

  const problem_set& problems() const { return problems_; }

 private:
  problem_set problems_;
  options opts_;
  executor& exec_;
  std::vector<task> tasks_;
};

}  // namespace moebench::humaneval
