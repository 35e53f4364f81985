#include "moebench/suites/humaneval.h"

#include <algorithm>
#include <fmt/core.h>

#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/stats.h"
#include "moebench/text.h"

namespace moebench::embedded {
extern const std::string_view humaneval_problems;
}

namespace moebench::humaneval {
namespace {

// The stop sequences of the Codex paper: a completion ends where top-level code resumes.
const std::vector<std::string> default_stops{"\ndef ", "\nclass ", "\nif __name__", "\nprint(",
                                             "\n#"};

}  // namespace

problem_set parse_problems(std::string_view text, const std::string& name) {
  problem_set set;
  set.source = name;
  set.content_sha256 = sha256_hex(text);
  for_each_jsonl_text(text, name, [&](const nlohmann::json& j, int64_t line) {
    const input_location where{name, line};
    problem p;
    p.task_id = require_string(j, "task_id", where);
    p.prompt = require_string(j, "prompt", where);
    p.canonical_solution = require_string(j, "canonical_solution", where);
    p.test = require_string(j, "test", where);
    p.entry_point = require_string(j, "entry_point", where);
    p.line = line;
    if (p.task_id.empty())
      throw error("humaneval.bad_field", {name, line, "task_id"}, "empty task_id");
    if (p.entry_point.empty())
      throw error("humaneval.bad_field", {name, line, "entry_point"}, "empty entry_point");
    if (set.index.contains(p.task_id))
      throw error("humaneval.duplicate_task", {name, line, "task_id"},
                  "duplicate task_id '" + p.task_id + "'");
    set.index.emplace(p.task_id, set.problems.size());
    set.problems.push_back(std::move(p));
  });
  if (set.problems.empty()) throw error("humaneval.empty", {name}, "no problems in file");
  return set;
}

problem_set load_problems(const std::string& path_or_builtin) {
  if (path_or_builtin == "builtin" || path_or_builtin == builtin_problems_name)
    return parse_problems(embedded::humaneval_problems, builtin_problems_name);
  return parse_problems(read_file(path_or_builtin), path_or_builtin);
}

std::string build_program(const problem& p, std::string_view completion) {
  std::string program;
  program.reserve(p.prompt.size() + completion.size() + p.test.size() + 64);
  program += p.prompt;
  program += completion;
  program += "\n";
  program += p.test;
  program += "\n";
  program += "check(" + p.entry_point + ")";
  program += "\n";
  return program;
}

std::string_view to_string(grading_mode g) noexcept {
  switch (g) {
    case grading_mode::split: return "split";
    case grading_mode::inprocess: return "inprocess";
  }
  return "split";
}

grading_mode grading_mode_from_string(std::string_view s) {
  if (s == "split") return grading_mode::split;
  if (s == "inprocess") return grading_mode::inprocess;
  throw error("humaneval.bad_grading", {"", 0, "--grading"},
              "unknown grading mode '" + std::string(s) + "' (known: split, inprocess)");
}

split_program build_split_program(const problem& p, std::string_view completion) {
  split_program s;
  s.candidate.reserve(p.prompt.size() + completion.size() + 1);
  s.candidate += p.prompt;
  s.candidate += completion;
  s.candidate += "\n";
  s.checker_setup = p.prompt;
  s.checker = p.test + "\ncheck(" + p.entry_point + ")\n";
  s.entry_points = {p.entry_point};
  return s;
}

std::string human_eval_result_string(const exec_result& r) {
  switch (r.status) {
    case verdict::passed:
      return "passed";
    case verdict::timeout_cpu:
    case verdict::timeout_wall:
      return "timed out";
    case verdict::failed:
    case verdict::partial:
    case verdict::no_result:
    case verdict::runtime_error:
    case verdict::crashed:
    case verdict::memory_limit:
    case verdict::output_limit:
    case verdict::security_violation:
    case verdict::compile_error:
    case verdict::compile_timeout:
    case verdict::patch_apply_failed:
    case verdict::test_log_unparseable:
    case verdict::sandbox_error:
    case verdict::skipped:
    case verdict::cancelled:
      break;
  }
  std::string detail = r.detail.empty() ? std::string(to_string(r.status)) : r.detail;
  return "failed: " + truncate_utf8(to_valid_utf8(detail), 500);
}

suite::suite(problem_set problems, options opts, executor& exec, int64_t limit)
    : problems_(std::move(problems)), opts_(std::move(opts)), exec_(exec) {
  if (limit > 0 && static_cast<std::size_t>(limit) < problems_.problems.size())
    problems_.problems.resize(static_cast<std::size_t>(limit));
  tasks_.reserve(problems_.problems.size());
  for (const auto& p : problems_.problems)
    tasks_.push_back(task{p.task_id, p.prompt, p.canonical_solution, default_stops});
  for (int64_t k : opts_.ks)
    if (k < 1) throw error("humaneval.bad_k", {"", 0, "--k"}, "k must be >= 1");
  if (opts_.grading == grading_mode::split && !exec_.info().split_grading)
    throw error("humaneval.grading_unavailable", {"", 0, "--grading"},
                "split grading needs sibling pid namespaces (the ns sandbox backend); this executor is '" +
                    exec_.info().backend + "'. Use --grading inprocess (forgeable) on this host");
  std::sort(opts_.ks.begin(), opts_.ks.end());
  opts_.ks.erase(std::unique(opts_.ks.begin(), opts_.ks.end()), opts_.ks.end());
}

nlohmann::json suite::score(const task& t, const completion& c) {
  const problem& p = problems_.problems[problems_.index.at(t.id)];
  exec_result r;
  if (c.status != outcome::ok) {
    // The model produced nothing to run: the runner's failure is infrastructure, not a
    // wrong answer, unless the suite is told otherwise.
    r.status = verdict::sandbox_error;
    r.detail = "runner outcome " + std::string(to_string(c.status)) + ": " + c.error;
  } else {
    exec_request req;
    req.lang = language::python;
    if (opts_.grading == grading_mode::split)
      req.split = build_split_program(p, c.text);
    else
      req.source = build_program(p, c.text);
    req.limits = opts_.limits;
    req.label = t.id;
    r = exec_.run(req);
  }
  r.stdout_text = truncate_utf8(to_valid_utf8(r.stdout_text), static_cast<std::size_t>(opts_.keep_output_bytes));
  r.stderr_text = truncate_utf8(to_valid_utf8(r.stderr_text), static_cast<std::size_t>(opts_.keep_output_bytes));
  nlohmann::json score = {{"verdict", to_string(r.status)},
                          {"passed", r.status == verdict::passed},
                          {"result", human_eval_result_string(r)},
                          {"exec", r}};
  if (opts_.label_grading) {
    score["grading"] = to_string(opts_.grading);
    score["forgeable"] = opts_.grading == grading_mode::inprocess;
  }
  return score;
}

suite_result suite::aggregate(std::span<const nlohmann::json> records,
                              const std::map<std::string, uint64_t>& seeds) const {
  suite_result out;
  out.suite = name();
  out.source = source();
  out.content_sha256 = content_sha256();
  out.tasks_total = static_cast<int64_t>(tasks_.size());
  if (opts_.label_grading) {
    out.grading = std::string(to_string(opts_.grading));
    out.grading_forgeable = opts_.grading == grading_mode::inprocess;
  }

  struct counts {
    int64_t n = 0, c = 0, infra = 0;
  };
  std::vector<counts> per(tasks_.size());
  for (const auto& rec : records) {
    const auto& task_id = rec.at("task_id").get_ref<const std::string&>();
    const auto it = problems_.index.find(task_id);
    MOEBENCH_CHECK(it != problems_.index.end(), "record for an unknown task");
    const verdict v = verdict_from_string(rec.at("score").at("verdict").get<std::string>());
    out.verdicts[std::string(to_string(v))] += 1;
    auto& cnt = per[it->second];
    if (is_infrastructure(v)) {
      cnt.infra += 1;  // never counted against the model
      continue;
    }
    cnt.n += 1;
    if (v == verdict::passed) cnt.c += 1;
    out.samples += 1;
  }

  int64_t min_n = -1, total_n = 0, total_c = 0;
  for (const auto& cnt : per) {
    if (cnt.n == 0) continue;
    out.tasks_evaluated += 1;
    min_n = min_n < 0 ? cnt.n : std::min(min_n, cnt.n);
    total_n += cnt.n;
    total_c += cnt.c;
  }

  const auto seed_it = seeds.find("bootstrap");
  const uint64_t bootstrap_seed = seed_it == seeds.end() ? 0 : seed_it->second;
  out.per_task = nlohmann::json::object();
  for (std::size_t t = 0; t < per.size(); ++t) {
    nlohmann::json pt = {{"n", per[t].n}, {"c", per[t].c}};
    if (per[t].infra) pt["infrastructure_failures"] = per[t].infra;
    out.per_task[tasks_[t].id] = std::move(pt);
  }
  for (int64_t k : opts_.ks) {
    if (min_n < k) continue;  // as human-eval: only k that every evaluated task supports
    std::vector<double> values;
    for (std::size_t t = 0; t < per.size(); ++t) {
      if (per[t].n == 0) continue;
      const double v = pass_at_k(per[t].n, per[t].c, k);
      values.push_back(v);
      out.per_task[tasks_[t].id][fmt::format("pass@{}", k)] = v;
    }
    metric m;
    m.name = fmt::format("pass@{}", k);
    m.unit = "fraction";
    m.n = static_cast<int64_t>(values.size());
    double sum = 0;
    for (double v : values) sum += v;
    m.value = values.empty() ? 0 : sum / static_cast<double>(values.size());
    const interval boot = bootstrap_mean_ci(values, derive_seed(bootstrap_seed, m.name));
    m.cis.push_back({boot.lo, boot.hi, 0.95, "bootstrap_tasks"});
    if (k == 1) {
      const interval w = wilson_interval(total_c, total_n);
      m.cis.push_back({w.lo, w.hi, 0.95, "wilson_samples"});
    }
    out.metrics.push_back(std::move(m));
  }
  return out;
}

void suite::write_outputs(const std::filesystem::path& run_dir,
                          std::span<const nlohmann::json> records) const {
  // human-eval's format: the sample's own fields plus "result" and "passed", in the order of
  // the samples file when there was one.
  std::vector<const nlohmann::json*> ordered;
  ordered.reserve(records.size());
  for (const auto& r : records) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    const auto la = a->contains("runner_extra") ? a->at("runner_extra").value("source_line", int64_t{0}) : 0;
    const auto lb = b->contains("runner_extra") ? b->at("runner_extra").value("source_line", int64_t{0}) : 0;
    return la < lb;
  });
  std::string text;
  for (const auto* r : ordered) {
    nlohmann::json line = nlohmann::json::object();
    if (r->contains("runner_extra") && r->at("runner_extra").contains("sample_fields"))
      line = r->at("runner_extra").at("sample_fields");
    line["task_id"] = r->at("task_id");
    line["completion"] = r->at("completion");
    line["result"] = r->at("score").at("result");
    line["passed"] = r->at("score").at("passed");
    text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
  }
  write_file_atomic(run_dir / "humaneval_results.jsonl", text);
  if (opts_.human_eval_results_path) write_file_atomic(*opts_.human_eval_results_path, text);
}

}  // namespace moebench::humaneval
