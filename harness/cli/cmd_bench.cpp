// `moebench bench humaneval`: throughput of the HumanEval-format evaluation path, measured
// side by side with a bare fork/exec of the same programs (no harness, no isolation).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/evaluation.h"
#include "moebench/io.h"
#include "moebench/runners/replay.h"
#include "moebench/sandbox/sandbox.h"
#include "moebench/suites/humaneval.h"
#include "moebench/text.h"

extern char** environ;

namespace moebench::cli {
namespace fs = std::filesystem;
namespace {

struct bench_options {
  std::string problems = "builtin";
  int64_t replicas = 34;  // 49 problems x 34 = 1,666 samples
  int64_t jobs = 0;
  std::string sandbox = "auto";
  std::string python = "/usr/bin/python3";
  bool baseline = true;
  std::string grading = "inprocess,split";
};

// Runs every program once with `python -I file`, `jobs` at a time; returns wall ns.
int64_t bare_fork_exec(const std::vector<fs::path>& files, int64_t jobs, const std::string& python,
                       int64_t* failures) {
  std::atomic<std::size_t> next{0};
  std::atomic<int64_t> failed{0};
  const int64_t start = now_ns();
  {
    std::vector<std::jthread> workers;
    for (int64_t w = 0; w < jobs; ++w) {
      workers.emplace_back([&] {
        for (;;) {
          const std::size_t i = next.fetch_add(1);
          if (i >= files.size()) return;
          std::string py = python, flag = "-I", file = files[i].string();
          char* argv[] = {py.data(), flag.data(), file.data(), nullptr};
          posix_spawn_file_actions_t fa;
          posix_spawn_file_actions_init(&fa);
          posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
          posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
          posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
          pid_t pid = 0;
          const int rc = posix_spawn(&pid, python.c_str(), &fa, nullptr, argv, environ);
          posix_spawn_file_actions_destroy(&fa);
          int status = 0;
          if (rc != 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed.fetch_add(1);
        }
      });
    }
  }
  *failures = failed.load();
  return now_ns() - start;
}

void run_bench(const bench_options& o) {
  if (o.replicas < 1) throw error("cli.bad_value", {"", 0, "--replicas"}, "must be >= 1");
  const int64_t jobs = o.jobs > 0 ? o.jobs : std::max<int64_t>(1, std::thread::hardware_concurrency());
  const humaneval::problem_set problems = humaneval::load_problems(o.problems);
  const auto& problem_list = problems.problems;

  sandbox::executor_options xo;
  xo.backend = o.sandbox;
  auto exec = sandbox::make_executor(xo);
  const executor_info xi = exec->info();
  oracle_runner oracle;

  const fs::path tmp = fs::temp_directory_path() / fmt::format("moebench-bench-{}", ::getpid());
  fs::create_directories(tmp);
  struct cleanup {
    fs::path p;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } guard{tmp};

  std::vector<humaneval::grading_mode> modes;
  for (const auto& m : split(o.grading, ',')) modes.push_back(humaneval::grading_mode_from_string(trim(m)));
  if (modes.empty()) throw error("cli.bad_value", {"", 0, "--grading"}, "expected split, inprocess or both");
  const int64_t samples = static_cast<int64_t>(problem_list.size()) * o.replicas;
  fmt::print("moebench bench humaneval: {} problems x {} replicas = {} samples, {} jobs, executor {} ({})\n",
             problem_list.size(), o.replicas, samples, jobs, xi.backend, xi.isolation_level);

  // The modes run one after the other on the same warm executor, each over the same samples.
  const double n = static_cast<double>(samples);
  int64_t h_wall = 0;
  std::vector<work_item> plan;
  for (const auto mode : modes) {
    humaneval::options hopts;
    hopts.grading = mode;
    humaneval::suite suite(problems, hopts, *exec);
    plan = plan_samples(suite, o.replicas);
    journal jr = journal::open(tmp / fmt::format("samples-{}.jsonl", to_string(mode)), nullptr);
    evaluation_options eo;
    eo.jobs = jobs;
    eo.progress_mode = progress::mode::quiet;
    const int64_t start = now_ns();
    const auto outcome = evaluate(suite, oracle, plan, {}, jr, eo);
    const int64_t wall = now_ns() - start;
    int64_t passed = 0;
    for (const auto& r : outcome.records) passed += r["score"]["passed"].get<bool>() ? 1 : 0;
    fmt::print("harness, {} grading:{} {:.2f} s, {:.1f} samples/s, {}/{} passed\n", to_string(mode),
               mode == humaneval::grading_mode::split ? "    " : "", static_cast<double>(wall) / 1e9,
               n / (static_cast<double>(wall) / 1e9), passed, plan.size());
    if (h_wall == 0 || mode == humaneval::grading_mode::inprocess) h_wall = wall;
  }
  const double h_rate = n / (static_cast<double>(h_wall) / 1e9);

  if (!o.baseline) return;
  std::vector<fs::path> distinct;
  for (std::size_t i = 0; i < problem_list.size(); ++i) {
    distinct.push_back(tmp / fmt::format("p{}.py", i));
    write_file_atomic(distinct.back(),
                      humaneval::build_program(problem_list[i], problem_list[i].canonical_solution));
  }
  std::vector<fs::path> files;
  for (const auto& item : plan) files.push_back(distinct[item.task_index]);
  int64_t failures = 0;
  const int64_t b_wall = bare_fork_exec(files, jobs, o.python, &failures);
  const double b_rate = n / (static_cast<double>(b_wall) / 1e9);
  fmt::print("bare fork/exec ({} -I, no harness, no isolation): {:.2f} s, {:.1f} samples/s, {} failed\n",
             o.python, static_cast<double>(b_wall) / 1e9, b_rate, failures);
  // Per-execution cost added by the harness, as one worker sees it.
  const double added_ms = (static_cast<double>(h_wall - b_wall) / 1e6) * static_cast<double>(jobs) / n;
  fmt::print("ratio harness ({} grading)/bare throughput: {:.3f}; added time per execution: {:.2f} ms\n",
             to_string(modes.size() > 1 ? humaneval::grading_mode::inprocess : modes.front()), h_rate / b_rate,
             added_ms);
}

}  // namespace

CLI::App& bench_subcommand(CLI::App& app) {
  for (CLI::App* s : app.get_subcommands([](CLI::App* a) { return a->get_name() == "bench"; })) return *s;
  auto* bench = app.add_subcommand("bench", "Benchmarks and load tests that print figures");
  bench->require_subcommand(1);
  return *bench;
}

void add_bench_command(CLI::App& app, context& /*ctx*/) {
  auto* bench = &bench_subcommand(app);
  auto* he = bench->add_subcommand(
      "humaneval", "Evaluate the canonical solutions replicated; compare with bare fork/exec");
  auto o = std::make_shared<bench_options>();
  he->add_option("--problems", o->problems, "Problem file or 'builtin'")->capture_default_str();
  he->add_option("--replicas", o->replicas, "Samples per problem")->capture_default_str();
  he->add_option("-j,--jobs", o->jobs, "Parallel samples (0 = all cores)")->capture_default_str();
  he->add_option("--sandbox", o->sandbox, "Executor backend: auto | process | ns")->capture_default_str();
  he->add_option("--python", o->python, "Interpreter for the bare baseline")->capture_default_str();
  he->add_flag("!--no-baseline", o->baseline, "Skip the bare fork/exec baseline");
  he->add_option("--grading", o->grading, "Grading modes to measure, in order: split, inprocess or both")
      ->capture_default_str();
  he->callback([o] { run_bench(*o); });
}

}  // namespace moebench::cli
