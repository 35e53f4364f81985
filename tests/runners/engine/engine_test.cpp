// The engine on synthetic models written in-process: the SIMD kernels against the scalar
// reference end to end, batched prefill against token-by-token evaluation, independent
// sequences, the generation loop (stop sequences, max tokens, streaming), and load errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/gguf_writer.h"
#include "moebench/model/inspect.h"
#include "moebench/model/synth.h"

namespace moebench::engine {
namespace {

namespace fs = std::filesystem;

fs::path synth_model(const std::string& preset, gguf::tensor_type type) {
  const fs::path p = fs::temp_directory_path() / ("moebench_engine_test_" + preset + "_" + std::string(gguf::name(type)) + ".gguf");
  if (!fs::exists(p)) {
    model::synth_options o;
    o.type = type;
    model::synth(model::preset(preset), o, p);
  }
  return p;
}

double nmse(std::span<const float> a, std::span<const float> b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return num / den;
}

const std::vector<int32_t> prompt{510, 288, 323, 40, 110, 278, 13, 200, 301, 42, 7, 99};

struct preset_case {
  const char* preset;
  gguf::tensor_type type;
};
void PrintTo(const preset_case& c, std::ostream* os) { *os << c.preset << " " << gguf::name(c.type); }

class engine_model : public testing::TestWithParam<preset_case> {};

// The whole forward pass with the scalar reference kernels and with the best variant: NMSE of
// the logits <= 1e-10 (the variants differ only in summation order).
TEST_P(engine_model, simd_matches_scalar_reference) {
  const fs::path p = synth_model(GetParam().preset, GetParam().type);
  engine fast(p, {.threads = 2});
  engine ref(p, {.threads = 1, .scalar_kernels = true});
  EXPECT_EQ(ref.kernels(), "scalar");
  const auto a = fast.eval(0, prompt);
  const std::vector<float> fast_logits(a.begin(), a.end());
  const auto b = ref.eval(0, prompt);
  EXPECT_LE(nmse(fast_logits, b), 1e-10) << fast.kernels();
}

// Prefill in chunks of 5 and one token at a time give the same logits as one batch.
TEST_P(engine_model, batched_prefill_matches_token_by_token) {
  const fs::path p = synth_model(GetParam().preset, GetParam().type);
  engine batch(p, {.threads = 2, .max_batch_tokens = 5});
  engine single(p, {.threads = 2, .max_batch_tokens = 1});
  const auto a = batch.eval(0, prompt);
  const std::vector<float> batch_logits(a.begin(), a.end());
  std::span<const float> b;
  for (int32_t t : prompt) b = single.eval(0, std::span<const int32_t>(&t, 1));
  EXPECT_LE(nmse(batch_logits, b), 1e-10);
  EXPECT_EQ(batch.sequence_length(0), static_cast<int64_t>(prompt.size()));
}

// Sequences have separate caches: interleaving another sequence changes nothing.
TEST_P(engine_model, sequences_are_independent) {
  const fs::path p = synth_model(GetParam().preset, GetParam().type);
  engine e(p, {.threads = 2, .max_sequences = 2});
  const auto a = e.eval(0, prompt);
  const std::vector<float> alone(a.begin(), a.end());
  e.reset(0);
  const std::vector<int32_t> half(prompt.begin(), prompt.begin() + 6), rest(prompt.begin() + 6, prompt.end());
  e.eval(0, half);
  e.eval(1, std::vector<int32_t>{5, 6, 7, 8, 9});
  const auto b = e.eval(0, rest);
  EXPECT_LE(nmse(alone, b), 1e-12);
  EXPECT_EQ(e.sequence_length(1), 5);
}

INSTANTIATE_TEST_SUITE_P(presets, engine_model,
                         testing::Values(preset_case{"dsv3-mini", gguf::tensor_type::f32},
                                         preset_case{"dsv3-mini", gguf::tensor_type::q8_0},
                                         preset_case{"dsv2-lite-mini", gguf::tensor_type::f16},
                                         preset_case{"qwen3moe-mini", gguf::tensor_type::q4_k},
                                         preset_case{"mixtral-mini", gguf::tensor_type::f32},
                                         preset_case{"dsv4-mini", gguf::tensor_type::f32},
                                         preset_case{"dsv4-mini", gguf::tensor_type::mxfp4}),
                         [](const testing::TestParamInfo<preset_case>& i) {
                           std::string n = std::string(i.param.preset) + "_" + std::string(gguf::name(i.param.type));
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// Continuous batching: one step over decode tokens of sequences of different lengths and
// prefill chunks of a new one gives, bit for bit, the logits of each sequence evaluated alone.
class engine_batch : public testing::TestWithParam<preset_case> {};

TEST_P(engine_batch, batched_step_equals_each_sequence_alone) {
  const fs::path p = synth_model(GetParam().preset, GetParam().type);
  const engine_options o{.threads = 2, .max_sequences = 4, .max_batch_tokens = 16};
  engine batched(p, o);
  engine alone(p, o);
  const std::vector<int32_t> p0(prompt.begin(), prompt.begin() + 7), p1(prompt.begin() + 2, prompt.begin() + 5),
      p2(prompt.begin(), prompt.end()), p3{33, 44, 55, 66, 77, 88, 99, 111, 222};
  // Sequences 0-2 hold prompts of 7, 3 and 12 tokens; sequence 3 is new.
  std::vector<float> first0, first1, first2;
  for (engine* e : {&batched, &alone}) {
    e->eval(0, p0);
    e->eval(1, p1);
    e->eval(2, p2);
  }
  const auto exact = [](std::span<const float> a, std::span<const float> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
  };
  // Step 1: a decode token for each of 0-2 and the first 5 prompt tokens of 3 (no logits).
  const int32_t d0[1] = {101}, d1[1] = {202}, d2[1] = {303};
  const std::vector<batch_entry> step1{{0, d0}, {3, std::span(p3).first(5), false}, {1, d1}, {2, d2}};
  const auto out1 = batched.eval_batch(step1);
  ASSERT_EQ(out1.size(), 4u);
  EXPECT_TRUE(out1[1].empty());
  std::vector<std::vector<float>> got;
  for (const auto& l : out1) got.emplace_back(l.begin(), l.end());
  EXPECT_TRUE(exact(got[0], alone.eval(0, d0))) << "sequence 0";
  EXPECT_TRUE(exact(got[2], alone.eval(1, d1))) << "sequence 1";
  EXPECT_TRUE(exact(got[3], alone.eval(2, d2))) << "sequence 2";
  // Step 2: the rest of 3's prompt with its logits, beside more decode tokens.
  const std::vector<batch_entry> step2{{2, d0}, {3, std::span(p3).subspan(5)}, {0, d2}};
  const auto out2 = batched.eval_batch(step2);
  got.clear();
  for (const auto& l : out2) got.emplace_back(l.begin(), l.end());
  EXPECT_TRUE(exact(got[0], alone.eval(2, d0))) << "sequence 2";
  EXPECT_TRUE(exact(got[1], alone.eval(3, p3))) << "sequence 3 (prefilled in one chunk alone)";
  EXPECT_TRUE(exact(got[2], alone.eval(0, d2))) << "sequence 0";
  for (int32_t s = 0; s < 4; ++s) EXPECT_EQ(batched.sequence_length(s), alone.sequence_length(s));
  // A whole step of single decode tokens (the server's steady state).
  const std::vector<batch_entry> step3{{0, d1}, {1, d1}, {2, d1}, {3, d1}};
  const auto out3 = batched.eval_batch(step3);
  got.clear();
  for (const auto& l : out3) got.emplace_back(l.begin(), l.end());
  for (int32_t s = 0; s < 4; ++s) EXPECT_TRUE(exact(got[static_cast<std::size_t>(s)], alone.eval(s, d1))) << s;
}

INSTANTIATE_TEST_SUITE_P(presets, engine_batch,
                         testing::Values(preset_case{"dsv3-mini", gguf::tensor_type::f32},
                                         preset_case{"dsv3-mini", gguf::tensor_type::q8_0},
                                         preset_case{"dsv2-lite-mini", gguf::tensor_type::f32},
                                         preset_case{"dsv2-lite-mini", gguf::tensor_type::q8_0},
                                         preset_case{"qwen3moe-mini", gguf::tensor_type::f32},
                                         preset_case{"qwen3moe-mini", gguf::tensor_type::q8_0},
                                         preset_case{"mixtral-mini", gguf::tensor_type::f32},
                                         preset_case{"mixtral-mini", gguf::tensor_type::q8_0},
                                         preset_case{"dsv4-mini", gguf::tensor_type::f32},
                                         preset_case{"dsv4-mini", gguf::tensor_type::mxfp4}),
                         [](const testing::TestParamInfo<preset_case>& i) {
                           std::string n = std::string(i.param.preset) + "_" + std::string(gguf::name(i.param.type));
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// DeepSeek-V4 over a prompt that crosses the 128-token window, completes 75 ratio-4 blocks
// (more than the indexer's top-16) and two ratio-128 blocks: prefill in chunks of 1, 7 and 64
// tokens, and interleaved with another sequence, gives the same bits (the window ring, the
// compressor state carried between steps and the block caches do not depend on the chunking).
TEST(engine, deepseek4_long_prompts_are_chunking_independent) {
  const fs::path p = synth_model("dsv4-mini", gguf::tensor_type::f32);
  std::vector<int32_t> ids{510};
  for (int32_t i = 0; i < 300; ++i) ids.push_back((i * 7919 + 13) % 510);
  std::vector<std::vector<float>> runs;
  for (int64_t chunk : {64, 7, 1}) {
    engine e(p, {.threads = 2, .context_length = 512, .max_sequences = 2, .max_batch_tokens = chunk});
    if (chunk == 7) {  // interleave a second sequence between the chunks
      for (std::size_t i = 0; i < ids.size(); i += 50) {
        const auto l = e.eval(0, std::span<const int32_t>(ids).subspan(i, std::min<std::size_t>(50, ids.size() - i)));
        if (i + 50 >= ids.size()) runs.emplace_back(l.begin(), l.end());
        e.eval(1, std::vector<int32_t>{static_cast<int32_t>(i % 500), 3, 4});
      }
    } else {
      const auto l = e.eval(0, ids);
      runs.emplace_back(l.begin(), l.end());
    }
    EXPECT_EQ(e.sequence_length(0), static_cast<int64_t>(ids.size()));
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  // The compressed attention matters: the last 100 tokens alone predict differently.
  engine e(p, {.threads = 2, .context_length = 512});
  const auto l = e.eval(0, std::span<const int32_t>(ids).last(100));
  EXPECT_GT(nmse(runs[0], l), 1e-3);
}

TEST(engine, batch_step_errors_leave_the_sequences_unchanged) {
  engine e(synth_model("qwen3moe-mini", gguf::tensor_type::f32), {.threads = 1, .context_length = 16, .max_sequences = 2});
  e.eval(0, std::vector<int32_t>(10, 5));
  const std::vector<int32_t> seven(7, 1), bad{600};
  try {
    e.eval_batch(std::vector<batch_entry>{{1, seven}, {0, seven}});
    FAIL();
  } catch (const error& ex) {
    EXPECT_EQ(ex.id(), "engine.context_full");
  }
  try {
    e.eval_batch(std::vector<batch_entry>{{1, bad}});
    FAIL();
  } catch (const error& ex) {
    EXPECT_EQ(ex.id(), "engine.bad_token");
  }
  EXPECT_EQ(e.sequence_length(0), 10);
  EXPECT_EQ(e.sequence_length(1), 0);
}

TEST(engine, facts_count_active_parameters) {
  engine e(synth_model("dsv3-mini", gguf::tensor_type::f32), {.threads = 1});
  const model_facts& f = e.facts();
  EXPECT_EQ(f.arch, architecture::deepseek2);
  EXPECT_EQ(f.n_vocab, 512);
  EXPECT_GT(f.total_params, f.active_params_per_token);
  EXPECT_GT(f.active_params_per_token, 0);
  // F32: four bytes per parameter, read or not.
  EXPECT_DOUBLE_EQ(f.weight_bytes, 4 * f.total_params);
  EXPECT_DOUBLE_EQ(f.active_weight_bytes_per_token, 4 * f.active_params_per_token);
}

TEST(engine, routing_telemetry_counts_every_choice) {
  engine e(synth_model("dsv3-mini", gguf::tensor_type::f32), {.threads = 1});
  e.eval(0, prompt);
  const routing_stats& r = e.routing();
  ASSERT_EQ(r.hits.size(), 3u);
  EXPECT_TRUE(r.hits[0].empty()) << "the leading dense block routes nothing";
  for (std::size_t l = 1; l < 3; ++l) {
    int64_t total = 0;
    for (int64_t h : r.hits[l]) total += h;
    EXPECT_EQ(total, static_cast<int64_t>(prompt.size()) * 4) << "4 experts per token in layer " << l;
  }
  EXPECT_EQ(r.decisions, static_cast<int64_t>(prompt.size()) * 2);
  const nlohmann::json s = summarize(r);
  EXPECT_EQ(s["layers"].size(), 2u);
  EXPECT_GE(s["mean_imbalance"].get<double>(), 1.0);
  // Normalised weights over 4 experts: entropy in (0, 2] bits.
  EXPECT_GT(s["mean_gate_entropy_bits"].get<double>(), 0.0);
  EXPECT_LE(s["mean_gate_entropy_bits"].get<double>(), 2.0 + 1e-9);
}

TEST(engine, generation_honours_stops_and_max_tokens) {
  engine e(synth_model("mixtral-mini", gguf::tensor_type::f32), {.threads = 2});
  generation_params g;
  g.max_tokens = 24;
  generate_options go;
  go.ignore_eos = true;
  std::string streamed;
  int64_t streamed_tokens = 0;
  go.on_text = [&](std::string_view t, int64_t n) {
    streamed += t;
    streamed_tokens += n;
  };
  const generation_result full = generate(e, "def add(a, b):", g, go);
  EXPECT_EQ(full.generated_ids.size(), 24u);
  EXPECT_EQ(full.finish, finish_reason::length);
  EXPECT_EQ(streamed, full.text);
  EXPECT_EQ(streamed_tokens, 24);
  ASSERT_GE(full.text.size(), 4u);
  // Stop on an ASCII piece from the middle of the greedy text (the random model also emits
  // stray bytes, repaired to U+FFFD in the text): the completion ends right before it.
  std::size_t at = full.text.size() / 2;
  const auto ascii = [&](std::size_t i) { return static_cast<unsigned char>(full.text[i]) < 0x80; };
  while (at + 3 <= full.text.size() && !(ascii(at) && ascii(at + 1) && ascii(at + 2))) ++at;
  ASSERT_LE(at + 3, full.text.size()) << full.text;
  const std::string stop = full.text.substr(at, 3);
  g.stop = {stop};
  streamed.clear();
  const generation_result cut = generate(e, "def add(a, b):", g, go);
  EXPECT_EQ(cut.finish, finish_reason::stop);
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_EQ(streamed, cut.text) << "no part of the stop sequence is streamed";
  // Same seed, same sampled text; the prompt is reset between calls.
  g.stop.clear();
  g.temperature = 0.8;
  g.seed = 9;
  EXPECT_EQ(generate(e, "x", g).text, generate(e, "x", g).text);
}

TEST(engine, bad_inputs_are_errors) {
  engine e(synth_model("qwen3moe-mini", gguf::tensor_type::f32), {.threads = 1, .context_length = 16});
  try {
    e.eval(0, std::vector<int32_t>{600});
    FAIL();
  } catch (const error& ex) {
    EXPECT_EQ(ex.id(), "engine.bad_token");
  }
  try {
    e.eval(0, std::vector<int32_t>(17, 1));
    FAIL();
  } catch (const error& ex) {
    EXPECT_EQ(ex.id(), "engine.context_full");
  }
  try {
    engine missing(fs::temp_directory_path() / "moebench_engine_test_does_not_exist.gguf");
    FAIL();
  } catch (const error& ex) {
    EXPECT_EQ(ex.id(), "gguf.io");
  }
}

}  // namespace
}  // namespace moebench::engine

namespace moebench::engine {
namespace {

// A copy of `src` with one metadata key replaced (or removed when v is empty) and one tensor
// left out (when `drop_tensor` is not empty).
void mutate(const fs::path& src, const fs::path& dst, const std::string& key, std::optional<gguf::owned_value> v,
            const std::string& drop_tensor) {
  const gguf::file f(src);
  gguf::writer w;
  for (const gguf::metadata_entry& e : f.metadata()) {
    if (e.key == key) {
      if (v) w.set(std::string(e.key), *v);
      continue;
    }
    w.set(std::string(e.key), gguf::to_owned(e.val));
  }
  if (!key.empty() && f.find(key) == nullptr && v) w.set(key, *v);
  for (const gguf::tensor_info& t : f.tensors()) {
    if (t.name == drop_tensor) continue;
    const auto bytes = f.data(t);
    w.add_tensor_bytes(std::string(t.name), t.type, t.shape, std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  w.write(dst);
}

// DeepSeek-V4 files may end in multi-token-prediction layers (nextn_predict_layers, with
// blk.N.nextn.eh_proj): the engine runs the layers before them, so such a file predicts exactly
// as the same file cut to those layers; without the nextn tensor the count is ignored, as
// llama.cpp does. `model inspect` says the MTP layers are skipped.
TEST(engine, deepseek4_skips_mtp_layers) {
  const fs::path src = synth_model("dsv4-mini", gguf::tensor_type::f32);
  const fs::path dir = fs::temp_directory_path();
  const fs::path with_mtp = dir / "moebench_engine_dsv4_mtp.gguf", cut = dir / "moebench_engine_dsv4_cut.gguf",
                 no_probe = dir / "moebench_engine_dsv4_noprobe.gguf";
  mutate(src, cut, "deepseek4.block_count", gguf::owned_value::u32(3), "");
  mutate(src, no_probe, "deepseek4.nextn_predict_layers", gguf::owned_value::u32(1), "");
  {
    const gguf::file f(no_probe);
    gguf::writer w;
    for (const gguf::metadata_entry& e : f.metadata()) w.set(std::string(e.key), gguf::to_owned(e.val));
    for (const gguf::tensor_info& t : f.tensors()) {
      const auto bytes = f.data(t);
      w.add_tensor_bytes(std::string(t.name), t.type, t.shape, std::vector<std::byte>(bytes.begin(), bytes.end()));
    }
    w.add_tensor("blk.3.nextn.eh_proj.weight", gguf::tensor_type::f32, {512, 256}, [](int64_t, float* out) {
      std::fill_n(out, 512, 0.5f);
    });
    w.write(with_mtp);
  }
  std::vector<std::vector<float>> logits;
  for (const fs::path& p : {with_mtp, cut, no_probe, src}) {
    engine e(p, {.threads = 2});
    const auto l = e.eval(0, prompt);
    logits.emplace_back(l.begin(), l.end());
    EXPECT_EQ(e.facts().n_layer, p == with_mtp || p == cut ? 3 : 4) << p;
  }
  EXPECT_EQ(logits[0], logits[1]) << "the MTP layer is not run";
  EXPECT_EQ(logits[2], logits[3]) << "no nextn tensor: every layer runs";
  EXPECT_GT(nmse(logits[0], logits[3]), 1e-6);
  const model::model_summary s = model::summarize(gguf::file(with_mtp));
  EXPECT_EQ(s.n_mtp_layers, 1u);
  EXPECT_NE(model::format_text(s).find("skipped by moebench's engine"), std::string::npos);
  for (const fs::path& p : {with_mtp, cut, no_probe}) fs::remove(p);
}

// Hostile hyper-parameters and missing tensors: the engine either loads (and then runs a
// token) or throws moebench::error with an engine.* or gguf.*/tokenizer.* id; it never crashes.
TEST(engine, hostile_files_are_errors_not_crashes) {
  const fs::path dir = fs::temp_directory_path();
  int errors = 0, loaded = 0;
  for (const char* preset : {"dsv3-mini", "qwen3moe-mini", "dsv4-mini"}) {
    const fs::path src = synth_model(preset, gguf::tensor_type::q8_0);  // small files: ~150 copies
    const gguf::file f(src);
    const std::string arch(f.architecture());
    std::vector<std::pair<std::string, std::optional<gguf::owned_value>>> edits;
    for (const gguf::metadata_entry& e : f.metadata()) {
      const std::string k(e.key);
      if (!k.starts_with(arch + ".") || !gguf::is_integer(e.val.type())) continue;
      for (uint32_t v : {0u, 1u, 3u, 7u, 1000000u}) edits.emplace_back(k, gguf::owned_value::u32(v));
      edits.emplace_back(k, std::nullopt);
    }
    edits.emplace_back("general.architecture", gguf::owned_value::string("gpt2"));
    edits.emplace_back(arch + ".rope.scaling.type", gguf::owned_value::string("longrope"));
    edits.emplace_back(arch + ".attention.layer_norm_rms_epsilon", gguf::owned_value::string("x"));
    std::vector<std::string> drops;
    for (const gguf::tensor_info& t : f.tensors())
      if ((t.name.starts_with("blk.1.") || !t.name.starts_with("blk.")) && t.name != "output.weight" &&
          t.name.find("exp_probs_b") == std::string_view::npos)  // optional: tied head, selection bias
        drops.emplace_back(t.name);
    const fs::path dst = dir / (std::string("moebench_engine_hostile_") + preset + ".gguf");
    auto attempt = [&](const std::string& what) {
      try {
        engine e(dst, {.threads = 1, .context_length = 64});
        e.eval(0, std::vector<int32_t>{1, 2, 3});
        ++loaded;
      } catch (const error& ex) {
        ++errors;
        EXPECT_TRUE(ex.id().starts_with("engine.") || ex.id().starts_with("gguf.") || ex.id().starts_with("tokenizer."))
            << what << ": " << ex.id();
      }
    };
    for (const auto& [k, v] : edits) {
      mutate(src, dst, k, v, "");
      attempt(k);
    }
    for (const std::string& t : drops) {
      mutate(src, dst, "", std::nullopt, t);
      try {
        engine e(dst, {.threads = 1});
        ADD_FAILURE() << "loaded without " << t;
      } catch (const error& ex) {
        ++errors;
        EXPECT_EQ(ex.id(), "engine.missing_tensor") << t;
      }
    }
    fs::remove(dst);
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace moebench::engine
