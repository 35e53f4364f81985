#include "moebench/targets/targets.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <fstream>
#include <thread>
#include <vector>

#include "moebench/clock.h"
#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "detail.h"

namespace moebench::embedded {
extern const std::string_view targets_accelerators;
}

namespace moebench::targets {
namespace {
using namespace std::string_view_literals;
constexpr std::array flag_names{
    std::pair{figure_flag::datasheet, "datasheet"sv},
    std::pair{figure_flag::vendor_model, "vendor_model"sv},
    std::pair{figure_flag::estimate, "estimate"sv},
    std::pair{figure_flag::measured, "measured"sv},
    std::pair{figure_flag::model_file, "model_file"sv},
};
constexpr std::array confidence_names{
    std::pair{confidence::primary, "primary"sv},
    std::pair{confidence::secondary, "secondary"sv},
    std::pair{confidence::unverified, "unverified"sv},
    std::pair{confidence::derived, "derived"sv},
};
constexpr std::array kind_names{
    std::pair{target_kind::measured, "measured"sv},
    std::pair{target_kind::modelled, "modelled"sv},
};
}  // namespace

std::string_view to_string(figure_flag f) noexcept { return moebench::detail::enum_to_string(flag_names, f); }
std::string_view to_string(confidence c) noexcept {
  return moebench::detail::enum_to_string(confidence_names, c);
}
std::string_view to_string(target_kind k) noexcept { return moebench::detail::enum_to_string(kind_names, k); }

namespace detail {

template <class E, std::size_t N>
E parse_enum(const std::array<std::pair<E, std::string_view>, N>& table, const std::string& name,
             const char* what, const std::string& file, const std::string& path) {
  try {
    return moebench::detail::enum_from_string(table, name, what);
  } catch (const error& e) {
    throw error(e.id(), {file, 0, path}, e.message());
  }
}

// Reads one figure object {value, source, flag, confidence, note?}; every error names the file
// and the JSON path of the field.
sourced_figure parse_figure(const nlohmann::json& j, const std::map<std::string, std::string>& sources,
                            const std::string& file, const std::string& path) {
  if (!j.is_object()) throw error("targets.bad_figure", {file, 0, path}, "expected an object");
  sourced_figure f;
  const auto v = j.find("value");
  if (v == j.end() || !v->is_number())
    throw error("targets.bad_figure", {file, 0, path + ".value"}, "expected a number");
  f.value = v->get<double>();
  if (!std::isfinite(f.value) || f.value < 0)
    throw error("targets.bad_figure", {file, 0, path + ".value"}, "must be finite and >= 0");
  const auto s = j.find("source");
  if (s == j.end() || !s->is_string() || s->get<std::string>().empty())
    throw error("targets.no_source", {file, 0, path + ".source"}, "every figure needs a source");
  f.source = s->get<std::string>();
  if (!sources.contains(f.source))
    throw error("targets.unknown_source", {file, 0, path + ".source"},
                "source '" + f.source + "' is not defined in \"sources\"");
  const auto fl = j.find("flag");
  if (fl == j.end() || !fl->is_string())
    throw error("targets.no_flag", {file, 0, path + ".flag"},
                "every figure needs a flag (datasheet, vendor_model, estimate)");
  f.flag = parse_enum(flag_names, fl->get<std::string>(), "figure_flag", file, path + ".flag");
  const auto c = j.find("confidence");
  if (c == j.end() || !c->is_string())
    throw error("targets.no_confidence", {file, 0, path + ".confidence"},
                "every figure needs a confidence (primary, secondary, unverified, derived)");
  f.conf = parse_enum(confidence_names, c->get<std::string>(), "confidence", file, path + ".confidence");
  if (f.flag == figure_flag::measured)
    throw error("targets.bad_figure", {file, 0, path + ".flag"},
                "'measured' is reserved for figures moebench measures itself");
  if (const auto n = j.find("note"); n != j.end()) {
    if (!n->is_string()) throw error("targets.bad_figure", {file, 0, path + ".note"}, "expected a string");
    f.note = n->get<std::string>();
  }
  return f;
}

std::map<std::string, std::string> parse_sources(const nlohmann::json& root, const std::string& file) {
  std::map<std::string, std::string> sources;
  const auto s = root.find("sources");
  if (s == root.end() || !s->is_object())
    throw error("targets.bad_file", {file, 0, "sources"}, "expected an object of source key -> citation");
  for (const auto& [k, v] : s->items()) {
    if (!v.is_string() || v.get<std::string>().empty())
      throw error("targets.bad_file", {file, 0, "sources." + k}, "expected a non-empty citation");
    sources.emplace(k, v.get<std::string>());
  }
  return sources;
}

nlohmann::json parse_root(std::string_view text, const std::string& file) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw error("targets.bad_json", {file}, e.what());
  }
  if (!root.is_object()) throw error("targets.bad_file", {file}, "expected a JSON object");
  const auto v = root.find("schema_version");
  if (v == root.end() || !v->is_number_integer() || v->get<int64_t>() != 1)
    throw error("targets.schema", {file, 0, "schema_version"}, "expected schema_version 1");
  return root;
}

std::string required_string(const nlohmann::json& j, const char* key, const std::string& file,
                            const std::string& path) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty())
    throw error("targets.bad_file", {file, 0, path + "." + key}, "expected a non-empty string");
  return it->get<std::string>();
}

}  // namespace detail

const sourced_figure* hardware_target::find(std::string_view key) const {
  const auto it = figures.find(std::string(key));
  return it == figures.end() ? nullptr : &it->second;
}

const sourced_figure& hardware_target::at(std::string_view key) const {
  const auto* f = find(key);
  if (f == nullptr)
    throw error("targets.missing_figure", {"", 0, std::string(key)},
                "target '" + id + "' has no figure '" + std::string(key) + "'");
  return *f;
}

void to_json(nlohmann::json& j, const sourced_figure& f) {
  j = {{"value", f.value}, {"source", f.source}, {"flag", to_string(f.flag)},
       {"confidence", to_string(f.conf)}};
  if (!f.note.empty()) j["note"] = f.note;
}

void to_json(nlohmann::json& j, const hardware_target& t) {
  j = {{"id", t.id}, {"name", t.name}, {"vendor", t.vendor}, {"kind", to_string(t.kind)},
       {"devices_per_node", t.devices_per_node}, {"figures", t.figures}};
  nlohmann::json prices = nlohmann::json::array();
  for (const auto& p : t.prices) prices.push_back({{"tier", p.tier}, {"usd_per_hour", p.usd_per_hour}});
  j["prices"] = prices;
  nlohmann::json used = nlohmann::json::object();
  for (const auto& [k, f] : t.figures)
    if (const auto it = t.sources.find(f.source); it != t.sources.end()) used[f.source] = it->second;
  for (const auto& p : t.prices)
    if (const auto it = t.sources.find(p.usd_per_hour.source); it != t.sources.end())
      used[p.usd_per_hour.source] = it->second;
  j["sources"] = used;
  if (!t.data_version.empty()) j["data_version"] = t.data_version;
}

std::vector<hardware_target> parse_targets(std::string_view json_text, const std::string& file) {
  const nlohmann::json root = detail::parse_root(json_text, file);
  const auto sources = detail::parse_sources(root, file);
  const std::string version = detail::required_string(root, "data_version", file, "");
  const auto list = root.find("targets");
  if (list == root.end() || !list->is_array())
    throw error("targets.bad_file", {file, 0, "targets"}, "expected an array");
  std::vector<hardware_target> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& tj = (*list)[i];
    const std::string path = "targets[" + std::to_string(i) + "]";
    if (!tj.is_object()) throw error("targets.bad_file", {file, 0, path}, "expected an object");
    hardware_target t;
    t.id = detail::required_string(tj, "id", file, path);
    t.name = detail::required_string(tj, "name", file, path);
    t.vendor = detail::required_string(tj, "vendor", file, path);
    t.kind = target_kind::modelled;
    t.data_version = version;
    t.sources = sources;
    const auto dpn = tj.find("devices_per_node");
    if (dpn == tj.end() || !dpn->is_number_integer() || dpn->get<int64_t>() < 1)
      throw error("targets.bad_file", {file, 0, path + ".devices_per_node"}, "expected an integer >= 1");
    t.devices_per_node = dpn->get<int64_t>();
    const auto figs = tj.find("figures");
    if (figs == tj.end() || !figs->is_object())
      throw error("targets.bad_file", {file, 0, path + ".figures"}, "expected an object");
    for (const auto& [k, v] : figs->items())
      t.figures.emplace(k, detail::parse_figure(v, sources, file, path + ".figures." + k));
    for (const char* key : {"memory_gb", "memory_bw_gbs"})
      if (!t.figures.contains(key))
        throw error("targets.missing_figure", {file, 0, path + ".figures." + key},
                    "every target needs memory_gb and memory_bw_gbs");
    if (t.at("memory_gb").value <= 0 || t.at("memory_bw_gbs").value <= 0)
      throw error("targets.bad_figure", {file, 0, path + ".figures"},
                  "memory_gb and memory_bw_gbs must be positive");
    const auto prices = tj.find("prices");
    if (prices != tj.end()) {
      if (!prices->is_array()) throw error("targets.bad_file", {file, 0, path + ".prices"}, "expected an array");
      for (std::size_t p = 0; p < prices->size(); ++p) {
        const auto& pj = (*prices)[p];
        const std::string pp = path + ".prices[" + std::to_string(p) + "]";
        if (!pj.is_object()) throw error("targets.bad_file", {file, 0, pp}, "expected an object");
        price_tier tier;
        tier.tier = detail::required_string(pj, "tier", file, pp);
        const auto u = pj.find("usd_per_hour");
        if (u == pj.end()) throw error("targets.bad_file", {file, 0, pp + ".usd_per_hour"}, "missing");
        tier.usd_per_hour = detail::parse_figure(*u, sources, file, pp + ".usd_per_hour");
        t.prices.push_back(std::move(tier));
      }
    }
    for (const auto& prev : out)
      if (prev.id == t.id) throw error("targets.duplicate", {file, 0, path + ".id"}, "duplicate id '" + t.id + "'");
    out.push_back(std::move(t));
  }
  return out;
}

const std::vector<hardware_target>& builtin_targets() {
  static const std::vector<hardware_target> targets =
      parse_targets(embedded::targets_accelerators, "builtin:targets/data/accelerators.json");
  return targets;
}

const hardware_target& find_target(const std::vector<hardware_target>& all, std::string_view name) {
  for (const auto& t : all)
    if (t.id == name) return t;
  const hardware_target* match = nullptr;
  int matches = 0;
  for (const auto& t : all)
    if (t.id.starts_with(name)) {
      match = &t;
      ++matches;
    }
  if (matches == 1) return *match;
  std::string known;
  for (const auto& t : all) known += (known.empty() ? "" : ", ") + t.id;
  throw error("targets.unknown", {"", 0, "--target"},
              std::string(matches > 1 ? "ambiguous" : "unknown") + " target '" + std::string(name) +
                  "' (known: " + known + ")");
}

std::string detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  if (__builtin_cpu_supports("sse2")) return "sse2";
  return "scalar";
#elif defined(__aarch64__)
  return "neon";
#else
  return "scalar";
#endif
}

namespace {

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("model name") || line.starts_with("Model")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

double read_mem_total_gb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemTotal:") return kb * 1024.0 / 1e9;
  return 0;
}

// Every thread sums its slice of a buffer larger than the caches; the best pass counts (the
// others include page faults and scheduler noise). Reads only: decode is read-dominated.
double measure_read_bw_gbs(int64_t threads, int64_t bytes, int64_t passes) {
  const auto n = static_cast<std::size_t>(bytes) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  for (std::size_t i = 0; i < n; ++i) buf[i] = i;
  std::atomic<uint64_t> sink{0};
  double best_s = 1e30;
  for (int64_t p = 0; p < passes; ++p) {
    const int64_t t0 = now_ns();
    {
      std::vector<std::jthread> pool;
      for (int64_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          const std::size_t lo = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
          const std::size_t hi = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
          uint64_t a = 0, b = 0, c = 0, d = 0;
          std::size_t i = lo;
          for (; i + 4 <= hi; i += 4) {
            a += buf[i];
            b += buf[i + 1];
            c += buf[i + 2];
            d += buf[i + 3];
          }
          for (; i < hi; ++i) a += buf[i];
          sink += a + b + c + d;
        });
    }
    best_s = std::min(best_s, static_cast<double>(now_ns() - t0) / 1e9);
  }
  MOEBENCH_CHECK(sink.load() != 1, "unreachable: keeps the reads alive");
  return static_cast<double>(n * sizeof(uint64_t)) / best_s / 1e9;
}

// Independent multiply-add chains per thread, as vectorised by this build's flags: the CPU's
// compute roof as moebench's own code can reach it, not the ISA's theoretical peak.
double measure_fp32_gflops(int64_t threads) {
  constexpr int lanes = 64;
  constexpr int64_t iters = 2'000'000;
  std::atomic<int64_t> sink{0};
  const int64_t t0 = now_ns();
  {
    std::vector<std::jthread> pool;
    for (int64_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        std::array<float, lanes> acc{};
        for (int i = 0; i < lanes; ++i) acc[static_cast<std::size_t>(i)] = static_cast<float>(i + t) * 1e-3f;
        const float m = 0.999999f, a = 1e-7f;
        for (int64_t it = 0; it < iters; ++it)
          for (auto& x : acc) x = x * m + a;
        float s = 0;
        for (float x : acc) s += x;
        sink += static_cast<int64_t>(s);
      });
  }
  const double secs = static_cast<double>(now_ns() - t0) / 1e9;
  MOEBENCH_CHECK(sink.load() >= 0, "unreachable: keeps the arithmetic alive");
  return 2.0 * lanes * static_cast<double>(iters) * static_cast<double>(threads) / secs / 1e9;
}

}  // namespace

cpu_probe probe_cpu(const cpu_probe_options& o) {
  cpu_probe p;
  p.model_name = read_cpu_model();
  p.isa = detect_isa();
  p.threads = o.threads > 0 ? o.threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  p.memory_gb = read_mem_total_gb();
  p.memory_bw_gbs = measure_read_bw_gbs(p.threads, o.buffer_bytes, std::max<int64_t>(1, o.passes));
  p.fp32_gflops = measure_fp32_gflops(p.threads);
  return p;
}

hardware_target cpu_target(const cpu_probe& p, std::optional<double> tdp_w,
                           std::optional<double> usd_per_hour) {
  hardware_target t;
  t.id = "cpu-" + p.isa + "-t" + std::to_string(p.threads);
  t.name = p.model_name + " (" + std::to_string(p.threads) + " threads, " + p.isa + ")";
  t.vendor = "host";
  t.kind = target_kind::measured;
  t.devices_per_node = 1;
  const std::string probe = "moebench-probe";
  t.sources[probe] = "measured on this host by moebench (streaming read; multiply-add loop)";
  t.sources["host"] = "/proc/meminfo";
  t.sources["user"] = "given on the command line";
  t.figures["memory_bw_gbs"] = {p.memory_bw_gbs, probe, figure_flag::measured, confidence::primary,
                                "multi-threaded streaming read, best pass"};
  // Dense FP32 is what this build computes in; it stands in for every precision on a CPU.
  t.figures["fp32_gflops"] = {p.fp32_gflops, probe, figure_flag::measured, confidence::primary,
                              "multiply-add loop as compiled in this build"};
  t.figures["bf16_dense_tflops"] = {p.fp32_gflops / 1000, probe, figure_flag::measured,
                                    confidence::derived, "fp32 rate used for every precision"};
  t.figures["memory_gb"] = {p.memory_gb, "host", figure_flag::measured, confidence::primary, "MemTotal"};
  if (tdp_w) t.figures["tdp_w"] = {*tdp_w, "user", figure_flag::estimate, confidence::unverified, "--tdp-w"};
  if (usd_per_hour)
    t.prices.push_back({"user", {*usd_per_hour, "user", figure_flag::estimate, confidence::unverified, "--price"}});
  return t;
}

}  // namespace moebench::targets
