// Qwen3-MoE (GGUF architecture "qwen3moe"): GQA with per-head q/k RMS norm, NEOX RoPE, softmax
// routing over all experts with the chosen weights always renormalised (llama.cpp ignores
// expert_weights_norm for this architecture).
#include <cmath>

#include "gqa_moe.h"

namespace moebench::engine::detail {

std::unique_ptr<arch_model> load_qwen3moe(const loader& l, hparams hp) {
  const gguf::file& f = l.file();
  read_gqa_attention(f, hp);
  hp.n_ff_exp = f.get_int(f.arch_key("expert_feed_forward_length"));
  hp.rope.neox = true;
  hp.router.gate = gating::softmax;
  hp.router.normalize = true;
  hp.router.scale = static_cast<float>(f.find_float(f.arch_key("expert_weights_scale")).value_or(0.0));
  hp.kq_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
  return make_gqa_moe(l, std::move(hp), {.qk_norm = true});
}

}  // namespace moebench::engine::detail
