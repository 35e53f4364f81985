// Replays the GGUF fuzz target over a seed corpus (files our writer produces, which llama.cpp
// loads) and a few thousand deterministic mutations of each seed, so CI exercises the fuzz
// entry point without libFuzzer.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "moebench/model/gguf_writer.h"
#include "replay.h"

namespace {

using moebench::gguf::owned_value;
using moebench::gguf::tensor_type;
using moebench::gguf::value_type;

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  auto add = [&](const moebench::gguf::writer& w) {
    const auto b = w.to_bytes();
    out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  };
  {
    moebench::gguf::writer w;
    w.set("general.architecture", owned_value::string("llama"));
    w.set("a.u32", owned_value::u32(7));
    w.set("a.i8", owned_value::i8(-3));
    w.set("a.f64", owned_value::f64(2.5));
    w.set("a.bool", owned_value::boolean(true));
    w.set("a.strs", owned_value::array(value_type::string, {owned_value::string("x"), owned_value::string("yz")}));
    w.set("a.nested", owned_value::array(value_type::array,
                                         {owned_value::array(value_type::i32, {owned_value::i32(1)}),
                                          owned_value::array(value_type::u8, {})}));
    const std::vector<std::pair<tensor_type, int64_t>> types{
        {tensor_type::f32, 8}, {tensor_type::f16, 8}, {tensor_type::bf16, 8},
        {tensor_type::q8_0, 32}, {tensor_type::q4_k, 256}};
    int i = 0;
    for (const auto& [t, n] : types)
      w.add_tensor("t" + std::to_string(i++), t, {n, 2}, [n = n](int64_t row, float* o) {
        for (int64_t k = 0; k < n; ++k) o[k] = static_cast<float>((k * 7 + row * 3) % 11) - 5.0f;
      });
    std::vector<std::byte> q4_0(18 * 2), q5_0(22), q5_k(176), q6_k(210);
    w.add_tensor_bytes("q4_0", tensor_type::q4_0, {64}, q4_0);
    w.add_tensor_bytes("q5_0", tensor_type::q5_0, {32}, q5_0);
    w.add_tensor_bytes("q5_k", tensor_type::q5_k, {256}, q5_k);
    w.add_tensor_bytes("q6_k", tensor_type::q6_k, {256}, q6_k);
    add(w);
  }
  {
    moebench::gguf::writer w(64);
    w.set("general.alignment", owned_value::u32(64));
    w.add_tensor("one", tensor_type::f32, {4}, [](int64_t, float* o) {
      for (int k = 0; k < 4; ++k) o[k] = 1.0f;
    });
    add(w);
  }
  out.push_back({});
  return out;
}

TEST(gguf_fuzz, replays_seeds_and_mutations) {
  const auto corpus = seeds();
  ASSERT_EQ(corpus.size(), 3u);
  EXPECT_EQ(moebench::fuzz::replay(corpus, {.seed = 0x6767756675757a7aull, .mutations_per_seed = 1500}),
            3 * 1501);
}

}  // namespace
