// llama.cpp's own prefill and decode speed through its C API, against the prebuilt libllama
// that node-llama-cpp ships (scripts/engine-bench compiles this with the headers of the same
// llama.cpp release, taken from the package's source bundle at run time; nothing of llama.cpp
// is committed). Measures what `moebench generate` reports: prefill tok/s over a prompt of
// deterministic ids in one batch, then decode tok/s over greedy single-token steps.
// Usage: llama_cpp_bench MODEL BACKEND_DIR THREADS PROMPT_TOKENS GEN [REPEAT]
// Prints one JSON object: {"prefill_tokens_per_s", "decode_tokens_per_s"} (best of REPEAT).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

llama_token argmax(const float* logits, int32_t n) {
  return static_cast<llama_token>(std::max_element(logits, logits + n) - logits);
}

void quiet(ggml_log_level level, const char* text, void*) {
  if (level >= GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s MODEL BACKEND_DIR THREADS PROMPT_TOKENS GEN [REPEAT]\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[3]);
  const int n_prompt = std::atoi(argv[4]);
  const int n_gen = std::atoi(argv[5]);
  const int repeat = argc > 6 ? std::atoi(argv[6]) : 2;
  llama_log_set(quiet, nullptr);
  ggml_backend_load_all_from_path(argv[2]);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (model == nullptr) {
    std::fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(n_prompt + n_gen + 16);
  cp.n_batch = static_cast<uint32_t>(std::max(n_prompt, 32));
  cp.n_ubatch = cp.n_batch;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (ctx == nullptr) {
    std::fprintf(stderr, "cannot create a context\n");
    return 1;
  }
  const int32_t n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::vector<llama_token> prompt(static_cast<size_t>(n_prompt));
  for (int i = 0; i < n_prompt; ++i) prompt[static_cast<size_t>(i)] = static_cast<llama_token>((i * 7919 + 13) % n_vocab);
  double best_pp = 0, best_tg = 0;
  for (int r = 0; r < repeat; ++r) {
    llama_memory_clear(llama_get_memory(ctx), true);
    auto t0 = std::chrono::steady_clock::now();
    if (llama_decode(ctx, llama_batch_get_one(prompt.data(), n_prompt)) != 0) return 1;
    best_pp = std::max(best_pp, n_prompt / seconds_since(t0));
    llama_token tok = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n_gen; ++i) {
      if (llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) return 1;
      tok = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
    }
    best_tg = std::max(best_tg, n_gen / seconds_since(t0));
  }
  std::printf("{\"prefill_tokens_per_s\": %.3f, \"decode_tokens_per_s\": %.3f}\n", best_pp, best_tg);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
