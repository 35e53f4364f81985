#include "moebench/shard.h"

#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "moebench/error.h"
#include "moebench/clock.h"
#include "moebench/io.h"

namespace moebench {
namespace {

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

int64_t env_int(const env_lookup& env, const char* name) {
  const std::string v = env(name);
  const auto parsed = parse_int(v);
  if (!parsed) throw error("cli.bad_value", {"", 0, name}, fmt::format("expected an integer, got '{}'", v));
  return *parsed;
}

shard_spec checked(int64_t index, int64_t count, const std::string& field) {
  if (count < 1) throw error("cli.bad_value", {"", 0, field}, fmt::format("the shard count must be >= 1, got {}", count));
  if (index < 0 || index >= count)
    throw error("cli.bad_value", {"", 0, field},
                fmt::format("the shard index must be in [0, {}) (0-based), got {}", count, index));
  return {index, count};
}

}  // namespace

env_lookup process_environment() {
  return [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
}

shard_spec parse_shard(std::string_view text, const env_lookup& env) {
  if (text == "auto") {
    const bool count_set = !env("MOEBENCH_SHARD_COUNT").empty();
    if (!env("MOEBENCH_SHARD_INDEX").empty()) {
      if (!count_set) throw error("cli.bad_value", {"", 0, "MOEBENCH_SHARD_COUNT"}, "MOEBENCH_SHARD_INDEX is set without it");
      return checked(env_int(env, "MOEBENCH_SHARD_INDEX"), env_int(env, "MOEBENCH_SHARD_COUNT"), "MOEBENCH_SHARD_INDEX");
    }
    if (!env("JOB_COMPLETION_INDEX").empty()) {
      if (!count_set)
        throw error("cli.bad_value", {"", 0, "MOEBENCH_SHARD_COUNT"},
                    "a Kubernetes Indexed Job gives JOB_COMPLETION_INDEX only: set MOEBENCH_SHARD_COUNT to the "
                    "job's completions");
      return checked(env_int(env, "JOB_COMPLETION_INDEX"), env_int(env, "MOEBENCH_SHARD_COUNT"), "JOB_COMPLETION_INDEX");
    }
    if (!env("SLURM_ARRAY_TASK_ID").empty()) {
      const int64_t id = env_int(env, "SLURM_ARRAY_TASK_ID");
      const int64_t min = env("SLURM_ARRAY_TASK_MIN").empty() ? 0 : env_int(env, "SLURM_ARRAY_TASK_MIN");
      const char* count_var = count_set ? "MOEBENCH_SHARD_COUNT" : "SLURM_ARRAY_TASK_COUNT";
      if (env(count_var).empty())
        throw error("cli.bad_value", {"", 0, "SLURM_ARRAY_TASK_COUNT"},
                    "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or MOEBENCH_SHARD_COUNT");
      return checked(id - min, env_int(env, count_var), "SLURM_ARRAY_TASK_ID");
    }
    throw error("cli.bad_value", {"", 0, "--shard"},
                "--shard auto found no shard in the environment (MOEBENCH_SHARD_INDEX/MOEBENCH_SHARD_COUNT, "
                "JOB_COMPLETION_INDEX with MOEBENCH_SHARD_COUNT, or SLURM_ARRAY_TASK_ID)");
  }
  const auto slash = text.find('/');
  const auto index = slash == std::string_view::npos ? std::nullopt : parse_int(text.substr(0, slash));
  const auto count = slash == std::string_view::npos ? std::nullopt : parse_int(text.substr(slash + 1));
  if (!index || !count)
    throw error("cli.bad_value", {"", 0, "--shard"},
                fmt::format("expected i/n (0-based shard i of n) or auto, got '{}'", std::string(text)));
  return checked(*index, *count, "--shard");
}

std::optional<shard_spec> shard_from_environment(const env_lookup& env) {
  const bool index = !env("MOEBENCH_SHARD_INDEX").empty(), count = !env("MOEBENCH_SHARD_COUNT").empty();
  if (!index && !count) return std::nullopt;
  if (index != count)
    throw error("cli.bad_value", {"", 0, index ? "MOEBENCH_SHARD_COUNT" : "MOEBENCH_SHARD_INDEX"},
                "MOEBENCH_SHARD_INDEX and MOEBENCH_SHARD_COUNT go together");
  return checked(env_int(env, "MOEBENCH_SHARD_INDEX"), env_int(env, "MOEBENCH_SHARD_COUNT"), "MOEBENCH_SHARD_INDEX");
}

std::vector<std::size_t> shard_positions(std::size_t plan_size, shard_spec s) {
  MOEBENCH_CHECK(s.count >= 1 && s.index >= 0 && s.index < s.count, "shard out of range");
  std::vector<std::size_t> out;
  for (auto p = static_cast<std::size_t>(s.index); p < plan_size; p += static_cast<std::size_t>(s.count)) out.push_back(p);
  return out;
}

shard_run read_shard_run(const std::filesystem::path& dir) {
  shard_run r;
  r.name = dir.string();
  const auto run_json = dir / "run.json";
  if (!std::filesystem::exists(run_json))
    throw error("merge.not_a_shard", {run_json.string()}, "no run.json: not a run directory");
  try {
    r.run_json = nlohmann::json::parse(read_file(run_json));
  } catch (const nlohmann::json::parse_error& e) {
    throw error("run.bad_run_json", {run_json.string()}, e.what());
  }
  const auto sh = r.run_json.find("shard");
  if (sh == r.run_json.end() || !sh->is_object() || !sh->contains("plan") || !sh->at("plan").is_array())
    throw error("merge.not_a_shard", {run_json.string(), 0, "shard"}, "this run is not a shard (it was not run with --shard)");
  if (!std::filesystem::exists(dir / "results.json"))
    throw error("merge.unfinished", {r.name},
                "this shard has not finished (no results.json): resume it with moebench run --resume " + r.name);
  for_each_jsonl(dir / "samples.jsonl", [&](const nlohmann::json& rec, int64_t) { r.records.push_back(rec); });
  return r;
}

namespace {
std::string sample_list(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size() && i < 10; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > 10) out += fmt::format(" and {} more", keys.size() - 10);
  return out;
}
}  // namespace

merged_shards merge_shard_runs(const std::vector<shard_run>& shards, const std::string& merged_run_id) {
  if (shards.empty()) throw error("merge.mismatch", "no shard runs given");
  const auto& first = shards.front();
  const std::string hash = first.run_json.value("config_hash", std::string());
  const auto& plan = first.run_json.at("shard").at("plan");
  const shard_spec first_spec = first.run_json.at("shard").get<shard_spec>();
  std::map<int64_t, const shard_run*> by_index;
  for (const auto& s : shards) {
    const auto spec = s.run_json.at("shard").get<shard_spec>();
    if (s.run_json.value("config_hash", std::string()) != hash)
      throw error("merge.mismatch", {s.name, 0, "config_hash"},
                  fmt::format("shards of different runs: config hash {} here, {} in {} (settings, problems or "
                              "model differ)",
                              s.run_json.value("config_hash", std::string()).substr(0, 12), hash.substr(0, 12), first.name));
    if (spec.count != first_spec.count || s.run_json.at("shard").at("plan") != plan)
      throw error("merge.mismatch", {s.name, 0, "shard"},
                  fmt::format("shard {} does not split the same plan as {} (shard {})", to_string(spec), first.name,
                              to_string(first_spec)));
    if (const auto [it, fresh] = by_index.emplace(spec.index, &s); !fresh) {
      std::vector<std::string> keys;
      for (std::size_t p : shard_positions(plan.size(), spec)) keys.push_back(plan[p].get<std::string>());
      throw error("merge.overlap", {s.name, 0, "shard"},
                  fmt::format("{} and {} are both shard {}: their samples would be counted twice ({})", it->second->name,
                              s.name, to_string(spec), sample_list(keys)));
    }
  }
  for (int64_t i = 0; i < first_spec.count; ++i)
    if (!by_index.contains(i)) {
      std::vector<std::string> keys;
      for (std::size_t p : shard_positions(plan.size(), {i, first_spec.count})) keys.push_back(plan[p].get<std::string>());
      throw error("merge.gap", {"", 0, "shard"},
                  fmt::format("shard {}/{} is missing: {} samples are in no shard ({})", i, first_spec.count, keys.size(),
                              sample_list(keys)));
    }

  // Every record lands on its plan position, once.
  std::map<std::string, std::size_t> position;
  for (std::size_t p = 0; p < plan.size(); ++p) position.emplace(plan[p].get<std::string>(), p);
  std::vector<const nlohmann::json*> slot(plan.size(), nullptr);
  std::vector<const shard_run*> owner(plan.size(), nullptr);
  std::vector<std::string> foreign, overlap;
  for (const auto& s : shards)
    for (const auto& rec : s.records) {
      const std::string key = rec.value("key", std::string());
      const auto it = position.find(key);
      if (it == position.end()) {
        foreign.push_back(key + " (" + s.name + ")");
        continue;
      }
      if (slot[it->second] != nullptr) {
        overlap.push_back(fmt::format("{} ({} and {})", key, owner[it->second]->name, s.name));
        continue;
      }
      slot[it->second] = &rec;
      owner[it->second] = &s;
    }
  if (!foreign.empty())
    throw error("merge.mismatch", {"", 0, "key"},
                fmt::format("{} journal records are not in the plan: {}", foreign.size(), sample_list(foreign)));
  if (!overlap.empty())
    throw error("merge.overlap", {"", 0, "key"},
                fmt::format("{} samples are in more than one shard: {}", overlap.size(), sample_list(overlap)));
  std::vector<std::string> gap;
  for (std::size_t p = 0; p < plan.size(); ++p)
    if (slot[p] == nullptr) gap.push_back(plan[p].get<std::string>());
  if (!gap.empty())
    throw error("merge.gap", {"", 0, "key"},
                fmt::format("{} samples are in no shard's journal: {}", gap.size(), sample_list(gap)));

  merged_shards out;
  out.records.reserve(plan.size());
  for (const auto* rec : slot) out.records.push_back(*rec);
  out.run_json = first.run_json;
  out.run_json.erase("shard");
  out.run_json["run_id"] = merged_run_id;
  out.run_json["created_utc"] = utc_now_iso8601();
  out.run_json["invocations"] = 1;
  nlohmann::json from = nlohmann::json::array();
  for (const auto& [index, s] : by_index)
    from.push_back({{"run", s->run_json.value("run_id", std::string())}, {"dir", s->name}, {"shard", index},
                    {"host", s->run_json.value("host", nlohmann::json::object()).value("hostname", std::string())}});
  out.run_json["merged_from"] = std::move(from);
  return out;
}

void to_json(nlohmann::json& j, const shard_spec& s) { j = {{"index", s.index}, {"count", s.count}}; }
void from_json(const nlohmann::json& j, shard_spec& s) {
  j.at("index").get_to(s.index);
  j.at("count").get_to(s.count);
}
std::string to_string(const shard_spec& s) { return fmt::format("{}/{}", s.index, s.count); }

}  // namespace moebench
