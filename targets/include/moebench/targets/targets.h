#pragma once
// Hardware targets: where a model runs (measured) or would run (modelled). A modelled target is
// a versioned data file of figures, each with its source and a flag saying what kind of source
// it is, so that every projected number can be traced to a datasheet, a vendor's own model or
// an estimate. Measured targets (this CPU) carry figures measured on the spot.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moebench::targets {

// What kind of source a figure comes from.
enum class figure_flag {
  datasheet,     // published by the vendor: spec sheet or price list
  vendor_model,  // a vendor's own modelling tool or modelled rate
  estimate,      // third-party model, assumption or inference
  measured,      // measured by moebench on this host
  model_file,    // read from the model file itself (GGUF metadata and tensor table)
};
// How directly the figure was read (HARDWARE_AND_METRICS.md marks: primary, secondary copy,
// unverified or conflicting, arithmetic from other figures).
enum class confidence { primary, secondary, unverified, derived };

std::string_view to_string(figure_flag f) noexcept;
std::string_view to_string(confidence c) noexcept;

struct sourced_figure {
  double value = 0;
  std::string source;  // a key of the data file's "sources", or a description for measured ones
  figure_flag flag = figure_flag::estimate;
  confidence conf = confidence::unverified;
  std::string note;
};
void to_json(nlohmann::json& j, const sourced_figure& f);

struct price_tier {
  std::string tier;
  sourced_figure usd_per_hour;  // per device
};

enum class target_kind { measured, modelled };
std::string_view to_string(target_kind k) noexcept;

// Figure keys a target may carry (all optional except memory and bandwidth):
// bf16_dense_tflops, fp16_dense_tflops, fp8_dense_tflops, fp4_dense_tflops, int8_dense_tops,
// memory_gb, memory_bw_gbs, scale_up_bw_gbs (bidirectional), tdp_w, fp32_gflops (CPU).
struct hardware_target {
  std::string id;  // "h100-sxm", "cpu-avx2-t8"
  std::string name;
  std::string vendor;
  target_kind kind = target_kind::modelled;
  int64_t devices_per_node = 1;
  std::map<std::string, sourced_figure> figures;
  std::vector<price_tier> prices;
  std::map<std::string, std::string> sources;  // key -> citation
  std::string data_version;                    // of the file it came from

  const sourced_figure* find(std::string_view key) const;
  // The figure or error "targets.missing_figure" naming the target and key.
  const sourced_figure& at(std::string_view key) const;
};
void to_json(nlohmann::json& j, const hardware_target& t);

// Parses a targets data file (the layout of targets/data/accelerators.json). Every figure must
// have a numeric value, a known source key, a flag and a confidence; errors name file and field.
std::vector<hardware_target> parse_targets(std::string_view json_text, const std::string& file);

// The built-in modelled targets (embedded copy of targets/data/accelerators.json).
const std::vector<hardware_target>& builtin_targets();

// Measured figures of this host's CPU, taken on the spot.
struct cpu_probe {
  std::string model_name;      // /proc/cpuinfo
  std::string isa;             // best SIMD level this CPU offers: avx512, avx2, sse2, neon, scalar
  int64_t threads = 1;
  double memory_bw_gbs = 0;    // multi-threaded streaming read, best of several passes
  double fp32_gflops = 0;      // multi-threaded multiply-add loop as compiled in this build
  double memory_gb = 0;        // MemTotal
};
struct cpu_probe_options {
  int64_t threads = 0;                // 0 = hardware concurrency
  int64_t buffer_bytes = 256 << 20;   // larger than any last-level cache
  int64_t passes = 3;
};
cpu_probe probe_cpu(const cpu_probe_options& options);
std::string detect_isa();

// The measured CPU target: id "cpu-<isa>-t<threads>". TDP and price are absent unless given.
hardware_target cpu_target(const cpu_probe& probe, std::optional<double> tdp_w = std::nullopt,
                           std::optional<double> usd_per_hour = std::nullopt);

// Resolves a name among `all`: exact id, or a unique prefix ("h100" -> "h100-sxm"). Error
// "targets.unknown" lists the ids.
const hardware_target& find_target(const std::vector<hardware_target>& all, std::string_view name);

}  // namespace moebench::targets
