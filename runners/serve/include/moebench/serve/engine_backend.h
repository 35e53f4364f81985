#pragma once
// `moebench serve --model gguf:PATH`: the in-process MoE engine behind the server, with
// continuous batching. One scheduler thread owns the engine; `max_sequences` slots run at
// once and further requests wait in an admission queue. Every step evaluates one decode token
// of each running sequence plus prefill chunks of admitted ones, up to `max_batch_tokens`, in
// one engine::eval_batch() (the weights are read once per step for all of them). Each request
// decodes with its own seeded engine::decoder, the one generate() uses, so a request's text is
// the in-process runner's text for the same prompt and parameters. docs/openai-runner.md.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "moebench/engine/engine.h"
#include "moebench/serve/model_backend.h"

namespace moebench::serve {

// Counters the scheduler keeps (relaxed atomics: read them for reports, not for control).
struct engine_backend_stats {
  std::atomic<int64_t> steps{0};            // forward steps (engine::eval_batch calls)
  std::atomic<int64_t> step_sequences{0};   // sum over steps of the sequences in the step
  std::atomic<int64_t> step_tokens{0};      // sum over steps of the tokens in the step
  std::atomic<int64_t> max_step_sequences{0};
};

struct engine_backend_options {
  std::string id;                 // model card id; empty = the GGUF's general.name, else the file stem
  engine::engine_options engine;  // threads, context_length (per sequence), max_sequences (the
                                  // slots), max_batch_tokens (raised to max_sequences if below)
  std::shared_ptr<engine_backend_stats> stats;  // optional; filled as the scheduler runs
};

// Loads the model (errors as engine::engine) and starts the scheduler thread; destruction
// stops it, finishing what is still queued or running as cancelled.
std::unique_ptr<model_backend> make_engine_backend(const std::filesystem::path& gguf_path,
                                                   const engine_backend_options& options);

}  // namespace moebench::serve
