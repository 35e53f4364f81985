#include "moebench/suites/measurement.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/model/gguf.h"
#include "moebench/model/inspect.h"
#include "moebench/run_dir.h"
#include "moebench/stats.h"
#include "moebench/targets/cost.h"
#include "moebench/targets/roofline.h"
#include "moebench/text.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::throughput {

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

resolved_target resolve_target(const std::string& name, const measurement_request& r) {
  const auto prices = parse_assignments(r.prices, "--price");
  const auto tdps = parse_assignments(r.tdp, "--tdp-w");
  resolved_target out;
  if (name == "cpu" || name.starts_with("cpu-")) {
    targets::cpu_probe_options po;
    po.threads = r.threads;
    const targets::cpu_probe probe = targets::probe_cpu(po);
    out.target = targets::cpu_target(probe, lookup(tdps, "cpu", name), lookup(prices, "cpu", name));
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
  out.target = targets::find_target(targets::builtin_targets(), base);
  out.target.sources["user"] = "given on the command line";
  if (const auto p = lookup(prices, base, out.target.id))
    out.target.prices.push_back({"user", {*p, "user", targets::figure_flag::estimate, targets::confidence::unverified, "--price"}});
  if (const auto w = lookup(tdps, base, out.target.id))
    out.target.figures["tdp_w"] = {*w, "user", targets::figure_flag::estimate, targets::confidence::unverified, "--tdp-w"};
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

void add_cost_metrics(std::vector<metric>& out, const targets::hardware_target& t, int64_t devices,
                      double input_tok_s, double output_tok_s, double total_tok_s, int64_t n,
                      figure_kind kind, std::optional<double> measured_watts) {
  const std::array<std::pair<const char*, double>, 3> bases{
      std::pair{"input", input_tok_s}, std::pair{"output", output_tok_s}, std::pair{"total", total_tok_s}};
  for (const auto& tier : t.prices)
    for (const auto& [basis, rate] : bases)
      if (rate > 0)
        out.push_back(plain_metric(fmt::format("usd_per_mtok_{}[{}]", basis, tier.tier),
                                   targets::usd_per_mtok(tier.usd_per_hour.value, devices, rate), "usd/Mtok", n, kind));
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
      out.push_back(plain_metric(fmt::format("j_per_{}_token_{}", basis, label), targets::joules_per_token(*watts, rate),
                                 "J/tok", n, kind));
}


double mean_tokens(const length_distribution& d) {
  switch (d.k) {
    case length_distribution::kind::fixed: return static_cast<double>(d.lo);
    case length_distribution::kind::uniform: return static_cast<double>(d.lo + d.hi) / 2;
    case length_distribution::kind::dataset: {
      double sum = 0;
      for (int64_t v : d.values) sum += static_cast<double>(v);
      return sum / static_cast<double>(d.values.size());
    }
  }
  return 0;
}

workload read_workload(const measurement_request& r) {
  workload w;
  if (!r.lengths.empty()) {
    const length_pairs pairs = parse_lengths_jsonl(read_file(r.lengths), r.lengths);
    w.input.k = w.output.k = length_distribution::kind::dataset;
    w.input.values = pairs.input;
    w.output.values = pairs.output;
  } else {
    w.input = parse_length(r.input_len, "--input-len");
    w.output = parse_length(r.output_len, "--output-len");
  }
  return w;
}

prompt_synthesizer make_synthesizer(const measurement_common& c, const measurement_request& r) {
  std::string path = r.tokenizer;
  if (path.empty() && c.model_given && c.model.starts_with("gguf:")) path = c.model.substr(5);
  if (path.empty()) return word_synthesizer();
  auto file = std::make_shared<gguf::file>(path);
  auto tok = std::make_shared<tokenizer::tokenizer>(tokenizer::tokenizer::from_gguf(*file));
  return counting_synthesizer(
      [file, tok](std::string_view text) {
        return static_cast<int64_t>(tok->encode(text, {.add_special = true, .parse_special = false}).size());
      },
      "tokenizer:" + path);
}

std::unique_ptr<runner> make_measured_runner(const run_context& ctx, const measurement_common& c,
                                             const measurement_request& r, std::map<std::string, uint64_t>& seeds) {
  if (!c.model.starts_with("openai:")) return ctx.make_runner(c.model, {});
  seeds["retry_jitter"] = c.seed_retry_jitter.value_or(derive_seed(c.seed, "retry_jitter"));
  return ctx.make_runner(c.model, {.api_key_env = c.api_key_env,
                                   .retry_jitter_seed = seeds.at("retry_jitter"),
                                   .tokenizer = r.tokenizer});
}

// What the model says a decode step reads, for the bandwidth calibration. Known for the
// in-process engine only: its runner info carries the active weight bytes per token, and its KV
// cache is f32 with the layout the file implies (the MLA latent for deepseek2).
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
  } else if (s.kv_compressed) {
    // DeepSeek-V4: per context token a decode step reads the indexer key of every ratio-4 block
    // and every ratio-128 block; the window and the top-k blocks are a fixed amount.
    kv_values = 0;
    for (uint32_t r : s.compress_ratios)
      kv_values += r == 4 ? s.kv_indexer_key_length / 4.0 : r == 128 ? s.kv_key_length / 128.0 : 0.0;
  }
  decode_traffic t;
  t.weight_bytes_per_token = info.details.at("active_weight_bytes_per_token").get<double>();
  t.kv_bytes_per_context_token = kv_values * f32_bytes;
  d.traffic = t;
  d.basis = fmt::format(
      "bytes per decoded token = active weight bytes per token ({:.0f}, the engine's model facts) + KV bytes "
      "per context token ({:.0f}: {:.0f} values x 4 bytes, the engine's f32 cache{}) x mean context; decode tok/s "
      "= sum(output_tokens - 1) / sum(complete - first chunk) from the load generator's timestamps",
      t.weight_bytes_per_token, t.kv_bytes_per_context_token, kv_values,
      s.architecture == "deepseek2" ? ", MLA latent"
      : s.kv_compressed             ? ", DeepSeek-V4 indexer keys and ratio-128 blocks"
                                    : "");
  return d;
}

measured_level measure_level(runner& model, const std::vector<query>& queries, const issue_options& io,
                             const slo& s, const validity_rules& rules, const resolved_target& rt,
                             const decode_model& dm, const std::string& source, nlohmann::json per_task) {
  const auto rapl_before = targets::read_rapl();
  issue_result ir = issue(model, queries, io, steady_load_clock());
  const auto rapl_after = targets::read_rapl();
  scenario_result sr = compute_metrics(ir.records, ir.start_ns, s, rules, io.mode);
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
  if (rt.target.kind == targets::target_kind::measured && rapl_before && rapl_after && sr.duration_s > 0)
    watts = targets::rapl_delta_j(*rapl_before, *rapl_after) / sr.duration_s;
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
  const auto bw = dm.traffic ? measure_decode_bandwidth(ir.records, *dm.traffic) : std::nullopt;
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
        roof != nullptr && roof->value > 0 && rt.target.kind == targets::target_kind::measured) {
      const double devices_bw = roof->value * static_cast<double>(rt.devices);
      const double fraction = bw->achieved_gbs / devices_bw;
      out.result.metrics.push_back(plain_metric("bandwidth_roofline_fraction", fraction, "fraction", n, m));
      calib.update({{"memory_bw_gbs", devices_bw}, {"memory_bw_source", roof->note.empty() ? roof->source : roof->source + ": " + roof->note},
                    {"memory_bw_flag", targets::to_string(roof->flag)}, {"bandwidth_roofline_fraction", fraction}});
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

nlohmann::json record_json(const query_record& q, int64_t start_ns, const std::string& level) {
  const query_latency l = latency_of(q, {});
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

run_result measured_run_result(const nlohmann::json& run_json, std::vector<suite_result> suites, int64_t start_ns,
                               int64_t samples) {
  run_result result = result_header(run_json);
  result.suites = std::move(suites);
  result.execution.wall_ns = now_ns() - start_ns;
  result.execution.samples_executed = samples;
  result.execution.samples_per_s =
      result.execution.wall_ns > 0 ? static_cast<double>(samples) / (static_cast<double>(result.execution.wall_ns) / 1e9) : 0;
  return result;
}

std::vector<suite_option> measurement_options() {
  using k = suite_option::kind;
  return {
      {"--scenario", "throughput: offline | server | single-stream | sweep", "server"},
      {"--rate", "throughput server: Poisson arrival rate, queries/s", "1"},
      {"--slo", "Service-level objectives, e.g. ttft=2000ms,tpot=80ms[,e2el=30s]", ""},
      {"--target", "throughput: cpu | NAME[:DEVICES] (declared hardware of an endpoint); cost: comma-separated list "
                   "(default: every target)", ""},
      {"--input-len", "Prompt tokens: N | uniform:LO..HI", "128"},
      {"--output-len", "Output tokens: N | uniform:LO..HI", "128"},
      {"--lengths", "JSONL of {input_tokens, output_tokens} to sample lengths from", ""},
      {"--queries", "Queries per scenario level (0 = enough for the minimums)", "0"},
      {"--min-duration-s", "A level shorter than this is INVALID", "60"},
      {"--min-queries", "A level with fewer successful queries is INVALID", "100"},
      {"--max-concurrency", "sweep: highest concurrency tried", "64"},
      {"--threads", "CPU target: threads in the target id and probe (0 = all)", "0"},
      {"--model-config", "cost: built-in model config id or JSON file", ""},
      {"--batch", "cost: decode batch (sequences per step)", "64"},
      {"--context", "cost: context tokens per sequence", "4096"},
      {"--devices", "cost: devices per replica (0 = fewest that hold the model)", "0"},
      {"--price", "TARGET=USD per device-hour (adds a 'user' price tier)", "", k::repeated},
      {"--tdp-w", "TARGET=WATTS per device (for J/token without RAPL)", "", k::repeated},
      {"--efficiency", "cost: achieved fraction of the roofline (calibration)", "1"},
      {"--efficiency-source", "cost: where that efficiency was measured", ""},
      {"--calibrate-from", "cost: a throughput run directory whose measured decode bandwidth fraction calibrates the "
                           "memory roof", ""},
      {"--temperature", "Sampling temperature (generation)", "0"},
  };
}

measurement_common common_of(const std::string& suite, const run_context& ctx, const suite_args& a) {
  // A measurement is one timed window on one target: its parts cannot be taken on different
  // machines and added up (docs/shards.md).
  if (ctx.shard)
    throw error("cli.not_for_suite", {"", 0, "--shard"},
                suite + " is a measurement on one target and cannot be sharded; shard the sample suites "
                        "(humaneval and the like) and run " + suite + " whole");
  measurement_common c;
  c.suite = suite;
  c.model = ctx.model.empty() ? "oracle" : ctx.model;
  c.model_given = !ctx.model.empty();
  c.seed = ctx.seed;
  c.temperature = a.number("--temperature");
  c.api_key_env = ctx.api_key_env;
  c.seed_retry_jitter = ctx.seed_retry_jitter;
  return c;
}

measurement_request request_of(const run_context& ctx, const suite_args& a) {
  measurement_request r;
  r.scenario = a.text("--scenario");
  r.rate = a.number("--rate");
  r.slo = a.text("--slo");
  r.target = a.text("--target");
  r.input_len = a.text("--input-len");
  r.output_len = a.text("--output-len");
  r.lengths = a.text("--lengths");
  r.tokenizer = ctx.tokenizer;
  r.queries = a.integer("--queries");
  r.min_duration_s = a.number("--min-duration-s");
  r.min_queries = a.integer("--min-queries");
  r.max_concurrency = a.integer("--max-concurrency");
  r.threads = a.integer("--threads");
  r.model_config = a.text("--model-config");
  r.batch = a.integer("--batch");
  r.context = a.integer("--context");
  r.devices = a.integer("--devices");
  r.prices = a.texts("--price");
  r.tdp = a.texts("--tdp-w");
  r.efficiency = a.number("--efficiency");
  r.efficiency_source = a.text("--efficiency-source");
  r.calibrate_from = a.text("--calibrate-from");
  return r;
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

nlohmann::json requested_json(const measurement_common& c, const measurement_request& r) {
  nlohmann::json j = r;
  j.update({{"suite", c.suite}, {"model", c.model_given ? c.model : ""}, {"model_given", c.model_given},
            {"seed", c.seed}, {"temperature", c.temperature}, {"api_key_env", c.api_key_env}});
  j["seed_retry_jitter"] = c.seed_retry_jitter ? nlohmann::json(*c.seed_retry_jitter) : nlohmann::json(nullptr);
  return j;
}

void from_requested_json(const nlohmann::json& req, const std::string& file, measurement_common& c,
                         measurement_request& r) {
  try {
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
    throw error("run.bad_run_json", {file, 0, "settings_requested"}, e.what());
  }
}

}  // namespace moebench::throughput
