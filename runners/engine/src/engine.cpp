#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model.h"
#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::engine {

std::string_view to_string(architecture a) noexcept {
  switch (a) {
    case architecture::deepseek2: return "deepseek2";
    case architecture::qwen3moe: return "qwen3moe";
    case architecture::llama: return "llama";
    case architecture::deepseek4: return "deepseek4";
  }
  return "?";
}

void to_json(nlohmann::json& j, const model_facts& f) {
  j = nlohmann::json{{"architecture", to_string(f.arch)},
                     {"name", f.name},
                     {"n_vocab", f.n_vocab},
                     {"n_embd", f.n_embd},
                     {"n_layer", f.n_layer},
                     {"n_expert", f.n_expert},
                     {"n_expert_used", f.n_expert_used},
                     {"context_length", f.context_length},
                     {"total_params", f.total_params},
                     {"active_params_per_token", f.active_params_per_token},
                     {"weight_bytes", f.weight_bytes},
                     {"active_weight_bytes_per_token", f.active_weight_bytes_per_token}};
}

nlohmann::json summarize(const routing_stats& r) {
  nlohmann::json layers = nlohmann::json::array();
  double imbalance_sum = 0;
  int64_t moe_layers = 0;
  for (std::size_t l = 0; l < r.hits.size(); ++l) {
    const auto& h = r.hits[l];
    if (h.empty()) continue;
    int64_t total = 0, mx = 0;
    for (int64_t c : h) {
      total += c;
      mx = std::max(mx, c);
    }
    const double mean = static_cast<double>(total) / static_cast<double>(h.size());
    const double imbalance = mean > 0 ? static_cast<double>(mx) / mean : 0.0;
    double entropy = 0;
    for (int64_t c : h)
      if (c > 0) {
        const double p = static_cast<double>(c) / static_cast<double>(total);
        entropy -= p * std::log2(p);
      }
    layers.push_back({{"layer", l}, {"hits", h}, {"imbalance", imbalance}, {"load_entropy_bits", entropy}});
    imbalance_sum += imbalance;
    ++moe_layers;
  }
  return {{"layers", layers},
          {"routed_tokens", r.routed_tokens},
          {"near_tie_decisions", r.near_ties},
          {"routing_decisions", r.decisions},
          {"mean_imbalance", moe_layers > 0 ? imbalance_sum / static_cast<double>(moe_layers) : 0.0},
          {"mean_gate_entropy_bits",
           r.gate_entropy_count > 0 ? r.gate_entropy_bits_sum / static_cast<double>(r.gate_entropy_count) : 0.0}};
}

namespace detail {

hparams read_common_hparams(const gguf::file& f, architecture arch) {
  hparams hp;
  hp.arch = arch;
  const auto get = [&](std::string_view k) { return f.get_int(f.arch_key(k)); };
  const auto find = [&](std::string_view k, int64_t dflt) { return f.find_int(f.arch_key(k)).value_or(dflt); };
  hp.n_embd = get("embedding_length");
  hp.n_layer = get("block_count");
  hp.n_head = get("attention.head_count");
  hp.n_head_kv = find("attention.head_count_kv", hp.n_head);
  hp.n_ff = find("feed_forward_length", 0);
  hp.n_expert = find("expert_count", 0);
  hp.n_expert_used = find("expert_used_count", 0);
  hp.context_length = get("context_length");
  hp.rms_eps = static_cast<float>(f.get_float(f.arch_key("attention.layer_norm_rms_epsilon")));
  hp.n_vocab = f.find_int(f.arch_key("vocab_size"))
                   .value_or(static_cast<int64_t>(f.get_string_array("tokenizer.ggml.tokens").size()));
  const auto bad = [&](std::string_view key, std::string_view what) {
    return error("engine.bad_hparams", {f.path(), 0, f.arch_key(key)}, std::string(what));
  };
  if (hp.n_embd < 1 || hp.n_layer < 1 || hp.n_vocab < 1 || hp.context_length < 1) throw bad("embedding_length", "sizes must be positive");
  if (hp.n_head < 1 || hp.n_head_kv < 1 || hp.n_head % hp.n_head_kv != 0)
    throw bad("attention.head_count_kv", "head_count must be a positive multiple of head_count_kv");
  if (hp.n_expert < 0 || hp.n_expert_used < 0 || hp.n_expert_used > hp.n_expert || (hp.n_expert > 0 && hp.n_expert_used < 1))
    throw bad("expert_used_count", "expert_used_count must be in [1, expert_count]");
  // Every layer's tensors must exist; checking the last one first keeps a hostile block_count
  // from sizing anything.
  if (f.find_tensor(blk(hp.n_layer - 1, "attn_norm")) == nullptr)
    throw error("engine.missing_tensor", {f.path(), 0, blk(hp.n_layer - 1, "attn_norm")},
                fmt::format("block_count is {} but layer {} has no attn_norm", hp.n_layer, hp.n_layer - 1));
  if (hp.n_expert > 4096 || hp.n_head > 4096)
    throw bad("expert_count", "more than 4096 experts or heads");
  hp.router.n_expert = static_cast<int32_t>(hp.n_expert);
  hp.router.n_used = static_cast<int32_t>(hp.n_expert_used);

  // RoPE and its scaling, with llama.cpp's defaults.
  hp.rope.freq_base = static_cast<float>(f.find_float(f.arch_key("rope.freq_base")).value_or(10000.0));
  const std::string scaling(f.find_string(f.arch_key("rope.scaling.type")).value_or("linear"));
  if (scaling != "none" && scaling != "linear" && scaling != "yarn")
    throw bad("rope.scaling.type", fmt::format("unsupported RoPE scaling '{}' (none, linear, yarn)", scaling));
  double factor = f.find_float(f.arch_key("rope.scaling.factor")).value_or(0.0);
  if (factor == 0.0) factor = f.find_float(f.arch_key("rope.scale_linear")).value_or(0.0);
  hp.rope.freq_scale = (scaling == "none" || factor == 0.0) ? 1.0f : static_cast<float>(1.0 / factor);
  hp.rope.ext_factor = scaling == "yarn" ? 1.0f : 0.0f;
  hp.rope.n_ctx_orig = find("rope.scaling.original_context_length", hp.context_length);
  hp.rope.attn_factor = static_cast<float>(f.find_float(f.arch_key("rope.scaling.attn_factor")).value_or(1.0));
  if (hp.rope.ext_factor != 0.0f && arch != architecture::deepseek2) {
    const float fct = 1.0f / hp.rope.freq_scale;
    const float m = fct <= 1.0f ? 1.0f : 0.1f * std::log(fct) + 1.0f;
    hp.rope.attn_factor *= m / (1.0f + 0.1f * std::log(fct));
  }
  return hp;
}

struct engine_state {
  gguf::file file;
  std::unique_ptr<tokenizer::tokenizer> vocab;
  std::deque<std::vector<float>> owned;
  std::unique_ptr<arch_model> model;
  model_facts facts;
  const kernel_table* kernels = nullptr;
  std::unique_ptr<thread_pool> pool;
  std::vector<worker_scratch> workers;
  std::unique_ptr<arch_model::scratch> scratch;
  int64_t ctx = 0;
  int64_t max_batch = 0;
  int64_t kv_per_seq = 0;            // floats
  std::vector<float> kv;             // [seq][layer][ctx][kv_floats_per_token]
  std::vector<int64_t> seq_len;      // tokens held per sequence
  std::vector<float> logits;         // [max_sequences][n_vocab]: the outputs of the latest step
  routing_stats routing;
  std::string chat_template;
  // The step being built (sized once: max_batch tokens, max_sequences segments).
  std::vector<segment> segments;
  std::vector<int32_t> tokens, segment_of, outputs;
  std::vector<int64_t> pos;
  std::vector<std::span<const float>> entry_logits;
  std::vector<char> seq_in_step;

  explicit engine_state(const std::filesystem::path& p) : file(p) {}
};

}  // namespace detail

engine::engine(const std::filesystem::path& gguf_path, const engine_options& opts)
    : s_(std::make_unique<detail::engine_state>(gguf_path)) {
  auto& s = *s_;
  const gguf::file& f = s.file;
  const std::string_view arch_name = f.architecture();
  architecture arch;
  if (arch_name == "deepseek2") arch = architecture::deepseek2;
  else if (arch_name == "qwen3moe") arch = architecture::qwen3moe;
  else if (arch_name == "llama") arch = architecture::llama;
  else if (arch_name == "deepseek4") arch = architecture::deepseek4;
  else
    throw error("engine.unsupported_architecture", {f.path(), 0, "general.architecture"},
                fmt::format("architecture '{}' is not supported (deepseek2, deepseek4, qwen3moe, llama)", arch_name));

  s.vocab = std::make_unique<tokenizer::tokenizer>(tokenizer::tokenizer::from_gguf(f));
  detail::hparams hp = detail::read_common_hparams(f, arch);
  if (arch != architecture::llama && hp.n_expert < 1)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("expert_count")}, "an MoE architecture needs experts");
  const detail::loader l(f, s.owned);
  switch (arch) {
    case architecture::deepseek2: s.model = detail::load_deepseek2(l, std::move(hp)); break;
    case architecture::qwen3moe: s.model = detail::load_qwen3moe(l, std::move(hp)); break;
    case architecture::llama: s.model = detail::load_llama(l, std::move(hp)); break;
    case architecture::deepseek4: s.model = detail::load_deepseek4(l, std::move(hp)); break;
  }
  const detail::hparams& h = s.model->hp();
  if (s.vocab->size() > h.n_vocab)
    throw error("engine.bad_hparams", {f.path(), 0, "tokenizer.ggml.tokens"}, "the vocabulary is larger than the output layer");

  s.ctx = opts.context_length > 0 ? opts.context_length : std::min<int64_t>(h.context_length, 4096);
  s.max_batch = std::max<int64_t>(1, opts.max_batch_tokens);
  if (opts.max_sequences < 1) throw error("engine.bad_option", {"", 0, "max_sequences"}, "must be >= 1");
  const int threads = opts.threads > 0 ? opts.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  s.kernels = opts.scalar_kernels ? &detail::scalar_kernels() : &detail::best_kernels();
  s.pool = std::make_unique<detail::thread_pool>(threads);
  int64_t max_row = 0;
  for (const gguf::tensor_info& t : f.tensors()) max_row = std::max(max_row, t.row_length());
  s.workers.resize(static_cast<std::size_t>(threads));
  for (auto& w : s.workers) {
    w.row.resize(static_cast<std::size_t>(max_row));
    w.scores.resize(static_cast<std::size_t>(s.model->worker_scratch_floats(s.ctx)));
  }
  s.scratch = s.model->make_scratch(s.max_batch);
  s.kv_per_seq = s.model->cache_floats_per_sequence(s.ctx, s.max_batch);
  s.kv.assign(static_cast<std::size_t>(s.kv_per_seq * opts.max_sequences), 0.0f);
  s.seq_len.assign(static_cast<std::size_t>(opts.max_sequences), 0);
  const auto n_seq = static_cast<std::size_t>(opts.max_sequences);
  const auto max_batch = static_cast<std::size_t>(s.max_batch);
  s.logits.resize(n_seq * static_cast<std::size_t>(h.n_vocab));
  s.segments.reserve(n_seq);
  s.tokens.reserve(max_batch);
  s.segment_of.reserve(max_batch);
  s.pos.reserve(max_batch);
  s.outputs.reserve(n_seq);
  s.entry_logits.reserve(n_seq);
  s.seq_in_step.assign(n_seq, 0);
  s.routing.hits.resize(static_cast<std::size_t>(h.n_layer));
  reset_routing();

  model_facts& fa = s.facts;
  fa.arch = arch;
  fa.name = std::string(f.find_string("general.name").value_or(""));
  s.chat_template = std::string(f.find_string("tokenizer.chat_template").value_or(""));
  fa.n_vocab = h.n_vocab;
  fa.n_embd = h.n_embd;
  fa.n_layer = h.n_layer;
  fa.n_expert = h.n_expert;
  fa.n_expert_used = h.n_expert_used;
  fa.context_length = s.ctx;
  s.model->count(fa);
}

engine::~engine() = default;

const model_facts& engine::facts() const noexcept { return s_->facts; }
const tokenizer::tokenizer& engine::vocab() const noexcept { return *s_->vocab; }
std::string_view engine::kernels() const noexcept { return s_->kernels->name; }
int engine::threads() const noexcept { return s_->pool->size(); }
int32_t engine::max_sequences() const noexcept { return static_cast<int32_t>(s_->seq_len.size()); }
const routing_stats& engine::routing() const noexcept { return s_->routing; }
std::string_view engine::chat_template() const noexcept { return s_->chat_template; }

void engine::reset_routing() {
  auto& r = s_->routing;
  const auto& hp = s_->model->hp();
  for (std::size_t l = 0; l < r.hits.size(); ++l)
    r.hits[l].assign(static_cast<std::size_t>(
                         hp.arch == architecture::deepseek2 && static_cast<int64_t>(l) < hp.n_leading_dense ? 0 : hp.n_expert),
                     0);
  r.routed_tokens = 0;
  r.gate_entropy_bits_sum = 0;
  r.gate_entropy_count = 0;
  r.near_ties = 0;
  r.decisions = 0;
}

void engine::reset(int32_t seq) {
  MOEBENCH_CHECK(seq >= 0 && seq < max_sequences(), "sequence id out of range");
  s_->seq_len[static_cast<std::size_t>(seq)] = 0;
}

int64_t engine::sequence_length(int32_t seq) const {
  MOEBENCH_CHECK(seq >= 0 && seq < max_sequences(), "sequence id out of range");
  return s_->seq_len[static_cast<std::size_t>(seq)];
}

namespace {

void check_tokens(int64_t len, std::span<const int32_t> tokens, int64_t ctx, int64_t n_vocab) {
  if (len + static_cast<int64_t>(tokens.size()) > ctx)
    throw error("engine.context_full", {"", 0, "context_length"},
                fmt::format("sequence needs {} tokens, the context holds {}", len + static_cast<int64_t>(tokens.size()), ctx));
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab) throw error("engine.bad_token", {"", 0, "token"}, fmt::format("token id {} is outside the vocabulary", t));
}

}  // namespace

int64_t engine::max_batch_tokens() const noexcept { return s_->max_batch; }

std::span<const float> engine::eval(int32_t seq, std::span<const int32_t> tokens) {
  MOEBENCH_CHECK(seq >= 0 && seq < max_sequences(), "sequence id out of range");
  MOEBENCH_CHECK(!tokens.empty(), "eval needs at least one token");
  auto& s = *s_;
  check_tokens(s.seq_len[static_cast<std::size_t>(seq)], tokens, s.ctx, s.model->hp().n_vocab);
  std::span<const float> out;
  for (std::size_t i = 0; i < tokens.size(); i += static_cast<std::size_t>(s.max_batch)) {
    const batch_entry e{seq, tokens.subspan(i, std::min(tokens.size() - i, static_cast<std::size_t>(s.max_batch))),
                        i + static_cast<std::size_t>(s.max_batch) >= tokens.size()};
    out = eval_batch(std::span<const batch_entry>(&e, 1))[0];
  }
  return out;
}

std::span<const std::span<const float>> engine::eval_batch(std::span<const batch_entry> entries) {
  auto& s = *s_;
  const int64_t n_vocab = s.model->hp().n_vocab;
  MOEBENCH_CHECK(!entries.empty() && entries.size() <= s.seq_len.size(), "a step has 1..max_sequences entries");
  int64_t total = 0;
  std::fill(s.seq_in_step.begin(), s.seq_in_step.end(), 0);
  for (const batch_entry& e : entries) {
    MOEBENCH_CHECK(e.seq >= 0 && e.seq < max_sequences(), "sequence id out of range");
    MOEBENCH_CHECK(!e.tokens.empty(), "every entry of a step has tokens");
    MOEBENCH_CHECK(!s.seq_in_step[static_cast<std::size_t>(e.seq)], "a sequence appears once per step");
    s.seq_in_step[static_cast<std::size_t>(e.seq)] = 1;
    total += static_cast<int64_t>(e.tokens.size());
    check_tokens(s.seq_len[static_cast<std::size_t>(e.seq)], e.tokens, s.ctx, n_vocab);
  }
  MOEBENCH_CHECK(total <= s.max_batch, "a step holds at most max_batch_tokens tokens");

  s.segments.clear();
  s.tokens.clear();
  s.segment_of.clear();
  s.pos.clear();
  s.outputs.clear();
  for (const batch_entry& e : entries) {
    const auto seg = static_cast<int32_t>(s.segments.size());
    const int64_t len = s.seq_len[static_cast<std::size_t>(e.seq)];
    s.segments.push_back({len, s.kv.data() + e.seq * s.kv_per_seq, e.logits});
    for (std::size_t i = 0; i < e.tokens.size(); ++i) {
      s.tokens.push_back(e.tokens[i]);
      s.segment_of.push_back(seg);
      s.pos.push_back(len + static_cast<int64_t>(i));
    }
    if (e.logits) s.outputs.push_back(static_cast<int32_t>(s.tokens.size()) - 1);
  }
  const detail::batch bt{s.segments, s.tokens, s.pos, s.segment_of, s.outputs, s.ctx};
  const detail::forward_ctx fc{s.kernels, s.pool.get(), &s.workers, &s.routing};
  s.routing.last_token_margin = std::numeric_limits<float>::infinity();
  s.model->forward(fc, *s.scratch, bt, s.logits.data());
  s.routing.routed_tokens += total;

  s.entry_logits.clear();
  std::size_t out = 0;
  for (const batch_entry& e : entries) {
    s.seq_len[static_cast<std::size_t>(e.seq)] += static_cast<int64_t>(e.tokens.size());
    if (e.logits) {
      s.entry_logits.emplace_back(s.logits.data() + out * static_cast<std::size_t>(n_vocab), static_cast<std::size_t>(n_vocab));
      ++out;
    } else {
      s.entry_logits.emplace_back();
    }
  }
  return s.entry_logits;
}

}  // namespace moebench::engine
