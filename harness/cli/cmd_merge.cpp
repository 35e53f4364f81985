// `moebench merge SHARD_RUN... -o RUN`: joins the shards of one run (docs/shards.md). The
// shards' journals are checked (one run, every sample exactly once) and concatenated in plan
// order; then the suite's own resume aggregates the complete journal, so that the merged
// results.json is what an unsharded run writes. No model is loaded: every sample is journaled,
// and the runner stands in with the recorded identity.
#include <filesystem>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/engine/engine.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/run_dir.h"
#include "moebench/shard.h"
#include "moebench/suite_registry.h"
#include "moebench/suites/registry.h"

namespace moebench::cli {
namespace fs = std::filesystem;
namespace {

// The model of a merged run: its identity from run.json, its telemetry from the journal.
// Never asked for a completion, since the merge checked that the journal is complete.
class journaled_runner final : public runner {
 public:
  explicit journaled_runner(nlohmann::json model) : model_(std::move(model)) {}
  runner_info info() const override {
    runner_info i;
    i.spec = model_.value("spec", std::string());
    i.name = model_.value("name", std::string());
    i.details = model_.value("details", nlohmann::json::object());
    return i;
  }
  void submit(std::span<const request> batch, completion_sink&) override {
    MOEBENCH_CHECK(batch.empty(), "merge: a sample missing from the merged journal was planned");
  }
  nlohmann::json telemetry(std::span<const nlohmann::json> records) const override {
    if (model_.value("spec", std::string()).starts_with("gguf:")) return engine::aggregate_telemetry(records);
    return nullptr;
  }

 private:
  nlohmann::json model_;
};

}  // namespace

void add_merge_command(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand("merge", "Join the shard runs of one run (moebench run --shard i/n) into the whole run");
  struct opts {
    std::vector<std::string> shards;
    std::string output;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("shards", o->shards, "Shard run directories (every shard of the run, each once)")->required();
  cmd->add_option("-o,--output", o->output, "The merged run directory to create")->required();
  cmd->callback([o, &ctx] {
    std::vector<shard_run> shards;
    for (const auto& s : o->shards) shards.push_back(read_shard_run(s));
    const fs::path out = fs::path(o->output).lexically_normal();
    const std::string id = out.filename().string();
    if (id.empty() || id == "." || id == "..")
      throw error("cli.bad_value", {"", 0, "--output"}, "expected a directory name to create");
    merged_shards merged = merge_shard_runs(shards, id);
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    const fs::path dir = publish_run_dir(parent, id, merged.run_json);
    try {
      std::string journal;
      for (const auto& rec : merged.records) journal += rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      write_file_atomic(dir / "samples.jsonl", journal);
      run_context rc;
      rc.out = parent;
      rc.jobs = 1;
      rc.progress_mode = progress::mode::quiet;
      rc.make_runner = [model = merged.run_json.value("model", nlohmann::json::object())](const std::string&,
                                                                                          const model_options&) {
        return std::unique_ptr<runner>(std::make_unique<journaled_runner>(model));
      };
      nlohmann::json run_json;
      const suite_definition& s = suite_of_run(moebench::suites::all(), dir, &run_json);
      MOEBENCH_CHECK(static_cast<bool>(s.resume), "a shardable suite can resume");
      ctx.exit_code = s.resume(rc, dir, run_json);
    } catch (...) {
      // A merge leaves the whole run or nothing.
      std::error_code ec;
      fs::remove_all(dir, ec);
      throw;
    }
    fmt::print("merged {} shards ({} samples) into {}\n", shards.size(), merged.records.size(), dir.string());
  });
}

}  // namespace moebench::cli
