#pragma once
// The one place a model spec becomes a runner. A new runner kind (gguf:, openai:) is wired in
// here and nowhere else; suites receive a `runner&` and never look at the spec.
#include <memory>
#include <string>

#include "moebench/runner.h"

namespace moebench::cli {

// "oracle", "gguf:PATH" (the in-process engine), "openai:URL#MODEL", "fake[:k=v,...]" (harness
// self-test, not a model). "replay:FILE" needs the suite's
// problems and is built by `run`'s prepare. Anything else: error "cli.unknown_model".
std::unique_ptr<runner> make_runner(const std::string& spec);

}  // namespace moebench::cli
