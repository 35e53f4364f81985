// The engine against llama.cpp (node-llama-cpp 3.21.1 prebuilt CPU binaries, F32 KV cache, no
// flash attention) on the synthetic presets: in F32 the next-token distributions agree (top-20
// logprobs, NMSE of the full logits <= 1e-4) and 32-token greedy continuations are identical;
// in Q8_0 the agreement is measured and bounded loosely (llama.cpp quantises activations to 8
// bits in Q8_0 products; docs/engine.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

std::string run(const std::string& cmd, int& status) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[65536];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  status = p ? WEXITSTATUS(pclose(p)) : -1;
  return out;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

std::string bin() { return env_or("MOEBENCH_BIN", MOEBENCH_TEST_BIN); }
std::string oracle_dir() {
  return env_or("MOEBENCH_ORACLE_DIR", env_or("MOEBENCH_SOURCE_DIR", MOEBENCH_TEST_SOURCE_DIR) + "/tests/oracle");
}

std::string join(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

const std::vector<std::string> prompts{"def fibonacci(n):", "The quick brown fox"};
constexpr int n_gen = 32;

// One position's comparison: llama.cpp's full log-distribution against ours.
struct position_cmp {
  double nmse = 0;            // of the logits, both centred (log-softmax differs by a constant)
  double max_top20_gap = 0;   // max |ours - theirs| over llama.cpp's top-20 tokens
  bool top1_same = false;
  bool top20_same_set = false;
  double top20_boundary_gap = 0;  // llama.cpp's logprob gap between its 20th and 21st token
};

position_cmp compare(const nlohmann::json& theirs, const nlohmann::json& ours, int n_vocab) {
  std::vector<double> a(static_cast<std::size_t>(n_vocab), NAN), b(static_cast<std::size_t>(n_vocab), NAN);
  for (int i = 0; i < n_vocab; ++i)
    if (!theirs[static_cast<std::size_t>(i)].is_null()) a[static_cast<std::size_t>(i)] = theirs[static_cast<std::size_t>(i)].get<double>();
  for (const auto& e : ours["top"]) b[e["id"].get<std::size_t>()] = e["logprob"].get<double>();
  double ma = 0, mb = 0;
  int n = 0;
  for (int i = 0; i < n_vocab; ++i)
    if (!std::isnan(a[static_cast<std::size_t>(i)]) && !std::isnan(b[static_cast<std::size_t>(i)])) {
      ma += a[static_cast<std::size_t>(i)];
      mb += b[static_cast<std::size_t>(i)];
      ++n;
    }
  EXPECT_GT(n, n_vocab * 9 / 10) << "most of the vocabulary has a finite logprob on both sides";
  ma /= n;
  mb /= n;
  double num = 0, den = 0;
  for (int i = 0; i < n_vocab; ++i)
    if (!std::isnan(a[static_cast<std::size_t>(i)]) && !std::isnan(b[static_cast<std::size_t>(i)])) {
      const double x = a[static_cast<std::size_t>(i)] - ma, y = b[static_cast<std::size_t>(i)] - mb;
      num += (x - y) * (x - y);
      den += x * x;
    }
  position_cmp c;
  c.nmse = num / den;
  auto order = [](const std::vector<double>& v) {
    std::vector<int> ids(v.size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
    std::stable_sort(ids.begin(), ids.end(), [&](int x, int y) {
      const double vx = std::isnan(v[static_cast<std::size_t>(x)]) ? -1e30 : v[static_cast<std::size_t>(x)];
      const double vy = std::isnan(v[static_cast<std::size_t>(y)]) ? -1e30 : v[static_cast<std::size_t>(y)];
      return vx > vy;
    });
    return ids;
  };
  const auto oa = order(a), ob = order(b);
  c.top1_same = oa[0] == ob[0];
  std::vector<int> ta(oa.begin(), oa.begin() + 20), tb(ob.begin(), ob.begin() + 20);
  std::sort(ta.begin(), ta.end());
  std::sort(tb.begin(), tb.end());
  c.top20_same_set = ta == tb;
  c.top20_boundary_gap = a[static_cast<std::size_t>(oa[19])] - a[static_cast<std::size_t>(oa[20])];
  for (int j = 0; j < 20; ++j) {
    const auto id = static_cast<std::size_t>(oa[static_cast<std::size_t>(j)]);
    c.max_top20_gap = std::max(c.max_top20_gap, std::abs(a[id] - b[id]));
  }
  return c;
}

struct oracle_case {
  const char* preset;
  const char* type;
};
void PrintTo(const oracle_case& c, std::ostream* os) { *os << c.preset << " " << c.type; }

struct run_result {
  nlohmann::json theirs;                // llama_logprobs.mjs output
  std::vector<nlohmann::json> ours;     // moebench generate --json per prompt (free running)
  std::vector<nlohmann::json> forced;   // teacher forced on llama.cpp's tokens
};

// A prompt as text (tokenized by each side) or as token ids (given to both).
struct prompt_spec {
  std::string text;
  std::vector<int> ids;
  std::string arg() const { return ids.empty() ? " --prompt '" + text + "'" : " --prompt-ids " + join(ids); }
};

run_result run_both(const oracle_case& c, bool forced, const std::vector<prompt_spec>& specs, int context = 256) {
  run_result r;
  const std::string oracle = oracle_dir();
  if (!fs::exists(fs::path(oracle) / "node_modules" / "node-llama-cpp")) {
    ADD_FAILURE() << "node-llama-cpp is not installed in " << oracle << ": run scripts/oracle-setup";
    return r;
  }
  const fs::path model = fs::temp_directory_path() /
                         (std::string("moebench_engine_oracle_") + c.preset + "_" + c.type + "_" + std::to_string(context) + ".gguf");
  int status = 0;
  std::string out = run(bin() + " model synth --preset " + c.preset + " --type " + c.type + " -o " + model.string() + " 2>&1", status);
  if (status != 0) {
    ADD_FAILURE() << out;
    return r;
  }
  std::string cmd = "cd " + oracle + " && node llama_logprobs.mjs --model " + model.string() + " --n " + std::to_string(n_gen) +
                    " --context " + std::to_string(context);
  for (const auto& p : specs) cmd += p.arg();
  out = run(cmd, status);
  if (status != 0) {
    ADD_FAILURE() << out;
    return r;
  }
  r.theirs = nlohmann::json::parse(out);
  const int n_vocab = r.theirs["n_vocab"].get<int>();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string common = bin() + " generate --model gguf:" + model.string() + " --threads 2 --json --logprobs " +
                               std::to_string(n_vocab) + " --n-predict " + std::to_string(n_gen) + " --ignore-eos --ctx " +
                               std::to_string(context);
    out = run(common + specs[i].arg() + " 2>&1", status);
    if (status != 0) {
      ADD_FAILURE() << out;
      return r;
    }
    r.ours.push_back(nlohmann::json::parse(out));
    if (forced) {
      std::vector<int> tokens;
      for (const auto& p : r.theirs["runs"][i]["positions"]) tokens.push_back(p["token"].get<int>());
      out = run(common + specs[i].arg() + " --force-ids " + join(tokens) + " 2>&1", status);
      if (status != 0) {
        ADD_FAILURE() << out;
        return r;
      }
      r.forced.push_back(nlohmann::json::parse(out));
    }
  }
  fs::remove(model);
  return r;
}

std::vector<prompt_spec> text_prompts() {
  std::vector<prompt_spec> v;
  for (const auto& p : prompts) v.push_back({p, {}});
  return v;
}

// F32: identical prompt ids and greedy continuations, and at every position NMSE <= 1e-4 of the
// logits and top-20 logprobs within 1e-3. Returns the worst NMSE.
double expect_f32_agreement(const std::string& name, const run_result& r, std::size_t n_prompts) {
  EXPECT_EQ(r.ours.size(), n_prompts);
  if (r.ours.size() != n_prompts) return 1;
  const int n_vocab = r.theirs["n_vocab"].get<int>();
  double worst_nmse = 0, worst_gap = 0;
  for (std::size_t i = 0; i < n_prompts; ++i) {
    const auto& theirs = r.theirs["runs"][i];
    const auto& ours = r.ours[i];
    EXPECT_EQ(ours["prompt_ids"], theirs["prompt_ids"]) << "tokenization of prompt " << i;
    std::vector<int> their_tokens;
    for (const auto& p : theirs["positions"]) their_tokens.push_back(p["token"].get<int>());
    EXPECT_EQ(ours["generated_ids"].get<std::vector<int>>(), their_tokens) << "greedy continuation of prompt " << i;
    const std::size_t same = std::min(ours["logprobs"].size(), theirs["positions"].size());
    EXPECT_EQ(same, static_cast<std::size_t>(n_gen));
    for (std::size_t p = 0; p < same; ++p) {
      if (ours["generated_ids"][p] != theirs["positions"][p]["token"]) break;  // reported above
      const position_cmp c = compare(theirs["positions"][p]["logprobs"], ours["logprobs"][p], n_vocab);
      EXPECT_LE(c.nmse, 1e-4) << "prompt " << i << " position " << p;
      EXPECT_LE(c.max_top20_gap, 1e-3) << "prompt " << i << " position " << p;
      EXPECT_TRUE(c.top1_same);
      EXPECT_TRUE(c.top20_same_set || c.top20_boundary_gap < 1e-3) << "prompt " << i << " position " << p;
      worst_nmse = std::max(worst_nmse, c.nmse);
      worst_gap = std::max(worst_gap, c.max_top20_gap);
    }
  }
  std::cout << name << " f32: worst NMSE " << worst_nmse << ", worst top-20 logprob gap " << worst_gap << "\n";
  return worst_nmse;
}

class engine_f32 : public testing::TestWithParam<oracle_case> {};

TEST_P(engine_f32, matches_llama_cpp) {
  const run_result r = run_both(GetParam(), false, text_prompts());
  RecordProperty("worst_nmse", std::to_string(expect_f32_agreement(GetParam().preset, r, prompts.size())));
}

// DeepSeek-V4 (dsv4-mini) over prompts of 600+ tokens: past the 128-token sliding window, with
// 150+ ratio-4 blocks of which the indexer keeps 16 per query, and four ratio-128 blocks. One
// prompt is text (tokenized by both sides), one is 700 token ids.
TEST(engine_f32_long, deepseek4_matches_llama_cpp_past_the_window) {
  std::string text;
  for (int i = 0; i < 13; ++i)  // ~700 tokens of the built-in vocabulary
    text += "def step_" + std::to_string(i) + "(x, y):\n    return x * " + std::to_string(i * 7 % 13) + " + y - " +
            std::to_string(i) + "\n# the quick brown fox jumps over the lazy dog " + std::to_string(i * i) + "\n";
  prompt_spec ids{"", {510}};
  for (int i = 0; i < 700; ++i) ids.ids.push_back((i * 7919 + 13) % 510);
  const run_result r = run_both({"dsv4-mini", "f32"}, false, {{text, {}}, ids}, 1024);
  ASSERT_EQ(r.ours.size(), 2u);
  EXPECT_GE(r.ours[0]["prompt_ids"].size(), 600u) << "the text prompt crosses the window several times";
  RecordProperty("worst_nmse", std::to_string(expect_f32_agreement("dsv4-mini (600+ token prompts)", r, 2)));
}

INSTANTIATE_TEST_SUITE_P(presets, engine_f32,
                         testing::Values(oracle_case{"dsv3-mini", "f32"}, oracle_case{"dsv2-lite-mini", "f32"},
                                         oracle_case{"qwen3moe-mini", "f32"}, oracle_case{"mixtral-mini", "f32"},
                                         oracle_case{"dsv4-mini", "f32"}),
                         [](const testing::TestParamInfo<oracle_case>& i) {
                           std::string n = i.param.preset;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

class engine_q8 : public testing::TestWithParam<oracle_case> {};

// Teacher-forced on llama.cpp's greedy tokens, so every position is comparable.
TEST_P(engine_q8, agreement_is_measured) {
  const run_result r = run_both(GetParam(), true, text_prompts());
  ASSERT_EQ(r.forced.size(), prompts.size());
  const int n_vocab = r.theirs["n_vocab"].get<int>();
  int positions = 0, top1 = 0;
  double nmse_sum = 0, worst_gap = 0;
  std::vector<double> gaps;
  int64_t near_ties = 0, decisions = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto& theirs = r.theirs["runs"][i]["positions"];
    const auto& ours = r.forced[i];
    ASSERT_EQ(ours["logprobs"].size(), theirs.size());
    for (std::size_t p = 0; p < theirs.size(); ++p) {
      const position_cmp c = compare(theirs[p]["logprobs"], ours["logprobs"][p], n_vocab);
      ++positions;
      top1 += c.top1_same ? 1 : 0;
      nmse_sum += c.nmse;
      worst_gap = std::max(worst_gap, c.max_top20_gap);
      gaps.push_back(c.max_top20_gap);
    }
    near_ties += ours["routing"]["near_tie_decisions"].get<int64_t>();
    decisions += ours["routing"]["routing_decisions"].get<int64_t>();
  }
  std::sort(gaps.begin(), gaps.end());
  const double agreement = static_cast<double>(top1) / positions;
  const double mean_nmse = nmse_sum / positions;
  std::cout << GetParam().preset << " q8_0: top-1 agreement " << top1 << "/" << positions << ", mean NMSE " << mean_nmse
            << ", median top-20 gap " << gaps[gaps.size() / 2] << ", worst " << worst_gap << ", near-tied routing decisions "
            << near_ties << "/" << decisions << "\n";
  RecordProperty("top1_agreement", std::to_string(agreement));
  RecordProperty("mean_nmse", std::to_string(mean_nmse));
  // Loose bounds that a broken Q8_0 path (wrong scales, wrong block layout) would fail by far.
  EXPECT_GE(agreement, 0.75);
  EXPECT_LE(mean_nmse, 0.05);
}

INSTANTIATE_TEST_SUITE_P(presets, engine_q8,
                         testing::Values(oracle_case{"dsv3-mini", "q8_0"}, oracle_case{"qwen3moe-mini", "q8_0"},
                                         oracle_case{"dsv4-mini", "mxfp4"}),
                         [](const testing::TestParamInfo<oracle_case>& i) {
                           std::string n = i.param.preset;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
