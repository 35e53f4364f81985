#include "run_dir.h"

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"

namespace moebench::cli {
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

}  // namespace moebench::cli
