// `moebench model`: inspect GGUF files and write synthetic models.
#include <fstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/inspect.h"
#include "moebench/model/synth.h"

namespace moebench::cli {

namespace {

struct model_args {
  std::string inspect_file;
  bool json = false;
  std::string preset;
  std::string out;
  std::string type = "f32";
  uint64_t seed = 1;
  std::string config;
  std::string vocab;
};

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw error("synth.bad_config", {path, 0, "--config"}, "cannot open the config file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw error("synth.bad_config", {path, 0, "--config"}, fmt::format("invalid JSON: {}", e.what()));
  }
}

}  // namespace

void add_model_command(CLI::App& app, context& ctx) {
  auto args = std::make_shared<model_args>();
  auto* cmd = app.add_subcommand("model", "Inspect GGUF model files and write synthetic models");
  cmd->require_subcommand(1);
  add_model_tokenize_command(*cmd, ctx);

  auto* inspect = cmd->add_subcommand(
      "inspect", "Architecture, hyperparameters, tensors, parameter counts and memory traffic");
  inspect->add_option("file", args->inspect_file, "GGUF file")->required();
  inspect->add_flag("--json", args->json, "Print JSON instead of text");
  inspect->callback([args] {
    const gguf::file f(args->inspect_file);
    const model::model_summary s = model::summarize(f);
    if (args->json) {
      fmt::print("{}\n", nlohmann::json(s).dump(2));
    } else {
      fmt::print("{}", model::format_text(s));
    }
  });

  auto* synth = cmd->add_subcommand(
      "synth", "Write a synthetic model in llama.cpp's GGUF layout (presets: dsv3-mini, "
               "dsv2-lite-mini, qwen3moe-mini, mixtral-mini, dsv4-mini)");
  synth->add_option("--preset", args->preset, "Preset to start from");
  synth->add_option("-o,--output", args->out, "Output GGUF file")->required();
  synth->add_option("--type", args->type, "Weight type: f32, f16, q8_0, q4_k, or mxfp4 (routed experts MXFP4, other matrices Q8_0)")
      ->capture_default_str();
  synth->add_option("--seed", args->seed, "Seed of the weights")->capture_default_str();
  synth->add_option("--config", args->config,
                    "JSON file of shape fields applied over the preset (docs/gguf.md)");
  synth->add_option("--vocab", args->vocab, "Copy the tokenizer from this GGUF file");
  synth->callback([args] {
    if (args->preset.empty() && args->config.empty())
      throw error("synth.bad_config", {"", 0, "--preset"}, "give --preset, --config or both");
    model::synth_config c = args->preset.empty() ? model::synth_config{} : model::preset(args->preset);
    if (!args->config.empty()) c = model::config_from_json(read_json_file(args->config), c, args->config);
    model::synth_options o;
    try {
      o.type = gguf::tensor_type_from_name(args->type);
    } catch (const error& e) {
      throw error("synth.bad_type", {"", 0, "--type"}, e.message());
    }
    o.seed = args->seed;
    if (!args->vocab.empty()) o.vocab_from = args->vocab;
    model::synth(c, o, args->out);
    const gguf::file f(args->out);
    const model::model_summary s = model::summarize(f);
    fmt::print("wrote {}: {} {}, {} params ({} active per token), {} bytes\n", args->out,
               s.architecture, c.name, s.total_params, s.active_params, s.file_bytes);
  });
}

}  // namespace moebench::cli
