// End to end through the moebench binary: `moebench serve --model echo` as a child process,
// `moebench run --model openai:...` against it, SIGTERM handling, the API key kept out of every
// file and output, and the `bench openai` command.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "moebench/model/gguf.h"
#include "moebench/runners/openai.h"
#include "moebench/stats.h"
#include "moebench/suites/humaneval.h"
#include "moebench/tokenizer/tokenizer.h"
#include "test_servers.h"
#include "test_tls.h"
#include "test_util.h"

namespace moebench::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* key_var = "MOEBENCH_HTTP_TEST_KEY";
const std::string secret = "sk-moebench-test-5e1f0c2b9a";

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
  serve_process srv(dir, "echo", {"--api-key-env", key_var, "--echo-tokens-per-s", "2000", "--echo-max-tokens", "64"});
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
    EXPECT_EQ(g.at("token_source"), "usage");
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
  EXPECT_EQ(results.at("suites").at(0).at("token_sources"), (nlohmann::json{{"usage", 8}}));
  // The retry jitter has its own named seed, derived from --seed like the others.
  EXPECT_EQ(run_json.at("seeds").at("retry_jitter").get<uint64_t>(), derive_seed(0, "retry_jitter"));
  EXPECT_EQ(results.at("seeds").at("retry_jitter"), run_json.at("seeds").at("retry_jitter"));

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

// A synthetic model's GGUF: its tokenizer is what --tokenizer loads.
fs::path synth_gguf(const temp_dir& dir) {
  const fs::path model = dir / "tok.gguf";
  const auto r = run_cli({"model", "synth", "--preset", "dsv3-mini", "--type", "q8_0", "-o", model.string()}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return model;
}

TEST(http_cli, token_counts_say_where_they_come_from) {
  temp_dir dir;
  serve_process srv(dir, "echo", {"--echo-max-tokens", "64"});
  ASSERT_NE(srv.port(), 0);
  const fs::path gguf = synth_gguf(dir);
  const gguf::file file(gguf.string());
  const auto tok = tokenizer::tokenizer::from_gguf(file);
  const auto problems = humaneval::load_problems("builtin");
  const auto run = [&](const std::string& id, const std::string& options, bool with_tokenizer) {
    std::vector<std::string> args = {"run", "--suite", "humaneval", "--model", "openai:" + srv.url() + "#echo" + options,
                                     "--limit", "3", "--max-tokens", "20", "--out", (dir / "runs").string(),
                                     "--run-id", id, "--progress", "quiet", "-j", "3"};
    if (with_tokenizer) args.insert(args.end(), {"--tokenizer", gguf.string()});
    const auto r = run_cli(args, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("token counts from: "), std::string::npos) << r.out;
    return read_jsonl(dir / "runs" / id / "samples.jsonl");
  };
  const auto sources = [&](const std::string& id) {
    return nlohmann::json::parse(slurp(dir / "runs" / id / "results.json")).at("suites").at(0).at("token_sources");
  };

  // The server's usage wins even with a tokenizer at hand.
  for (const auto& rec : run("usage", "", true)) EXPECT_EQ(rec.at("generation").at("token_source"), "usage");
  EXPECT_EQ(sources("usage"), (nlohmann::json{{"usage", 3}}));

  // Without usage: the GGUF's tokenizer, exactly as it counts the texts itself.
  const auto counted = run("tokenizer", "?usage=0", true);
  ASSERT_EQ(counted.size(), 3u);
  for (const auto& rec : counted) {
    const auto& g = rec.at("generation");
    ASSERT_EQ(g.at("outcome"), "ok") << g.dump();
    EXPECT_EQ(g.at("token_source"), "tokenizer");
    const std::string text = rec.at("completion").get<std::string>();
    EXPECT_EQ(g.at("completion_tokens").get<int64_t>(), static_cast<int64_t>(tok.encode(text).size())) << text;
    const auto& prompt = problems.problems.at(problems.index.at(rec.at("task_id").get<std::string>())).prompt;
    EXPECT_EQ(g.at("prompt_tokens").get<int64_t>(),
              static_cast<int64_t>(tok.encode(prompt, {.add_special = true, .parse_special = true}).size()));
  }
  EXPECT_EQ(sources("tokenizer"), (nlohmann::json{{"tokenizer", 3}}));
  const auto run_json = nlohmann::json::parse(slurp(dir / "runs" / "tokenizer" / "run.json"));
  EXPECT_EQ(run_json.at("settings_effective").at("token_counter"), "tokenizer:" + gguf.string());
  EXPECT_EQ(run_json.at("model").at("details").at("token_counter"), "tokenizer:" + gguf.string());

  // Neither: content chunks.
  for (const auto& rec : run("chunks", "?usage=0", false)) {
    const auto& g = rec.at("generation");
    EXPECT_EQ(g.at("token_source"), "chunks");
    EXPECT_EQ(g.at("completion_tokens"), rec.at("runner_extra").at("content_chunks"));
  }
  EXPECT_EQ(sources("chunks"), (nlohmann::json{{"chunks", 3}}));

  // --tokenizer with a model that counts its own tokens is a mistake, said so.
  const auto oracle = run_cli({"run", "--suite", "humaneval", "--tokenizer", gguf.string(), "--limit", "1", "--out",
                               (dir / "runs").string(), "--progress", "quiet"},
                              dir.path());
  EXPECT_EQ(oracle.exit_code, 2);
  EXPECT_NE(oracle.err.find("--tokenizer"), std::string::npos) << oracle.err;

  // Throughput: each query record says where its counts came from, and the level sums them.
  const auto tp = run_cli({"run", "--suite", "throughput", "--scenario", "offline", "--model",
                           "openai:" + srv.url() + "#echo?usage=0", "--tokenizer", gguf.string(), "--queries", "4",
                           "--min-queries", "1", "--min-duration-s", "0", "--input-len", "12", "--output-len", "6",
                           "--out", (dir / "runs").string(), "--run-id", "tp"},
                          dir.path());
  ASSERT_EQ(tp.exit_code, 0) << tp.out << tp.err;
  std::vector<nlohmann::json> queries;
  for (auto& rec : read_jsonl(dir / "runs" / "tp" / "samples.jsonl"))
    if (rec.at("type") == "query") queries.push_back(std::move(rec));
  ASSERT_EQ(queries.size(), 4u);
  for (const auto& q : queries) {
    EXPECT_EQ(q.at("token_source"), "tokenizer") << q.dump();
    EXPECT_EQ(q.at("input_tokens"), 12) << q.dump();  // the synthesiser made them exactly 12
    EXPECT_TRUE(q.at("input_tokens_reported").get<bool>());
  }
  EXPECT_EQ(sources("tp"), (nlohmann::json{{"tokenizer", 4}}));
  const auto tp_run = nlohmann::json::parse(slurp(dir / "runs" / "tp" / "run.json"));
  EXPECT_EQ(tp_run.at("seeds").at("retry_jitter").get<uint64_t>(), derive_seed(0, "retry_jitter"));
}

// The retry jitter is a named seed: recorded, overridable, and it alone fixes the waits.
TEST(http_cli, retry_jitter_seed_is_recorded_and_reproduces_the_waits) {
  temp_dir dir;
  // A port with nothing behind it: every attempt is refused, and retried.
  int dead_port = 0;
  {
    fault_server probe([](const fault_server::connection&) {});
    dead_port = probe.port();
  }
  const std::string model = "openai:http://127.0.0.1:" + std::to_string(dead_port) + "/v1#m?retries=2";
  const auto run = [&](const std::string& id, std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--suite", "humaneval", "--model", model, "--limit", "2", "--seed", "5",
                                     "--out", (dir / "runs").string(), "--run-id", id, "--progress", "quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_cli(args, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::map<std::string, std::vector<int64_t>> waits;
    for (const auto& rec : read_jsonl(dir / "runs" / id / "samples.jsonl")) {
      EXPECT_EQ(rec.at("generation").at("outcome"), "unavailable");
      EXPECT_EQ(rec.at("generation").at("retries"), 2);
      waits[rec.at("key").get<std::string>()] = rec.at("runner_extra").at("backoff_ms").get<std::vector<int64_t>>();
    }
    const auto run_json = nlohmann::json::parse(slurp(dir / "runs" / id / "run.json"));
    return std::pair{run_json.at("seeds").at("retry_jitter").get<uint64_t>(), waits};
  };
  const auto [seed_a, waits_a] = run("a", {});
  const auto [seed_b, waits_b] = run("b", {});
  EXPECT_EQ(seed_a, derive_seed(5, "retry_jitter"));
  EXPECT_EQ(seed_a, seed_b);
  ASSERT_EQ(waits_a.size(), 2u);
  EXPECT_EQ(waits_a, waits_b);
  for (const auto& [key, w] : waits_a) EXPECT_EQ(w.size(), 2u) << key;
  // Overridden: recorded as given, and a different schedule.
  const auto [seed_c, waits_c] = run("c", {"--seed-retry-jitter", "77"});
  EXPECT_EQ(seed_c, 77u);
  EXPECT_NE(waits_c, waits_a);
  // A local model has no retries and no such seed.
  const auto local = run_cli({"run", "--suite", "humaneval", "--limit", "1", "--out", (dir / "runs").string(),
                              "--run-id", "local", "--progress", "quiet"},
                             dir.path());
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_FALSE(nlohmann::json::parse(slurp(dir / "runs" / "local" / "run.json")).at("seeds").contains("retry_jitter"));
}

TEST(http_cli, serve_https_with_a_private_ca) {
  temp_dir dir;
  test_pki pki(dir.path(), "moebench-cli");
  const auto files = pki.issue("server", "IP:127.0.0.1,DNS:localhost");
  serve_process srv(dir, "echo", {"--tls-cert", files.cert.string(), "--tls-key", files.key.string()});
  ASSERT_NE(srv.port(), 0);
  const std::string url = "https://localhost:" + std::to_string(srv.port()) + "/v1";
  const auto r = run_cli({"run", "--suite", "humaneval", "--model", "openai:" + url + "#echo?ca_file=" +
                          pki.ca_file().string(), "--limit", "2", "--max-tokens", "8", "--out",
                          (dir / "runs").string(), "--run-id", "tls", "--progress", "quiet"},
                         dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The port file precedes the banner: read the log once the server has answered.
  EXPECT_NE(srv.log().find("https://127.0.0.1:"), std::string::npos) << srv.log();
  for (const auto& rec : read_jsonl(dir / "runs" / "tls" / "samples.jsonl")) {
    EXPECT_EQ(rec.at("generation").at("outcome"), "ok") << rec.dump();
    EXPECT_GT(rec.at("generation").at("timing").at("chunks").get<int64_t>(), 1);
  }
  // Without the CA: every sample fails fast as a misconfiguration, without retries.
  const auto untrusted = run_cli({"run", "--suite", "humaneval", "--model", "openai:" + url + "#echo", "--limit", "2",
                                  "--out", (dir / "runs").string(), "--run-id", "untrusted", "--progress", "quiet"},
                                 dir.path());
  ASSERT_EQ(untrusted.exit_code, 0) << untrusted.err;
  for (const auto& rec : read_jsonl(dir / "runs" / "untrusted" / "samples.jsonl")) {
    EXPECT_EQ(rec.at("generation").at("outcome"), "invalid_response");
    EXPECT_EQ(rec.at("generation").at("retries"), 0);
    EXPECT_NE(rec.at("generation").at("error").get<std::string>().find("certificate verify failed"), std::string::npos);
  }
  // A key that does not exist: exit 2, naming the flag.
  const auto bad = run_cli({"serve", "--model", "echo", "--port", "0", "--tls-cert", files.cert.string(), "--tls-key",
                            (dir / "missing.pem").string()},
                           dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--tls-key"), std::string::npos) << bad.err;
  EXPECT_EQ(srv.terminate(10s), 0) << srv.log();
}

TEST(http_cli, sigterm_lets_the_stream_in_flight_finish) {
  temp_dir dir;
  serve_process srv(dir, "echo", {"--echo-tokens-per-s", "25", "--shutdown-grace-s", "10"});
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
  serve_process srv(dir, "echo", {});
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
