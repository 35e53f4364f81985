#include "moebench/sample_run.h"

#include <algorithm>
#include <thread>

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/journal.h"
#include "moebench/run_dir.h"
#include "moebench/shard.h"

namespace moebench {
namespace fs = std::filesystem;

sample_run_outcome run_samples(const run_context& ctx, sample_run& r, const fs::path& resume_dir) {
  MOEBENCH_CHECK(r.suite != nullptr && r.model != nullptr, "a sample run needs a suite and a runner");
  const int64_t start_ns = now_ns();
  const std::string suite_name = r.requested.at("suite").get<std::string>();
  const std::string hash = config_hash(r.effective);
  nlohmann::json run_json;
  fs::path dir;
  std::optional<shard_spec> shard;
  if (!resume_dir.empty()) {
    dir = resume_dir;
    run_json = continue_run_json(dir, hash,
                                 "(problems, samples or settings); start a new run instead of resuming");
    // A resumed shard continues its own slice, whatever the environment says.
    if (const auto it = run_json.find("shard"); it != run_json.end()) shard = it->get<shard_spec>();
  } else {
    shard = ctx.shard;
    const runner_info info = r.model->info();
    std::string id = ctx.run_id;
    if (id.empty()) {
      id = default_run_id(suite_name, r.model_spec, hash);
      // Shards started at the same second into one --out must not collide.
      if (shard) id += fmt::format("-shard{}of{}", shard->index, shard->count);
    }
    if (fs::exists(ctx.out / id))
      throw error("run.exists", {(ctx.out / id).string()}, "run directory already exists (use --resume to continue it)");
    run_json = new_run_json(id, r.requested, r.effective, r.seeds,
                            {{"spec", info.spec}, {"name", info.name}, {"details", info.details}});
    if (shard) {
      // The whole plan's keys, so that `moebench merge` can check that the shards cover every
      // sample exactly once and name any that are missing.
      nlohmann::json keys = nlohmann::json::array();
      for (const auto& w : r.plan) keys.push_back(sample_key(r.suite->tasks().at(w.task_index).id, w.sample_index));
      run_json["shard"] = *shard;
      run_json["shard"]["plan"] = std::move(keys);
    }
  }
  if (shard) {
    std::vector<work_item> slice;
    for (std::size_t p : shard_positions(r.plan.size(), *shard)) slice.push_back(r.plan[p]);
    r.plan = std::move(slice);
  }
  if (r.exec != nullptr) {
    const executor_info xi = r.exec->info();
    run_json["executor"] = {{"backend", xi.backend}, {"isolation_level", xi.isolation_level},
                            {"layers_active", xi.layers_active}, {"layers_missing", xi.layers_missing}};
  }
  // The run directory appears complete with its run.json or not at all: a run killed at any
  // moment is either absent or resumable.
  if (resume_dir.empty())
    dir = publish_run_dir(ctx.out, run_json.at("run_id").get<std::string>(), run_json);
  else
    write_file_atomic(dir / "run.json", run_json.dump(2) + "\n");

  journal_recovery recovered;
  journal jr = journal::open(dir / "samples.jsonl", &recovered);
  if (recovered.torn_bytes_removed > 0)
    fmt::print(stderr, "moebench: repaired the journal: removed a torn last record ({} bytes)\n",
               recovered.torn_bytes_removed);

  evaluation_options eo;
  eo.jobs = ctx.jobs > 0 ? ctx.jobs : std::max<int64_t>(1, std::thread::hardware_concurrency());
  eo.generation = r.generation;
  eo.sampling_seed = r.seeds.at("sampling");
  eo.progress_mode = ctx.progress_mode;
  evaluation_outcome outcome = evaluate(*r.suite, *r.model, r.plan, recovered.records, jr, eo);
  jr.sync();

  sample_run_outcome out;
  out.dir = dir;
  run_result& result = out.result;
  result = result_header(run_json);
  result.settings_effective = r.effective;
  result.seeds = r.seeds;
  result.shard = shard;
  result.suites.push_back(r.suite->aggregate(outcome.records, r.seeds));
  result.suites.back().token_sources = count_token_sources(outcome.records);
  if (nlohmann::json t = r.model->telemetry(outcome.records); !t.is_null()) result.model["telemetry"] = std::move(t);
  auto& ex = result.execution;
  ex.wall_ns = now_ns() - start_ns;
  ex.samples_executed = outcome.executed;
  ex.samples_resumed = outcome.resumed;
  ex.journal_torn_bytes_removed = recovered.torn_bytes_removed;
  ex.samples_per_s = ex.wall_ns > 0 ? static_cast<double>(outcome.executed) / (static_cast<double>(ex.wall_ns) / 1e9) : 0;
  if (!outcome.sample_wall_ms.empty()) ex.sample_wall_ms = summarize(outcome.sample_wall_ms);

  r.suite->write_outputs(dir, outcome.records);
  write_file_atomic(dir / "results.json", nlohmann::json(result).dump(2) + "\n");
  return out;
}

}  // namespace moebench
