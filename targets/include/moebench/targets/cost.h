#pragma once
// Cost and energy per token: $/M tokens = (sum of device $/hour) / (tok/s * 3600 / 1e6), and
// J/token = W / (tok/s), with the power source labelled.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moebench::targets {

// $ per million tokens for `devices` devices at `usd_per_device_hour` sustaining `tok_s`.
// Precondition (checked): tok_s > 0, devices >= 1.
double usd_per_mtok(double usd_per_device_hour, int64_t devices, double tok_s);

// Per-token-basis split for one workload of `in_tokens` prefilled then `out_tokens` decoded on
// the same devices: effective tok/s for input, output and total token bases.
struct blended_rates {
  double seconds_per_request = 0;
  double input_tok_s = 0, output_tok_s = 0, total_tok_s = 0;
};
blended_rates blend(double prefill_tok_s, double decode_tok_s, double in_tokens, double out_tokens);

enum class power_source { rapl, tdp };
std::string_view to_string(power_source p) noexcept;

// Reads cumulative package energy from RAPL (/sys/class/powercap/intel-rapl:N, package
// domains only). nullopt when not present or not readable (common without root).
struct rapl_reading {
  std::vector<double> energy_j;     // per package
  std::vector<double> max_range_j;  // per package: the counter wraps at this value
};
std::optional<rapl_reading> read_rapl(const std::string& powercap_root = "/sys/class/powercap");
// Energy between two readings, correcting one wrap-around per package counter.
double rapl_delta_j(const rapl_reading& before, const rapl_reading& after);

double joules_per_token(double watts, double tok_s);

}  // namespace moebench::targets
