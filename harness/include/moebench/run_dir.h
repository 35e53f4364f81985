#pragma once
// Run directories, shared by every suite (DESIGN.md section 4): the default id, the atomic
// creation (a run killed at any moment is either absent or has its run.json), the run.json
// every run starts with, and the checks of a resume.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "moebench/results.h"

namespace moebench {

// "<suite>-<model>-<UTC stamp>-<first 8 of the config hash>", e.g.
// "throughput-gguf-m-20261128T134517Z-1a2b3c4d"; `model_spec` "" for runs without a model.
std::string default_run_id(const std::string& suite, const std::string& model_spec, const std::string& config_hash);

// Creates out/id with `run_json` as its run.json, through a staging directory renamed into
// place. Error "run.exists" when out/id exists (the message suggests --resume), "run.create"
// when the file system refuses.
std::filesystem::path publish_run_dir(const std::filesystem::path& out, const std::string& id,
                                      const nlohmann::json& run_json);

// The run.json of a new run: schema_version, run_id, created_utc, config_hash (of
// `effective`), settings_requested, settings_effective, seeds, build, host, model, executor
// (empty; a suite with an executor fills it) and invocations = 1.
nlohmann::json new_run_json(const std::string& run_id, const nlohmann::json& requested, const nlohmann::json& effective,
                            const std::map<std::string, uint64_t>& seeds, const nlohmann::json& model);

// Reads dir/run.json for a resume and checks that the run's config hash is `config_hash`
// (else error "run.config_changed", its message ending with `changed_hint`); counts this
// invocation, writes run.json back and returns it.
nlohmann::json continue_run_json(const std::filesystem::path& dir, const std::string& config_hash,
                                 std::string_view changed_hint);

// A run_result whose header (id, stamps, hash, settings, seeds, build, host, model, executor)
// comes from run.json; finished_utc is now. Suites and execution are the caller's.
run_result result_header(const nlohmann::json& run_json);

}  // namespace moebench
