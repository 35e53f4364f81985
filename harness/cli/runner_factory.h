#pragma once
// The one place a model spec becomes a runner. A new runner kind (gguf:, openai:) is wired in
// here and nowhere else; suites receive it as run_context::make_runner and never look inside.
#include <memory>
#include <string>

#include "moebench/runner.h"
#include "moebench/suite_registry.h"

namespace moebench::cli {

// "oracle", "gguf:PATH" (the in-process engine), "openai:URL#MODEL", "fake[:k=v,...]" (harness
// self-test, not a model). "replay:FILE" needs the suite's problems and is built by the suite.
// Anything else: error "cli.unknown_model". An openai: model's API key is read here from the
// variable options.api_key_env names.
std::unique_ptr<runner> make_runner(const std::string& spec, const model_options& options = {});

}  // namespace moebench::cli
