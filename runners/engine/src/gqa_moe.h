#pragma once
// The transformer shared by Qwen3-MoE and Mixtral-style llama files: GQA attention (optional
// per-head q/k RMS norm), RoPE, and a routed MoE FFN (or a dense one where a layer has no
// router). The architecture files choose the variant.
#include <memory>

#include "model.h"

namespace moebench::engine::detail {

struct gqa_moe_variant {
  bool qk_norm = false;  // qwen3moe: RMS norm over each head of q and k before RoPE
};

// The attention hyper-parameters both architectures read the same way: head_dim (key length =
// value length) and RoPE over the whole head. Errors "engine.bad_hparams" name the key.
void read_gqa_attention(const gguf::file& f, hparams& hp);

std::unique_ptr<arch_model> make_gqa_moe(const loader& l, hparams hp, gqa_moe_variant v);

}  // namespace moebench::engine::detail
