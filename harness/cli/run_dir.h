#pragma once
// Run directories, shared by every `moebench run` suite: the default id and the atomic
// creation (a run killed at any moment is either absent or has its run.json).
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace moebench::cli {

// "<suite>-<model>-<UTC stamp>-<first 8 of the config hash>", e.g.
// "throughput-gguf-m-20261128T134517Z-1a2b3c4d"; `model_spec` "" for runs without a model.
std::string default_run_id(const std::string& suite, const std::string& model_spec, const std::string& config_hash);

// Creates out/id with `run_json` as its run.json, through a staging directory renamed into
// place. Error "run.exists" when out/id exists (the message suggests --resume), "run.create"
// when the file system refuses.
std::filesystem::path publish_run_dir(const std::filesystem::path& out, const std::string& id,
                                      const nlohmann::json& run_json);

}  // namespace moebench::cli
