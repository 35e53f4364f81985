// Every synth preset loads in llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binaries) and
// generates tokens. The oracle directory comes from scripts/oracle-setup via
// MOEBENCH_ORACLE_DIR.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace {

std::string run(const std::string& cmd, int& status) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  status = p ? WEXITSTATUS(pclose(p)) : -1;
  return out;
}

struct oracle_case {
  const char* preset;
  const char* type;
};

void PrintTo(const oracle_case& c, std::ostream* os) { *os << c.preset << " " << c.type; }

class llama_oracle : public testing::TestWithParam<oracle_case> {};

TEST_P(llama_oracle, loads_and_generates) {
  const std::string bin = std::getenv("MOEBENCH_BIN") ? std::getenv("MOEBENCH_BIN") : MOEBENCH_TEST_BIN;
  const char* source = std::getenv("MOEBENCH_SOURCE_DIR");
  const char* oracle_env = std::getenv("MOEBENCH_ORACLE_DIR");
  const std::string oracle =
      oracle_env != nullptr ? oracle_env
                            : std::string(source != nullptr ? source : MOEBENCH_TEST_SOURCE_DIR) + "/tests/oracle";
  ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(oracle) / "node_modules" / "node-llama-cpp"))
      << "node-llama-cpp is not installed in " << oracle << ": run scripts/oracle-setup";
  const oracle_case c = GetParam();
  const auto path = std::filesystem::temp_directory_path() /
                    (std::string("moebench_oracle_") + c.preset + "_" + c.type + ".gguf");
  int status = 0;
  std::string out = run(std::string(bin) + " model synth --preset " + c.preset + " --type " + c.type +
                            " -o " + path.string() + " 2>&1",
                        status);
  ASSERT_EQ(status, 0) << out;
  out = run("cd " + oracle + " && node llama_generate.mjs --model " + path.string() +
                " --prompt 'def fibonacci(n):' --n 12",
            status);
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["n_vocab"], 512);
  ASSERT_FALSE(j["prompt_ids"].empty());
  EXPECT_EQ(j["prompt_ids"][0], 510) << "BOS is prepended (add_bos_token)";
  EXPECT_GT(j["prompt_ids"].size(), 2u);
  ASSERT_EQ(j["generated_ids"].size(), 12u);
  std::set<int> distinct;
  for (const auto& t : j["generated_ids"]) {
    EXPECT_GE(t.get<int>(), 0);
    EXPECT_LT(t.get<int>(), 512);
    distinct.insert(t.get<int>());
  }
  EXPECT_GE(distinct.size(), 3u) << "degenerate output: " << out;
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(presets, llama_oracle,
                         testing::Values(oracle_case{"dsv3-mini", "f32"}, oracle_case{"dsv3-mini", "q4_k"},
                                         oracle_case{"dsv2-lite-mini", "f16"},
                                         oracle_case{"dsv2-lite-mini", "q8_0"},
                                         oracle_case{"qwen3moe-mini", "f32"},
                                         oracle_case{"qwen3moe-mini", "q4_k"},
                                         oracle_case{"mixtral-mini", "f32"},
                                         oracle_case{"mixtral-mini", "q8_0"},
                                         oracle_case{"dsv4-mini", "f32"},
                                         oracle_case{"dsv4-mini", "mxfp4"},
                                         oracle_case{"qwen3moe-mini", "mxfp4"}),
                         [](const testing::TestParamInfo<oracle_case>& i) {
                           std::string n = std::string(i.param.preset) + "_" + i.param.type;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
