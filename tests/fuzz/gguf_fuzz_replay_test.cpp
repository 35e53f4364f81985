// Replays the GGUF fuzz target over a seed corpus (files our writer produces, which llama.cpp
// loads) and a few thousand deterministic mutations of each seed, so CI exercises the fuzz
// entry point without libFuzzer.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "moebench/model/gguf_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using moebench::gguf::owned_value;
using moebench::gguf::tensor_type;
using moebench::gguf::value_type;

std::vector<std::vector<uint8_t>> seeds() {
  std::vector<std::vector<uint8_t>> out;
  auto add = [&](const moebench::gguf::writer& w) {
    const auto b = w.to_bytes();
    out.emplace_back(reinterpret_cast<const uint8_t*>(b.data()),
                     reinterpret_cast<const uint8_t*>(b.data()) + b.size());
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

// xorshift64: a fixed generator so the mutations are the same on every run.
uint64_t next(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

TEST(gguf_fuzz, replays_seeds_and_mutations) {
  uint64_t rng = 0x6767756675757a7aull;
  int runs = 0;
  for (const auto& seed : seeds()) {
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    ++runs;
    for (int m = 0; m < 1500 && !seed.empty(); ++m) {
      std::vector<uint8_t> d = seed;
      const int edits = 1 + static_cast<int>(next(rng) % 4);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = next(rng) % d.size();
        switch (next(rng) % 5) {
          case 0: d[at] ^= static_cast<uint8_t>(1u << (next(rng) % 8)); break;
          case 1: d[at] = static_cast<uint8_t>(next(rng)); break;
          case 2: {  // an interesting 64-bit little-endian value (counts, lengths, offsets)
            static constexpr uint64_t interesting[] = {0, 1, 0x7f, 0xff, 0x7fffffffull, 0xffffffffull,
                                                       0x8000000000000000ull, ~0ull};
            const uint64_t v = interesting[next(rng) % 8];
            for (int b = 0; b < 8 && at + b < d.size(); ++b) d[at + b] = static_cast<uint8_t>(v >> (8 * b));
            break;
          }
          case 3: d.resize(at); break;  // truncation
          case 4: d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(next(rng))); break;
        }
        if (d.empty()) break;
      }
      LLVMFuzzerTestOneInput(d.data(), d.size());
      ++runs;
    }
  }
  EXPECT_GT(runs, 3000);
}

}  // namespace
