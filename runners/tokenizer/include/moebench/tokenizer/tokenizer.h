#pragma once
// Byte-level BPE tokenizer (GPT-2 style) built from GGUF metadata, producing the same token ids
// as llama.cpp for vocabularies with tokenizer.ggml.model = "gpt2". See docs/tokenizer.md.
//
// Pipeline of encode(): special-token partition (longest token first, as llama.cpp) ->
// pre-tokenizer (the split regexes chosen by tokenizer.ggml.pre, run with PCRE2's Unicode
// properties) -> GPT-2 byte mapping of each piece -> BPE merges by rank -> ids.
//
// Thread-safety: a `tokenizer` is immutable after construction; encode/decode may be called
// from any number of threads. An `encoder` (which caches BPE results per pre-token word) is
// for one thread at a time; use one per thread for throughput.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moebench::gguf {
class file;
}  // namespace moebench::gguf

namespace moebench::tokenizer {

using token_id = int32_t;
inline constexpr token_id no_token = -1;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type), stored as int32 in GGUF.
enum class token_type : int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};
std::string_view name(token_type t) noexcept;

// The pre-tokenizers, each the list of split regexes llama.cpp uses for a family of
// tokenizer.ggml.pre values (the names each one accepts are listed in docs/tokenizer.md).
enum class pre_tokenizer {
  default_bpe,     // "default" (and a missing tokenizer.ggml.pre, as llama.cpp does)
  gpt2,            // "gpt-2", "gpt2", "mpt", "olmo", "phi-2", ...
  llama3,          // "llama-bpe", "llama3", "llama-v3", "falcon3", ...
  qwen2,           // "qwen2", "deepseek-r1-qwen", "stablelm2"
  qwen35,          // "qwen35"
  deepseek_llm,    // "deepseek-llm"
  deepseek_coder,  // "deepseek-coder"
  deepseek_v3,     // "deepseek-v3"
  falcon,          // "falcon"
  starcoder,       // "starcoder", "refact", "command-r", "smollm", ...
};
std::string_view name(pre_tokenizer p) noexcept;
// nullopt when `gguf_name` is not a tokenizer.ggml.pre value we implement.
std::optional<pre_tokenizer> pre_tokenizer_from_name(std::string_view gguf_name);

// A plain vocabulary: what tokenizer.ggml.* holds for a "gpt2" model.
struct vocabulary {
  std::vector<std::string> tokens;  // byte-level encoded token text; id = index
  std::vector<token_type> types;    // one per token; empty means every token is normal
  std::vector<std::string> merges;  // "left right" in byte-level encoding; rank = index
  std::string pre = "default";      // tokenizer.ggml.pre as written in the file
  token_id bos = no_token;
  token_id eos = no_token;
  token_id unk = no_token;
  token_id pad = no_token;
  // tokenizer.ggml.add_bos_token / add_eos_token; absent means the pre-tokenizer's default
  // (llama3 adds BOS, the others add nothing), as llama.cpp decides.
  std::optional<bool> add_bos;
  std::optional<bool> add_eos;
  std::string source = "<vocabulary>";  // file name used in error messages
};

// Reads tokenizer.ggml.* from a GGUF file. Errors (moebench::error, ids "tokenizer.*") name the
// file and key: a model other than "gpt2" ("tokenizer.unsupported_model"), missing or
// mistyped keys, ids out of range.
vocabulary vocabulary_from_gguf(const gguf::file& f);

struct encode_options {
  bool add_special = false;    // add BOS/EOS where the vocabulary asks for them
  bool parse_special = false;  // match control-token text (e.g. "<|im_end|>") in the input;
                               // user-defined tokens are always matched, as in llama.cpp
};

struct decode_options {
  bool render_special = false;  // emit the text of control and unknown tokens
};

class encoder;

class tokenizer {
 public:
  // Validates and indexes `v`. Errors (moebench::error, ids "tokenizer.*", location v.source
  // and the GGUF key): unknown pre-tokenizer, duplicate tokens, types/tokens size mismatch,
  // special ids out of range where they are needed.
  explicit tokenizer(const vocabulary& v);
  static tokenizer from_gguf(const gguf::file& f);

  tokenizer(const tokenizer&) = default;
  tokenizer& operator=(const tokenizer&) = default;
  tokenizer(tokenizer&&) noexcept = default;
  tokenizer& operator=(tokenizer&&) noexcept = default;
  ~tokenizer();

  // Any bytes are accepted: invalid UTF-8 is tokenized as if each offending byte were U+FFFD
  // (as llama.cpp does for truncated and stray bytes).
  std::vector<token_id> encode(std::string_view text, const encode_options& opts = {}) const;
  // Token ids -> bytes. Normal tokens go through the inverse GPT-2 byte mapping, user-defined
  // tokens are emitted as written, control/unknown tokens only with render_special. The
  // result may be invalid UTF-8 when `ids` split a character. An id out of range throws
  // "tokenizer.bad_id".
  std::string decode(std::span<const token_id> ids, const decode_options& opts = {}) const;

  // The pre-token pieces of `text` (invalid UTF-8 repaired, no special-token partition), in
  // order; they concatenate to the repaired text. For tests and tools.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

  int32_t size() const noexcept;
  const std::string& text(token_id id) const;  // as stored in the vocabulary
  token_type type(token_id id) const;
  std::optional<token_id> find(std::string_view text) const;  // exact token text
  pre_tokenizer pre() const noexcept;
  token_id bos() const noexcept;
  token_id eos() const noexcept;
  bool add_bos() const noexcept;
  bool add_eos() const noexcept;
  // True for tokens the special-token partition matches (control, user-defined, unknown, and
  // the end-of-generation/FIM names llama.cpp promotes to control).
  bool is_special(token_id id) const;

  struct impl;

 private:
  friend class encoder;
  std::shared_ptr<const impl> impl_;
};

// Encodes with a cache of BPE results per pre-token word and reused scratch buffers. Not
// thread-safe; cheap to create. The tokenizer must outlive it.
class encoder {
 public:
  explicit encoder(const tokenizer& t, std::size_t max_cached_words = 1u << 18);
  encoder(encoder&&) noexcept;
  encoder& operator=(encoder&&) noexcept;
  ~encoder();

  // Appends the ids of `text` to `out`.
  void encode(std::string_view text, const encode_options& opts, std::vector<token_id>& out);
  std::vector<token_id> encode(std::string_view text, const encode_options& opts = {});

  struct state;

 private:
  std::shared_ptr<const tokenizer::impl> impl_;
  std::unique_ptr<state> state_;
};

}  // namespace moebench::tokenizer
