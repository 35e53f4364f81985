// The adapter from GGUF metadata (tokenizer.ggml.*) to a plain vocabulary.
#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::tokenizer {
namespace {

[[noreturn]] void fail(const gguf::file& f, const std::string& id, const std::string& key,
                       const std::string& message) {
  throw moebench::error(id, input_location{f.path(), 0, key}, message);
}

std::vector<std::string> strings(const gguf::file& f, const std::string& key) {
  const gguf::value* v = f.find(key);
  if (v == nullptr) fail(f, "tokenizer.missing_key", key, "absent");
  if (v->type() != gguf::value_type::array || v->element_type() != gguf::value_type::string) {
    fail(f, "tokenizer.wrong_type", key, "expected an array of strings");
  }
  std::vector<std::string> out;
  out.reserve(v->strings().size());
  for (auto s : v->strings()) out.emplace_back(s);
  return out;
}

token_id optional_id(const gguf::file& f, const std::string& key) {
  const gguf::value* v = f.find(key);
  if (v == nullptr) return no_token;
  if (!gguf::is_integer(v->type())) fail(f, "tokenizer.wrong_type", key, "expected an integer");
  const int64_t id = v->type() == gguf::value_type::u64 ? static_cast<int64_t>(std::min<uint64_t>(v->as_uint(), INT64_MAX))
                                                        : v->as_int();
  // Out-of-range ids are kept as they are; the tokenizer rejects them where they are needed.
  return id < 0 || id > INT32_MAX ? INT32_MAX : static_cast<token_id>(id);
}

std::optional<bool> optional_bool(const gguf::file& f, const std::string& key) {
  const gguf::value* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type() != gguf::value_type::boolean) fail(f, "tokenizer.wrong_type", key, "expected a bool");
  return v->as_bool();
}

}  // namespace

vocabulary vocabulary_from_gguf(const gguf::file& f) {
  const std::string model_key = "tokenizer.ggml.model";
  const gguf::value* model = f.find(model_key);
  if (model == nullptr) fail(f, "tokenizer.missing_key", model_key, "absent: the file has no tokenizer");
  if (model->type() != gguf::value_type::string) fail(f, "tokenizer.wrong_type", model_key, "expected a string");
  if (model->as_string() != "gpt2") {
    fail(f, "tokenizer.unsupported_model", model_key,
         "tokenizer model '" + std::string(model->as_string()) +
             "' is not supported (only byte-level BPE, \"gpt2\")");
  }
  vocabulary v;
  v.source = f.path();
  if (const gguf::value* pre = f.find("tokenizer.ggml.pre")) {
    if (pre->type() != gguf::value_type::string) {
      fail(f, "tokenizer.wrong_type", "tokenizer.ggml.pre", "expected a string");
    }
    v.pre = std::string(pre->as_string());
  }
  v.tokens = strings(f, "tokenizer.ggml.tokens");
  v.merges = strings(f, "tokenizer.ggml.merges");
  if (const gguf::value* types = f.find("tokenizer.ggml.token_type")) {
    if (types->type() != gguf::value_type::array || !gguf::is_integer(types->element_type())) {
      fail(f, "tokenizer.wrong_type", "tokenizer.ggml.token_type", "expected an array of integers");
    }
    if (types->size() != v.tokens.size()) {
      fail(f, "tokenizer.size_mismatch", "tokenizer.ggml.token_type",
           std::to_string(types->size()) + " token types for " + std::to_string(v.tokens.size()) + " tokens");
    }
    v.types.reserve(v.tokens.size());
    for (uint64_t i = 0; i < types->size(); ++i) {
      const int64_t ty = types->int_at(i);
      if (ty < 0 || ty > static_cast<int64_t>(token_type::byte)) {
        fail(f, "tokenizer.bad_token_type", "tokenizer.ggml.token_type",
             "token " + std::to_string(i) + " has type " + std::to_string(ty) + " (expected 0..6)");
      }
      v.types.push_back(static_cast<token_type>(ty));
    }
  }
  v.bos = optional_id(f, "tokenizer.ggml.bos_token_id");
  v.eos = optional_id(f, "tokenizer.ggml.eos_token_id");
  v.unk = optional_id(f, "tokenizer.ggml.unknown_token_id");
  v.pad = optional_id(f, "tokenizer.ggml.padding_token_id");
  v.add_bos = optional_bool(f, "tokenizer.ggml.add_bos_token");
  v.add_eos = optional_bool(f, "tokenizer.ggml.add_eos_token");
  return v;
}

tokenizer tokenizer::from_gguf(const gguf::file& f) { return tokenizer(vocabulary_from_gguf(f)); }

}  // namespace moebench::tokenizer
