// `moebench run --suite cost`: $/M tokens and J/token per target, from roofline projections of
// a model config, optionally calibrated by a throughput run, beside this host's measured row
// (docs/targets.md).
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/run_dir.h"
#include "moebench/stats.h"
#include "moebench/suites/measurement.h"
#include "moebench/targets/cost.h"
#include "moebench/targets/roofline.h"
#include "moebench/targets/targets.h"
#include "moebench/text.h"

namespace moebench::throughput {
namespace fs = std::filesystem;
namespace tp = moebench::throughput;
namespace tg = moebench::targets;
namespace {

void print_cost(const std::vector<suite_result>& rows, const tg::model_config& m, int64_t batch, int64_t context,
                const std::string& calib, double in_mean, double out_mean) {
  const double ctx = static_cast<double>(std::max<int64_t>(context, 1));
  fmt::print("cost: model config {} ({}; {}), batch {}, context {}, KV {:.4g} bytes per token of context ({} attention)\n",
             m.id, m.name, m.status, batch, context, tg::kv_bytes_at(m, ctx) / ctx, tg::to_string(m.attention));
  fmt::print("{:<22} {:<9} {:>5} {:>12} {:>12} {:>9}  {:<36} {:>9} {:>9} {:>9} {:>10}\n", "target", "kind", "dev",
             "decode tok/s", "prefill tok/s", "TPOT ms", "price tier", "$/M in", "$/M out", "$/M total", "J/tok out");
  for (const auto& s : rows) {
    const auto val = [&](std::string_view n) {
      const auto* mm = find_metric(s.metrics, n);
      return mm ? fmt::format("{:.4g}", mm->value) : std::string("-");
    };
    std::string j_tok = "-";
    for (const auto& mm : s.metrics)
      if (mm.name.starts_with("j_per_output_token_"))
        j_tok = fmt::format("{:.3g} ({})", mm.value, mm.name.substr(19));
    std::vector<std::string> tiers;
    for (const auto& mm : s.metrics)
      if (mm.name.starts_with("usd_per_mtok_total[")) tiers.push_back(mm.name.substr(19, mm.name.size() - 20));
    const std::string kind = s.per_task.value("kind", "");
    const std::string first = fmt::format("{:<22} {:<9} {:>5} {:>12} {:>12} {:>9}", s.per_task.value("target", ""),
                                          kind, val("devices"), val(kind == "measured" ? "output_tok_s" : "decode_tok_s"),
                                          val(kind == "measured" ? "input_tok_s" : "prefill_tok_s"), val("tpot_ms"));
    if (tiers.empty()) fmt::print("{}  {:<36} {:>9} {:>9} {:>9} {:>10}\n", first, "(no price: --price TARGET=USD)", "-", "-", "-", j_tok);
    for (std::size_t i = 0; i < tiers.size(); ++i)
      fmt::print("{}  {:<36} {:>9} {:>9} {:>9} {:>10}\n", i == 0 ? first : std::string(first.size(), ' '), tiers[i],
                 val("usd_per_mtok_input[" + tiers[i] + "]"), val("usd_per_mtok_output[" + tiers[i] + "]"),
                 val("usd_per_mtok_total[" + tiers[i] + "]"), i == 0 ? j_tok : "");
    for (const auto& note : s.per_task.value("notes", std::vector<std::string>{}))
      if (!note.starts_with("roofline:")) fmt::print("{:<22}   note: {}\n", "", note);
  }
  fmt::print("modelled rows: roofline projections from the target data files ({}); $/M input at the prefill"
             " rate, $/M output at the decode rate, $/M total over the blended workload ({} in / {} out tokens)\n"
             "measured rows: this host running --model (offline scenario), or the --calibrate-from throughput run:"
             " output and input tok/s of that run, each basis charged the whole device time\n",
             calib, in_mean, out_mean);
}

// A calibration taken from a finished throughput run: the achieved fraction of the measured
// target's memory-bandwidth roof, with everything needed to trace it back.
struct measured_calibration {
  tg::calibration calib;
  nlohmann::json record;  // kind, run, target, model, level, metric, value
  suite_result level;     // the throughput level it came from
  std::string target_id, run_id, model_spec;
};

measured_calibration calibration_from_run(const std::string& dir) {
  const run_result run = load_run_result(dir);
  const std::string where = (fs::path(dir) / "results.json").string();
  if (run.settings_effective.value("suite", "") != "throughput")
    throw error("calibrate.not_throughput", {where, 0, "settings_effective.suite"},
                "--calibrate-from needs a throughput run");
  const suite_result* chosen = nullptr;
  std::vector<std::string> why_not;
  for (const auto& s : run.suites) {
    const auto& cal = s.per_task.value("calibration", nlohmann::json::object());
    if (!cal.contains("bandwidth_roofline_fraction")) {
      why_not.push_back(s.source + ": " + cal.value("basis", std::string("no calibration recorded")));
      continue;
    }
    if (!s.validity || !s.validity->valid) {
      std::string reasons;
      if (s.validity)
        for (const auto& x : s.validity->reasons) reasons += (reasons.empty() ? "" : "; ") + x;
      why_not.push_back(s.source + ": INVALID (" + reasons + ")");
      continue;
    }
    chosen = &s;
    break;
  }
  if (chosen == nullptr) {
    std::string all;
    for (const auto& x : why_not) all += (all.empty() ? "" : " | ") + x;
    throw error("calibrate.no_measurement", {where, 0, "suites"},
                "no VALID level of this run measured the decode bandwidth: " + all);
  }
  const auto& cal = chosen->per_task.at("calibration");
  const double fraction = cal.at("bandwidth_roofline_fraction").get<double>();
  if (!(fraction > 0 && fraction <= 1))
    throw error("calibrate.out_of_range", {where, 0, "bandwidth_roofline_fraction"},
                fmt::format("the run's decode read {:.3g} GB/s against a measured memory bandwidth of {:.3g} GB/s "
                            "(fraction {:.3g}): a model that fits in the CPU caches does not measure the memory roof; "
                            "calibrate with a model larger than the last-level cache",
                            cal.value("decode_bandwidth_gbs", 0.0), cal.value("memory_bw_gbs", 0.0), fraction));
  measured_calibration out;
  out.target_id = cal.value("target", std::string());
  out.run_id = run.run_id;
  out.model_spec = run.model.value("spec", std::string());
  const std::string model_name = run.model.value("name", std::string());
  out.calib.bandwidth_efficiency = fraction;
  out.calib.compute_efficiency = 1.0;
  out.calib.source = fmt::format(
      "measured: run {} ({}), target {}, model {} ({}), metric bandwidth_roofline_fraction = {:.4f} "
      "({:.3g} GB/s decode read of {:.3g} GB/s measured memory bandwidth); compute roof uncalibrated",
      run.run_id, chosen->source, out.target_id, model_name, out.model_spec, fraction,
      cal.value("decode_bandwidth_gbs", 0.0), cal.value("memory_bw_gbs", 0.0));
  out.record = {{"kind", "measured"},
                {"run_id", run.run_id},
                {"run_dir", dir},
                {"target", out.target_id},
                {"model", {{"spec", out.model_spec}, {"name", model_name}}},
                {"level", chosen->source},
                {"metric", "bandwidth_roofline_fraction"},
                {"bandwidth_efficiency", fraction},
                {"compute_efficiency", 1.0},
                {"decode_bandwidth_gbs", cal.value("decode_bandwidth_gbs", 0.0)},
                {"memory_bw_gbs", cal.value("memory_bw_gbs", 0.0)},
                {"basis", cal.value("basis", std::string())}};
  out.level = *chosen;
  return out;
}

// The measured row beside the projections: what the calibration run measured on its own target
// with its own model, charged at that target's --price / --tdp-w.
suite_result measured_row_of(const measured_calibration& mc, const measurement_request& r) {
  tg::hardware_target t;
  t.id = mc.target_id;
  t.kind = tg::target_kind::measured;
  const auto prices = parse_assignments(r.prices, "--price");
  const auto tdps = parse_assignments(r.tdp, "--tdp-w");
  if (const auto p = lookup(prices, "cpu", t.id))
    t.prices.push_back({"user", {*p, "user", tg::figure_flag::estimate, tg::confidence::unverified, "--price"}});
  if (const auto w = lookup(tdps, "cpu", t.id))
    t.figures["tdp_w"] = {*w, "user", tg::figure_flag::estimate, tg::confidence::unverified, "--tdp-w"};
  suite_result s;
  s.suite = "cost";
  s.source = t.id + " (measured, run " + mc.run_id + ")";
  s.tasks_total = mc.level.tasks_total;
  s.tasks_evaluated = mc.level.tasks_evaluated;
  s.samples = mc.level.samples;
  s.validity = mc.level.validity;
  const auto meas = figure_kind::measured;
  s.metrics.push_back(plain_metric("devices", 1, "devices", 1, meas));
  double in_rate = 0, out_rate = 0, total_rate = 0;
  for (const char* name : {"output_tok_s", "input_tok_s", "total_tok_s", "decode_tok_s_per_stream",
                           "decode_bandwidth_gbs", "bandwidth_roofline_fraction"})
    if (const auto* m = find_metric(mc.level.metrics, name)) {
      s.metrics.push_back(*m);
      if (m->name == "input_tok_s") in_rate = m->value;
      if (m->name == "output_tok_s") out_rate = m->value;
      if (m->name == "total_tok_s") total_rate = m->value;
    }
  if (const auto* tpot = find_metric(mc.level.metrics, "tpot_ms"); tpot != nullptr && tpot->distribution)
    s.metrics.push_back(plain_metric("tpot_ms", tpot->distribution->mean, "ms", tpot->n, meas));
  add_cost_metrics(s.metrics, t, 1, in_rate, out_rate, total_rate, mc.level.samples, meas, std::nullopt);
  s.per_task = {{"target", t.id},
                {"kind", "measured"},
                {"run_id", mc.run_id},
                {"model", mc.model_spec},
                {"level", mc.level.source},
                {"notes", std::vector<std::string>{"measured by run " + mc.run_id + " with " + mc.model_spec +
                                                   " (" + mc.level.source + "), not the model config"}}};
  return s;
}

int run_cost(const run_context& ctx, const measurement_common& c, const measurement_request& r) {
  const int64_t start_ns = now_ns();
  if (r.model_config.empty())
    throw error("cli.missing", {"", 0, "--model-config"}, "the cost suite needs --model-config NAME|FILE");
  const tg::model_config m = tg::load_model_config(r.model_config);
  const workload w = read_workload(r);
  const double in_mean = mean_tokens(w.input), out_mean = mean_tokens(w.output);
  if (!r.efficiency_source.empty() || r.efficiency != 1.0) {
    if (!r.calibrate_from.empty())
      throw error("cli.conflict", {"", 0, "--calibrate-from"}, "give --calibrate-from or --efficiency, not both");
    if (!(r.efficiency > 0 && r.efficiency <= 1))
      throw error("cli.bad_value", {"", 0, "--efficiency"}, "must be in (0, 1]");
    if (r.efficiency_source.empty())
      throw error("cli.missing", {"", 0, "--efficiency-source"},
                  "a calibration must say where it was measured (--efficiency-source)");
  }
  tg::projection_options po;
  po.batch = r.batch;
  po.context = r.context;
  po.devices = r.devices;
  std::optional<measured_calibration> mc;
  nlohmann::json calib_json = {{"kind", "none"}};
  if (!r.calibrate_from.empty()) {
    mc = calibration_from_run(r.calibrate_from);
    po.calib = mc->calib;
    calib_json = mc->record;
  } else if (!r.efficiency_source.empty()) {
    po.calib = {r.efficiency, r.efficiency, "given: " + r.efficiency_source};
    calib_json = {{"kind", "given"}, {"bandwidth_efficiency", r.efficiency}, {"source", r.efficiency_source}};
  }
  calib_json["source_text"] = po.calib.source;
  std::string list = r.target;
  if (list.empty()) {
    for (const auto& t : tg::builtin_targets()) list += t.id + ",";
    list += "cpu";
  }
  std::map<std::string, uint64_t> seeds = {{"lengths", derive_seed(c.seed, "lengths")},
                                           {"prompts", derive_seed(c.seed, "prompts")},
                                           {"sampling", derive_seed(c.seed, "sampling")}};
  std::unique_ptr<runner> model;
  if (c.model_given) model = make_measured_runner(ctx, c, r, seeds);
  nlohmann::json effective = {{"suite", "cost"},
                              {"model_config", m},
                              {"targets", list},
                              {"batch", r.batch},
                              {"context", r.context},
                              {"devices", r.devices},
                              {"input_len", w.input.describe()},
                              {"output_len", w.output.describe()},
                              {"calibration", calib_json},
                              {"measured_model", c.model_given ? c.model : ""},
                              {"prices", r.prices},
                              {"tdp_w", r.tdp},
                              {"seeds", seeds}};
  const std::string hash = config_hash(effective);
  const nlohmann::json requested = {{"suite", c.suite}, {"model", c.model_given ? c.model : ""}, {"seed", c.seed},
                                    {"target", list}, {"model_config", r.model_config}, {"batch", r.batch},
                                    {"context", r.context}, {"devices", r.devices}, {"prices", r.prices},
                                    {"tdp_w", r.tdp}, {"efficiency", r.efficiency},
                                    {"efficiency_source", r.efficiency_source}, {"calibrate_from", r.calibrate_from}};

  std::vector<suite_result> rows;
  std::string journal;
  nlohmann::json model_json = {{"spec", ""}, {"name", "model config " + m.id}, {"details", m}};
  if (model) {
    const runner_info info = model->info();
    model_json = {{"spec", info.spec}, {"name", info.name}, {"details", info.details}, {"model_config", m}};
  }
  for (const auto& part : split(list, ',')) {
    const std::string name(trim(part));
    if (name.empty()) continue;
    const resolved_target rt = resolve_target(name, r);
    const bool is_cpu = rt.target.kind == tg::target_kind::measured;
    tg::projection_options o = po;
    if (rt.devices > 1 && r.devices == 0) o.devices = rt.devices;
    const tg::projection p = tg::project(m, rt.target, o);
    const tg::blended_rates b = tg::blend(p.prefill_tok_s, p.decode_tok_s, in_mean, out_mean);
    suite_result s;
    s.suite = "cost";
    s.source = rt.target.id + (is_cpu ? " (modelled from measured bandwidth" : " (modelled") +
               (mc ? ", calibrated by run " + mc->run_id + ")" : ")");
    s.tasks_total = s.tasks_evaluated = 1;
    const auto mod = figure_kind::modelled;
    s.metrics.push_back(plain_metric("devices", static_cast<double>(p.devices), "devices", 1, mod));
    s.metrics.push_back(plain_metric("decode_tok_s", p.decode_tok_s, "tok/s", 1, mod));
    s.metrics.push_back(plain_metric("decode_tok_s_per_device", p.decode_tok_s / static_cast<double>(p.devices), "tok/s", 1, mod));
    s.metrics.push_back(plain_metric("tpot_ms", p.tpot_ms, "ms", 1, mod));
    s.metrics.push_back(plain_metric("prefill_tok_s", p.prefill_tok_s, "tok/s", 1, mod));
    s.metrics.push_back(plain_metric("blended_input_tok_s", b.input_tok_s, "tok/s", 1, mod));
    s.metrics.push_back(plain_metric("blended_output_tok_s", b.output_tok_s, "tok/s", 1, mod));
    s.metrics.push_back(plain_metric("total_tok_s", b.total_tok_s, "tok/s", 1, mod));
    // Input tokens carry the prefill device time, output tokens the decode device time (the
    // disaggregated attribution); total tokens share the blended workload's device time.
    add_cost_metrics(s.metrics, rt.target, p.devices, p.prefill_tok_s, p.decode_tok_s, b.total_tok_s, 1, mod,
                     std::nullopt);
    s.per_task = {{"target", rt.target.id}, {"kind", "modelled"}, {"projection", p}, {"target_figures", rt.target},
                  {"notes", p.notes}, {"workload", {{"input_tokens_mean", in_mean}, {"output_tokens_mean", out_mean}}}};
    rows.push_back(std::move(s));

    if (is_cpu && model) {
      // The measured row: this host serving --model (offline scenario), beside the projection.
      tp::plan_options plan;
      plan.count = r.queries > 0 ? r.queries : std::max<int64_t>(1, r.min_queries);
      plan.input = w.input;
      plan.output = w.output;
      plan.lengths_seed = seeds.at("lengths");
      plan.prompts_seed = seeds.at("prompts");
      const auto queries = tp::plan_queries(plan, make_synthesizer(c, r));
      tp::issue_options io;
      io.mode = tp::scenario::offline;
      io.generation.temperature = c.temperature;
      io.generation.seed = seeds.at("sampling");
      io.generation.ignore_eos = true;
      measured_level ml = measure_level(*model, queries, io, {}, {static_cast<int64_t>(r.min_duration_s * 1e9), r.min_queries},
                                        rt, decode_model_of(c, model->info()), rt.target.id + " (measured, offline)", {{"scenario", "offline"}});
      for (const auto& q : ml.records) journal += record_json(q, ml.start_ns, "measured:" + rt.target.id).dump() + "\n";
      ml.result.suite = "cost";
      ml.result.metrics.insert(ml.result.metrics.begin(), plain_metric("devices", 1, "devices", 1, figure_kind::measured));
      ml.result.per_task["target"] = rt.target.id;
      ml.result.per_task["kind"] = "measured";
      ml.result.per_task["model"] = c.model;
      ml.result.per_task["notes"] = std::vector<std::string>{"measured with --model " + c.model + ", not the model config"};
      rows.push_back(std::move(ml.result));
    }
  }
  if (mc) rows.push_back(measured_row_of(*mc, r));
  const std::string id = ctx.run_id.empty() ? default_run_id(c.suite, c.model_given ? c.model : "", hash) : ctx.run_id;
  const nlohmann::json run_json = new_run_json(id, requested, effective, seeds, model_json);
  const fs::path dir = publish_run_dir(ctx.out, id, run_json);
  write_file_atomic(dir / "samples.jsonl", journal);
  print_cost(rows, m, r.batch, r.context, po.calib.source, in_mean, out_mean);
  const run_result result = measured_run_result(run_json, std::move(rows), start_ns, 0);
  write_file_atomic(dir / "results.json", nlohmann::json(result).dump(2) + "\n");
  fmt::print("run: {}\n", dir.string());
  return exit_ok;
}


}  // namespace
}  // namespace moebench::throughput

namespace moebench::suites {
namespace tp = moebench::throughput;

suite_definition cost_suite() {
  suite_definition d;
  d.name = "cost";
  d.summary = "$/M tokens and J/token per hardware target: roofline projections, calibrated or measured";
  d.options = tp::measurement_options();
  d.run = [](const run_context& ctx, const suite_args& a) {
    return tp::run_cost(ctx, tp::common_of("cost", ctx, a), tp::request_of(ctx, a));
  };
  d.resume = [](const run_context&, const std::filesystem::path& dir, const nlohmann::json&) -> int {
    throw error("cli.conflict", {(dir / "run.json").string(), 0, "--resume"},
                "a cost run is a projection plus at most one short measurement: start a new run");
  };
  return d;
}

}  // namespace moebench::suites
