#include "moebench/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/gguf_writer.h"
#include "moebench/model/gpt2_bytes.h"

namespace moebench::tokenizer {
namespace {

// 256 byte tokens (id = byte), then `extra` tokens in order.
vocabulary byte_vocab(std::vector<std::string> extra, std::vector<std::string> merges,
                      std::string pre = "gpt-2") {
  vocabulary v;
  v.tokens = gguf::gpt2_byte_tokens();
  for (auto& e : extra) v.tokens.push_back(std::move(e));
  v.merges = std::move(merges);
  v.pre = std::move(pre);
  v.bos = 0;  // llama3 adds BOS by default
  return v;
}

TEST(tokenizer, gpt2_byte_mapping) {
  const tokenizer tok(byte_vocab({}, {}));
  EXPECT_EQ(tok.text(' '), "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(tok.text('\n'), "\xC4\x8A");  // 'Ċ'
  EXPECT_EQ(tok.text(0xAD), "\xC5\x83");  // soft hyphen is not printable: U+0143
  EXPECT_EQ(tok.text('a'), "a");
  // Without merges every byte is its own token, whatever the text.
  const std::string text = "a \xC3\xA9\x01\x7F";
  const auto ids = tok.encode(text);
  EXPECT_EQ(ids, (std::vector<token_id>{'a', ' ', 0xC3, 0xA9, 0x01, 0x7F}));
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(tokenizer, merges_apply_by_rank_not_by_position) {
  {
    const tokenizer tok(byte_vocab({"ab", "bc"}, {"a b", "b c"}));
    EXPECT_EQ(tok.encode("abc"), (std::vector<token_id>{256, 'c'}));
  }
  {
    const tokenizer tok(byte_vocab({"ab", "bc"}, {"b c", "a b"}));
    EXPECT_EQ(tok.encode("abc"), (std::vector<token_id>{'a', 257}));
  }
  {
    // Equal pairs merge left to right: "aaa" -> "aa" + "a".
    const tokenizer tok(byte_vocab({"aa"}, {"a a"}));
    EXPECT_EQ(tok.encode("aaa"), (std::vector<token_id>{256, 'a'}));
    EXPECT_EQ(tok.encode("aaaa"), (std::vector<token_id>{256, 256}));
  }
}

TEST(tokenizer, multi_step_merges_and_pre_token_boundaries) {
  const tokenizer tok(byte_vocab({"he", "ll", "hell", "hello", "\xC4\xA0w", "\xC4\xA0wo"},
                                 {"h e", "l l", "he ll", "hell o", "\xC4\xA0 w", "\xC4\xA0w o"}));
  EXPECT_EQ(tok.encode("hello"), (std::vector<token_id>{259}));
  EXPECT_EQ(tok.encode("hello wo"), (std::vector<token_id>{259, 261}));
  // The pre-tokenizer splits "hello" from "hello": no merge crosses a word boundary.
  EXPECT_EQ(tok.encode("hello,hello"), (std::vector<token_id>{259, ',', 259}));
  EXPECT_EQ(tok.decode(tok.encode("hello wo")), "hello wo");
}

TEST(tokenizer, pre_tokenizers_split_as_their_regexes) {
  const tokenizer gpt2(byte_vocab({}, {}, "gpt-2"));
  EXPECT_EQ(gpt2.pre_tokenize("Hello world's  12345 !!x\n\n"),
            (std::vector<std::string>{"Hello", " world", "'s", " ", " 12345", " !!", "x", "\n\n"}));
  const tokenizer llama3(byte_vocab({}, {}, "llama-bpe"));
  EXPECT_EQ(llama3.pre(), pre_tokenizer::llama3);
  EXPECT_EQ(llama3.pre_tokenize("I'LL pay 1234567 now\n\n  ok"),
            (std::vector<std::string>{"I", "'LL", " pay", " ", "123", "456", "7", " now", "\n\n", " ", " ok"}));
  const tokenizer qwen2(byte_vocab({}, {}, "qwen2"));
  EXPECT_EQ(qwen2.pre_tokenize("x 123"), (std::vector<std::string>{"x", " ", "1", "2", "3"}));
  // U+3000 and U+0085 are whitespace for llama.cpp (PCRE2's own \s would miss U+0085).
  EXPECT_EQ(llama3.pre_tokenize("a\xC2\x85\xC2\x85" "b"), (std::vector<std::string>{"a", "\xC2\x85", "\xC2\x85" "b"}));
  const tokenizer coder(byte_vocab({}, {}, "deepseek-coder"));
  EXPECT_EQ(coder.pre_tokenize("ab12\xE4\xB8\xAD\xE6\x96\x87!?"),
            (std::vector<std::string>{"ab", "1", "2", "\xE4\xB8\xAD\xE6\x96\x87", "!?"}));
  const tokenizer v3(byte_vocab({}, {}, "deepseek-v3"));
  EXPECT_EQ(v3.pre_tokenize("12345 .foo \xE3\x81\x82\xE3\x81\x84"),
            (std::vector<std::string>{"123", "45", " .", "foo", " ", "\xE3\x81\x82\xE3\x81\x84"}));
  const tokenizer llm(byte_vocab({}, {}, "deepseek-llm"));
  EXPECT_EQ(llm.pre_tokenize("ab  \n  "), (std::vector<std::string>{"ab", "  ", "\n", "  "}));
}

TEST(tokenizer, llama3_looks_whole_words_up_before_merging) {
  // "abc" is a token but no merge reaches it: llama3 (ignore_merges) still uses it.
  auto v = byte_vocab({"abc"}, {}, "llama-bpe");
  EXPECT_EQ(tokenizer(v).encode("abc"), (std::vector<token_id>{256}));
  v.pre = "gpt-2";
  EXPECT_EQ(tokenizer(v).encode("abc"), (std::vector<token_id>{'a', 'b', 'c'}));
}

TEST(tokenizer, special_tokens_and_parse_special) {
  auto v = byte_vocab({"<|end|>", "<u>", "<|end|>x"}, {});
  v.types.assign(v.tokens.size(), token_type::normal);
  v.types[256] = token_type::control;
  v.types[257] = token_type::user_defined;
  v.types[258] = token_type::control;
  v.bos = 256;
  v.add_bos = true;
  const tokenizer tok(v);
  EXPECT_TRUE(tok.is_special(256));
  EXPECT_FALSE(tok.is_special('a'));
  // parse_special: control text becomes its token, longest token first.
  EXPECT_EQ(tok.encode("a<|end|>b<|end|>x", {.parse_special = true}),
            (std::vector<token_id>{'a', 256, 'b', 258}));
  // Without it control text is plain text, but user-defined tokens are still matched.
  EXPECT_EQ(tok.encode("<|end|><u>", {.parse_special = false}),
            (std::vector<token_id>{'<', '|', 'e', 'n', 'd', '|', '>', 257}));
  EXPECT_EQ(tok.encode("a", {.add_special = true}), (std::vector<token_id>{256, 'a'}));
  // decode: control tokens only when asked; user-defined tokens always, as written.
  EXPECT_EQ(tok.decode(std::vector<token_id>{256, 'a', 257}), "a<u>");
  EXPECT_EQ(tok.decode(std::vector<token_id>{256, 'a', 257}, {.render_special = true}), "<|end|>a<u>");
  EXPECT_THROW((void)tok.decode(std::vector<token_id>{9999}), moebench::error);
}

TEST(tokenizer, llama_cpp_promotes_end_of_generation_names_to_control) {
  auto v = byte_vocab({"<|im_end|>"}, {});
  v.types.assign(v.tokens.size(), token_type::normal);
  v.types[256] = token_type::user_defined;
  const tokenizer tok(v);
  EXPECT_EQ(tok.type(256), token_type::control);
  EXPECT_EQ(tok.encode("<|im_end|>", {.parse_special = false}).size(), 10u);
  EXPECT_EQ(tok.encode("<|im_end|>", {.parse_special = true}), (std::vector<token_id>{256}));
}

TEST(tokenizer, invalid_utf8_becomes_replacement_characters) {
  const tokenizer tok(byte_vocab({}, {}));
  // Each bad byte is tokenized as U+FFFD (EF BF BD), as llama.cpp does.
  EXPECT_EQ(tok.encode("a\xFF"), (std::vector<token_id>{'a', 0xEF, 0xBF, 0xBD}));
  EXPECT_EQ(tok.encode("\xE2\x82"), (std::vector<token_id>{0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD}));
}

void expect_error(const vocabulary& v, const std::string& id, const std::string& field) {
  try {
    tokenizer t(v);
    ADD_FAILURE() << "no error, expected " << id;
  } catch (const moebench::error& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    EXPECT_EQ(e.where().field, field) << e.what();
  }
}

TEST(tokenizer, bad_vocabularies_are_errors_naming_the_key) {
  expect_error(byte_vocab({}, {}, "no-such-pre"), "tokenizer.unknown_pre", "tokenizer.ggml.pre");
  expect_error(byte_vocab({"a"}, {}), "tokenizer.duplicate_token", "tokenizer.ggml.tokens");
  auto v = byte_vocab({}, {});
  v.types.resize(3);
  expect_error(v, "tokenizer.size_mismatch", "tokenizer.ggml.token_type");
  v = byte_vocab({}, {});
  v.add_bos = true;
  v.bos = no_token;
  expect_error(v, "tokenizer.missing_key", "tokenizer.ggml.bos_token_id");
  v.bos = 100000;
  expect_error(v, "tokenizer.bad_token_id", "tokenizer.ggml.bos_token_id");
  expect_error(vocabulary{}, "tokenizer.empty_vocabulary", "tokenizer.ggml.tokens");
}

gguf::file gguf_with(const std::string& model, const std::string& pre) {
  gguf::writer w;
  w.set("general.architecture", gguf::owned_value::string("llama"));
  w.set("tokenizer.ggml.model", gguf::owned_value::string(model));
  w.set("tokenizer.ggml.pre", gguf::owned_value::string(pre));
  std::vector<std::string> tokens = gguf::gpt2_byte_tokens();
  tokens.push_back("ab");
  w.set("tokenizer.ggml.tokens", gguf::owned_value::string_array(tokens));
  const std::vector<std::string> merges{"a b"};
  w.set("tokenizer.ggml.merges", gguf::owned_value::string_array(merges));
  std::vector<int32_t> types(tokens.size(), 1);
  w.set("tokenizer.ggml.token_type", gguf::owned_value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::owned_value::u32(256));
  w.set("tokenizer.ggml.add_bos_token", gguf::owned_value::boolean(true));
  return gguf::file::from_bytes(w.to_bytes(), "vocab.gguf");
}

TEST(tokenizer, from_gguf_reads_the_tokenizer_keys) {
  const tokenizer tok = tokenizer::from_gguf(gguf_with("gpt2", "qwen2"));
  EXPECT_EQ(tok.pre(), pre_tokenizer::qwen2);
  EXPECT_EQ(tok.size(), 257);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_EQ(tok.encode("ab", {.add_special = true}), (std::vector<token_id>{256, 256}));
}

TEST(tokenizer, from_gguf_rejects_other_models_and_unknown_pre_tokenizers) {
  try {
    (void)tokenizer::from_gguf(gguf_with("llama", "default"));
    ADD_FAILURE() << "no error";
  } catch (const moebench::error& e) {
    EXPECT_EQ(e.id(), "tokenizer.unsupported_model");
    EXPECT_EQ(e.where().field, "tokenizer.ggml.model");
    EXPECT_EQ(e.where().file, "vocab.gguf");
  }
  try {
    (void)tokenizer::from_gguf(gguf_with("gpt2", "tekken"));
    ADD_FAILURE() << "no error";
  } catch (const moebench::error& e) {
    EXPECT_EQ(e.id(), "tokenizer.unknown_pre");
    EXPECT_NE(std::string(e.what()).find("tekken"), std::string::npos);
  }
}

TEST(tokenizer, megabyte_runs_stay_linear_and_round_trip) {
  for (const char* pre : {"default", "gpt-2", "llama-bpe", "qwen2", "qwen35", "deepseek-llm",
                          "deepseek-coder", "deepseek-v3", "falcon", "starcoder"}) {
    const tokenizer tok(byte_vocab({}, {}, pre));
    for (const std::string unit : {" ", "\n", " \n", "7", "a", "\xE4\xB8\xAD", "!", "\xC2\xA0", "e\xCC\x81"}) {
      std::string run;
      while (run.size() < (1u << 18)) run += unit;
      run += "x";
      EXPECT_EQ(tok.decode(tok.encode(run)), run) << pre;
    }
  }
}

TEST(encoder, cache_gives_the_same_ids_as_a_fresh_encode) {
  const tokenizer tok(byte_vocab({"he", "ll", "hell", "hello"}, {"h e", "l l", "he ll", "hell o"}));
  encoder enc(tok, 2);  // tiny cache: exercises eviction
  const std::string text = "hello hello, hell he hello\n";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(enc.encode(text), tok.encode(text));
}

}  // namespace
}  // namespace moebench::tokenizer
