#pragma once
// `moebench run --suite throughput|cost`: the measurement suites. They drive any runner through
// the load generator (suites/throughput) and the target registry (targets/), and write the
// same run directory layout as the other suites (run.json, samples.jsonl, results.json).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace moebench::cli {

struct measurement_request {
  std::string scenario = "server";
  double rate = 1.0;               // server: queries per second
  std::string slo;                 // "ttft=2000ms,tpot=80ms"
  std::string target;              // throughput: one target (default cpu); cost: a list
  std::string input_len = "128";   // N | uniform:LO..HI
  std::string output_len = "128";
  std::string lengths;             // JSONL of {input_tokens, output_tokens}
  std::string tokenizer;           // GGUF whose tokenizer makes prompt lengths exact
  int64_t queries = 0;             // 0 = enough for the minimums
  double min_duration_s = 60;
  int64_t min_queries = 100;
  int64_t max_concurrency = 64;    // sweep
  int64_t threads = 0;             // CPU target: 0 = every hardware thread
  std::string model_config;        // cost: built-in id or JSON file
  int64_t batch = 64;              // cost: decode batch per replica
  int64_t context = 4096;          // cost: context length
  int64_t devices = 0;             // cost: 0 = fewest that hold the model
  std::vector<std::string> prices; // TARGET=USD per device-hour
  std::vector<std::string> tdp;    // TARGET=WATTS per device
  double efficiency = 1.0;         // cost: achieved fraction of the roofline
  std::string efficiency_source;
  std::string calibrate_from;      // cost: a throughput run directory
};
// settings_requested of run.json (with the common fields beside them): --resume rebuilds the
// request from it.
void to_json(nlohmann::json& j, const measurement_request& r);
void from_json(const nlohmann::json& j, measurement_request& r);

struct measurement_common {
  std::string suite;
  std::string model;
  bool model_given = false;
  uint64_t seed = 0;
  double temperature = 0;
  std::string out;
  std::string run_id;
  std::string api_key_env;                    // openai: the variable's name only
  std::optional<uint64_t> seed_retry_jitter;  // openai: override of the derived seed
};

bool is_measurement_suite(const std::string& suite);
void add_measurement_options(CLI::App* run, measurement_request& r);
int run_measurement(const measurement_common& c, const measurement_request& r);
// Whether a run.json belongs to a throughput or cost run.
bool is_measurement_run(const nlohmann::json& run_json);
// `moebench run --resume DIR` of a throughput run: finished levels (sweep points) come from the
// journal, the interrupted one is measured again from scratch. Settings come from run.json;
// a changed config hash (inputs, or this host's target id) is error "run.config_changed".
int resume_measurement(const std::filesystem::path& dir, const nlohmann::json& run_json);

}  // namespace moebench::cli
