// End to end through the moebench binary: `moebench serve --model echo` as a child process,
// `moebench run --model openai:...` against it, SIGTERM handling, the API key kept out of every
// file and output, and the `bench openai` command.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "moebench/runners/openai.h"
#include "test_servers.h"
#include "test_util.h"

namespace moebench::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* key_var = "MOEBENCH_HTTP_TEST_KEY";
const std::string secret = "sk-moebench-test-5e1f0c2b9a";

// `moebench serve` in a child process; SIGKILLed at destruction if still running.
class serve_process {
 public:
  serve_process(const temp_dir& dir, std::vector<std::string> extra) {
    const fs::path port_file = dir / ("port-" + std::to_string(counter_++));
    log_ = port_file.string() + ".log";
    std::vector<std::string> args = {moebench_bin(), "serve", "--model", "echo", "--port", "0",
                                     "--port-file", port_file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!std::freopen(log_.c_str(), "w", stdout) || !std::freopen(log_.c_str(), "a", stderr)) ::_exit(127);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      std::ifstream in(port_file);
      if (!(in >> port_)) std::this_thread::sleep_for(10ms);
    }
    if (port_ == 0) ADD_FAILURE() << "serve did not write its port file; log:\n" << slurp(log_);
  }
  ~serve_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int port() const { return port_; }
  std::string log() const { return slurp(log_); }
  // SIGTERM, then the exit code (-1 if it did not exit within `timeout`).
  int terminate(std::chrono::milliseconds timeout) {
    ::kill(pid_, SIGTERM);
    for (auto waited = 0ms; waited < timeout; waited += 10ms) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
};

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(http_cli, humaneval_run_against_moebench_serve) {
  temp_dir dir;
  ::setenv(key_var, secret.c_str(), 1);
  serve_process srv(dir, {"--api-key-env", key_var, "--echo-tokens-per-s", "2000", "--echo-max-tokens", "64"});
  ASSERT_NE(srv.port(), 0);
  const std::string model = "openai:" + srv.url() + "#echo";
  const auto r = run_cli({"run", "--suite", "humaneval", "--model", model, "--api-key-env", key_var, "--limit", "4",
                          "--n", "2", "--max-tokens", "24", "--out", (dir / "runs").string(), "--run-id", "r1",
                          "--progress", "quiet", "-j", "4"},
                         dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path run_dir = dir / "runs" / "r1";
  const auto records = read_jsonl(run_dir / "samples.jsonl");
  ASSERT_EQ(records.size(), 8u);
  for (const auto& rec : records) {
    const auto& g = rec.at("generation");
    EXPECT_EQ(g.at("outcome"), "ok") << g.dump();
    EXPECT_EQ(g.at("retries"), 0);
    EXPECT_EQ(g.at("error"), "");
    const auto& t = g.at("timing");
    ASSERT_TRUE(t.at("ttft_ns").is_number()) << t.dump();
    EXPECT_GT(t.at("ttft_ns").get<int64_t>(), 0);
    EXPECT_GE(t.at("e2e_ns").get<int64_t>(), t.at("ttft_ns").get<int64_t>());
    EXPECT_GT(t.at("chunks").get<int64_t>(), 1);
    EXPECT_TRUE(t.contains("itl_ns")) << t.dump();
    // echo reports usage: the token count is the server's, and the record says so.
    EXPECT_EQ(rec.at("runner_extra").at("token_source"), "usage");
    // Text that may begin a stop sequence is held back and sent with the next piece, so a
    // chunk can carry more than one token.
    EXPECT_GE(g.at("completion_tokens").get<int64_t>(), rec.at("runner_extra").at("content_chunks").get<int64_t>());
    EXPECT_GT(rec.at("runner_extra").at("content_chunks").get<int64_t>(), 1);
    EXPECT_GT(g.at("prompt_tokens").get<int64_t>(), 0);
    EXPECT_FALSE(rec.at("completion").get<std::string>().empty());
  }
  // The echo model's completions are the prompt again: they must fail the tests, and scoring ran.
  const auto results = nlohmann::json::parse(slurp(run_dir / "results.json"));
  const auto run_json = nlohmann::json::parse(slurp(run_dir / "run.json"));
  EXPECT_EQ(run_json.at("model").at("spec"), model);
  EXPECT_EQ(run_json.at("settings_requested").at("api_key_env"), key_var);
  EXPECT_EQ(run_json.at("model").at("details").at("authenticated"), true);
  EXPECT_NE(results.dump().find("pass@1"), std::string::npos) << results.dump(1);

  // The key is nowhere: not in any file of the run, not in the outputs.
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(run_dir)) {
    if (!e.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(slurp(e.path()).find(secret), std::string::npos) << e.path();
  }
  EXPECT_GE(files, 3);
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);

  // Without the key the server refuses; an unset variable is bad input.
  const auto missing = run_cli({"run", "--suite", "humaneval", "--model", model, "--api-key-env",
                                "MOEBENCH_HTTP_TEST_UNSET", "--limit", "1", "--out", (dir / "runs").string(),
                                "--progress", "quiet"},
                               dir.path());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("MOEBENCH_HTTP_TEST_UNSET"), std::string::npos) << missing.err;
  const auto anonymous = run_cli({"run", "--suite", "humaneval", "--model", model, "--limit", "1", "--out",
                                  (dir / "runs").string(), "--run-id", "anon", "--progress", "quiet"},
                                 dir.path());
  ASSERT_EQ(anonymous.exit_code, 0) << anonymous.err;
  const auto anon = read_jsonl(dir / "runs" / "anon" / "samples.jsonl");
  ASSERT_EQ(anon.size(), 1u);
  EXPECT_EQ(anon[0].at("generation").at("outcome"), "invalid_response");
  EXPECT_NE(anon[0].at("generation").at("error").get<std::string>().find("HTTP 401"), std::string::npos);

  EXPECT_EQ(srv.terminate(10s), 0);
  EXPECT_EQ(srv.log().find(secret), std::string::npos);
  EXPECT_NE(srv.log().find("stopped"), std::string::npos) << srv.log();
}

TEST(http_cli, sigterm_lets_the_stream_in_flight_finish) {
  temp_dir dir;
  serve_process srv(dir, {"--echo-tokens-per-s", "25", "--shutdown-grace-s", "10"});
  ASSERT_NE(srv.port(), 0);
  openai_options o;
  o.url = srv.url();
  o.model = "echo";
  o.retry.max_retries = 0;
  auto runner = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = "a b c d";
  q.params.max_tokens = 20;  // ~0.8 s
  runner->submit(std::span<const request>(&q, 1), sink);
  for (int i = 0; i < 500 && sink.get(1).chunks.empty(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(sink.get(1).chunks.empty());
  EXPECT_EQ(srv.terminate(10s), 0) << srv.log();
  const completion c = sink.wait(1, 5s);
  EXPECT_EQ(c.status, outcome::ok) << c.error;
  EXPECT_EQ(c.completion_tokens, 20);
  EXPECT_NE(srv.log().find("1 generations completed, 0 cut"), std::string::npos) << srv.log();
}

TEST(http_cli, serve_rejects_unknown_models) {
  temp_dir dir;
  const auto engine = run_cli({"serve", "--model", "gguf:/nonexistent.gguf", "--port", "0"}, dir.path());
  EXPECT_EQ(engine.exit_code, 2);
  EXPECT_NE(engine.err.find("gguf.io"), std::string::npos) << engine.err;
  const auto bogus = run_cli({"serve", "--model", "nope", "--port", "0"}, dir.path());
  EXPECT_EQ(bogus.exit_code, 2);
  const auto bad_spec = run_cli({"run", "--suite", "humaneval", "--model", "openai:http://127.0.0.1:1/v1",
                                 "--out", (dir / "runs").string()},
                                dir.path());
  EXPECT_EQ(bad_spec.exit_code, 2);
  EXPECT_NE(bad_spec.err.find("openai.bad_spec"), std::string::npos) << bad_spec.err;
}

TEST(http_cli, bench_openai_prints_figures) {
  temp_dir dir;
  serve_process srv(dir, {});
  ASSERT_NE(srv.port(), 0);
  const auto r = run_cli({"bench", "openai", "--url", srv.url(), "--model", "echo", "--concurrency", "8",
                          "--duration-s", "0.5", "--warmup-s", "0.1", "--json", (dir / "bench.json").string()},
                         dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok requests/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("us per chunk"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(dir / "bench.json"));
  EXPECT_GT(j.at("ok_requests_per_s").get<double>(), 0);
  EXPECT_GT(j.at("chunks").get<int64_t>(), 0);
  EXPECT_GT(j.at("client_cpu_per_chunk_us").get<double>(), 0);
}

}  // namespace
}  // namespace moebench::testing
