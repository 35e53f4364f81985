// Our tokenizer against llama.cpp: its own test vectors (models/ggml-vocab-*.gguf.inp/.out) and
// a corpus of our own run through llama.cpp's prebuilt library (tests/oracle/llama_tokenize.mjs).
// Both come from the npm package node-llama-cpp (scripts/oracle-setup); without it these tests
// are skipped with a message saying so.
#include <gtest/gtest.h>

#include <random>

#include <unistd.h>
#include <string>
#include <vector>

#include "llama_oracle.h"
#include "moebench/model/gguf.h"
#include "moebench/model/gguf_writer.h"
#include "moebench/model/gpt2_bytes.h"
#include "moebench/text.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::tokenizer {
namespace {
namespace fs = std::filesystem;
using testing::llama_models_dir;

// Every ggml-vocab file of a "gpt2" model whose pre-tokenizer we implement.
const std::vector<std::string> vocabs_with_vectors = {
    "gpt-2", "mpt", "llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder",
    "falcon", "starcoder", "refact", "command-r"};
// Without test vectors (no tokenizer.ggml.pre: llama.cpp's "default").
const std::vector<std::string> vocabs_without_vectors = {"gpt-neox"};

std::string ids_to_string(const std::vector<token_id>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

std::vector<std::string> read_inputs(const fs::path& p) {
  const std::string raw = testing::read_file(p);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const auto next = raw.find(sep, pos);
    if (next == std::string::npos) {
      out.push_back(raw.substr(pos));
      break;
    }
    out.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return out;
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> out;
  for (auto& l : split(testing::read_file(p), '\n')) out.emplace_back(trim(l));
  if (!out.empty() && out.back().empty()) out.pop_back();  // after the final newline
  return out;
}

std::string param_name(const ::testing::TestParamInfo<std::string>& p) {
  std::string n = p.param;
  for (auto& c : n) c = (c == '-') ? '_' : c;
  return n;
}

class llama_vectors : public ::testing::TestWithParam<std::string> {};

TEST_P(llama_vectors, every_line_matches) {
  const auto dir = llama_models_dir();
  if (!dir) GTEST_SKIP() << "node-llama-cpp not installed: run ./scripts/oracle-setup";
  const fs::path model = *dir / ("ggml-vocab-" + GetParam() + ".gguf");
  const gguf::file f(model);
  const tokenizer tok = tokenizer::from_gguf(f);
  const auto inputs = read_inputs(model.string() + ".inp");
  const auto outputs = read_lines(model.string() + ".out");
  ASSERT_EQ(inputs.size(), outputs.size());
  ASSERT_GT(inputs.size(), 20u);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto ids = tok.encode(inputs[i], {.add_special = false, .parse_special = false});
    EXPECT_EQ(ids_to_string(ids), outputs[i]) << "case " << i << ": '" << inputs[i] << "'";
    EXPECT_EQ(tok.decode(ids), inputs[i]) << "round trip, case " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(vocab, llama_vectors, ::testing::ValuesIn(vocabs_with_vectors),
                         param_name);

// A corpus of our own: fixed cases plus seeded random strings mixing scripts, emoji with ZWJ
// sequences, digit and whitespace runs, contractions and special-token-like text. Only code
// points assigned since Unicode 13 or earlier, so that the Unicode tables of PCRE2 and of
// llama.cpp agree.
std::vector<std::string> corpus() {
  std::vector<std::string> c = {
      "def f(x):\n\tif x:\n\t\treturn x  # tab\n    else:\n        return None\n",
      "    \n\n\n   \t\t  x   ",
      "1234567890 12 123 1234 12345 3.14159 -0.5e10 1,000,000",
      "I'm he's they'll we've you'd it's IT'S I'M THEY'LL 's 't",
      "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe e\u0301 n\u0303",
      "\u4e2d\u6587\u6d4b\u8bd5 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4 \u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
      "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 \U0001F44D\U0001F3FD \u2764\uFE0F \U0001F1EF\U0001F1F5",
      "<|endoftext|> <|im_start|>user\nhi<|im_end|> <s></s> <|begin_of_text|>",
      "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>x<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
      "\u00a0\u00a0nbsp \u3000ideographic\u2028line\u2029para \u0085nel \u1680ogham",
      "\u0928\u092e\u0938\u094d\u0924\u0947 \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
      "\r\n\r\n\r\rwindows\r\nlines",
      "!!!??? ... --- === +++ *** ((())) [[[]]] {{{}}} ''' \"\"\" ``` ~~~",
      "\uff01\uff1f\uff08\uff09\u3002\u3001\u300c\u300d \u2018quoted\u2019 \u201cdouble\u201d",
      "\u2160\u2161\u2162 \u00bd\u00be \u2460\u2461 \u0661\u0662\u0663 \uff11\uff12\uff13",
      "x\u0300\u0301\u0302\u0303 \u0301alone \u200b\u200c\u200d\u2060 zero-width",
      "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
      "<|fim_prefix|>def<|fim_suffix|>pass<|fim_middle|> <fim_prefix>",
      "                                                                        x",
      "",
      " ",
      "\n",
  };
  const std::vector<std::u32string_view> pools = {
      U"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
      U"0123456789",
      U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
      U" \t\n\r\v\f\u00a0\u0085\u2028\u3000\u1680\u2003",
      U"\u00e9\u00fc\u00df\u00f1\u0301\u0308\u0327\u00c5\u0152",
      U"\u4e00\u4e2d\u6587\u5b57\u9fa5\u3042\u30a2\u30f3\uac00\ud55c",
      U"\U0001F600\U0001F44D\U0001F3FD\u200D\uFE0F\u2764\U0001F468\U0001F469\U0001F1EF",
      U"\u0430\u0431\u0432\u03b1\u03b2\u0627\u0628\u0928\u094d\u0e2a",
      U"\u2160\u00bd\u2460\u0661\uff11\u00b2",
      U"'sStTmMdDlLrReEvV",
      U"<|>\uff5c\u2581",
  };
  std::mt19937 rng(20261128);
  auto append_utf8 = [](std::string& s, char32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  for (int k = 0; k < 300; ++k) {
    std::string s;
    const int len = static_cast<int>(rng() % 60);
    for (int i = 0; i < len; ++i) {
      const auto& pool = pools[rng() % pools.size()];
      const int run = (rng() % 8 == 0) ? static_cast<int>(1 + rng() % 12) : 1;
      const char32_t cp = pool[rng() % pool.size()];
      for (int r = 0; r < run; ++r) append_utf8(s, (rng() % 3 == 0) ? pool[rng() % pool.size()] : cp);
    }
    c.push_back(s);
  }
  return c;
}

class llama_oracle : public ::testing::TestWithParam<std::string> {};

// decode(encode(x)) == x holds when every byte has a normal token. Some vocabularies lack one
// (deepseek-coder has no token for U+000B) or spell bytes as user-defined tokens, which llama.cpp
// then renders as their text: there the ids are still compared, the round trip is not.
bool round_trips(const tokenizer& tok) {
  for (int b = 0; b < 256; ++b) {
    const auto id = tok.find(gguf::gpt2_byte_map().encode(static_cast<uint8_t>(b)));
    if (!id || tok.type(*id) != token_type::normal) return false;
  }
  return true;
}

// Compares our ids for the corpus with llama.cpp's, with and without parse_special, and checks
// the round trip where the vocabulary allows it.
void compare_with_llama(const fs::path& model) {
  const gguf::file f(model);
  const tokenizer tok = tokenizer::from_gguf(f);
  const auto cases = corpus();
  const auto expected = testing::llama_tokenize(model, cases);
  ASSERT_EQ(expected.plain.size(), cases.size());
  ASSERT_EQ(expected.special.size(), cases.size());
  int mismatches = 0;
  const bool check_round_trip = round_trips(tok);
  for (std::size_t i = 0; i < cases.size() && mismatches < 10; ++i) {
    const auto plain = tok.encode(cases[i], {.parse_special = false});
    const auto special = tok.encode(cases[i], {.parse_special = true});
    const std::vector<token_id> want_plain(expected.plain[i].begin(), expected.plain[i].end());
    const std::vector<token_id> want_special(expected.special[i].begin(), expected.special[i].end());
    if (plain != want_plain || special != want_special) ++mismatches;
    EXPECT_EQ(ids_to_string(plain), ids_to_string(want_plain)) << "case " << i << ": '" << cases[i] << "'";
    EXPECT_EQ(ids_to_string(special), ids_to_string(want_special))
        << "parse_special, case " << i << ": '" << cases[i] << "'";
    if (!check_round_trip) continue;
    EXPECT_EQ(tok.decode(plain), cases[i]) << "round trip, case " << i;
    EXPECT_EQ(tok.decode(special, {.render_special = true}), cases[i]) << "round trip (special), case " << i;
  }
}

TEST_P(llama_oracle, corpus_ids_match_llama_cpp) {
  const auto dir = llama_models_dir();
  if (!dir) GTEST_SKIP() << "node-llama-cpp not installed: run ./scripts/oracle-setup";
  compare_with_llama(*dir / ("ggml-vocab-" + GetParam() + ".gguf"));
}

// llama.cpp ships no deepseek-v3 vocabulary: DeepSeek LLM's vocabulary relabelled
// tokenizer.ggml.pre = "deepseek-v3" (written with our GGUF writer) exercises that pre-tokenizer
// in both implementations.
TEST(llama_oracle_deepseek_v3, corpus_ids_match_llama_cpp) {
  const auto dir = llama_models_dir();
  if (!dir) GTEST_SKIP() << "node-llama-cpp not installed: run ./scripts/oracle-setup";
  const gguf::file src(*dir / "ggml-vocab-deepseek-llm.gguf");
  gguf::writer w;
  for (const auto& e : src.metadata()) w.set(std::string(e.key), gguf::to_owned(e.val));
  w.set("tokenizer.ggml.pre", gguf::owned_value::string("deepseek-v3"));
  const fs::path out = fs::absolute("ggml-vocab-deepseek-v3." + std::to_string(::getpid()) + ".gguf");
  w.write(out);
  {
    const gguf::file f(out);
    ASSERT_EQ(tokenizer::from_gguf(f).pre(), pre_tokenizer::deepseek_v3);
  }
  compare_with_llama(out);
  fs::remove(out);
}

std::vector<std::string> all_vocabs() {
  auto v = vocabs_with_vectors;
  v.insert(v.end(), vocabs_without_vectors.begin(), vocabs_without_vectors.end());
  return v;
}

INSTANTIATE_TEST_SUITE_P(vocab, llama_oracle, ::testing::ValuesIn(all_vocabs()),
                         param_name);

// Hostile input through real vocabularies: invalid UTF-8 is tokenized as U+FFFD per bad byte
// (never a crash), long runs stay linear, and the result equals encoding the repaired text.
TEST(llama_vocab, invalid_utf8_and_long_runs) {
  const auto dir = llama_models_dir();
  if (!dir) GTEST_SKIP() << "node-llama-cpp not installed: run ./scripts/oracle-setup";
  for (const char* name : {"llama-bpe", "deepseek-llm", "deepseek-coder", "qwen2"}) {
    const gguf::file f(*dir / ("ggml-vocab-" + std::string(name) + ".gguf"));
    const tokenizer tok = tokenizer::from_gguf(f);
    for (const std::string& bad : {std::string("a\xFF" "b"), std::string("\xC3"), std::string("\xE2\x82 x"),
                                  std::string("\xED\xA0\x80"), std::string("\xC0\xAF\x80\x80"),
                                  std::string("ok\xF4\x90\x80\x80!")}) {
      EXPECT_EQ(tok.encode(bad), tok.encode(to_valid_utf8(bad))) << name;
      EXPECT_EQ(tok.decode(tok.encode(bad)), to_valid_utf8(bad)) << name;
    }
    for (const std::string_view unit : {" ", "\n", "7", "a", "\u4e2d", "!", " \t"}) {
      std::string run;
      while (run.size() < 200000) run.append(unit);
      const auto ids = tok.encode(run + "x");
      EXPECT_EQ(tok.decode(ids), run + "x") << name;
    }
  }
}

}  // namespace
}  // namespace moebench::tokenizer
