// `moebench run --suite throughput`: MLPerf-style scenarios over any runner (docs/throughput.md).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/journal.h"
#include "moebench/run_dir.h"
#include "moebench/stats.h"
#include "moebench/suites/measurement.h"
#include "moebench/text.h"

namespace moebench::throughput {
namespace fs = std::filesystem;
namespace tp = moebench::throughput;
namespace tg = moebench::targets;
namespace {

std::string fmt_ms(const metric* m) {
  if (m == nullptr || !m->distribution) return "-";
  const auto& d = *m->distribution;
  return fmt::format("mean {:.1f} p50 {:.1f} p90 {:.1f} p99 {:.1f}", d.mean, d.p50, d.p90, d.p99);
}

void print_throughput(const suite_result& s) {
  fmt::print("throughput ({}): {} ok, {} failed -> {}\n", s.source, s.verdicts.count("ok") ? s.verdicts.at("ok") : 0,
             s.verdicts.count("failed") ? s.verdicts.at("failed") : 0,
             s.validity && s.validity->valid ? "VALID" : "INVALID");
  if (s.validity)
    for (const auto& why : s.validity->reasons) fmt::print("  INVALID: {}\n", why);
  for (const char* name : {"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms", "queue_delay_ms"})
    if (const auto* m = find_metric(s.metrics, name)) fmt::print("  {:<16} {} (n={})\n", name, fmt_ms(m), m->n);
  for (const auto& m : s.metrics)
    if (!m.distribution) {
      std::string line = fmt::format("  {:<32} {:.4g} {}", m.name, m.value, m.unit);
      for (const auto& ci : m.cis) line += fmt::format("  95% CI [{:.4g}, {:.4g}]", ci.lo, ci.hi);
      fmt::print("{}\n", line);
    }
}



// The journal of a throughput run (samples.jsonl): the query records of a level, then one
// "level" record with its whole suite_result, written when the level ends (not from inside
// the timed window, where a write would perturb what is measured). A level without its level
// record was interrupted: its query records are dropped on resume and the level is rerun from
// scratch, since a timing run cannot be stitched together across processes.
struct throughput_journal {
  std::map<std::string, nlohmann::json> levels;  // finished: level name -> level record
  std::map<std::string, int64_t> discarded;      // interrupted: level name -> query records dropped
  int64_t torn_bytes_removed = 0;
};

throughput_journal recover_journal(const fs::path& path) {
  throughput_journal out;
  std::vector<nlohmann::json> records;
  {
    journal_recovery rec;
    journal::open(path, &rec);
    records = std::move(rec.records);
    out.torn_bytes_removed = rec.torn_bytes_removed;
  }
  for (const auto& j : records)
    if (j.value("type", "") == "level") out.levels[j.at("level").get<std::string>()] = j;
  std::string kept;
  for (const auto& j : records) {
    const std::string level = j.value("level", "");
    if (j.value("type", "") == "query" && !out.levels.contains(level)) {
      out.discarded[level] += 1;
      continue;
    }
    kept += j.dump() + "\n";
  }
  if (!out.discarded.empty()) write_file_atomic(path, kept);
  return out;
}


int run_throughput(const run_context& ctx, const measurement_common& c, const measurement_request& r, const fs::path& resume_dir) {
  const int64_t start_ns = now_ns();
  const tp::scenario sc = tp::scenario_from_string(r.scenario);
  const tp::slo s = tp::parse_slo(r.slo);
  const workload w = read_workload(r);
  if (sc == tp::scenario::server && !(r.rate > 0 && std::isfinite(r.rate)))
    throw error("cli.bad_value", {"", 0, "--rate"}, "must be a positive number");
  if (r.min_duration_s < 0 || r.min_queries < 0 || r.queries < 0)
    throw error("cli.bad_value", {"", 0, "--queries/--min-queries/--min-duration-s"}, "must be >= 0");
  if (r.max_concurrency < 1) throw error("cli.bad_value", {"", 0, "--max-concurrency"}, "must be >= 1");
  if (!c.model_given || c.model == "oracle")
    throw error("cli.missing", {"", 0, "--model"},
                "the throughput suite needs a generating runner: gguf:FILE, openai:URL#MODEL, or fake: "
                "(harness self-test)");
  const std::string target_name = r.target.empty() ? "cpu" : r.target;
  if (target_name.find(',') != std::string::npos)
    throw error("cli.bad_value", {"", 0, "--target"}, "the throughput suite measures one target at a time");

  const int64_t count =
      r.queries > 0 ? r.queries
                    : std::max<int64_t>({1, r.min_queries,
                                         sc == tp::scenario::server
                                             ? static_cast<int64_t>(std::ceil(r.rate * r.min_duration_s))
                                             : 0});
  std::map<std::string, uint64_t> seeds = {{"schedule", derive_seed(c.seed, "schedule")},
                                           {"lengths", derive_seed(c.seed, "lengths")},
                                           {"prompts", derive_seed(c.seed, "prompts")},
                                           {"sampling", derive_seed(c.seed, "sampling")}};
  std::unique_ptr<runner> model = make_measured_runner(ctx, c, r, seeds);
  const tp::prompt_synthesizer synth = make_synthesizer(c, r);
  tp::plan_options po;
  po.count = count;
  po.input = w.input;
  po.output = w.output;
  po.lengths_seed = seeds.at("lengths");
  po.prompts_seed = seeds.at("prompts");
  const std::vector<tp::query> queries = tp::plan_queries(po, synth);

  // The CPU target is probed at the thread count the runner decodes with (the engine reports
  // it), so that the bandwidth roof and the measured decode bandwidth describe the same cores.
  const runner_info info = model->info();
  const int64_t runner_threads = info.details.is_object() ? info.details.value("threads", int64_t{0}) : 0;
  measurement_request probe_request = r;
  if (probe_request.threads == 0) probe_request.threads = runner_threads;
  const resolved_target rt = resolve_target(target_name, probe_request);
  const tp::validity_rules rules{static_cast<int64_t>(r.min_duration_s * 1e9), r.min_queries};
  decode_model dm = decode_model_of(c, info);
  if (dm.traffic && rt.target.kind == tg::target_kind::measured && probe_request.threads != runner_threads) {
    dm.traffic.reset();
    dm.basis = fmt::format("not measured: the engine decodes with {} threads but the target was probed with {} "
                           "(--threads); their bandwidths are not comparable",
                           runner_threads, probe_request.threads);
  }

  nlohmann::json effective = {
      {"suite", "throughput"},
      {"scenario", tp::to_string(sc)},
      {"model", {{"spec", c.model}}},
      {"target", rt.target.id},
      {"devices", rt.devices},
      {"queries", count},
      {"input_len", w.input.describe()},
      {"output_len", w.output.describe()},
      {"lengths_sha256", r.lengths.empty() ? "" : sha256_hex(read_file(r.lengths))},
      {"tokenizer", r.tokenizer},
      {"prompt_synthesizer", {{"name", synth.name}, {"exact", synth.exact}}},
      {"slo", s.describe()},
      {"min_duration_s", r.min_duration_s},
      {"min_queries", r.min_queries},
      {"temperature", c.temperature},
      {"seeds", seeds}};
  if (sc == tp::scenario::server) effective["rate"] = r.rate;
  if (sc == tp::scenario::sweep) effective["max_concurrency"] = r.max_concurrency;
  const std::string hash = config_hash(effective);

  fs::path dir;
  nlohmann::json run_json;
  throughput_journal previous;
  if (resume_dir.empty()) {
    const std::string id = ctx.run_id.empty() ? default_run_id(c.suite, c.model, hash) : ctx.run_id;
    run_json = new_run_json(id, requested_json(c, r), effective, seeds,
                            {{"spec", info.spec}, {"name", info.name}, {"details", info.details}});
    run_json["target"] = rt.target;
    dir = publish_run_dir(ctx.out, id, run_json);
  } else {
    dir = resume_dir;
    run_json = continue_run_json(dir, hash,
                                 "or this host's target did (target now '" + rt.target.id +
                                     "'); start a new run instead of resuming");
    previous = recover_journal(dir / "samples.jsonl");
    if (previous.torn_bytes_removed > 0)
      fmt::print(stderr, "moebench: repaired the journal: removed a torn last record ({} bytes)\n",
                 previous.torn_bytes_removed);
  }
  const int64_t invocation = run_json.value("invocations", int64_t{1});
  journal jr = journal::open(dir / "samples.jsonl", nullptr);

  tp::issue_options io;
  io.mode = sc;
  io.generation.temperature = c.temperature;
  io.generation.seed = seeds.at("sampling");
  io.generation.ignore_eos = true;
  std::vector<suite_result> suites;
  int64_t executed = 0, resumed = 0;
  bool rerun_marked = false;
  // One level: taken from the journal when an earlier process finished it, else measured now
  // and journaled before the next level starts.
  const auto level = [&](const std::string& name, const std::string& source, nlohmann::json per_task) {
    if (const auto it = previous.levels.find(name); it != previous.levels.end()) {
      suite_result kept = it->second.at("result").get<suite_result>();
      kept.per_task["from_earlier_invocation"] = true;
      fmt::print("{}: finished by invocation {}, kept from the journal\n", name,
                 kept.per_task.value("measured_by_invocation", int64_t{0}));
      resumed += kept.samples;
      suites.push_back(std::move(kept));
      return;
    }
    per_task["measured_by_invocation"] = invocation;
    per_task["from_earlier_invocation"] = false;
    if (invocation > 1 && !rerun_marked) {
      // The first level an earlier process did not finish: it was interrupted (or about to start).
      rerun_marked = true;
      const auto d = previous.discarded.find(name);
      per_task["rerun_after_interruption"] = {
          {"discarded_query_records", d != previous.discarded.end() ? d->second : 0},
          {"why", "an interrupted timing run cannot be stitched together across processes: rerun from scratch"}};
      fmt::print("{}: not finished by an earlier invocation, measured again from scratch\n", name);
    }
    measured_level m = measure_level(*model, queries, io, s, rules, rt, dm, source, std::move(per_task));
    for (const auto& q : m.records) jr.append(record_json(q, m.start_ns, name));
    jr.append({{"type", "level"}, {"level", name}, {"invocation", invocation}, {"result", m.result}});
    jr.sync();
    executed += m.result.samples;
    print_throughput(m.result);
    suites.push_back(std::move(m.result));
  };
  switch (sc) {
    case tp::scenario::offline:
    case tp::scenario::single_stream:
      level(std::string(tp::to_string(sc)), std::string(tp::to_string(sc)), {{"scenario", tp::to_string(sc)}});
      break;
    case tp::scenario::server:
      io.arrivals_ns = tp::poisson_schedule_ns(r.rate, count, seeds.at("schedule"));
      level("server", fmt::format("server rate={}/s", r.rate), {{"scenario", "server"}, {"rate_per_s", r.rate}});
      break;
    case tp::scenario::sweep: {
      double best = 0;
      for (int64_t conc = 1; conc <= r.max_concurrency; conc *= 2) {
        io.concurrency = conc;
        const std::string name = "concurrency=" + std::to_string(conc);
        level(name, fmt::format("sweep concurrency={}", conc), {{"scenario", "sweep"}, {"concurrency", conc}});
        suite_result& last = suites.back();
        const auto* out_rate = find_metric(last.metrics, "output_tok_s");
        const double v = out_rate ? out_rate->value : 0;
        const bool saturated = tp::sweep_saturated(best, v, conc == 1);
        MOEBENCH_CHECK(!last.per_task.contains("saturated") || last.per_task["saturated"].get<bool>() == saturated,
                       "a journaled sweep level disagrees with the saturation rule");
        last.per_task["saturated"] = saturated;
        best = std::max(best, v);
        if (saturated) break;
      }
      break;
    }
  }
  jr.sync();
  run_result result = measured_run_result(run_json, std::move(suites), start_ns, executed);
  result.execution.samples_resumed = resumed;
  result.execution.invocations = invocation;
  result.execution.journal_torn_bytes_removed = previous.torn_bytes_removed;
  write_file_atomic(dir / "results.json", nlohmann::json(result).dump(2) + "\n");
  if (invocation > 1)
    fmt::print("resumed (invocation {}): {} queries kept from earlier invocations, {} measured now\n", invocation,
               resumed, executed);
  fmt::print("run: {}\n", dir.string());
  return exit_ok;
}

}  // namespace
}  // namespace moebench::throughput

namespace moebench::suites {
namespace fs = std::filesystem;
namespace tp = moebench::throughput;

suite_definition throughput_suite() {
  suite_definition d;
  d.name = "throughput";
  d.summary = "MLPerf-style load scenarios (offline, server, single-stream, sweep): TTFT, TPOT, tok/s, goodput, cost";
  d.options = tp::measurement_options();
  d.run = [](const run_context& ctx, const suite_args& a) {
    return tp::run_throughput(ctx, tp::common_of("throughput", ctx, a), tp::request_of(ctx, a), {});
  };
  // Finished levels (sweep points) come from the journal; the interrupted one is measured again
  // from scratch. A changed config hash (inputs, or this host's target id) is
  // "run.config_changed".
  d.resume = [](const run_context& ctx, const fs::path& dir, const nlohmann::json& run_json) {
    tp::measurement_common c;
    tp::measurement_request r;
    tp::from_requested_json(run_json.at("settings_requested"), (dir / "run.json").string(), c, r);
    if (fs::exists(dir / "results.json"))
      throw error("run.finished", {(dir / "results.json").string()}, "this run already finished");
    return tp::run_throughput(ctx, c, r, dir);
  };
  return d;
}

}  // namespace moebench::suites
