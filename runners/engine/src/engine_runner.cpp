// The `gguf:PATH` runner: requests complete inline, one after another, on the engine's thread
// pool; text streams to the sink as it settles.
#include <nlohmann/json.hpp>

#include "moebench/engine/engine.h"
#include "moebench/error.h"

namespace moebench::engine {
namespace {

class engine_runner final : public runner {
 public:
  engine_runner(const std::filesystem::path& path, const engine_options& opts)
      : engine_(path, opts), spec_("gguf:" + path.string()) {
    name_ = engine_.facts().name.empty() ? path.stem().string() : engine_.facts().name;
  }

  runner_info info() const override {
    runner_info i;
    i.spec = spec_;
    i.name = name_;
    i.details = engine_.facts();
    i.details["kernels"] = engine_.kernels();
    i.details["threads"] = engine_.threads();
    return i;
  }

  void submit(std::span<const request> batch, completion_sink& sink) override {
    for (const request& req : batch) {
      completion c;
      engine_.reset_routing();
      try {
        generate_options go;
        go.on_text = [&](std::string_view text, int64_t tokens) { sink.on_chunk(req.id, text, tokens); };
        generation_result g = generate(engine_, req.prompt, req.params, go);
        c.text = std::move(g.text);
        c.prompt_tokens = static_cast<int64_t>(g.prompt_ids.size());
        c.completion_tokens = static_cast<int64_t>(g.generated_ids.size());
        c.finish = g.finish;
        c.extra = {{"engine", {{"prefill_ns", g.prefill_ns}, {"decode_ns", g.decode_ns}}},
                   {"routing", summarize(engine_.routing())},
                   {"active_params_per_token", engine_.facts().active_params_per_token},
                   {"active_weight_bytes_per_token", engine_.facts().active_weight_bytes_per_token}};
      } catch (const error& e) {
        // A request the engine cannot serve (e.g. a prompt longer than the context) is a failed
        // sample, recorded as such; the run goes on.
        c.status = outcome::internal;
        c.finish = finish_reason::error;
        c.error = e.id() + ": " + e.message();
      }
      sink.on_complete(req.id, std::move(c));
    }
  }

 private:
  engine engine_;
  std::string spec_;
  std::string name_;
};

}  // namespace

std::unique_ptr<runner> make_runner(const std::filesystem::path& gguf_path, const engine_options& opts) {
  return std::make_unique<engine_runner>(gguf_path, opts);
}

}  // namespace moebench::engine
