#include "runner_factory.h"

#include "commands.h"
#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/runners/fake.h"
#include "moebench/runners/openai.h"
#include "moebench/runners/replay.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::cli {
namespace {

// Counts as the servers do: the prompt with the special tokens the model adds (BOS) and with
// special-token text parsed, the completion as plain text.
std::shared_ptr<const token_counter> gguf_token_counter(const std::string& path) {
  const gguf::file file(path);
  auto tok = std::make_shared<const tokenizer::tokenizer>(tokenizer::tokenizer::from_gguf(file));
  auto c = std::make_shared<token_counter>();
  c->count_prompt = [tok](std::string_view text) {
    return static_cast<int64_t>(tok->encode(text, {.add_special = true, .parse_special = true}).size());
  };
  c->count_completion = [tok](std::string_view text) {
    return static_cast<int64_t>(tok->encode(text, {.add_special = false, .parse_special = false}).size());
  };
  c->name = "tokenizer:" + path;
  return c;
}

}  // namespace

std::unique_ptr<runner> make_runner(const std::string& spec, const model_options& options) {
  if (spec == "oracle") return std::make_unique<oracle_runner>();
  if (spec == "fake" || spec.starts_with("fake:"))
    return std::make_unique<fake_runner>(parse_fake_spec(spec), spec);
  if (spec.starts_with("openai:")) {
    openai_options o = parse_openai_spec(spec);
    o.api_key = api_key_from_env(options.api_key_env, "--api-key-env");
    o.jitter_seed = options.retry_jitter_seed;
    if (!options.tokenizer.empty()) o.counter = gguf_token_counter(options.tokenizer);
    return make_openai_runner(std::move(o));
  }
  // The in-process engine; it serves one request at a time with all cores.
  if (spec.starts_with("gguf:")) {
    engine::engine_options eo;
    eo.context_length = options.context_tokens;
    return engine::make_runner(spec.substr(5), eo);
  }
  throw error("cli.unknown_model", {"", 0, "--model"},
              "unknown model spec '" + spec +
                  "' (available here: oracle, replay:FILE, gguf:PATH, openai:URL#MODEL, fake:[ttft_ms=..,tpot_ms=..,slots=..] as a harness self-test)");
}

}  // namespace moebench::cli
