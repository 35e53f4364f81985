#include "pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <utility>

#include "moebench/error.h"

namespace moebench::tokenizer {
namespace {

struct pre_name {
  std::string_view gguf_name;
  pre_tokenizer pre;
};

// tokenizer.ggml.pre values and the pre-tokenizer llama.cpp runs for each. Names whose llama.cpp
// handling differs in more than the split regexes (extra token attributes, separators) are left
// out on purpose, so that they are reported as unsupported rather than tokenized differently.
constexpr std::array<pre_name, 40> pre_names{{
    {"default", pre_tokenizer::default_bpe},
    {"gpt-2", pre_tokenizer::gpt2},
    {"gpt2", pre_tokenizer::gpt2},
    {"phi-2", pre_tokenizer::gpt2},
    {"mpt", pre_tokenizer::gpt2},
    {"olmo", pre_tokenizer::gpt2},
    {"jais", pre_tokenizer::gpt2},
    {"gigachat", pre_tokenizer::gpt2},
    {"a.x-4.0", pre_tokenizer::gpt2},
    {"mellum", pre_tokenizer::gpt2},
    {"exaone4", pre_tokenizer::gpt2},
    {"trillion", pre_tokenizer::gpt2},
    {"llama3", pre_tokenizer::llama3},
    {"llama-v3", pre_tokenizer::llama3},
    {"llama-bpe", pre_tokenizer::llama3},
    {"falcon3", pre_tokenizer::llama3},
    {"falcon-h1", pre_tokenizer::llama3},
    {"pixtral", pre_tokenizer::llama3},
    {"midm-2.0", pre_tokenizer::llama3},
    {"lfm2", pre_tokenizer::llama3},
    {"qwen2", pre_tokenizer::qwen2},
    {"deepseek-r1-qwen", pre_tokenizer::qwen2},
    {"kormo", pre_tokenizer::qwen2},
    {"stablelm2", pre_tokenizer::qwen2},
    {"megrez", pre_tokenizer::qwen2},
    {"hunyuan", pre_tokenizer::qwen2},
    {"qwen35", pre_tokenizer::qwen35},
    {"deepseek-llm", pre_tokenizer::deepseek_llm},
    {"deepseek-coder", pre_tokenizer::deepseek_coder},
    {"deepseek-v3", pre_tokenizer::deepseek_v3},
    {"hunyuan-dense", pre_tokenizer::deepseek_v3},
    {"falcon", pre_tokenizer::falcon},
    {"starcoder", pre_tokenizer::starcoder},
    {"refact", pre_tokenizer::starcoder},
    {"command-r", pre_tokenizer::starcoder},
    {"smollm", pre_tokenizer::starcoder},
    {"codeshell", pre_tokenizer::starcoder},
    {"exaone", pre_tokenizer::starcoder},
    {"minerva-7b", pre_tokenizer::starcoder},
    {"mellum2", pre_tokenizer::starcoder},
}};

}  // namespace

std::string_view name(pre_tokenizer p) noexcept {
  switch (p) {
    case pre_tokenizer::default_bpe: return "default";
    case pre_tokenizer::gpt2: return "gpt-2";
    case pre_tokenizer::llama3: return "llama-bpe";
    case pre_tokenizer::qwen2: return "qwen2";
    case pre_tokenizer::qwen35: return "qwen35";
    case pre_tokenizer::deepseek_llm: return "deepseek-llm";
    case pre_tokenizer::deepseek_coder: return "deepseek-coder";
    case pre_tokenizer::deepseek_v3: return "deepseek-v3";
    case pre_tokenizer::falcon: return "falcon";
    case pre_tokenizer::starcoder: return "starcoder";
  }
  return "?";
}

std::optional<pre_tokenizer> pre_tokenizer_from_name(std::string_view gguf_name) {
  for (const auto& n : pre_names) {
    if (n.gguf_name == gguf_name) return n.pre;
  }
  return std::nullopt;
}

namespace detail {
namespace {

// White_Space as llama.cpp classifies it (its \s): U+0009..U+000D, U+0085 and the Z category.
// PCRE2's own \s leaves out U+0085, so the class is spelled out, for use inside [...].
constexpr std::string_view ws = R"(\t-\r\x{85}\p{Z})";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += p;
  return s;
}

// The GPT-2 pattern: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::string gpt2_words() {
  return cat({R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)", ws, R"(\p{L}\p{N}]+|[)", ws,
              R"(]+(?![^)", ws, R"(])|[)", ws, "]+"});
}

// The tail shared by the llama3 family: ...[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
std::string whitespace_tail() {
  return cat({R"(|[)", ws, R"(]*[\r\n]+|[)", ws, R"(]+(?![^)", ws, R"(])|[)", ws, "]+"});
}

constexpr std::string_view contractions = R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))";

// One or more characters of `cls` that are not whitespace. llama.cpp runs the patterns that
// spell non-ASCII ranges (and no \p{..}) with std::wregex on a copy of the text in which every
// non-ASCII whitespace character has become U+000B, so such ranges never match whitespace
// (U+3000, U+2000..U+200A, ... inside U+0800..U+4E00).
std::string run_without_ws(std::string_view cls) { return cat({"(?:(?![", ws, "])", cls, ")+"}); }

// CJK ideographs U+4E00..U+9FA5, U+0800..U+4E00 and Hangul U+AC00..U+D7FF (DeepSeek LLM/Coder).
std::string deepseek_cjk() {
  return run_without_ws(R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}])");
}

// The cased-letter ranges of DeepSeek LLM's tokenizer.json, as llama.cpp spells them.
constexpr std::string_view deepseek_llm_letters =
    R"([A-Za-z\x{00B5}\x{00C0}-\x{00D6}\x{00D8}-\x{00F6}\x{00F8}-\x{01BA}\x{01BC}-\x{01BF})"
    R"(\x{01C4}-\x{0293}\x{0295}-\x{02AF}\x{0370}-\x{0373}\x{0376}\x{0377}\x{037B}-\x{037D})"
    R"(\x{037F}\x{0386}\x{0388}-\x{038A}\x{038C}\x{038E}-\x{03A1}\x{03A3}-\x{03F5})"
    R"(\x{03F7}-\x{0481}\x{048A}-\x{052F}\x{0531}-\x{0556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})"
    R"(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77})"
    R"(\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D})"
    R"(\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4})"
    R"(\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3})"
    R"(\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D})"
    R"(\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184})"
    R"(\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D})"
    R"(\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF})"
    R"(\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F})"
    R"(\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})"
    R"(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}])";

}  // namespace

std::vector<std::string> patterns(pre_tokenizer p) {
  switch (p) {
    case pre_tokenizer::default_bpe:
      return {R"([\p{P}\$\+<=>\^~\|]+)", gpt2_words(), R"(\p{N}+)", "[0-9][0-9][0-9]"};
    case pre_tokenizer::gpt2:
      return {gpt2_words()};
    case pre_tokenizer::llama3:
      return {cat({contractions, R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^)", ws,
                   R"(\p{L}\p{N}]+[\r\n]*)", whitespace_tail()})};
    case pre_tokenizer::qwen2:
      return {cat({contractions, R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^)", ws,
                   R"(\p{L}\p{N}]+[\r\n]*)", whitespace_tail()})};
    case pre_tokenizer::qwen35:
      return {cat({contractions, R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^)", ws,
                   R"(\p{L}\p{M}\p{N}]+[\r\n]*)", whitespace_tail()})};
    case pre_tokenizer::deepseek_llm:
      return {
          R"([\r\n])",
          cat({"[", ws, "]?", run_without_ws(deepseek_llm_letters)}),
          cat({"[", ws, "]?",
               run_without_ws(R"([!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}])")}),
          // \s+$ where $ is the end of the piece. The look-behind only rules out starts inside a
          // whitespace run (where \s+$ cannot be leftmost), keeping the search linear.
          cat({"(?<![", ws, "])[", ws, R"(]+\z)"}),
          deepseek_cjk(),
          R"(\p{N}+)",
      };
    case pre_tokenizer::deepseek_coder:
      return {R"([\r\n])", cat({"[", ws, R"(]?\p{L}+)"}), cat({"[", ws, R"(]?\p{P}+)"}),
              deepseek_cjk(), R"(\p{N})"};
    case pre_tokenizer::deepseek_v3:
      return {R"(\p{N}{1,3})", run_without_ws(R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}])"),
              cat({R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+)",
                   R"(|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*)",
                   whitespace_tail()})};
    case pre_tokenizer::falcon:
      return {R"([\p{P}\$\+<=>\^~\|`]+)", gpt2_words(), "[0-9][0-9][0-9]"};
    case pre_tokenizer::starcoder:
      return {R"(\p{N})", gpt2_words()};
  }
  MOEBENCH_CHECK(false, "unhandled pre_tokenizer");
  return {};
}

regex::regex(const std::string& pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  // No PCRE2_UCP: every class used is spelled with \p{..} or explicit ranges, and \d, \w, \b
  // are not used, so their ASCII meaning never applies.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_NO_UTF_CHECK, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(error_code, msg.data(), msg.size());
    MOEBENCH_CHECK(false, std::string("pre-tokenizer pattern does not compile at offset ") +
                              std::to_string(error_offset) + ": " +
                              reinterpret_cast<const char*>(msg.data()) + ": " + pattern);
  }
  // JIT is an optimisation: where it is unavailable the interpreter gives the same matches.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

regex::regex(regex&& o) noexcept : code_(std::exchange(o.code_, nullptr)) {}
regex& regex::operator=(regex&& o) noexcept {
  std::swap(code_, o.code_);
  return *this;
}
regex::~regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

match_scratch::match_scratch() {
  match_data_ = pcre2_match_data_create(1, nullptr);
  match_context_ = pcre2_match_context_create(nullptr);
  MOEBENCH_CHECK(match_data_ != nullptr && match_context_ != nullptr, "out of memory (PCRE2)");
}

match_scratch::match_scratch(match_scratch&& o) noexcept
    : match_data_(std::exchange(o.match_data_, nullptr)),
      match_context_(std::exchange(o.match_context_, nullptr)),
      jit_stack_(std::exchange(o.jit_stack_, nullptr)) {}

match_scratch& match_scratch::operator=(match_scratch&& o) noexcept {
  std::swap(match_data_, o.match_data_);
  std::swap(match_context_, o.match_context_);
  std::swap(jit_stack_, o.jit_stack_);
  return *this;
}

match_scratch::~match_scratch() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_));
  pcre2_match_context_free(static_cast<pcre2_match_context*>(match_context_));
  pcre2_jit_stack_free(static_cast<pcre2_jit_stack*>(jit_stack_));
}

bool match_scratch::find(const regex& re, std::string_view subject, std::size_t start,
                         std::size_t& match_begin, std::size_t& match_end) {
  auto* md = static_cast<pcre2_match_data*>(match_data_);
  auto* ctx = static_cast<pcre2_match_context*>(match_context_);
  auto match = [&] {
    return pcre2_match(static_cast<const pcre2_code*>(re.code()),
                       reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start,
                       PCRE2_NO_UTF_CHECK, md, ctx);
  };
  int rc = match();
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT && jit_stack_ == nullptr) {
    // The default 32 KiB JIT stack is enough for ordinary text; long runs that backtrack get a
    // large one, created once per scratch.
    auto* stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    MOEBENCH_CHECK(stack != nullptr, "out of memory (PCRE2 JIT stack)");
    pcre2_jit_stack_assign(ctx, nullptr, stack);
    jit_stack_ = stack;
    rc = match();
  }
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(rc, msg.data(), msg.size());
    throw moebench::error("tokenizer.pre_tokenizer_failed",
                          std::string("pre-tokenizer regex failed on a piece of ") +
                              std::to_string(subject.size()) +
                              " bytes: " + reinterpret_cast<const char*>(msg.data()));
  }
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  match_begin = ov[0];
  match_end = ov[1];
  return true;
}

splitter::splitter(pre_tokenizer p) {
  for (const auto& pat : patterns(p)) regexes_.emplace_back(pat);
}

namespace {
std::size_t next_char(std::string_view s, std::size_t i) {
  ++i;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}
}  // namespace

void splitter::split(std::string_view text, match_scratch& scratch, std::vector<piece>& out,
                     std::vector<piece>& tmp) const {
  out.clear();
  if (text.empty()) return;
  MOEBENCH_CHECK(text.size() <= UINT32_MAX, "text too large for one split");
  out.push_back({0, static_cast<uint32_t>(text.size())});
  for (const auto& re : regexes_) {
    tmp.clear();
    for (const piece& p : out) {
      const std::string_view chunk = text.substr(p.begin, p.end - p.begin);
      std::size_t pos = 0;
      std::size_t gap_start = 0;
      while (pos < chunk.size()) {
        std::size_t mb = 0;
        std::size_t me = 0;
        if (!scratch.find(re, chunk, pos, mb, me)) break;
        if (me == mb) {
          // An empty match splits nothing (no pattern here can produce one); step past it.
          pos = next_char(chunk, mb);
          continue;
        }
        if (mb > gap_start) tmp.push_back({p.begin + static_cast<uint32_t>(gap_start), p.begin + static_cast<uint32_t>(mb)});
        tmp.push_back({p.begin + static_cast<uint32_t>(mb), p.begin + static_cast<uint32_t>(me)});
        pos = me;
        gap_start = me;
      }
      if (gap_start < chunk.size()) tmp.push_back({p.begin + static_cast<uint32_t>(gap_start), p.end});
    }
    out.swap(tmp);
  }
}

}  // namespace detail
}  // namespace moebench::tokenizer
