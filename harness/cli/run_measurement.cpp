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

std::string short_name(const std::string& spec) {
  std::string out;
  for (char ch : spec.substr(0, 40))
    out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out;
}

std::string compact_stamp() {
  std::string out;
  for (char ch : utc_now_iso8601())
    if (ch != '-' && ch != ':') out += ch;
  return out;
}

// Creates the run directory atomically (staging + rename) with its run.json.
fs::path create_run_dir(const measurement_common& c, const std::string& hash, nlohmann::json run_json) {
  const std::string id = c.run_id.empty()
                             ? fmt::format("{}-{}-{}-{}", c.suite, short_name(c.model_given ? c.model : "modelled"),
                                           compact_stamp(), hash.substr(0, 8))
                             : c.run_id;
  const fs::path dir = fs::path(c.out) / id;
  std::error_code ec;
  fs::create_directories(c.out, ec);
  if (fs::exists(dir)) throw error("run.exists", {dir.string()}, "run directory already exists");
  run_json["run_id"] = id;
  const fs::path staging = dir.string() + ".partial";
  fs::remove_all(staging, ec);
  if (!fs::create_directory(staging, ec) || ec)
    throw error("run.create", {staging.string()}, "cannot create run directory: " + ec.message());
  write_file_atomic(staging / "run.json", run_json.dump(2) + "\n");
  fs::rename(staging, dir, ec);
  if (ec) throw error("run.create", {dir.string()}, "cannot create run directory: " + ec.message());
  return dir;
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

void finish_run(const fs::path& dir, const nlohmann::json& run_json, std::vector<suite_result> suites,
                int64_t start_ns, int64_t samples) {
  run_result result;
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
  write_file_atomic(dir / "results.json", nlohmann::json(result).dump(2) + "\n");
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

struct measured_level {
  suite_result result;
  std::vector<tp::query_record> records;
  int64_t start_ns = 0;
};

// Runs one scenario level and turns it into a suite_result with cost and energy figures.
measured_level measure_level(runner& model, const std::vector<tp::query>& queries, const tp::issue_options& io,
                             const tp::slo& s, const tp::validity_rules& rules, const resolved_target& rt,
                             const std::string& source, nlohmann::json per_task) {
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
  out.result.per_task = std::move(per_task);
  out.records = std::move(ir.records);
  out.start_ns = ir.start_ns;
  return out;
}

nlohmann::json record_json(const tp::query_record& q, int64_t start_ns, const std::string& level) {
  const tp::query_latency l = tp::latency_of(q, {});
  nlohmann::json j = {{"key", level + "#" + std::to_string(q.index)},
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

int run_throughput(const measurement_common& c, const measurement_request& r) {
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

  const resolved_target rt = resolve_target(target_name, r);
  const tp::validity_rules rules{static_cast<int64_t>(r.min_duration_s * 1e9), r.min_queries};

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
  const nlohmann::json requested = {{"suite", c.suite}, {"model", c.model}, {"seed", c.seed}, {"scenario", r.scenario},
                                    {"rate", r.rate}, {"slo", r.slo}, {"target", target_name},
                                    {"input_len", r.input_len}, {"output_len", r.output_len}, {"lengths", r.lengths},
                                    {"tokenizer", r.tokenizer}, {"queries", r.queries}, {"min_duration_s", r.min_duration_s},
                                    {"min_queries", r.min_queries}, {"max_concurrency", r.max_concurrency},
                                    {"threads", r.threads}, {"prices", r.prices}, {"tdp_w", r.tdp},
                                    {"api_key_env", c.api_key_env}};
  const std::string hash = config_hash(effective);
  const runner_info info = model->info();
  nlohmann::json run_json = base_run_json(hash, requested, effective, seeds,
                                          {{"spec", info.spec}, {"name", info.name}, {"details", info.details}});
  run_json["target"] = rt.target;
  const fs::path dir = create_run_dir(c, hash, run_json);
  run_json = nlohmann::json::parse(read_file(dir / "run.json"));

  tp::issue_options io;
  io.mode = sc;
  io.generation.temperature = c.temperature;
  io.generation.seed = seeds.at("sampling");
  io.generation.ignore_eos = true;
  std::vector<suite_result> suites;
  std::string journal;
  const auto keep = [&](measured_level&& m, const std::string& level) {
    for (const auto& q : m.records) journal += record_json(q, m.start_ns, level).dump() + "\n";
    print_throughput(m.result);
    suites.push_back(std::move(m.result));
  };
  switch (sc) {
    case tp::scenario::offline:
    case tp::scenario::single_stream:
      keep(measure_level(*model, queries, io, s, rules, rt, std::string(tp::to_string(sc)),
                         {{"scenario", tp::to_string(sc)}}),
           std::string(tp::to_string(sc)));
      break;
    case tp::scenario::server:
      io.arrivals_ns = tp::poisson_schedule_ns(r.rate, count, seeds.at("schedule"));
      keep(measure_level(*model, queries, io, s, rules, rt, fmt::format("server rate={}/s", r.rate),
                         {{"scenario", "server"}, {"rate_per_s", r.rate}}),
           "server");
      break;
    case tp::scenario::sweep: {
      double best = 0;
      for (int64_t conc = 1; conc <= r.max_concurrency; conc *= 2) {
        io.concurrency = conc;
        measured_level m = measure_level(*model, queries, io, s, rules, rt, fmt::format("sweep concurrency={}", conc),
                                         {{"scenario", "sweep"}, {"concurrency", conc}});
        const auto* out_rate = find_metric(m.result.metrics, "output_tok_s");
        const double v = out_rate ? out_rate->value : 0;
        const bool saturated = tp::sweep_saturated(best, v, conc == 1);
        m.result.per_task["saturated"] = saturated;
        best = std::max(best, v);
        keep(std::move(m), "concurrency=" + std::to_string(conc));
        if (saturated) break;
      }
      break;
    }
  }
  write_file_atomic(dir / "samples.jsonl", journal);
  finish_run(dir, run_json, std::move(suites), start_ns, count);
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
             "measured rows: this host running --model (offline scenario): output and input tok/s of that run, each"
             " basis charged the whole device time\n",
             calib, in_mean, out_mean);
}

int run_cost(const measurement_common& c, const measurement_request& r) {
  const int64_t start_ns = now_ns();
  if (r.model_config.empty())
    throw error("cli.missing", {"", 0, "--model-config"}, "the cost suite needs --model-config NAME|FILE");
  const tg::model_config m = tg::load_model_config(r.model_config);
  const workload w = read_workload(r);
  const double in_mean = mean_tokens(w.input), out_mean = mean_tokens(w.output);
  if (!r.efficiency_source.empty() || r.efficiency != 1.0) {
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
  if (r.efficiency_source.empty()) {
    po.calib = {};
  } else {
    po.calib = {r.efficiency, r.efficiency, r.efficiency_source};
  }
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
                              {"calibration", {{"efficiency", po.calib.bandwidth_efficiency}, {"source", po.calib.source}}},
                              {"measured_model", c.model_given ? c.model : ""},
                              {"prices", r.prices},
                              {"tdp_w", r.tdp},
                              {"seeds", seeds}};
  const std::string hash = config_hash(effective);
  const nlohmann::json requested = {{"suite", c.suite}, {"model", c.model_given ? c.model : ""}, {"seed", c.seed},
                                    {"target", list}, {"model_config", r.model_config}, {"batch", r.batch},
                                    {"context", r.context}, {"devices", r.devices}, {"prices", r.prices},
                                    {"tdp_w", r.tdp}, {"efficiency", r.efficiency},
                                    {"efficiency_source", r.efficiency_source}};

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
    s.source = rt.target.id + (is_cpu ? " (modelled from measured bandwidth)" : " (modelled)");
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
                                        rt, rt.target.id + " (measured, offline)", {{"scenario", "offline"}});
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
  nlohmann::json run_json = base_run_json(hash, requested, effective, seeds, model_json);
  const fs::path dir = create_run_dir(c, hash, run_json);
  run_json = nlohmann::json::parse(read_file(dir / "run.json"));
  write_file_atomic(dir / "samples.jsonl", journal);
  print_cost(rows, m, r.batch, r.context, po.calib.source, in_mean, out_mean);
  finish_run(dir, run_json, std::move(rows), start_ns, 0);
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
                  "counts an openai: model's tokens when the server sends no usage (any suite)");
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
}

int run_measurement(const measurement_common& c, const measurement_request& r) {
  return c.suite == "throughput" ? run_throughput(c, r) : run_cost(c, r);
}

}  // namespace moebench::cli
