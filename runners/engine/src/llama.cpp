// Llama with experts (GGUF architecture "llama" with expert_count > 0: Mixtral): GQA, RoPE on
// adjacent pairs, softmax routing, top-k weights renormalised. Dense llama layers (no router)
// run the plain SwiGLU FFN.
#include <cmath>

#include "gqa_moe.h"

namespace moebench::engine::detail {

std::unique_ptr<arch_model> load_llama(const loader& l, hparams hp) {
  const gguf::file& f = l.file();
  read_gqa_attention(f, hp);
  // Mixtral files store the expert width as feed_forward_length.
  hp.n_ff_exp = f.find_int(f.arch_key("expert_feed_forward_length")).value_or(hp.n_ff);
  hp.rope.neox = false;
  hp.router.gate = gating::softmax;
  hp.router.normalize = true;
  hp.router.scale = static_cast<float>(f.find_float(f.arch_key("expert_weights_scale")).value_or(0.0));
  const double attn_scale = f.find_float(f.arch_key("attention.scale")).value_or(0.0);
  hp.kq_scale = attn_scale == 0.0 ? 1.0f / std::sqrt(static_cast<float>(hp.head_dim)) : static_cast<float>(attn_scale);
  return make_gqa_moe(l, std::move(hp), {.qk_norm = false});
}

}  // namespace moebench::engine::detail
