// The engine backend without HTTP: many concurrent requests through few slots give exactly
// the text generate() gives each alone (greedy and seeded sampling, stops, chunked prefill
// mixed with decoding); cancelling frees the slot; a prompt that does not fit is rejected
// alone.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "moebench/engine/engine.h"
#include "moebench/model/synth.h"
#include "moebench/serve/engine_backend.h"

namespace moebench::serve {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path synth_model(const std::string& preset, gguf::tensor_type type) {
  const fs::path p = fs::temp_directory_path() / ("moebench_serve_test_" + preset + "_" + std::string(gguf::name(type)) + ".gguf");
  if (!fs::exists(p)) {
    model::synth_options o;
    o.type = type;
    model::synth(model::preset(preset), o, p);
  }
  return p;
}

class recording_sink final : public generation_sink {
 public:
  void on_token(std::string_view text) override {
    std::lock_guard lock(mu_);
    if (done_) after_finish_ = true;
    text_ += text;
    ++pieces_;
    cv_.notify_all();
  }
  void on_finish(const generation_summary& s) override {
    std::lock_guard lock(mu_);
    if (done_) finished_twice_ = true;
    summary_ = s;
    done_ = true;
    cv_.notify_all();
  }
  generation_summary wait(std::chrono::seconds limit = 60s) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [&] { return done_; })) ADD_FAILURE() << "generation did not finish";
    return summary_;
  }
  bool wait_pieces(int64_t n, std::chrono::seconds limit = 30s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pieces_ >= n || done_; }) && pieces_ >= n;
  }
  std::string text() {
    std::lock_guard lock(mu_);
    return text_;
  }
  bool misbehaved() {
    std::lock_guard lock(mu_);
    return after_finish_ || finished_twice_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  int64_t pieces_ = 0;
  generation_summary summary_;
  bool done_ = false, after_finish_ = false, finished_twice_ = false;
};

struct case_ {
  std::string prompt;
  int64_t max_tokens;
  double temperature;
  uint64_t seed;
  std::vector<std::string> stop;
};

class engine_backend_model : public testing::TestWithParam<const char*> {};

TEST_P(engine_backend_model, concurrent_requests_equal_generate_alone) {
  const fs::path path = synth_model(GetParam(), gguf::tensor_type::q8_0);
  // 3 slots for 8 requests; 8 tokens per step: prefill chunks share steps with decoding.
  engine_backend_options o;
  o.engine = {.threads = 2, .max_sequences = 3, .max_batch_tokens = 8};
  auto backend = make_engine_backend(path, o);
  const std::vector<case_> cases{
      {"def add(a, b):\n    ", 24, 0.0, 0, {}},
      {"x", 30, 0.0, 0, {"\n"}},
      {"import math\n\ndef area(r):\n    \"\"\"Circle area.\"\"\"\n", 20, 0.8, 7, {}},
      {"Hello world, this is a longer prompt to prefill in several chunks.", 16, 0.9, 123, {"e"}},
      {"for i in range(10):", 28, 0.0, 0, {"\ndef ", "))"}},
      {"abc", 12, 1.0, 99, {}},
      {"The quick brown fox", 1, 0.0, 0, {}},
      {"class A:\n    pass\n", 26, 0.7, 5, {" a"}},
  };
  std::vector<std::shared_ptr<recording_sink>> sinks;
  std::vector<std::unique_ptr<generation>> gens;
  for (const case_& c : cases) {
    generation_request r;
    r.prompt = c.prompt;
    r.max_tokens = c.max_tokens;
    r.temperature = c.temperature;
    r.seed = c.seed;
    r.stop = c.stop;
    sinks.push_back(std::make_shared<recording_sink>());
    gens.push_back(backend->start(r, sinks.back()));
  }
  engine::engine alone(path, {.threads = 1, .max_batch_tokens = 32});
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const generation_summary s = sinks[i]->wait();
    generation_params g;
    g.max_tokens = cases[i].max_tokens;
    g.temperature = cases[i].temperature;
    g.seed = cases[i].seed;
    g.stop = cases[i].stop;
    const engine::generation_result ref = engine::generate(alone, cases[i].prompt, g);
    EXPECT_EQ(sinks[i]->text(), ref.text) << "request " << i;
    EXPECT_EQ(s.completion_tokens, static_cast<int64_t>(ref.generated_ids.size())) << i;
    EXPECT_EQ(s.prompt_tokens, static_cast<int64_t>(ref.prompt_ids.size())) << i;
    EXPECT_EQ(s.finish, ref.finish == finish_reason::length ? generation_finish::length : generation_finish::stop) << i;
    EXPECT_FALSE(sinks[i]->misbehaved()) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(presets, engine_backend_model, testing::Values("dsv3-mini", "qwen3moe-mini"),
                         [](const testing::TestParamInfo<const char*>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(engine_backend, cancel_frees_the_slot_for_the_next_request) {
  engine_backend_options o;
  o.engine = {.threads = 1, .max_sequences = 1, .max_batch_tokens = 8};
  o.id = "mini";
  auto backend = make_engine_backend(synth_model("dsv3-mini", gguf::tensor_type::q8_0), o);
  EXPECT_EQ(backend->card().id, "mini");
  generation_request long_one;
  long_one.prompt = "def f(x):";
  long_one.max_tokens = 100000;  // clamped to the context: runs until cancelled
  long_one.ignore_eos = true;
  auto a = std::make_shared<recording_sink>();
  auto gen_a = backend->start(long_one, a);
  generation_request next;
  next.prompt = "y = ";
  next.max_tokens = 5;
  next.ignore_eos = true;
  auto b = std::make_shared<recording_sink>();
  auto gen_b = backend->start(next, b);  // waits: the only slot is busy
  ASSERT_TRUE(a->wait_pieces(3));
  gen_a->cancel();
  gen_a->cancel();  // idempotent
  const generation_summary sa = a->wait();
  EXPECT_EQ(sa.finish, generation_finish::cancelled);
  EXPECT_LT(sa.completion_tokens, 900);
  const generation_summary sb = b->wait();
  EXPECT_EQ(sb.finish, generation_finish::length);
  EXPECT_EQ(sb.completion_tokens, 5);
  EXPECT_FALSE(a->misbehaved());
  // A request cancelled while it waits for a slot never runs.
  auto c = std::make_shared<recording_sink>();
  auto gen_long = backend->start(long_one, a = std::make_shared<recording_sink>());
  auto gen_c = backend->start(next, c);
  gen_c->cancel();
  EXPECT_EQ(c->wait().finish, generation_finish::cancelled);
  EXPECT_EQ(c->text(), "");
  gen_long->cancel();
  EXPECT_EQ(a->wait().finish, generation_finish::cancelled);
}

TEST(engine_backend, a_prompt_over_the_context_is_rejected_alone) {
  engine_backend_options o;
  o.engine = {.threads = 1, .context_length = 32, .max_sequences = 2, .max_batch_tokens = 8};
  auto backend = make_engine_backend(synth_model("qwen3moe-mini", gguf::tensor_type::q8_0), o);
  EXPECT_EQ(backend->card().context_tokens, 32);
  generation_request ok;
  ok.prompt = "a b";
  ok.max_tokens = 1000;  // clamped to what the context has left
  ok.ignore_eos = true;
  auto s_ok = std::make_shared<recording_sink>();
  auto g_ok = backend->start(ok, s_ok);
  generation_request big;
  big.prompt = std::string(200, 'z') + " and more words than the context holds";
  auto s_big = std::make_shared<recording_sink>();
  auto g_big = backend->start(big, s_big);
  const generation_summary rb = s_big->wait();
  EXPECT_EQ(rb.finish, generation_finish::rejected);
  EXPECT_NE(rb.error.find("context holds 32"), std::string::npos) << rb.error;
  EXPECT_GT(rb.prompt_tokens, 32);
  const generation_summary rk = s_ok->wait();
  EXPECT_EQ(rk.finish, generation_finish::length);
  EXPECT_EQ(rk.prompt_tokens + rk.completion_tokens, 32);
}

}  // namespace
}  // namespace moebench::serve
