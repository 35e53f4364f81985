// Qwen3-MoE (GGUF architecture "qwen3moe"): GQA with per-head q/k RMS norm, NEOX RoPE, softmax
// routing over all experts with the chosen weights always renormalised (llama.cpp ignores
// expert_weights_norm for this architecture).
#include <cmath>

#include "gqa_moe.h"
#include "moebench/error.h"

namespace moebench::engine::detail {

std::unique_ptr<arch_model> load_qwen3moe(const loader& l, hparams hp) {
  const gguf::file& f = l.file();
  hp.head_dim = f.find_int(f.arch_key("attention.key_length")).value_or(hp.n_embd / hp.n_head);
  const int64_t v_len = f.find_int(f.arch_key("attention.value_length")).value_or(hp.head_dim);
  if (v_len != hp.head_dim)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("attention.value_length")},
                "key and value lengths differ");
  hp.n_ff_exp = f.get_int(f.arch_key("expert_feed_forward_length"));
  hp.rope.n_rot = f.find_int(f.arch_key("rope.dimension_count")).value_or(hp.head_dim);
  if (hp.rope.n_rot != hp.head_dim)
    throw error("engine.bad_hparams", {f.path(), 0, f.arch_key("rope.dimension_count")}, "partial RoPE is not supported here");
  hp.rope.neox = true;
  hp.router.gate = gating::softmax;
  hp.router.normalize = true;
  hp.router.scale = static_cast<float>(f.find_float(f.arch_key("expert_weights_scale")).value_or(0.0));
  hp.kq_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
  return make_gqa_moe(l, std::move(hp), {.qk_norm = true});
}

}  // namespace moebench::engine::detail
