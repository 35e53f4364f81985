// `moebench serve --model gguf:...` end to end, as child processes of the moebench binary:
// a humaneval run through the openai runner (streamed and not) produces exactly the in-process
// run's samples with several requests in flight; chat renders with the GGUF's template; a
// client that goes away frees its slot; SIGTERM lets the stream in flight finish.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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
#include "moebench/model/gguf_writer.h"
#include "moebench/runners/openai.h"
#include "moebench/serve/chat_template.h"
#include "test_servers.h"
#include "test_util.h"

namespace moebench::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string synth(const temp_dir& dir, const std::string& preset) {
  const std::string model = (dir / (preset + ".gguf")).string();
  const cli_result r = run_cli({"model", "synth", "--preset", preset, "--type", "q8_0", "-o", model}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return model;
}

std::map<std::string, std::string> completions_by_key(const fs::path& run) {
  std::map<std::string, std::string> out;
  std::ifstream in(run / "samples.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto rec = nlohmann::json::parse(line);
    EXPECT_EQ(rec.at("generation").at("outcome"), "ok") << rec.dump();
    out[rec.at("key").get<std::string>()] = rec.at("completion").get<std::string>();
  }
  return out;
}

completion complete(const openai_options& o, const std::string& prompt, int64_t max_tokens) {
  auto runner = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = prompt;
  q.params.max_tokens = max_tokens;
  q.params.temperature = 0;
  runner->submit(std::span<const request>(&q, 1), sink);
  return sink.wait(1, 60s);
}

TEST(serve_engine_cli, humaneval_through_serve_equals_the_in_process_run) {
  temp_dir dir;
  const std::string model = synth(dir, "dsv3-mini");
  // 3 slots, 4 requests in flight from the harness: batching and queueing both happen.
  serve_process srv(dir, "gguf:" + model, {"--model-name", "mini", "--parallel", "3", "--batch-tokens", "16",
                                 "--engine-threads", "2"});
  ASSERT_NE(srv.port(), 0);
  const std::vector<std::string> common = {"run", "--suite", "humaneval", "--limit", "6", "--n", "2",
                                           "--temperature", "0", "--max-tokens", "48", "--out",
                                           (dir / "runs").string(), "--progress", "quiet", "-j", "4"};
  const auto run = [&](const std::string& spec, const std::string& id) {
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--model", spec, "--run-id", id});
    const cli_result r = run_cli(args, dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return completions_by_key(dir / "runs" / id);
  };
  const auto local = run("gguf:" + model, "local");
  const auto streamed = run("openai:" + srv.url() + "#mini", "streamed");
  const auto whole = run("openai:" + srv.url() + "#mini?stream=0", "whole");
  ASSERT_EQ(local.size(), 12u);
  EXPECT_EQ(streamed, local);
  EXPECT_EQ(whole, local);
  int non_empty = 0;
  for (const auto& [key, text] : local) non_empty += text.empty() ? 0 : 1;
  EXPECT_GT(non_empty, 6) << "the comparison is not vacuous";
  EXPECT_EQ(srv.terminate(20s), 0) << srv.log();
  EXPECT_NE(srv.log().find("24 generations completed, 0 cut"), std::string::npos) << srv.log();
  EXPECT_TRUE(srv.log().find("at most 3 sequences") != std::string::npos ||
              srv.log().find("at most 2 sequences") != std::string::npos)
      << "requests shared forward steps: " << srv.log();
}

TEST(serve_engine_cli, chat_renders_with_the_gguf_template) {
  temp_dir dir;
  const std::string plain = synth(dir, "qwen3moe-mini");
  // The same model with a ChatML template in its metadata.
  const std::string model = (dir / "chatml.gguf").string();
  {
    const gguf::file f(plain);
    gguf::writer w;
    for (const gguf::metadata_entry& e : f.metadata()) w.set(std::string(e.key), gguf::to_owned(e.val));
    w.set("tokenizer.chat_template",
          gguf::owned_value::string("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                                    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"));
    for (const gguf::tensor_info& t : f.tensors()) {
      const auto bytes = f.data(t);
      w.add_tensor_bytes(std::string(t.name), t.type, t.shape, std::vector<std::byte>(bytes.begin(), bytes.end()));
    }
    w.write(model);
  }
  serve_process srv(dir, "gguf:" + model, {"--engine-threads", "1", "--parallel", "2"});
  ASSERT_NE(srv.port(), 0);
  openai_options o;
  o.url = srv.url();
  o.model = "qwen3moe-mini";  // without --model-name: the GGUF's general.name
  o.retry.max_retries = 0;
  const std::string question = "def add(a, b):";
  openai_options chat = o;
  chat.api = openai_api::chat;
  const completion c = complete(chat, question, 16);
  ASSERT_EQ(c.status, outcome::ok) << c.error;
  const std::vector<serve::chat_message> msgs{{"user", question}};
  const completion rendered = complete(o, serve::render_chat(serve::chat_format::chatml, msgs), 16);
  ASSERT_EQ(rendered.status, outcome::ok) << rendered.error;
  EXPECT_EQ(c.text, rendered.text);
  EXPECT_EQ(c.prompt_tokens, rendered.prompt_tokens);
  const completion default_render = complete(o, serve::render_chat(serve::chat_format::plain, msgs), 16);
  EXPECT_NE(c.prompt_tokens, default_render.prompt_tokens) << "the template, not the default, was used";
}

TEST(serve_engine_cli, a_client_that_leaves_frees_its_slot) {
  temp_dir dir;
  const std::string model = synth(dir, "dsv3-mini");
  serve_process srv(dir, "gguf:" + model, {"--model-name", "m", "--parallel", "1", "--context", "4096", "--engine-threads", "1"});
  ASSERT_NE(srv.port(), 0);
  {
    // A stream that would run ~4000 tokens: read its first bytes, then hang up.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(srv.port()));
    a.sin_addr.s_addr = htonl(0x7f000001u);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string body =
        R"({"model":"m","prompt":"x","max_tokens":100000,"ignore_eos":true,"stream":true,"temperature":0})";
    const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[4096];
    while (got.find("\"text\"") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0);
      got.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
  }
  openai_options o;
  o.url = srv.url();
  o.model = "m";
  o.retry.max_retries = 0;
  auto runner = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = "y";
  q.params.max_tokens = 4;
  const auto t0 = std::chrono::steady_clock::now();
  runner->submit(std::span<const request>(&q, 1), sink);
  const completion c = sink.wait(1, 60s);
  EXPECT_EQ(c.status, outcome::ok) << c.error;
  // The abandoned generation alone would hold the only slot for several seconds more.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(srv.terminate(20s), 0);
  EXPECT_NE(srv.log().find("1 generations completed, 1 cut"), std::string::npos) << srv.log();
}

TEST(serve_engine_cli, sigterm_lets_the_stream_in_flight_finish) {
  temp_dir dir;
  const std::string model = synth(dir, "dsv3-mini");
  serve_process srv(dir, "gguf:" + model, {"--model-name", "m", "--engine-threads", "1", "--shutdown-grace-s", "30"});
  ASSERT_NE(srv.port(), 0);
  openai_options o;
  o.url = srv.url();
  o.model = "m";
  o.retry.max_retries = 0;
  auto runner = make_openai_runner(o);
  collect_sink sink;
  request q;
  q.id = 1;
  q.prompt = "def f(x):";
  q.params.max_tokens = 200;
  runner->submit(std::span<const request>(&q, 1), sink);
  for (int i = 0; i < 2000 && sink.get(1).chunks.empty(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(sink.get(1).chunks.empty());
  EXPECT_EQ(srv.terminate(30s), 0) << srv.log();
  const completion c = sink.wait(1, 10s);
  EXPECT_EQ(c.status, outcome::ok) << c.error;
  EXPECT_GT(c.completion_tokens, 0);
  EXPECT_NE(srv.log().find("1 generations completed, 0 cut"), std::string::npos) << srv.log();
}

TEST(serve_engine_cli, a_prompt_over_the_context_gets_400_and_the_server_goes_on) {
  temp_dir dir;
  const std::string model = synth(dir, "qwen3moe-mini");
  serve_process srv(dir, "gguf:" + model, {"--model-name", "m", "--context", "32", "--engine-threads", "1"});
  ASSERT_NE(srv.port(), 0);
  openai_options o;
  o.url = srv.url();
  o.model = "m";
  o.retry.max_retries = 0;
  for (const bool stream : {true, false}) {
    o.stream = stream;
    const completion big = complete(o, std::string(300, 'q') + " is far longer than the context", 4);
    EXPECT_EQ(big.status, outcome::invalid_response) << big.error;
    EXPECT_NE(big.error.find("HTTP 400"), std::string::npos) << big.error;
    EXPECT_NE(big.error.find("the context holds 32"), std::string::npos) << big.error;
    const completion ok = complete(o, "a b", 4);
    EXPECT_EQ(ok.status, outcome::ok) << ok.error;
  }
}

TEST(serve_engine_cli, bad_engine_options_and_files_are_errors) {
  temp_dir dir;
  const auto missing = run_cli({"serve", "--model", "gguf:/nonexistent.gguf", "--port", "0"}, dir.path());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("gguf.io"), std::string::npos) << missing.err;
  const auto bad = run_cli({"serve", "--model", "gguf:/nonexistent.gguf", "--parallel", "0"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--parallel"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace moebench::testing
