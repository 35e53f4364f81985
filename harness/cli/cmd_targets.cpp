// `moebench targets`: the hardware target registry (list) and roofline projections (project).
#include <memory>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/error.h"
#include "moebench/targets/cost.h"
#include "moebench/targets/roofline.h"
#include "moebench/targets/targets.h"

namespace moebench::cli {
namespace tg = moebench::targets;
namespace {

std::string figure_cell(const tg::hardware_target& t, const char* key) {
  const auto* f = t.find(key);
  if (f == nullptr) return "-";
  return fmt::format("{:.4g}{}", f->value, f->conf == tg::confidence::primary ? "" : "*");
}

void print_targets(const std::vector<tg::hardware_target>& all) {
  fmt::print("{:<14} {:<9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>8} {:>6}  {}\n", "id", "kind", "BF16 TF", "FP8 TF",
             "INT8 TOP", "mem GB", "mem GB/s", "link GB/s", "TDP W", "$/device-hour (tier)");
  for (const auto& t : all) {
    std::string prices;
    for (const auto& p : t.prices) prices += fmt::format("{}{:.2f} ({})", prices.empty() ? "" : ", ", p.usd_per_hour.value, p.tier);
    fmt::print("{:<14} {:<9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>8} {:>6}  {}\n", t.id, tg::to_string(t.kind),
               figure_cell(t, "bf16_dense_tflops"), figure_cell(t, "fp8_dense_tflops"), figure_cell(t, "int8_dense_tops"),
               figure_cell(t, "memory_gb"), figure_cell(t, "memory_bw_gbs"), figure_cell(t, "scale_up_bw_gbs"),
               figure_cell(t, "tdp_w"), prices.empty() ? "-" : prices);
  }
  fmt::print("* = not read at a primary source (secondary copy, unverified or derived); `--json` gives every "
             "figure's source, flag and confidence.\nDense peaks (no sparsity). Measured CPU row: streaming-read "
             "bandwidth and a multiply-add loop of this build, on this host now.\n");
}

void print_projection(const tg::projection& p, const tg::model_config& m, const tg::hardware_target& t) {
  fmt::print("MODELLED projection (roofline, {}): {} on {}\n", p.calib.source, m.name, t.name);
  fmt::print("  weights {} ({:.1f} GB), batch {}, context {}, KV {:.2f} GB ({:.4g} bytes per token of context, {} attention)\n",
             tg::to_string(p.weight_precision), p.weight_bytes / 1e9, p.batch, p.context, p.kv_bytes_total / 1e9,
             p.kv_bytes_total / static_cast<double>(p.batch * std::max<int64_t>(p.context, 1)), tg::to_string(m.attention));
  fmt::print("  devices: {} needed for weights + KV, {} used{}; EP degree {}, {:.1f} routed experts/device/layer\n",
             p.devices_for_memory, p.devices, p.fits ? "" : " (DOES NOT FIT)", p.devices, p.experts_per_device);
  fmt::print("  decode: {:.4g} tok/s ({:.4g} per device), TPOT {:.3f} ms, {}-bound; {:.1f} distinct experts/layer/step,"
             " {:.2f} tokens/expert/step\n",
             p.decode_tok_s, p.decode_tok_s / static_cast<double>(p.devices), p.tpot_ms, p.decode_bound,
             p.distinct_experts_per_step, p.tokens_per_expert_per_step);
  fmt::print("          step: {:.4g} GB, {:.4g} TFLOP, {:.4g} GB over the interconnect; t_mem {:.4g} ms, t_compute {:.4g} ms,"
             " t_link {:.4g} ms\n",
             p.decode_bytes_per_step / 1e9, p.decode_flops_per_step / 1e12, p.decode_comm_bytes_per_step / 1e9,
             p.decode_t_memory_s * 1e3, p.decode_t_compute_s * 1e3, p.decode_t_comm_s * 1e3);
  fmt::print("  prefill: {:.4g} tok/s ({:.4g} per device), {}-bound\n", p.prefill_tok_s,
             p.prefill_tok_s / static_cast<double>(p.devices), p.prefill_bound);
  for (const auto& tier : t.prices)
    fmt::print("  $/M output tokens at decode rate [{}: ${:.2f}/device-h, {} {}]: {:.4g}\n", tier.tier,
               tier.usd_per_hour.value, tg::to_string(tier.usd_per_hour.flag), tg::to_string(tier.usd_per_hour.conf),
               tg::usd_per_mtok(tier.usd_per_hour.value, p.devices, p.decode_tok_s));
  for (const auto& n : p.notes) fmt::print("  note: {}\n", n);
}

}  // namespace

void add_targets_command(CLI::App& app, context& /*ctx*/) {
  auto* cmd = app.add_subcommand("targets", "Hardware targets: list them, project a model onto one");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand("list", "List measured (this CPU) and modelled targets with their figures");
  auto json = std::make_shared<bool>(false);
  auto no_probe = std::make_shared<bool>(false);
  auto threads = std::make_shared<int64_t>(0);
  list->add_flag("--json", *json, "Every figure with its source, flag and confidence, as JSON");
  list->add_flag("--no-probe", *no_probe, "Skip measuring this CPU");
  list->add_option("--threads", *threads, "Threads for the CPU probe (0 = all)");
  list->callback([json, no_probe, threads] {
    std::vector<tg::hardware_target> all = tg::builtin_targets();
    if (!*no_probe) {
      tg::cpu_probe_options o;
      o.threads = *threads;
      all.push_back(tg::cpu_target(tg::probe_cpu(o)));
    }
    if (*json) {
      fmt::print("{}\n", nlohmann::json(all).dump(2));
    } else {
      print_targets(all);
    }
  });

  auto* models = cmd->add_subcommand("models", "List the built-in model configs for projections");
  auto models_json = std::make_shared<bool>(false);
  models->add_flag("--json", *models_json, "Every figure with its source, flag and confidence, as JSON");
  models->callback([models_json] {
    const auto& all = tg::builtin_model_configs();
    if (*models_json) {
      fmt::print("{}\n", nlohmann::json(all).dump(2));
      return;
    }
    fmt::print("{:<18} {:<10} {:>9} {:>9} {:>7} {:>4} {:>9} {:>10}  {}\n", "id", "status", "total B", "active B",
               "experts", "k", "KV B/tok", "always B", "name");
    for (const auto& m : all) {
      const auto d = tg::derive(m);
      fmt::print("{:<18} {:<10} {:>9.4g} {:>9.4g} {:>7} {:>4} {:>9.0f} {:>10.4g}  {}\n", m.id, m.status,
                 m.get("total_params") / 1e9, m.get("active_params") / 1e9, m.get("routed_experts"),
                 m.get("experts_per_token"), d.kv_bytes_per_token, d.always_params / 1e9, m.name);
    }
  });

  auto* project = cmd->add_subcommand("project", "Roofline projection of a model config on a target (MODELLED)");
  struct project_args {
    std::string model_config, target, precision, efficiency_source;
    int64_t batch = 1, context = 4096, devices = 0;
    double efficiency = 1.0;
    bool json = false;
  };
  auto a = std::make_shared<project_args>();
  project->add_option("--model-config", a->model_config, "Built-in id (see `targets models`) or JSON file")->required();
  project->add_option("--target", a->target, "Target id (see `targets list`), or cpu")->required();
  project->add_option("--batch", a->batch, "Sequences per decode step")->capture_default_str();
  project->add_option("--context", a->context, "Context tokens per sequence")->capture_default_str();
  project->add_option("--devices", a->devices, "Devices (0 = fewest that hold weights + KV)")->capture_default_str();
  project->add_option("--precision", a->precision, "Weight precision override: bf16 fp16 fp8 int8 int4");
  project->add_option("--efficiency", a->efficiency, "Calibration: achieved fraction of each roof")->capture_default_str();
  project->add_option("--efficiency-source", a->efficiency_source, "Where that efficiency was measured");
  project->add_flag("--json", a->json, "JSON output");
  project->callback([a] {
    const tg::model_config m = tg::load_model_config(a->model_config);
    tg::hardware_target t;
    if (a->target == "cpu") {
      t = tg::cpu_target(tg::probe_cpu({}));
    } else {
      t = tg::find_target(tg::builtin_targets(), a->target);
    }
    tg::projection_options o;
    o.batch = a->batch;
    o.context = a->context;
    o.devices = a->devices;
    if (!a->precision.empty()) {
      try {
        o.weight_precision = tg::precision_from_string(a->precision);
      } catch (const error& e) {
        throw error("cli.bad_value", {"", 0, "--precision"}, e.message());
      }
    }
    if (a->efficiency != 1.0 || !a->efficiency_source.empty()) {
      if (a->efficiency_source.empty())
        throw error("cli.missing", {"", 0, "--efficiency-source"}, "a calibration must say where it was measured");
      o.calib = {a->efficiency, a->efficiency, a->efficiency_source};
    }
    const tg::projection p = tg::project(m, t, o);
    if (a->json) {
      fmt::print("{}\n", nlohmann::json(p).dump(2));
    } else {
      print_projection(p, m, t);
    }
  });
}

}  // namespace moebench::cli
