#pragma once
// The one results model (DESIGN.md section 4): every reporter renders a run_result, and
// results.json is its JSON form. Changing a field's meaning or removing one bumps
// results_schema_version; docs/results-schema.md documents every field.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/provenance.h"
#include "moebench/shard.h"
#include "moebench/stats.h"

namespace moebench {

inline constexpr int64_t results_schema_version = 1;

// A 95% (or `level`) interval and how it was computed.
struct confidence_interval {
  double lo = 0;
  double hi = 0;
  double level = 0.95;
  std::string method;  // "bootstrap_tasks" | "wilson_samples"
};

// Whether a figure was measured on real hardware or computed from a model of it.
enum class figure_kind { measured, modelled };

// One named figure. Units are explicit: `unit` is e.g. "fraction", "ms", "tok/s", "usd/Mtok".
struct metric {
  std::string name;               // "pass@1"
  double value = 0;
  std::string unit;
  int64_t n = 0;                  // how many units (tasks, requests) the value aggregates
  std::vector<confidence_interval> cis;
  std::optional<summary> distribution;  // latency-style metrics: percentiles
  figure_kind kind = figure_kind::measured;
};

// Whether a measurement met its own rules (MLPerf style: minimum duration, minimum query
// count, ...). A suite without such rules leaves suite_result::validity empty.
struct run_validity {
  bool valid = true;
  std::vector<std::string> reasons;  // why not, one sentence each; empty when valid
};

struct suite_result {
  std::string suite;                       // "humaneval"
  std::string source;                      // problem file or "builtin:..."
  std::string content_sha256;              // of the suite's problem data
  int64_t tasks_total = 0;                 // tasks in the suite (after --limit/shard)
  int64_t tasks_evaluated = 0;             // tasks with at least one scored sample
  int64_t samples = 0;                     // scored samples
  std::vector<metric> metrics;
  std::map<std::string, int64_t> verdicts; // verdict name -> count
  // Samples (queries) per source of their token counts (token_count_source name -> count);
  // empty for suites that generate nothing.
  std::map<std::string, int64_t> token_sources;
  nlohmann::json per_task = nlohmann::json::object();  // suite-specific per-task figures
  std::optional<run_validity> validity;    // measurement suites: VALID / INVALID and why
  // How code-executing suites decided their verdicts (docs/grading.md): "split" or
  // "inprocess"; empty for suites that grade no code. In-process verdicts are forgeable: the
  // program under test can fake its own verdict.
  std::string grading;
  bool grading_forgeable = false;
};

// Facts about this execution of the run that legitimately differ between an uninterrupted
// run and a killed-and-resumed one. Everything outside `execution` and the UTC stamps is a
// pure function of the settings and the journal.
struct execution_info {
  int64_t wall_ns = 0;                  // this invocation's wall time
  int64_t samples_executed = 0;         // scored by this invocation
  int64_t samples_resumed = 0;          // taken from the journal
  int64_t journal_torn_bytes_removed = 0;
  int64_t invocations = 1;
  double samples_per_s = 0;             // executed / wall
  std::optional<summary> sample_wall_ms;  // per-sample execution wall time, this invocation
};

struct run_result {
  int64_t schema_version = results_schema_version;
  std::string run_id;
  std::string created_utc;
  std::string finished_utc;
  std::string config_hash;
  nlohmann::json settings_requested = nlohmann::json::object();
  nlohmann::json settings_effective = nlohmann::json::object();
  std::map<std::string, uint64_t> seeds;
  build_info build;
  host_info host;
  nlohmann::json model = nlohmann::json::object();     // runner_info
  nlohmann::json executor = nlohmann::json::object();  // executor_info
  std::vector<suite_result> suites;
  execution_info execution;
  // Set when this run holds one shard of its plan (docs/shards.md): its figures cover that
  // slice only; `moebench merge` joins the shards into the whole run.
  std::optional<shard_spec> shard;
};

std::string_view to_string(figure_kind k) noexcept;

void to_json(nlohmann::json& j, const confidence_interval& c);
void from_json(const nlohmann::json& j, confidence_interval& c);
void to_json(nlohmann::json& j, const metric& m);
void from_json(const nlohmann::json& j, metric& m);
void to_json(nlohmann::json& j, const run_validity& v);
void from_json(const nlohmann::json& j, run_validity& v);
void to_json(nlohmann::json& j, const suite_result& s);
void from_json(const nlohmann::json& j, suite_result& s);
void to_json(nlohmann::json& j, const execution_info& e);
void from_json(const nlohmann::json& j, execution_info& e);
void to_json(nlohmann::json& j, const run_result& r);
// Throws error "results.schema" for a missing field or an unsupported schema_version.
void from_json(const nlohmann::json& j, run_result& r);

// Reads results.json of a run directory (or a results.json path), with errors naming the file.
run_result load_run_result(const std::filesystem::path& run_dir_or_file);

// A stable hash of settings: sha256 of the canonical (key-sorted, compact) JSON.
std::string config_hash(const nlohmann::json& effective_settings);

}  // namespace moebench
