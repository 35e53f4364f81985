#include "moebench/tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "moebench/error.h"
#include "moebench/model/gpt2_bytes.h"
#include "moebench/text.h"
#include "pre_tokenizer.h"

namespace moebench::tokenizer {

std::string_view name(token_type t) noexcept {
  switch (t) {
    case token_type::undefined: return "undefined";
    case token_type::normal: return "normal";
    case token_type::unknown: return "unknown";
    case token_type::control: return "control";
    case token_type::user_defined: return "user_defined";
    case token_type::unused: return "unused";
    case token_type::byte: return "byte";
  }
  return "?";
}

namespace {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using string_map = std::unordered_map<std::string, int32_t, string_hash, std::equal_to<>>;

struct merge_value {
  int32_t rank = 0;
  int32_t result = 0;  // symbol id of left+right
};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Token texts llama.cpp treats as control tokens whatever their stored type (end-of-generation
// and fill-in-the-middle markers it recognises by name), and those it always renders as
// user-defined. Kept so that parse_special=false and decode agree with llama.cpp.
constexpr std::array<std::string_view, 58> control_by_name{
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<end_of_utterance>", "<|eom_id|>", "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>", "\xE2\x96\x81<PRE>",
    "<|code_prefix|>", "<|prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>", "\xE2\x96\x81<SUF>",
    "<|code_suffix|>", "<|suffix|>", "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>", "\xE2\x96\x81<MID>",
    "<|code_middle|>", "<|middle|>", "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
    "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "</s>", "[EOS]", "<eos>", "<turn|>",
    "<|tool_response>", "[e~[", "<|end_of_text|>"};
constexpr std::array<std::string_view, 4> user_defined_by_name{"<|channel|>", "<|message|>",
                                                               "<|start|>", "<|constrain|>"};

// Length of the valid UTF-8 prefix of s (strict: no overlongs, surrogates or values past
// U+10FFFF), with an ASCII fast path.
bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    uint32_t cp = 0;
    if ((p[i] & 0xE0) == 0xC0) {
      len = 2;
      cp = p[i] & 0x1Fu;
    } else if ((p[i] & 0xF0) == 0xE0) {
      len = 3;
      cp = p[i] & 0x0Fu;
    } else if ((p[i] & 0xF8) == 0xF0) {
      len = 4;
      cp = p[i] & 0x07u;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

}  // namespace

struct tokenizer::impl {
  std::string source;
  std::vector<std::string> tokens;
  std::vector<token_type> types;
  std::vector<uint8_t> special;        // 1: matched by the partition when parse_special
  std::vector<uint8_t> always_special; // 1: matched even without parse_special (user-defined)
  std::vector<std::string> decoded;    // bytes each token decodes to
  pre_tokenizer pre = pre_tokenizer::default_bpe;
  detail::splitter splitter{pre_tokenizer::default_bpe};
  bool ignore_merges = false;
  bool add_bos = false;
  bool add_eos = false;
  token_id bos = no_token;
  token_id eos = no_token;

  // BPE symbols: ids below tokens.size() are tokens; higher ids are texts that occur in merges
  // without being tokens (extra_text[id - tokens.size()]).
  string_map text_to_token;
  std::vector<std::string> extra_text;
  std::array<int32_t, 256> byte_symbol{};
  std::array<token_id, 256> single_byte_token{};
  std::unordered_map<uint64_t, merge_value> merges;
  string_map raw_to_token;  // decoded bytes -> token, for pure byte-level tokens

  // Special-token partition: candidates in priority order (longest first, then lowest id), and
  // for each leading byte the candidates starting with it.
  std::vector<token_id> special_order;
  std::array<std::vector<uint32_t>, 256> special_by_first_byte;  // all special tokens
  std::array<std::vector<uint32_t>, 256> always_by_first_byte;   // user-defined ones only

  std::string_view symbol_text(int32_t sym) const {
    return sym < static_cast<int32_t>(tokens.size()) ? std::string_view(tokens[sym])
                                                     : std::string_view(extra_text[sym - tokens.size()]);
  }
};

namespace {

[[noreturn]] void fail(const std::string& id, const std::string& source, const std::string& key,
                       const std::string& message) {
  throw moebench::error(id, input_location{source, 0, key}, message);
}

int32_t intern(tokenizer::impl& t, string_map& extra_index, std::string_view text) {
  if (auto it = t.text_to_token.find(text); it != t.text_to_token.end()) return it->second;
  if (auto it = extra_index.find(text); it != extra_index.end()) return it->second;
  const auto id = static_cast<int32_t>(t.tokens.size() + t.extra_text.size());
  t.extra_text.emplace_back(text);
  extra_index.emplace(std::string(text), id);
  return id;
}

}  // namespace

tokenizer::tokenizer(const vocabulary& v) {
  auto t = std::make_shared<impl>();
  t->source = v.source;
  const auto pre = pre_tokenizer_from_name(v.pre);
  if (!pre) {
    fail("tokenizer.unknown_pre", v.source, "tokenizer.ggml.pre",
         "unsupported pre-tokenizer '" + v.pre + "' (supported: see docs/tokenizer.md)");
  }
  t->pre = *pre;
  t->splitter = detail::splitter(*pre);
  // llama.cpp: the llama3 family looks whole words up before merging and adds BOS by default.
  t->ignore_merges = *pre == pre_tokenizer::llama3;
  t->add_bos = v.add_bos.value_or(*pre == pre_tokenizer::llama3);
  t->add_eos = v.add_eos.value_or(false);

  const std::size_t n = v.tokens.size();
  if (n == 0) fail("tokenizer.empty_vocabulary", v.source, "tokenizer.ggml.tokens", "no tokens");
  if (n > static_cast<std::size_t>(INT32_MAX / 2)) {
    fail("tokenizer.too_many_tokens", v.source, "tokenizer.ggml.tokens", "too many tokens");
  }
  if (!v.types.empty() && v.types.size() != n) {
    fail("tokenizer.size_mismatch", v.source, "tokenizer.ggml.token_type",
         std::to_string(v.types.size()) + " token types for " + std::to_string(n) + " tokens");
  }
  t->tokens.reserve(n);
  t->text_to_token.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // llama.cpp renames empty tokens so that every id keeps a distinct text.
    std::string text = v.tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : v.tokens[i];
    if (!t->text_to_token.emplace(text, static_cast<int32_t>(i)).second) {
      fail("tokenizer.duplicate_token", v.source, "tokenizer.ggml.tokens",
           "token " + std::to_string(i) + " repeats the text of token " +
               std::to_string(t->text_to_token.find(text)->second) + ": '" + to_valid_utf8(text) + "'");
    }
    t->tokens.push_back(std::move(text));
  }
  t->types = v.types.empty() ? std::vector<token_type>(n, token_type::normal) : v.types;

  // llama.cpp's name-based adjustments of token types.
  bool has_return = false, has_call = false, has_flush = false, has_tool_response = false;
  for (auto name_view : control_by_name) {
    if (auto it = t->text_to_token.find(name_view); it != t->text_to_token.end()) {
      auto& ty = t->types[it->second];
      if (ty != token_type::control) ty = token_type::control;
      has_return |= name_view == "<|return|>";
      has_call |= name_view == "<|call|>" || name_view == "<|calls|>";
      has_flush |= name_view == "<|flush|>";
      has_tool_response |= name_view == "<|tool_response>";
    }
  }
  if (auto it = t->text_to_token.find(std::string_view("<|end|>"));
      it != t->text_to_token.end() && ((has_return && has_call) || (has_call && has_flush))) {
    t->types[it->second] = token_type::user_defined;
  }
  if (auto it = t->text_to_token.find(std::string_view("</s>"));
      it != t->text_to_token.end() && has_tool_response) {
    t->types[it->second] = token_type::normal;
  }
  for (auto name_view : user_defined_by_name) {
    if (auto it = t->text_to_token.find(name_view); it != t->text_to_token.end()) {
      t->types[it->second] = token_type::user_defined;
    }
  }

  auto check_id = [&](token_id id, const char* key, bool needed) -> token_id {
    if (id == no_token) {
      if (needed) fail("tokenizer.missing_key", v.source, key, "needed by add_bos/add_eos but absent");
      return no_token;
    }
    if (id < 0 || static_cast<std::size_t>(id) >= n) {
      if (needed) {
        fail("tokenizer.bad_token_id", v.source, key,
             "token id " + std::to_string(id) + " out of range (vocabulary of " + std::to_string(n) + ")");
      }
      return no_token;
    }
    return id;
  };
  t->bos = check_id(v.bos, "tokenizer.ggml.bos_token_id", t->add_bos);
  t->eos = check_id(v.eos, "tokenizer.ggml.eos_token_id", t->add_eos);

  // Decoded bytes of each token, and the byte-level index.
  const auto& bm = gguf::gpt2_byte_map();
  t->decoded.resize(n);
  t->special.assign(n, 0);
  t->always_special.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    switch (t->types[i]) {
      case token_type::normal:
      case token_type::byte: {
        std::string raw;
        if (bm.decode_text(t->tokens[i], raw)) t->raw_to_token.emplace(raw, static_cast<int32_t>(i));
        t->decoded[i] = std::move(raw);
        break;
      }
      case token_type::user_defined:
        t->decoded[i] = t->tokens[i];
        t->special[i] = 1;
        t->always_special[i] = 1;
        break;
      case token_type::control:
      case token_type::unknown:
        t->decoded[i] = t->tokens[i];
        t->special[i] = 1;
        break;
      case token_type::unused:
      case token_type::undefined:
        break;  // llama.cpp renders nothing for these
    }
  }

  // BPE symbols and merges.
  string_map extra_index;
  for (int b = 0; b < 256; ++b) {
    t->byte_symbol[b] = intern(*t, extra_index, bm.encode(static_cast<uint8_t>(b)));
    const char c = static_cast<char>(b);
    auto it = t->text_to_token.find(std::string_view(&c, 1));
    t->single_byte_token[b] = it == t->text_to_token.end() ? no_token : it->second;
  }
  t->merges.reserve(v.merges.size());
  std::string joined;
  for (std::size_t rank = 0; rank < v.merges.size(); ++rank) {
    const std::string& m = v.merges[rank];
    // As llama.cpp: split at the first space after the first byte; a merge without one can
    // never apply.
    const auto space = m.find(' ', 1);
    if (space == std::string::npos) continue;
    const std::string_view left = std::string_view(m).substr(0, space);
    const std::string_view right = std::string_view(m).substr(space + 1);
    if (right.empty()) continue;
    joined.assign(left);
    joined.append(right);
    const int32_t l = intern(*t, extra_index, left);
    const int32_t r = intern(*t, extra_index, right);
    const int32_t j = intern(*t, extra_index, joined);
    // The first occurrence of a pair keeps its rank (llama.cpp's map emplace).
    t->merges.emplace(pair_key(l, r), merge_value{static_cast<int32_t>(rank), j});
  }

  for (std::size_t i = 0; i < n; ++i) {
    if (t->special[i]) t->special_order.push_back(static_cast<token_id>(i));
  }
  std::stable_sort(t->special_order.begin(), t->special_order.end(), [&](token_id a, token_id b) {
    return t->tokens[a].size() > t->tokens[b].size();
  });
  for (uint32_t k = 0; k < t->special_order.size(); ++k) {
    const auto first = static_cast<unsigned char>(t->tokens[t->special_order[k]][0]);
    t->special_by_first_byte[first].push_back(k);
    if (t->always_special[t->special_order[k]]) t->always_by_first_byte[first].push_back(k);
  }
  impl_ = std::move(t);
}

tokenizer::~tokenizer() = default;

int32_t tokenizer::size() const noexcept { return static_cast<int32_t>(impl_->tokens.size()); }
pre_tokenizer tokenizer::pre() const noexcept { return impl_->pre; }
token_id tokenizer::bos() const noexcept { return impl_->bos; }
token_id tokenizer::eos() const noexcept { return impl_->eos; }
bool tokenizer::add_bos() const noexcept { return impl_->add_bos; }
bool tokenizer::add_eos() const noexcept { return impl_->add_eos; }

namespace {
void check_range(const tokenizer::impl& t, token_id id) {
  if (id < 0 || static_cast<std::size_t>(id) >= t.tokens.size()) {
    throw moebench::error("tokenizer.bad_id", "token id " + std::to_string(id) +
                                                  " out of range (vocabulary of " +
                                                  std::to_string(t.tokens.size()) + ")");
  }
}
}  // namespace

const std::string& tokenizer::text(token_id id) const {
  check_range(*impl_, id);
  return impl_->tokens[id];
}
token_type tokenizer::type(token_id id) const {
  check_range(*impl_, id);
  return impl_->types[id];
}
bool tokenizer::is_special(token_id id) const {
  check_range(*impl_, id);
  return impl_->special[id] != 0;
}
std::optional<token_id> tokenizer::find(std::string_view text) const {
  auto it = impl_->text_to_token.find(text);
  if (it == impl_->text_to_token.end()) return std::nullopt;
  return it->second;
}

std::string tokenizer::decode(std::span<const token_id> ids, const decode_options& opts) const {
  const impl& t = *impl_;
  std::string out;
  for (token_id id : ids) {
    check_range(t, id);
    const token_type ty = t.types[id];
    if ((ty == token_type::control || ty == token_type::unknown) && !opts.render_special) continue;
    out += t.decoded[id];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

struct encoder::state {
  detail::match_scratch scratch;
  std::vector<detail::piece> pieces;
  std::vector<detail::piece> pieces_tmp;
  std::string repaired;

  struct symbol {
    int32_t sym;
    int32_t prev;
    int32_t next;
  };
  struct bigram {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t left_sym;
    int32_t right_sym;
    int32_t result;
  };
  std::vector<symbol> symbols;
  std::vector<bigram> heap;
  std::vector<token_id> word_ids;

  struct cached {
    uint32_t offset;
    uint32_t length;
  };
  std::unordered_map<std::string, cached, string_hash, std::equal_to<>> cache;
  std::vector<token_id> cache_pool;
  std::size_t max_cached_words = 0;

  struct occurrence {
    uint32_t priority;
    uint32_t begin;
  };
  std::vector<occurrence> occurrences;
  struct span_of {
    uint32_t begin;
    uint32_t end;
    token_id id;
  };
  std::vector<span_of> accepted;
};

encoder::encoder(const tokenizer& t, std::size_t max_cached_words)
    : impl_(t.impl_), state_(std::make_unique<state>()) {
  state_->max_cached_words = max_cached_words;
}
encoder::encoder(encoder&&) noexcept = default;
encoder& encoder::operator=(encoder&&) noexcept = default;
encoder::~encoder() = default;

namespace {

// Heap order: lowest rank first, then leftmost (llama.cpp's llm_bigram_bpe comparator).
struct bigram_after {
  bool operator()(const encoder::state::bigram& a, const encoder::state::bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

void try_bigram(const tokenizer::impl& t, encoder::state& s, int32_t left, int32_t right) {
  if (left < 0 || right < 0) return;
  const int32_t ls = s.symbols[left].sym;
  const int32_t rs = s.symbols[right].sym;
  auto it = t.merges.find(pair_key(ls, rs));
  if (it == t.merges.end()) return;
  s.heap.push_back({it->second.rank, left, right, ls, rs, it->second.result});
  std::push_heap(s.heap.begin(), s.heap.end(), bigram_after{});
}

// BPE over the raw bytes of one pre-token word; appends token ids to s.word_ids.
void bpe_word(const tokenizer::impl& t, encoder::state& s, std::string_view word) {
  if (t.ignore_merges) {
    if (auto it = t.raw_to_token.find(word); it != t.raw_to_token.end()) {
      s.word_ids.push_back(it->second);
      return;
    }
  }
  s.symbols.clear();
  s.heap.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    s.symbols.push_back({t.byte_symbol[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1});
  }
  for (int32_t i = 1; i < n; ++i) try_bigram(t, s, i - 1, i);
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), bigram_after{});
    const auto b = s.heap.back();
    s.heap.pop_back();
    auto& l = s.symbols[b.left];
    auto& r = s.symbols[b.right];
    // Stale when either side has merged since the pair was queued (a merged-away symbol has
    // sym == -1; a grown one has another id).
    if (l.sym != b.left_sym || r.sym != b.right_sym || l.next != b.right) continue;
    l.sym = b.result;
    l.next = r.next;
    if (r.next >= 0) s.symbols[r.next].prev = b.left;
    r.sym = -1;
    try_bigram(t, s, l.prev, b.left);
    try_bigram(t, s, b.left, l.next);
  }
  const auto n_tokens = static_cast<int32_t>(t.tokens.size());
  for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = s.symbols[i].next) {
    const int32_t sym = s.symbols[i].sym;
    if (sym < n_tokens) {
      s.word_ids.push_back(sym);
      continue;
    }
    // Not a token: as llama.cpp, fall back to tokens spelled by single bytes of its text.
    for (char c : t.symbol_text(sym)) {
      const token_id id = t.single_byte_token[static_cast<unsigned char>(c)];
      if (id != no_token) s.word_ids.push_back(id);
    }
  }
}

void encode_text(const tokenizer::impl& t, encoder::state& s, std::string_view text,
                 std::vector<token_id>& out) {
  if (text.empty()) return;
  if (!is_valid_utf8(text)) {
    s.repaired = to_valid_utf8(text);
    text = s.repaired;
  }
  // Pieces index into `text`, which must stay alive: copy when it is the repaired buffer and
  // could be reused (it is not, within this call).
  t.splitter.split(text, s.scratch, s.pieces, s.pieces_tmp);
  for (const auto& p : s.pieces) {
    const std::string_view word = text.substr(p.begin, p.end - p.begin);
    if (auto it = s.cache.find(word); it != s.cache.end()) {
      out.insert(out.end(), s.cache_pool.begin() + it->second.offset,
                 s.cache_pool.begin() + it->second.offset + it->second.length);
      continue;
    }
    s.word_ids.clear();
    bpe_word(t, s, word);
    out.insert(out.end(), s.word_ids.begin(), s.word_ids.end());
    if (s.max_cached_words == 0) continue;
    if (s.cache.size() >= s.max_cached_words || s.cache_pool.size() > (UINT32_MAX / 2)) {
      s.cache.clear();
      s.cache_pool.clear();
    }
    s.cache.emplace(std::string(word), encoder::state::cached{static_cast<uint32_t>(s.cache_pool.size()),
                                                             static_cast<uint32_t>(s.word_ids.size())});
    s.cache_pool.insert(s.cache_pool.end(), s.word_ids.begin(), s.word_ids.end());
  }
}

}  // namespace

void encoder::encode(std::string_view text, const encode_options& opts, std::vector<token_id>& out) {
  const tokenizer::impl& t = *impl_;
  state& s = *state_;
  if (opts.add_special && t.add_bos) out.push_back(t.bos);

  // Special-token partition. llama.cpp takes the special tokens longest first and, for each,
  // splits every remaining text fragment at its non-overlapping occurrences; accepting all
  // occurrences in (priority, position) order unless they overlap an accepted one gives the
  // same fragments.
  s.occurrences.clear();
  s.accepted.clear();
  if (!t.special_order.empty() && text.size() < UINT32_MAX) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto& buckets = opts.parse_special ? t.special_by_first_byte : t.always_by_first_byte;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto& bucket = buckets[p[i]];
      if (bucket.empty()) continue;
      for (uint32_t k : bucket) {
        const token_id id = t.special_order[k];
        const std::string& st = t.tokens[id];
        if (st.size() <= text.size() - i && std::memcmp(text.data() + i, st.data(), st.size()) == 0) {
          s.occurrences.push_back({k, static_cast<uint32_t>(i)});
        }
      }
    }
  }
  if (!s.occurrences.empty()) {
    std::sort(s.occurrences.begin(), s.occurrences.end(), [](const auto& a, const auto& b) {
      return a.priority < b.priority || (a.priority == b.priority && a.begin < b.begin);
    });
    // `accepted` is kept sorted by position; overlaps are checked against both neighbours.
    for (const auto& o : s.occurrences) {
      const token_id id = t.special_order[o.priority];
      const auto end = static_cast<uint32_t>(o.begin + t.tokens[id].size());
      auto it = std::lower_bound(s.accepted.begin(), s.accepted.end(), o.begin,
                                 [](const auto& a, uint32_t pos) { return a.begin < pos; });
      if (it != s.accepted.end() && it->begin < end) continue;
      if (it != s.accepted.begin() && std::prev(it)->end > o.begin) continue;
      s.accepted.insert(it, {o.begin, end, id});
    }
  }
  std::size_t pos = 0;
  for (const auto& a : s.accepted) {
    encode_text(t, s, text.substr(pos, a.begin - pos), out);
    out.push_back(a.id);
    pos = a.end;
  }
  encode_text(t, s, text.substr(pos), out);

  if (opts.add_special && t.add_eos) out.push_back(t.eos);
}

std::vector<token_id> encoder::encode(std::string_view text, const encode_options& opts) {
  std::vector<token_id> out;
  encode(text, opts, out);
  return out;
}

std::vector<token_id> tokenizer::encode(std::string_view text, const encode_options& opts) const {
  encoder e(*this, 1u << 12);
  return e.encode(text, opts);
}

std::vector<std::string> tokenizer::pre_tokenize(std::string_view text) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = to_valid_utf8(text);
    text = repaired;
  }
  detail::match_scratch scratch;
  std::vector<detail::piece> pieces, tmp;
  impl_->splitter.split(text, scratch, pieces, tmp);
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (const auto& p : pieces) out.emplace_back(text.substr(p.begin, p.end - p.begin));
  return out;
}

}  // namespace moebench::tokenizer
