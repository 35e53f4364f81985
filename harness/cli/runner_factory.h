#pragma once
// The one place a model spec becomes a runner. A new runner kind (gguf:, openai:) is wired in
// here and nowhere else; suites receive a `runner&` and never look at the spec.
#include <cstdint>
#include <memory>
#include <string>

#include "moebench/runner.h"

namespace moebench::cli {

// What a run adds to a model spec. Each field applies to the runner kinds named.
struct runner_options {
  std::string api_key;             // openai: bearer token (never recorded)
  uint64_t retry_jitter_seed = 0;  // openai: the run's named seed "retry_jitter"
  std::string tokenizer;           // openai: GGUF whose tokenizer counts tokens without usage;
                                   // other kinds ignore it
};

// "oracle", "gguf:PATH" (the in-process engine), "openai:URL#MODEL", "fake[:k=v,...]" (harness
// self-test, not a model). "replay:FILE" needs the suite's
// problems and is built by `run`'s prepare. Anything else: error "cli.unknown_model".
std::unique_ptr<runner> make_runner(const std::string& spec, const runner_options& options = {});

}  // namespace moebench::cli
