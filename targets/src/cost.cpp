#include "moebench/targets/cost.h"

#include <filesystem>
#include <algorithm>
#include <fstream>

#include "moebench/error.h"

namespace moebench::targets {

double usd_per_mtok(double usd_per_device_hour, int64_t devices, double tok_s) {
  MOEBENCH_CHECK(tok_s > 0 && devices >= 1 && usd_per_device_hour >= 0, "usd_per_mtok: bad inputs");
  return usd_per_device_hour * static_cast<double>(devices) / (tok_s * 3600.0 / 1e6);
}

blended_rates blend(double prefill_tok_s, double decode_tok_s, double in_tokens, double out_tokens) {
  MOEBENCH_CHECK(prefill_tok_s > 0 && decode_tok_s > 0 && in_tokens >= 0 && out_tokens >= 0 &&
                     in_tokens + out_tokens > 0,
                 "blend: bad inputs");
  blended_rates r;
  r.seconds_per_request = in_tokens / prefill_tok_s + out_tokens / decode_tok_s;
  r.input_tok_s = in_tokens / r.seconds_per_request;
  r.output_tok_s = out_tokens / r.seconds_per_request;
  r.total_tok_s = (in_tokens + out_tokens) / r.seconds_per_request;
  return r;
}

std::string_view to_string(power_source p) noexcept {
  switch (p) {
    case power_source::rapl: return "rapl";
    case power_source::tdp: return "tdp";
  }
  return "?";
}

namespace {
std::optional<double> read_number(const std::filesystem::path& p) {
  std::ifstream in(p);
  double v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}
}  // namespace

std::optional<rapl_reading> read_rapl(const std::string& powercap_root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(powercap_root, ec)) return std::nullopt;
  std::vector<fs::path> zones;
  for (const auto& e : fs::directory_iterator(powercap_root, ec)) {
    const std::string name = e.path().filename().string();
    // Top-level zones only ("intel-rapl:0"); sub-zones ("intel-rapl:0:0") are parts of a package.
    if (name.starts_with("intel-rapl:") && name.find(':') == name.rfind(':')) zones.push_back(e.path());
  }
  std::sort(zones.begin(), zones.end());
  rapl_reading r;
  for (const auto& z : zones) {
    std::ifstream name_in(z / "name");
    std::string name;
    if (!(name_in >> name) || !name.starts_with("package")) continue;
    const auto e = read_number(z / "energy_uj");
    const auto m = read_number(z / "max_energy_range_uj");
    if (!e || !m) return std::nullopt;  // present but unreadable (root only): no partial sums
    r.energy_j.push_back(*e / 1e6);
    r.max_range_j.push_back(*m / 1e6);
  }
  if (r.energy_j.empty()) return std::nullopt;
  return r;
}

double rapl_delta_j(const rapl_reading& before, const rapl_reading& after) {
  MOEBENCH_CHECK(before.energy_j.size() == after.energy_j.size(), "RAPL package count changed");
  double sum = 0;
  for (std::size_t i = 0; i < before.energy_j.size(); ++i) {
    double d = after.energy_j[i] - before.energy_j[i];
    if (d < 0) d += after.max_range_j[i];
    sum += d;
  }
  return sum;
}

double joules_per_token(double watts, double tok_s) {
  MOEBENCH_CHECK(tok_s > 0 && watts >= 0, "joules_per_token: bad inputs");
  return watts / tok_s;
}

}  // namespace moebench::targets
