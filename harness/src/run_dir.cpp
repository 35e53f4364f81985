#include "moebench/run_dir.h"

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/provenance.h"

namespace moebench {
namespace fs = std::filesystem;

namespace {

std::string short_model_name(const std::string& spec) {
  if (spec.empty()) return "modelled";
  const auto colon = spec.find(':');
  std::string head = colon == std::string::npos ? spec : spec.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string stem = fs::path(spec.substr(colon + 1)).stem().stem().string();
    if (!stem.empty()) head += "-" + stem;
  }
  std::string out;
  for (char ch : head.substr(0, 60))
    out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out;
}

std::string compact_utc_stamp() {
  std::string out;
  for (char ch : utc_now_iso8601())  // 2026-11-28T13:45:17Z -> 20261128T134517Z
    if (ch != '-' && ch != ':') out += ch;
  return out;
}

}  // namespace

std::string default_run_id(const std::string& suite, const std::string& model_spec, const std::string& config_hash) {
  return fmt::format("{}-{}-{}-{}", suite, short_model_name(model_spec), compact_utc_stamp(), config_hash.substr(0, 8));
}

fs::path publish_run_dir(const fs::path& out, const std::string& id, const nlohmann::json& run_json) {
  const fs::path dir = out / id;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (fs::exists(dir)) throw error("run.exists", {dir.string()}, "run directory already exists (use --resume to continue it)");
  const fs::path staging = dir.string() + ".partial";
  fs::remove_all(staging, ec);
  if (!fs::create_directory(staging, ec) || ec)
    throw error("run.create", {staging.string()}, "cannot create run directory: " + ec.message());
  write_file_atomic(staging / "run.json", run_json.dump(2) + "\n");
  fs::rename(staging, dir, ec);
  if (ec) throw error("run.create", {dir.string()}, "cannot create run directory: " + ec.message());
  return dir;
}

nlohmann::json new_run_json(const std::string& run_id, const nlohmann::json& requested, const nlohmann::json& effective,
                            const std::map<std::string, uint64_t>& seeds, const nlohmann::json& model) {
  return {{"schema_version", results_schema_version},
          {"run_id", run_id},
          {"created_utc", utc_now_iso8601()},
          {"config_hash", config_hash(effective)},
          {"settings_requested", requested},
          {"settings_effective", effective},
          {"seeds", seeds},
          {"build", current_build_info()},
          {"host", current_host_info()},
          {"model", model},
          {"executor", nlohmann::json::object()},
          {"invocations", 1}};
}

nlohmann::json continue_run_json(const fs::path& dir, const std::string& hash, std::string_view changed_hint) {
  const fs::path file = dir / "run.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
    if (j.at("config_hash").get<std::string>() != hash)
      throw error("run.config_changed", {file.string(), 0, "config_hash"},
                  "the run's inputs changed since it started; " + std::string(changed_hint));
  } catch (const nlohmann::json::exception& e) {
    throw error("run.bad_run_json", {file.string()}, e.what());
  }
  j["invocations"] = j.value("invocations", int64_t{1}) + 1;
  write_file_atomic(file, j.dump(2) + "\n");
  return j;
}

run_result result_header(const nlohmann::json& run_json) {
  run_result r;
  r.run_id = run_json.at("run_id").get<std::string>();
  r.created_utc = run_json.at("created_utc").get<std::string>();
  r.finished_utc = utc_now_iso8601();
  r.config_hash = run_json.at("config_hash").get<std::string>();
  r.settings_requested = run_json.at("settings_requested");
  r.settings_effective = run_json.at("settings_effective");
  r.seeds = run_json.at("seeds").get<std::map<std::string, uint64_t>>();
  r.build = run_json.at("build").get<build_info>();
  r.host = run_json.at("host").get<host_info>();
  r.model = run_json.at("model");
  r.executor = run_json.value("executor", nlohmann::json::object());
  r.execution.invocations = run_json.value("invocations", int64_t{1});
  return r;
}

}  // namespace moebench
