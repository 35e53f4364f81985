#include "run_measurement.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/journal.h"
#include "moebench/model/inspect.h"
#include "moebench/model/gguf.h"
#include "moebench/provenance.h"
#include "moebench/results.h"
#include "moebench/stats.h"
#include "moebench/suites/throughput.h"
#include "moebench/targets/cost.h"
#include "moebench/targets/roofline.h"
#include "moebench/targets/targets.h"
#include "moebench/text.h"
#include "moebench/tokenizer/tokenizer.h"
#include "commands.h"
#include "run_dir.h"
#include "runner_factory.h"

namespace moebench::cli {
namespace fs = std::filesystem;
namespace tp = moebench::throughput;
namespace tg = moebench::targets;

namespace {

std::map<std::string, double> parse_assignments(const std::vector<std::string>& items, const char* flag) {
  std::map<std::string, double> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    double v = -1;
    std::size_t used = 0;
    if (eq != std::string::npos && eq > 0) {
      try {
        v = std::stod(item.substr(eq + 1), &used);
      } catch (const std::exception&) {
        used = 0;
      }
    }
    if (eq == std::string::npos || eq == 0 || used == 0 || used != item.size() - eq - 1 || !std::isfinite(v) || v < 0)
      throw error("cli.bad_value", {"", 0, flag}, "expected TARGET=NUMBER (>= 0), got '" + item + "'");
    out[item.substr(0, eq)] = v;
  }
  return out;
}

std::optional<double> lookup(const std::map<std::string, double>& m, const std::string& a, const std::string& b) {
  if (const auto it = m.find(a); it != m.end()) return it->second;
  if (const auto it = m.find(b); it != m.end()) return it->second;
  return std::nullopt;
}

struct resolved_target {
  tg::hardware_target target;
  int64_t devices = 1;
};

// "cpu" probes this host; "NAME[:COUNT]" is a modelled target's figures for COUNT devices
// (an openai: endpoint's declared hardware). --price/--tdp-w add to or replace the figures.
resolved_target resolve_target(const std::string& name, const measurement_request& r) {
  const auto prices = parse_assignments(r.prices, "--price");
  const auto tdps = parse_assignments(r.tdp, "--tdp-w");
  resolved_target out;
  if (name == "cpu" || name.starts_with("cpu-")) {
    tg::cpu_probe_options po;
    po.threads = r.threads;
    const tg::cpu_probe probe = tg::probe_cpu(po);
    out.target = tg::cpu_target(probe, lookup(tdps, "cpu", name), lookup(prices, "cpu", name));
    if (name != "cpu" && name != out.target.id)
      throw error("targets.mismatch", {"", 0, "--target"},
                  "this host's CPU target is '" + out.target.id + "', not '" + name + "'");
    return out;
  }
  std::string base = name;
  if (const auto colon = name.rfind(':'); colon != std::string::npos) {
    base = name.substr(0, colon);
    const std::string count = name.substr(colon + 1);
    std::size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(count, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != count.size() || n < 1)
      throw error("cli.bad_value", {"", 0, "--target"}, "expected NAME[:DEVICE_COUNT], got '" + name + "'");
    out.devices = n;
  }
  out.target = tg::find_target(tg::builtin_targets(), base);
  out.target.sources["user"] = "given on the command line";
  if (const auto p = lookup(prices, base, out.target.id))
    out.target.prices.push_back({"user", {*p, "user", tg::figure_flag::estimate, tg::confidence::unverified, "--price"}});
  if (const auto w = lookup(tdps, base, out.target.id))
    out.target.figures["tdp_w"] = {*w, "user", tg::figure_flag::estimate, tg::confidence::unverified, "--tdp-w"};
  return out;
}

metric plain_metric(std::string name, double value, std::string unit, int64_t n, figure_kind kind) {
  metric m;
  m.name = std::move(name);
  m.value = value;
  m.unit = std::move(unit);
  m.n = n;
  m.kind = kind;
  return m;
}

const metric* find_metric(const std::vector<metric>& ms, std::string_view name) {
  for (const auto& m : ms)
    if (m.name == name) return &m;
  return nullptr;
}

// $/M tokens per price tier and J/token, from token rates (measured or modelled).
void add_cost_metrics(std::vector<metric>& out, const tg::hardware_target& t, int64_t devices,
                      double input_tok_s, double output_tok_s, double total_tok_s, int64_t n,
                      figure_kind kind, std::optional<double> measured_watts) {
  const std::array<std::pair<const char*, double>, 3> bases{
      std::pair{"input", input_tok_s}, std::pair{"output", output_tok_s}, std::pair{"total", total_tok_s}};
  for (const auto& tier : t.prices)
    for (const auto& [basis, rate] : bases)
      if (rate > 0)
        out.push_back(plain_metric(fmt::format("usd_per_mtok_{}[{}]", basis, tier.tier),
                                   tg::usd_per_mtok(tier.usd_per_hour.value, devices, rate), "usd/Mtok", n, kind));
  std::optional<double> watts = measured_watts;
  std::string label = "rapl";
  if (!watts) {
    if (const auto* tdp = t.find("tdp_w")) {
      watts = tdp->value * static_cast<double>(devices);
      label = "tdp";
    }
  }
  if (!watts) return;
  out.push_back(plain_metric("power_w_" + label, *watts, "W", n, kind));
  for (const auto& [basis, rate] : bases)
    if (rate > 0 && basis != std::string_view("input"))
      out.push_back(plain_metric(fmt::format("j_per_{}_token_{}", basis, label), tg::joules_per_token(*watts, rate),
                                 "J/tok", n, kind));
}

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

nlohmann::json base_run_json(const std::string& hash, const nlohmann::json& requested,
                             const nlohmann::json& effective, const std::map<std::string, uint64_t>& seeds,
                             const nlohmann::json& model) {
  return {{"schema_version", results_schema_version},
          {"created_utc", utc_now_iso8601()},
          {"config_hash", hash},
          {"settings_requested", requested},
          {"settings_effective", effective},
          {"seeds", seeds},
          {"build", current_build_info()},
          {"host", current_host_info()},
          {"model", model},
          {"executor", nlohmann::json::object()},
          {"invocations", 1}};
}

void fill_run_result(run_result& result, const nlohmann::json& run_json, std::vector<suite_result> suites,
                     int64_t start_ns, int64_t samples) {
  result.run_id = run_json.at("run_id").get<std::string>();
  result.created_utc = run_json.at("created_utc").get<std::string>();
  result.finished_utc = utc_now_iso8601();
  result.config_hash = run_json.at("config_hash").get<std::string>();
  result.settings_requested = run_json.at("settings_requested");
  result.settings_effective = run_json.at("settings_effective");
  result.seeds = run_json.at("seeds").get<std::map<std::string, uint64_t>>();
  result.build = run_json.at("build").get<build_info>();
  result.host = run_json.at("host").get<host_info>();
  result.model = run_json.at("model");
  result.executor = run_json.at("executor");
  result.suites = std::move(suites);
  result.execution.wall_ns = now_ns() - start_ns;
  result.execution.samples_executed = samples;
  result.execution.samples_per_s =
      result.execution.wall_ns > 0 ? static_cast<double>(samples) / (static_cast<double>(result.execution.wall_ns) / 1e9) : 0;
}

double mean_tokens(const tp::length_distribution& d) {
  switch (d.k) {
    case tp::length_distribution::kind::fixed: return static_cast<double>(d.lo);
    case tp::length_distribution::kind::uniform: return static_cast<double>(d.lo + d.hi) / 2;
    case tp::length_distribution::kind::dataset: {
      double sum = 0;
      for (int64_t v : d.values) sum += static_cast<double>(v);
      return sum / static_cast<double>(d.values.size());
    }
  }
  return 0;
}

struct workload {
  tp::length_distribution input, output;
};
workload read_workload(const measurement_request& r) {
  workload w;
  if (!r.lengths.empty()) {
    const tp::length_pairs pairs = tp::parse_lengths_jsonl(read_file(r.lengths), r.lengths);
    w.input.k = w.output.k = tp::length_distribution::kind::dataset;
    w.input.values = pairs.input;
    w.output.values = pairs.output;
  } else {
    w.input = tp::parse_length(r.input_len, "--input-len");
    w.output = tp::parse_length(r.output_len, "--output-len");
  }
  return w;
}

// Exact prompt lengths need the model's tokenizer: --tokenizer GGUF, or the gguf: model's own
// file. Without one, the word synthesiser's lengths are approximate (and recorded as such).
tp::prompt_synthesizer make_synthesizer(const measurement_common& c, const measurement_request& r) {
  std::string path = r.tokenizer;
  if (path.empty() && c.model_given && c.model.starts_with("gguf:")) path = c.model.substr(5);
  if (path.empty()) return tp::word_synthesizer();
  auto file = std::make_shared<gguf::file>(path);
  auto tok = std::make_shared<tokenizer::tokenizer>(tokenizer::tokenizer::from_gguf(*file));
  return tp::counting_synthesizer(
      [file, tok](std::string_view text) {
        return static_cast<int64_t>(tok->encode(text, {.add_special = true, .parse_special = false}).size());
      },
      "tokenizer:" + path);
}

// Builds --model's runner. A remote (openai:) model also gets its API key, the named seed of its
// retry jitter (added to `seeds`) and --tokenizer to count tokens the server does not report.
std::unique_ptr<runner> make_measured_runner(const measurement_common& c, const measurement_request& r,
                                             std::map<std::string, uint64_t>& seeds) {
  if (!c.model.starts_with("openai:")) return make_runner(c.model);
  seeds["retry_jitter"] = c.seed_retry_jitter.value_or(derive_seed(c.seed, "retry_jitter"));
  return make_runner(c.model, {.api_key = api_key_from_env(c.api_key_env, "--api-key-env"),
                               .retry_jitter_seed = seeds.at("retry_jitter"),
                               .tokenizer = r.tokenizer});
}

// What the model says a decode step reads, for the bandwidth calibration. Known for the
// in-process engine only: its runner info carries the active weight bytes per token, and its KV
// cache is f32 with the layout the file implies (the MLA latent for deepseek2).
struct decode_model {
  std::optional<tp::decode_traffic> traffic;
  std::string basis;  // how the bytes were counted, or why there are none
};

decode_model decode_model_of(const measurement_common& c, const runner_info& info) {
  decode_model d;
  if (!c.model.starts_with("gguf:") || !info.details.contains("active_weight_bytes_per_token")) {
    d.basis = "not measured: only the in-process engine (gguf:) reports the bytes a decode step reads";
    return d;
  }
  const model::model_summary s = model::summarize(gguf::file(c.model.substr(5)));
  constexpr double f32_bytes = 4, f16_bytes = 2;
  double kv_values = static_cast<double>(s.kv_bytes_per_token) / f16_bytes;
  if (s.architecture == "deepseek2") {
    const auto hp = [&](const char* k) { return s.hyperparameters.value(k, 0.0); };
    kv_values = static_cast<double>(s.n_layer) * (hp("attention.kv_lora_rank") + hp("rope.dimension_count"));
  }
  tp::decode_traffic t;
  t.weight_bytes_per_token = info.details.at("active_weight_bytes_per_token").get<double>();
  t.kv_bytes_per_context_token = kv_values * f32_bytes;
  d.traffic = t;
  d.basis = fmt::format(
      "bytes per decoded token = active weight bytes per token ({:.0f}, the engine's model facts) + KV bytes "
      "per context token ({:.0f}: {:.0f} values x 4 bytes, the engine's f32 cache{}) x mean context; decode tok/s "
      "= sum(output_tokens - 1) / sum(complete - first chunk) from the load generator's timestamps",
      t.weight_bytes_per_token, t.kv_bytes_per_context_token, kv_values,
      s.architecture == "deepseek2" ? ", MLA latent" : "");
  return d;
}

struct measured_level {
  suite_result result;
  std::vector<tp::query_record> records;
  int64_t start_ns = 0;
};

// Runs one scenario level and turns it into a suite_result with cost, energy and (for the
// engine) the achieved decode bandwidth as a fraction of the target's memory roof.
measured_level measure_level(runner& model, const std::vector<tp::query>& queries, const tp::issue_options& io,
                             const tp::slo& s, const tp::validity_rules& rules, const resolved_target& rt,
                             const decode_model& dm, const std::string& source, nlohmann::json per_task) {
  const auto rapl_before = tg::read_rapl();
  tp::issue_result ir = tp::issue(model, queries, io, tp::steady_load_clock());
  const auto rapl_after = tg::read_rapl();
  tp::scenario_result sr = tp::compute_metrics(ir.records, ir.start_ns, s, rules, io.mode);
  measured_level out;
  out.result.suite = "throughput";
  out.result.source = source;
  out.result.content_sha256 = "";
  out.result.tasks_total = static_cast<int64_t>(queries.size());
  out.result.tasks_evaluated = sr.ok;
  out.result.samples = static_cast<int64_t>(queries.size());
  out.result.verdicts = {{"ok", sr.ok}, {"failed", sr.failed}};
  out.result.metrics = std::move(sr.metrics);
  out.result.validity = sr.validity;
  std::optional<double> watts;
  if (rt.target.kind == tg::target_kind::measured && rapl_before && rapl_after && sr.duration_s > 0)
    watts = tg::rapl_delta_j(*rapl_before, *rapl_after) / sr.duration_s;
  const auto rate = [&](const char* n) {
    const auto* m = find_metric(out.result.metrics, n);
    return m ? m->value : 0.0;
  };
  add_cost_metrics(out.result.metrics, rt.target, rt.devices, rate("input_tok_s"), rate("output_tok_s"),
                   rate("total_tok_s"), sr.ok, figure_kind::measured, watts);
  bool exact = true;
  for (const auto& q : ir.records) {
    exact = exact && q.input_tokens_reported;
    out.result.token_sources[std::string(to_string(q.token_source))] += 1;
  }
  per_task["input_tokens_source"] = exact ? "runner" : "target (runner did not report prompt tokens)";

  nlohmann::json calib = {{"kind", "measured"}, {"target", rt.target.id}, {"basis", dm.basis}};
  const auto bw = dm.traffic ? tp::measure_decode_bandwidth(ir.records, *dm.traffic) : std::nullopt;
  if (bw) {
    const int64_t n = bw->queries;
    const auto m = figure_kind::measured;
    out.result.metrics.push_back(plain_metric("decode_tok_s_per_stream", bw->decode_tok_s, "tok/s", n, m));
    out.result.metrics.push_back(plain_metric("decode_bytes_per_token", bw->bytes_per_token, "bytes", n, m));
    out.result.metrics.push_back(plain_metric("decode_bandwidth_gbs", bw->achieved_gbs, "GB/s", n, m));
    calib.update({{"decoded_tokens", bw->decoded_tokens}, {"decode_s", bw->decode_s},
                  {"decode_tok_s", bw->decode_tok_s}, {"mean_context_tokens", bw->mean_context_tokens},
                  {"weight_bytes_per_token", dm.traffic->weight_bytes_per_token},
                  {"kv_bytes_per_context_token", dm.traffic->kv_bytes_per_context_token},
                  {"bytes_per_token", bw->bytes_per_token}, {"decode_bandwidth_gbs", bw->achieved_gbs}});
    // Only a measured target's roof describes the hardware the engine ran on: the engine runs
    // on this host whatever hardware an endpoint declares.
    if (const auto* roof = rt.target.find("memory_bw_gbs");
        roof != nullptr && roof->value > 0 && rt.target.kind == tg::target_kind::measured) {
      const double devices_bw = roof->value * static_cast<double>(rt.devices);
      const double fraction = bw->achieved_gbs / devices_bw;
      out.result.metrics.push_back(plain_metric("bandwidth_roofline_fraction", fraction, "fraction", n, m));
      calib.update({{"memory_bw_gbs", devices_bw}, {"memory_bw_source", roof->note.empty() ? roof->source : roof->source + ": " + roof->note},
                    {"memory_bw_flag", tg::to_string(roof->flag)}, {"bandwidth_roofline_fraction", fraction}});
    }
  } else if (dm.traffic) {
    calib["basis"] = "not measured: no query decoded more than one token";
  }
  per_task["calibration"] = calib;
  out.result.per_task = std::move(per_task);
  out.records = std::move(ir.records);
  out.start_ns = ir.start_ns;
  return out;
}

nlohmann::json record_json(const tp::query_record& q, int64_t start_ns, const std::string& level) {
  const tp::query_latency l = tp::latency_of(q, {});
  nlohmann::json j = {{"type", "query"},
                      {"key", level + "#" + std::to_string(q.index)},
                      {"level", level},
                      {"index", q.index},
                      {"outcome", to_string(q.status)},
                      {"finish_reason", to_string(q.finish)},
                      {"error", q.error},
                      {"input_tokens", q.input_tokens},
                      {"input_tokens_reported", q.input_tokens_reported},
                      {"output_tokens", q.output_tokens},
                      {"token_source", to_string(q.token_source)},
                      {"scheduled_ns", q.scheduled_ns - start_ns},
                      {"issued_ns", q.issued_ns - start_ns},
                      {"first_chunk_ns", q.first_chunk_ns < 0 ? -1 : q.first_chunk_ns - start_ns},
                      {"complete_ns", q.complete_ns - start_ns},
                      {"chunks", q.chunk_ns.size()},
                      {"ttft_ms", l.ttft_ms},
                      {"e2el_ms", l.e2el_ms},
                      {"queue_delay_ms", l.queue_delay_ms}};
  j["tpot_ms"] = l.tpot_ms ? nlohmann::json(*l.tpot_ms) : nlohmann::json(nullptr);
  return j;
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

nlohmann::json requested_json(const measurement_common& c, const measurement_request& r) {
  nlohmann::json j = r;
  j.update({{"suite", c.suite}, {"model", c.model_given ? c.model : ""}, {"model_given", c.model_given},
            {"seed", c.seed}, {"temperature", c.temperature}, {"api_key_env", c.api_key_env}});
  j["seed_retry_jitter"] = c.seed_retry_jitter ? nlohmann::json(*c.seed_retry_jitter) : nlohmann::json(nullptr);
  return j;
}

int run_throughput(const measurement_common& c, const measurement_request& r, const fs::path& resume_dir) {
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
  std::unique_ptr<runner> model = make_measured_runner(c, r, seeds);
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
    run_json = base_run_json(hash, requested_json(c, r), effective, seeds,
                             {{"spec", info.spec}, {"name", info.name}, {"details", info.details}});
    run_json["target"] = rt.target;
    run_json["run_id"] = c.run_id.empty() ? default_run_id(c.suite, c.model, hash) : c.run_id;
    dir = publish_run_dir(c.out, run_json["run_id"].get<std::string>(), run_json);
  } else {
    dir = resume_dir;
    run_json = nlohmann::json::parse(read_file(dir / "run.json"));
    if (run_json.at("config_hash").get<std::string>() != hash)
      throw error("run.config_changed", {(dir / "run.json").string(), 0, "config_hash"},
                  "the run's inputs or this host's target changed since it started (target now '" + rt.target.id +
                      "'); start a new run instead of resuming");
    run_json["invocations"] = run_json.value("invocations", int64_t{1}) + 1;
    write_file_atomic(dir / "run.json", run_json.dump(2) + "\n");
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
  run_result result;
  fill_run_result(result, run_json, std::move(suites), start_ns, executed);
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

// ---- cost ----

struct cost_row {
  std::string target_id, kind, note;
  int64_t devices = 0;
  double decode_tok_s = 0, prefill_tok_s = 0, tpot_ms = 0;
  std::string bound;
  std::vector<metric> metrics;
};

void print_cost(const std::vector<suite_result>& rows, const tg::model_config& m, int64_t batch, int64_t context,
                const std::string& calib, double in_mean, double out_mean) {
  fmt::print("cost: model config {} ({}; {}), batch {}, context {}\n", m.id, m.name, m.status, batch, context);
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

int run_cost(const measurement_common& c, const measurement_request& r) {
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
  if (c.model_given) model = make_measured_runner(c, r, seeds);
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
  nlohmann::json run_json = base_run_json(hash, requested, effective, seeds, model_json);
  run_json["run_id"] = c.run_id.empty() ? default_run_id(c.suite, c.model_given ? c.model : "", hash) : c.run_id;
  const fs::path dir = publish_run_dir(c.out, run_json["run_id"].get<std::string>(), run_json);
  write_file_atomic(dir / "samples.jsonl", journal);
  print_cost(rows, m, r.batch, r.context, po.calib.source, in_mean, out_mean);
  run_result result;
  fill_run_result(result, run_json, std::move(rows), start_ns, 0);
  write_file_atomic(dir / "results.json", nlohmann::json(result).dump(2) + "\n");
  fmt::print("run: {}\n", dir.string());
  return exit_ok;
}

}  // namespace

bool is_measurement_suite(const std::string& suite) { return suite == "throughput" || suite == "cost"; }

void add_measurement_options(CLI::App* run, measurement_request& r) {
  const std::string g = "Throughput and cost suites";
  run->add_option("--scenario", r.scenario, "throughput: offline | server | single-stream | sweep")
      ->capture_default_str()->group(g);
  run->add_option("--rate", r.rate, "throughput server: Poisson arrival rate, queries/s")->capture_default_str()->group(g);
  run->add_option("--slo", r.slo, "Service-level objectives, e.g. ttft=2000ms,tpot=80ms[,e2el=30s]")->group(g);
  run->add_option("--target", r.target,
                  "throughput: cpu | NAME[:DEVICES] (declared hardware of an endpoint); cost: comma-separated "
                  "list (default: every target)")->group(g);
  run->add_option("--input-len", r.input_len, "Prompt tokens: N | uniform:LO..HI")->capture_default_str()->group(g);
  run->add_option("--output-len", r.output_len, "Output tokens: N | uniform:LO..HI")->capture_default_str()->group(g);
  run->add_option("--lengths", r.lengths, "JSONL of {input_tokens, output_tokens} to sample lengths from")->group(g);
  run->add_option("--tokenizer", r.tokenizer,
                  "GGUF whose tokenizer makes throughput prompt lengths exact (default: a gguf: model's own) and "
                  "counts an openai: model's tokens when the server sends no usage (any suite)")
      ->group(g);
  run->add_option("--queries", r.queries, "Queries per scenario level (0 = enough for the minimums)")
      ->capture_default_str()->group(g);
  run->add_option("--min-duration-s", r.min_duration_s, "A level shorter than this is INVALID")->capture_default_str()->group(g);
  run->add_option("--min-queries", r.min_queries, "A level with fewer successful queries is INVALID")
      ->capture_default_str()->group(g);
  run->add_option("--max-concurrency", r.max_concurrency, "sweep: highest concurrency tried")->capture_default_str()->group(g);
  run->add_option("--threads", r.threads, "CPU target: threads in the target id and probe (0 = all)")->group(g);
  run->add_option("--model-config", r.model_config, "cost: built-in model config id or JSON file")->group(g);
  run->add_option("--batch", r.batch, "cost: decode batch (sequences per step)")->capture_default_str()->group(g);
  run->add_option("--context", r.context, "cost: context tokens per sequence")->capture_default_str()->group(g);
  run->add_option("--devices", r.devices, "cost: devices per replica (0 = fewest that hold the model)")->group(g);
  run->add_option("--price", r.prices, "TARGET=USD per device-hour (adds a 'user' price tier)")->group(g);
  run->add_option("--tdp-w", r.tdp, "TARGET=WATTS per device (for J/token without RAPL)")->group(g);
  run->add_option("--efficiency", r.efficiency, "cost: achieved fraction of the roofline (calibration)")->group(g);
  run->add_option("--efficiency-source", r.efficiency_source, "cost: where that efficiency was measured")->group(g);
  run->add_option("--calibrate-from", r.calibrate_from,
                  "cost: a throughput run directory whose measured decode bandwidth fraction calibrates the "
                  "memory roof")->group(g);
}

void to_json(nlohmann::json& j, const measurement_request& r) {
  j = {{"scenario", r.scenario}, {"rate", r.rate}, {"slo", r.slo}, {"target", r.target},
       {"input_len", r.input_len}, {"output_len", r.output_len}, {"lengths", r.lengths},
       {"tokenizer", r.tokenizer}, {"queries", r.queries}, {"min_duration_s", r.min_duration_s},
       {"min_queries", r.min_queries}, {"max_concurrency", r.max_concurrency}, {"threads", r.threads},
       {"model_config", r.model_config}, {"batch", r.batch}, {"context", r.context}, {"devices", r.devices},
       {"prices", r.prices}, {"tdp_w", r.tdp}, {"efficiency", r.efficiency},
       {"efficiency_source", r.efficiency_source}, {"calibrate_from", r.calibrate_from}};
}

void from_json(const nlohmann::json& j, measurement_request& r) {
  j.at("scenario").get_to(r.scenario);
  j.at("rate").get_to(r.rate);
  j.at("slo").get_to(r.slo);
  j.at("target").get_to(r.target);
  j.at("input_len").get_to(r.input_len);
  j.at("output_len").get_to(r.output_len);
  j.at("lengths").get_to(r.lengths);
  j.at("tokenizer").get_to(r.tokenizer);
  j.at("queries").get_to(r.queries);
  j.at("min_duration_s").get_to(r.min_duration_s);
  j.at("min_queries").get_to(r.min_queries);
  j.at("max_concurrency").get_to(r.max_concurrency);
  j.at("threads").get_to(r.threads);
  j.at("model_config").get_to(r.model_config);
  j.at("batch").get_to(r.batch);
  j.at("context").get_to(r.context);
  j.at("devices").get_to(r.devices);
  j.at("prices").get_to(r.prices);
  j.at("tdp_w").get_to(r.tdp);
  j.at("efficiency").get_to(r.efficiency);
  j.at("efficiency_source").get_to(r.efficiency_source);
  j.at("calibrate_from").get_to(r.calibrate_from);
}

int run_measurement(const measurement_common& c, const measurement_request& r) {
  return c.suite == "throughput" ? run_throughput(c, r, {}) : run_cost(c, r);
}

bool is_measurement_run(const nlohmann::json& run_json) {
  return is_measurement_suite(run_json.value("settings_requested", nlohmann::json::object()).value("suite", ""));
}

int resume_measurement(const std::filesystem::path& dir, const nlohmann::json& run_json) {
  const fs::path file = dir / "run.json";
  measurement_common c;
  measurement_request r;
  try {
    const auto& req = run_json.at("settings_requested");
    req.at("suite").get_to(c.suite);
    req.at("model").get_to(c.model);
    req.at("model_given").get_to(c.model_given);
    req.at("seed").get_to(c.seed);
    req.at("temperature").get_to(c.temperature);
    // Optional: runs recorded before these existed.
    c.api_key_env = req.value("api_key_env", std::string());
    if (const auto it = req.find("seed_retry_jitter"); it != req.end() && !it->is_null())
      c.seed_retry_jitter = it->get<uint64_t>();
    r = req.get<measurement_request>();
  } catch (const nlohmann::json::exception& e) {
    throw error("run.bad_run_json", {file.string(), 0, "settings_requested"}, e.what());
  }
  if (c.suite != "throughput")
    throw error("cli.conflict", {file.string(), 0, "--resume"},
                "a cost run is a projection plus at most one short measurement: start a new run");
  if (fs::exists(dir / "results.json"))
    throw error("run.finished", {(dir / "results.json").string()}, "this run already finished");
  return run_throughput(c, r, dir);
}

}  // namespace moebench::cli
