#include "runner_factory.h"

#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/runners/fake.h"
#include "moebench/runners/openai.h"
#include "moebench/runners/replay.h"

namespace moebench::cli {

std::unique_ptr<runner> make_runner(const std::string& spec) {
  if (spec == "oracle") return std::make_unique<oracle_runner>();
  if (spec == "fake" || spec.starts_with("fake:"))
    return std::make_unique<fake_runner>(parse_fake_spec(spec), spec);
  // Without a key: `run --suite humaneval` adds one from --api-key-env (cmd_run.cpp).
  if (spec.starts_with("openai:")) return make_openai_runner(parse_openai_spec(spec));
  // The in-process engine; it serves one request at a time with all cores.
  if (spec.starts_with("gguf:")) return engine::make_runner(spec.substr(5));
  throw error("cli.unknown_model", {"", 0, "--model"},
              "unknown model spec '" + spec +
                  "' (available here: oracle, replay:FILE, gguf:PATH, openai:URL#MODEL, fake:[ttft_ms=..,tpot_ms=..,slots=..] as a harness self-test)");
}

}  // namespace moebench::cli
