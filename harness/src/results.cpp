#include "moebench/results.h"

#include <filesystem>

#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/io.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;
constexpr std::array figure_kind_names{
    std::pair{figure_kind::measured, "measured"sv},
    std::pair{figure_kind::modelled, "modelled"sv},
};

nlohmann::json optional_summary(const std::optional<summary>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}
std::optional<summary> read_optional_summary(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<summary>();
}
}  // namespace

std::string_view to_string(figure_kind k) noexcept {
  return detail::enum_to_string(figure_kind_names, k);
}

void to_json(nlohmann::json& j, const confidence_interval& c) {
  j = {{"lo", c.lo}, {"hi", c.hi}, {"level", c.level}, {"method", c.method}};
}
void from_json(const nlohmann::json& j, confidence_interval& c) {
  j.at("lo").get_to(c.lo);
  j.at("hi").get_to(c.hi);
  j.at("level").get_to(c.level);
  j.at("method").get_to(c.method);
}

void to_json(nlohmann::json& j, const metric& m) {
  j = {{"name", m.name}, {"value", m.value},     {"unit", m.unit},
       {"n", m.n},       {"cis", m.cis},         {"distribution", optional_summary(m.distribution)},
       {"kind", to_string(m.kind)}};
}
void from_json(const nlohmann::json& j, metric& m) {
  j.at("name").get_to(m.name);
  j.at("value").get_to(m.value);
  j.at("unit").get_to(m.unit);
  j.at("n").get_to(m.n);
  j.at("cis").get_to(m.cis);
  m.distribution = read_optional_summary(j, "distribution");
  m.kind = detail::enum_from_string(figure_kind_names, j.at("kind").get<std::string>(),
                                    "figure_kind");
}

void to_json(nlohmann::json& j, const run_validity& v) {
  j = {{"valid", v.valid}, {"reasons", v.reasons}};
}
void from_json(const nlohmann::json& j, run_validity& v) {
  j.at("valid").get_to(v.valid);
  j.at("reasons").get_to(v.reasons);
}

void to_json(nlohmann::json& j, const suite_result& s) {
  j = {{"suite", s.suite},
       {"source", s.source},
       {"content_sha256", s.content_sha256},
       {"tasks_total", s.tasks_total},
       {"tasks_evaluated", s.tasks_evaluated},
       {"samples", s.samples},
       {"metrics", s.metrics},
       {"verdicts", s.verdicts},
       {"per_task", s.per_task}};
  if (!s.token_sources.empty()) j["token_sources"] = s.token_sources;
  j["validity"] = s.validity ? nlohmann::json(*s.validity) : nlohmann::json(nullptr);
  if (!s.grading.empty()) j["grading"] = {{"mode", s.grading}, {"forgeable", s.grading_forgeable}};
}
void from_json(const nlohmann::json& j, suite_result& s) {
  j.at("suite").get_to(s.suite);
  j.at("source").get_to(s.source);
  j.at("content_sha256").get_to(s.content_sha256);
  j.at("tasks_total").get_to(s.tasks_total);
  j.at("tasks_evaluated").get_to(s.tasks_evaluated);
  j.at("samples").get_to(s.samples);
  j.at("metrics").get_to(s.metrics);
  j.at("verdicts").get_to(s.verdicts);
  s.per_task = j.at("per_task");
  // Optional: absent for suites that generate nothing and in results written before it existed.
  if (const auto it = j.find("token_sources"); it != j.end()) it->get_to(s.token_sources);
  // Optional: results written before validity existed have no such field.
  if (const auto it = j.find("validity"); it != j.end() && !it->is_null())
    s.validity = it->get<run_validity>();
  // Optional: suites that grade no code, and results written before grading modes existed.
  if (const auto it = j.find("grading"); it != j.end() && it->is_object()) {
    it->at("mode").get_to(s.grading);
    it->at("forgeable").get_to(s.grading_forgeable);
  }
}

void to_json(nlohmann::json& j, const execution_info& e) {
  j = {{"wall_ns", e.wall_ns},
       {"samples_executed", e.samples_executed},
       {"samples_resumed", e.samples_resumed},
       {"journal_torn_bytes_removed", e.journal_torn_bytes_removed},
       {"invocations", e.invocations},
       {"samples_per_s", e.samples_per_s},
       {"sample_wall_ms", optional_summary(e.sample_wall_ms)}};
}
void from_json(const nlohmann::json& j, execution_info& e) {
  j.at("wall_ns").get_to(e.wall_ns);
  j.at("samples_executed").get_to(e.samples_executed);
  j.at("samples_resumed").get_to(e.samples_resumed);
  j.at("journal_torn_bytes_removed").get_to(e.journal_torn_bytes_removed);
  j.at("invocations").get_to(e.invocations);
  j.at("samples_per_s").get_to(e.samples_per_s);
  e.sample_wall_ms = read_optional_summary(j, "sample_wall_ms");
}

void to_json(nlohmann::json& j, const run_result& r) {
  j = {{"schema_version", r.schema_version},
       {"run_id", r.run_id},
       {"created_utc", r.created_utc},
       {"finished_utc", r.finished_utc},
       {"config_hash", r.config_hash},
       {"settings_requested", r.settings_requested},
       {"settings_effective", r.settings_effective},
       {"seeds", r.seeds},
       {"build", r.build},
       {"host", r.host},
       {"model", r.model},
       {"executor", r.executor},
       {"suites", r.suites},
       {"execution", r.execution}};
  if (r.shard) j["shard"] = *r.shard;
}

void from_json(const nlohmann::json& j, run_result& r) {
  try {
    j.at("schema_version").get_to(r.schema_version);
    if (r.schema_version != results_schema_version)
      throw error("results.schema", {"", 0, "schema_version"},
                  "unsupported schema_version " + std::to_string(r.schema_version) +
                      " (this moebench reads " + std::to_string(results_schema_version) + ")");
    j.at("run_id").get_to(r.run_id);
    j.at("created_utc").get_to(r.created_utc);
    j.at("finished_utc").get_to(r.finished_utc);
    j.at("config_hash").get_to(r.config_hash);
    r.settings_requested = j.at("settings_requested");
    r.settings_effective = j.at("settings_effective");
    j.at("seeds").get_to(r.seeds);
    j.at("build").get_to(r.build);
    j.at("host").get_to(r.host);
    r.model = j.at("model");
    r.executor = j.at("executor");
    j.at("suites").get_to(r.suites);
    j.at("execution").get_to(r.execution);
    if (const auto it = j.find("shard"); it != j.end() && !it->is_null()) r.shard = it->get<shard_spec>();
  } catch (const nlohmann::json::exception& e) {
    throw error("results.schema", std::string("malformed results: ") + e.what());
  }
}

run_result load_run_result(const std::filesystem::path& run_dir_or_file) {
  const auto file = std::filesystem::is_directory(run_dir_or_file)
                        ? run_dir_or_file / "results.json"
                        : run_dir_or_file;
  if (!std::filesystem::exists(file))
    throw error("results.missing", {file.string()},
                "no results.json (is the run finished? resume it with --resume)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw error("results.bad_json", {file.string()}, e.what());
  }
  try {
    return j.get<run_result>();
  } catch (const error& e) {
    throw error(e.id(), {file.string(), 0, e.where().field}, e.message());
  }
}

std::string config_hash(const nlohmann::json& effective_settings) {
  return sha256_hex(effective_settings.dump());
}

}  // namespace moebench
