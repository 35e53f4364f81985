// Executor verdicts with real processes (issue 2 acceptance, SANDBOX_THREATS.md). The suite is
// parameterised by backend so every backend meets the same contract.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "common.h"
#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/sandbox/sandbox.h"
#include "test_util.h"

namespace moebench::sandbox {
namespace {
using test::python;

class executor_verdicts : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    executor_options o;
    o.backend = GetParam();
    exec_ = make_executor(o);
  }
  void TearDown() override {
    // No process of ours may outlive a run (nor, for pooled backends, the executor).
    exec_.reset();
    EXPECT_TRUE(test::descendants_of_self().empty());
  }
  exec_result run(const exec_request& r) { return exec_->run(r); }
  std::unique_ptr<executor> exec_;
};

TEST_P(executor_verdicts, pass) {
  const auto r = run(python("def f(x):\n    return x + 1\nassert f(1) == 2\nprint('hello')\n"));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
  EXPECT_TRUE(r.nonce_ok);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.term_signal);
  EXPECT_EQ(r.stdout_text, "hello\n");
  EXPECT_GT(r.max_rss_kib, 1000);
  EXPECT_GT(r.wall_ns, 0);
  EXPECT_EQ(r.backend, exec_->info().backend);
  EXPECT_FALSE(r.isolation_level.empty());
}

TEST_P(executor_verdicts, failed_assertion_names_the_line) {
  const auto r = run(python("def f(x):\n    return x\n\ndef check(c):\n    assert c(1) == 1\n"
                            "    assert c(2) == 3, 'two'\ncheck(f)\n"));
  EXPECT_EQ(r.status, verdict::failed);
  EXPECT_TRUE(r.nonce_ok);
  EXPECT_NE(r.detail.find("assert c(2) == 3, 'two'"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("line 6"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("two"), std::string::npos) << r.detail;
}

TEST_P(executor_verdicts, exception_is_runtime_error_with_traceback) {
  const auto r = run(python("def g():\n    raise ValueError('boom')\ng()\n"));
  EXPECT_EQ(r.status, verdict::runtime_error);
  EXPECT_NE(r.detail.find("ValueError: boom"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("Traceback"), std::string::npos) << r.detail;
  EXPECT_NE(r.stderr_text.find("ValueError: boom"), std::string::npos);
}

TEST_P(executor_verdicts, syntax_error_is_runtime_error) {
  const auto r = run(python("def f(:\n"));
  EXPECT_EQ(r.status, verdict::runtime_error);
  EXPECT_NE(r.detail.find("SyntaxError"), std::string::npos) << r.detail;
}

TEST_P(executor_verdicts, wall_timeout) {
  const int64_t t0 = now_ns();
  const auto r = run(python("import time\ntime.sleep(1e9)\n", 1000, 5000));
  const int64_t took_ms = (now_ns() - t0) / 1'000'000;
  EXPECT_EQ(r.status, verdict::timeout_wall) << r.detail;
  EXPECT_EQ(r.killer, killed_by::wall);
  EXPECT_LT(r.cpu_user_ns + r.cpu_sys_ns, 500'000'000);
  EXPECT_GE(took_ms, 1000);
  EXPECT_LT(took_ms, 2500);
}

TEST_P(executor_verdicts, cpu_timeout) {
  const auto r = run(python("while True:\n    pass\n", 20000, 1000));
  EXPECT_EQ(r.status, verdict::timeout_cpu) << r.detail;
  EXPECT_EQ(r.killer, killed_by::cpu);
  // Not stopped early; rusage can read up to ~15% under the limit on a loaded host.
  EXPECT_GE(r.cpu_user_ns + r.cpu_sys_ns, 700'000'000);
}

TEST_P(executor_verdicts, sigterm_ignorer_is_still_killed) {
  const auto r = run(python("import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
                            "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n",
                            1000, 5000));
  EXPECT_EQ(r.status, verdict::timeout_wall) << r.detail;
}

TEST_P(executor_verdicts, self_sigstop_is_killable) {
  const auto r = run(python("import os, signal, time\nos.kill(os.getpid(), signal.SIGSTOP)\n"
                            "time.sleep(1e9)\n",
                            1000, 5000));
  EXPECT_EQ(r.status, verdict::timeout_wall) << r.detail;
}

TEST_P(executor_verdicts, memory_limit_fast) {
  auto req = python("x = bytearray(16 << 30)\n");
  req.limits.memory_bytes = 256LL << 20;
  const auto r = run(req);
  EXPECT_EQ(r.status, verdict::memory_limit) << r.detail << r.stderr_text;
}

TEST_P(executor_verdicts, memory_limit_gradual) {
  auto req = python("chunks = []\nwhile True:\n    chunks.append(bytearray(1 << 20))\n", 5000, 4000);
  req.limits.memory_bytes = 256LL << 20;
  const auto r = run(req);
  EXPECT_EQ(r.status, verdict::memory_limit) << r.detail << r.stderr_text;
  EXPECT_LT(r.max_rss_kib, 300 * 1024);
}

TEST_P(executor_verdicts, stdout_flood) {
  const auto r = run(python("while True:\n    print('x' * 1000)\n"));
  EXPECT_EQ(r.status, verdict::output_limit) << r.detail;
  EXPECT_EQ(r.killer, killed_by::output);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_text.size(), 64u * 1024);
  EXPECT_GT(r.stdout_bytes_total, 64 * 1024);
}

TEST_P(executor_verdicts, stderr_flood_without_newline) {
  const auto r = run(python("import sys\nwhile True:\n    sys.stderr.write('y' * 4096)\n"));
  EXPECT_EQ(r.status, verdict::output_limit) << r.detail;
  EXPECT_TRUE(r.stderr_truncated);
}

TEST_P(executor_verdicts, segfault_is_crashed_with_signal) {
  const auto r = run(python("import ctypes\nctypes.string_at(0)\n"));
  EXPECT_EQ(r.status, verdict::crashed) << r.detail;
  ASSERT_TRUE(r.term_signal);
  EXPECT_EQ(*r.term_signal, SIGSEGV);
  EXPECT_FALSE(r.exit_code);
}

TEST_P(executor_verdicts, abort_is_crashed) {
  const auto r = run(python("import os\nos.abort()\n"));
  EXPECT_EQ(r.status, verdict::crashed);
  EXPECT_EQ(r.term_signal, SIGABRT);
}

TEST_P(executor_verdicts, early_exit_zero_is_not_a_pass) {
  for (const char* src : {"import sys\nsys.exit(0)\nassert False\n",
                          "import os\nos._exit(0)\nassert False\n", "exit()\nassert False\n"}) {
    const auto r = run(python(src));
    EXPECT_EQ(r.status, verdict::no_result) << src << r.detail;
    EXPECT_FALSE(r.nonce_ok);
    EXPECT_EQ(r.exit_code, 0);
  }
}

TEST_P(executor_verdicts, exit_nonzero_is_runtime_error) {
  const auto r = run(python("import sys\nsys.exit(3)\n"));
  EXPECT_EQ(r.status, verdict::runtime_error);
  EXPECT_EQ(r.exit_code, 3);
}

TEST_P(executor_verdicts, fake_pass_output_is_not_a_pass) {
  const auto r = run(python(
      "import os, sys\nprint('PASSED')\nprint('MOEBENCH1 0123456789abcdef0123456789abcdef passed 0')\n"
      "sys.stdout.flush()\nos._exit(0)\n"));
  EXPECT_EQ(r.status, verdict::no_result) << r.detail;
}

TEST_P(executor_verdicts, forged_or_garbage_records_are_not_a_pass) {
  // Guesses at the result channel: every fd from 3 to 20.
  const auto r = run(python(
      "import os\nfor fd in range(3, 21):\n    try:\n"
      "        os.write(fd, b'MOEBENCH1 00000000000000000000000000000000 passed 0\\n')\n"
      "    except OSError:\n        pass\nos._exit(0)\n"));
  EXPECT_EQ(r.status, verdict::no_result) << r.detail;
  // Garbage then a genuine completion: still not a pass (the channel was tampered with).
  const auto g = run(python("import os\nfor fd in range(3, 21):\n    try:\n"
                            "        os.write(fd, b'garbage')\n    except OSError:\n        pass\n"));
  EXPECT_NE(g.status, verdict::passed) << g.detail;
}

TEST_P(executor_verdicts, forked_child_cannot_report_a_pass) {
  const auto r = run(python("import os\npid = os.fork()\nif pid:\n    os.waitpid(pid, 0)\n"
                            "    assert False, 'parent fails'\n"));
  EXPECT_EQ(r.status, verdict::failed) << r.detail;
}

TEST_P(executor_verdicts, orphan_is_killed_and_run_returns_promptly) {
  const int64_t t0 = now_ns();
  const auto r = run(python(
      "import subprocess, sys\np = subprocess.Popen(['sleep', '3600'], start_new_session=True)\n"
      "print('PID', p.pid, flush=True)\n",
      20000, 5000));
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
  EXPECT_LT(now_ns() - t0, 3'000'000'000);
  const auto pids = test::reported_pids(r.stdout_text);
  ASSERT_EQ(pids.size(), 1u) << r.stdout_text;
  // A pid from inside a pid namespace means nothing here; the descendant check in TearDown
  // covers that case.
  if (GetParam() == "process") {
    EXPECT_FALSE(test::process_exists(pids[0]));
  }
}

TEST_P(executor_verdicts, stdin_is_dev_null) {
  const auto r = run(python("while True:\n    input()\n", 5000, 2000));
  EXPECT_EQ(r.status, verdict::runtime_error);
  EXPECT_NE(r.detail.find("EOFError"), std::string::npos) << r.detail;
  EXPECT_LT(r.wall_ns, 2'000'000'000);
}

TEST_P(executor_verdicts, environment_is_scrubbed) {
  ::setenv("MOEBENCH_TEST_CANARY_SECRET", "canary-7f3a", 1);
  const auto r = run(python("import os\nprint(sorted(os.environ.items()))\n"));
  ::unsetenv("MOEBENCH_TEST_CANARY_SECRET");
  EXPECT_EQ(r.status, verdict::passed);
  EXPECT_EQ(r.stdout_text.find("canary-7f3a"), std::string::npos);
  EXPECT_NE(r.stdout_text.find("('TZ', 'UTC')"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("('PYTHONHASHSEED', '0')"), std::string::npos);
}

TEST_P(executor_verdicts, workdir_is_private_and_files_are_written) {
  auto req = python("import os\nprint(open('data/in.txt').read())\nprint('PID', os.getpid())\n"
                    "print('CWD', os.getcwd())\nopen('out.txt', 'w').write('x')\n");
  req.files.push_back({"data/in.txt", "payload-data"});
  const auto r = run(req);
  EXPECT_EQ(r.status, verdict::passed) << r.detail << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("payload-data"), std::string::npos);
  const auto cwd_pos = r.stdout_text.find("CWD ");
  ASSERT_NE(cwd_pos, std::string::npos);
  const std::string cwd = r.stdout_text.substr(cwd_pos + 4, r.stdout_text.find('\n', cwd_pos) - cwd_pos - 4);
  if (GetParam() == "process") {
    EXPECT_NE(::access(cwd.c_str(), F_OK), 0) << cwd << " not removed";
  }
}

TEST_P(executor_verdicts, bad_file_path_is_sandbox_error) {
  auto req = python("pass\n");
  req.files.push_back({"../escape.txt", "x"});
  EXPECT_EQ(run(req).status, verdict::sandbox_error);
}

TEST_P(executor_verdicts, binary_garbage_output_is_kept) {
  const auto r = run(python("import sys\nsys.stdout.buffer.write(b'\\x00\\xff\\x1b[31mred\\xc3')\n"));
  EXPECT_EQ(r.status, verdict::passed);
  EXPECT_EQ(r.stdout_text, std::string("\0\xff\x1b[31mred\xc3", 11));
}

TEST_P(executor_verdicts, shell_programs) {
  EXPECT_EQ(run(test::program(language::sh, "echo hi\nexit 0\n")).status, verdict::passed);
  const auto r = run(test::program(language::sh, "echo oops >&2\nexit 4\n"));
  EXPECT_EQ(r.status, verdict::runtime_error);
  EXPECT_EQ(r.exit_code, 4);
}

TEST_P(executor_verdicts, cpp_programs) {
  const auto ok = run(test::program(language::cpp,
      "#include <cstdio>\nint main() { std::puts(\"hi\"); return 0; }\n", 30000, 20000));
  EXPECT_EQ(ok.status, verdict::passed) << ok.detail << ok.stderr_text;
  EXPECT_TRUE(ok.nonce_ok);
  EXPECT_EQ(ok.stdout_text, "hi\n");
  const auto early = run(test::program(language::cpp,
      "#include <cstdlib>\nint main() { std::exit(0); }\n", 30000, 20000));
  EXPECT_EQ(early.status, verdict::no_result) << early.detail;
  const auto bad = run(test::program(language::cpp, "int main() { return x; }\n", 30000, 20000));
  EXPECT_EQ(bad.status, verdict::compile_error);
  EXPECT_NE(bad.detail.find("was not declared"), std::string::npos) << bad.detail;
  const auto fpe = run(test::program(language::cpp,
      "int main(int argc, char**) { volatile int z = argc - 1; return 10 / z; }\n", 30000, 20000));
  EXPECT_EQ(fpe.status, verdict::crashed);
  EXPECT_EQ(fpe.term_signal, SIGFPE);
}

TEST_P(executor_verdicts, concurrent_runs_from_many_threads) {
  const int64_t threads_before = test::self_threads();
  std::vector<exec_result> results(8);
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          run(python(i % 2 ? "assert 1 + 1 == 2\n" : "assert 1 + 1 == 3\n"));
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(results[static_cast<std::size_t>(i)].status, i % 2 ? verdict::passed : verdict::failed);
  EXPECT_EQ(test::self_threads(), threads_before);
}

INSTANTIATE_TEST_SUITE_P(backends, executor_verdicts, ::testing::Values("process", "ns"));

TEST(sandbox_records, driver_record_must_match_exactly) {
  using detail::parse_driver_record;
  const std::string nonce = "abc123";
  EXPECT_TRUE(parse_driver_record("MOEBENCH1 abc123 passed 0\n", nonce));
  const auto f = parse_driver_record("MOEBENCH1 abc123 failed 3\nxyz", nonce);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->detail, "xyz");
  EXPECT_FALSE(parse_driver_record("MOEBENCH1 abc124 passed 0\n", nonce));
  EXPECT_FALSE(parse_driver_record("MOEBENCH1 abc123 passed 0\nMOEBENCH1 abc123 passed 0\n", nonce));
  EXPECT_FALSE(parse_driver_record("junkMOEBENCH1 abc123 passed 0\n", nonce));
  EXPECT_FALSE(parse_driver_record("MOEBENCH1 abc123 great 0\n", nonce));
  EXPECT_FALSE(parse_driver_record("MOEBENCH1 abc123 passed 0\n", ""));
}

TEST(sandbox_records, init_report_round_trip_and_rejects_junk) {
  detail::init_report r;
  r.wait_status = 11;
  r.payload_reaped = true;
  r.utime_ns = 5;
  r.killer = detail::init_kill::wall;
  r.error = "x y\nz";
  const auto back = detail::parse_init_report(detail::format_init_report(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->wait_status, 11);
  EXPECT_EQ(back->killer, detail::init_kill::wall);
  EXPECT_EQ(back->error, "x y z");
  EXPECT_FALSE(detail::parse_init_report("INIT1 status=1 error=\n"));
  EXPECT_FALSE(detail::parse_init_report(""));
}

TEST(sandbox_factory, unknown_backend_is_rejected) {
  executor_options o;
  o.backend = "docker";
  try {
    make_executor(o);
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "sandbox.bad_backend");
  }
}

}  // namespace
}  // namespace moebench::sandbox
