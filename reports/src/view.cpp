#include "view.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/core.h>

namespace moebench::report_detail {
namespace {

const nlohmann::json& member(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json null_json;
  if (!j.is_object()) return null_json;
  const auto it = j.find(key);
  return it == j.end() ? null_json : *it;
}

std::string string_member(const nlohmann::json& j, std::string_view key) {
  const auto& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<double> number_member(const nlohmann::json& j, std::string_view key) {
  const auto& v = member(j, key);
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

// "usd_per_mtok_total[inferencex-rental]" -> {"total", "inferencex-rental"}; measured rows
// without tiers have no brackets.
bool parse_price_name(std::string_view name, std::string& basis, std::string& tier) {
  constexpr std::string_view prefix = "usd_per_mtok_";
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  const auto open = name.find('[');
  if (open == std::string_view::npos) {
    basis = std::string(name);
    tier.clear();
  } else {
    if (!name.ends_with(']')) return false;
    basis = std::string(name.substr(0, open));
    tier = std::string(name.substr(open + 1, name.size() - open - 2));
  }
  return basis == "input" || basis == "output" || basis == "total";
}

std::vector<sourced_figure> figure_sources(const nlohmann::json& target_figures) {
  std::vector<sourced_figure> out;
  const auto& sources = member(target_figures, "sources");
  auto add = [&](std::string name, const nlohmann::json& f) {
    if (!f.is_object() || !member(f, "value").is_number()) return;
    sourced_figure s;
    s.name = std::move(name);
    s.value = f["value"].get<double>();
    s.source_key = string_member(f, "source");
    s.source_text = string_member(sources, s.source_key);
    s.flag = string_member(f, "flag");
    s.confidence = string_member(f, "confidence");
    s.note = string_member(f, "note");
    out.push_back(std::move(s));
  };
  const auto& figures = member(target_figures, "figures");
  if (figures.is_object())
    for (const auto& [name, f] : figures.items()) add(name, f);
  const auto& prices = member(target_figures, "prices");
  if (prices.is_array())
    for (const auto& p : prices) add("price[" + string_member(p, "tier") + "].usd_per_hour", member(p, "usd_per_hour"));
  return out;
}

}  // namespace

suite_kind kind_of(const suite_result& s) {
  if (s.suite == "humaneval") return suite_kind::humaneval;
  if (s.suite == "throughput") return suite_kind::throughput;
  if (s.suite == "cost") return suite_kind::cost;
  if (s.suite == "longctx") return suite_kind::longctx;
  return suite_kind::other;
}

std::string_view to_string(suite_kind k) noexcept {
  switch (k) {
    case suite_kind::humaneval: return "humaneval";
    case suite_kind::throughput: return "throughput";
    case suite_kind::cost: return "cost";
    case suite_kind::longctx: return "longctx";
    case suite_kind::other: return "other";
  }
  return "?";
}

std::string format_number(double value, std::string_view unit) {
  if (!std::isfinite(value)) return value > 0 ? "inf" : (value < 0 ? "-inf" : "n/a");
  if (unit == "fraction") return fmt::format("{:.2f}%", 100 * value);
  if (unit == "percent") return fmt::format("{:.4g}%", value);
  if (unit.empty()) return fmt::format("{:.4g}", value);
  return fmt::format("{:.4g} {}", value, unit);
}

std::string format_value(const metric& m) { return format_number(m.value, m.unit); }

std::string format_ci(const confidence_interval& c, const std::string& unit) {
  if (unit == "fraction") return fmt::format("[{:.2f}, {:.2f}]%", 100 * c.lo, 100 * c.hi);
  return fmt::format("[{:.4g}, {:.4g}]", c.lo, c.hi);
}

std::string ci_label(const std::string& method) {
  if (method == "bootstrap_tasks") return "bootstrap over tasks";
  if (method == "wilson_samples") return "Wilson over samples";
  if (method == "bootstrap_samples") return "bootstrap over samples";
  return method;
}

std::string format_distribution(const metric& m) {
  if (!m.distribution) return format_value(m);
  const auto& d = *m.distribution;
  return fmt::format("{} (p50 {:.4g}, p90 {:.4g}, p99 {:.4g})", format_value(m), d.p50, d.p90, d.p99);
}

const metric* find_metric(const suite_result& s, std::string_view name) {
  for (const auto& m : s.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

std::string model_label(const run_result& r) {
  std::string name = string_member(r.model, "name");
  if (name.empty()) name = string_member(r.model, "spec");
  return name.empty() ? "?" : name;
}

std::string run_target(const run_result& r) { return string_member(r.settings_effective, "target"); }

std::string grading_mode(const run_result& r) {
  for (const auto& s : r.suites)
    if (!s.grading.empty()) return s.grading;
  for (const nlohmann::json* where : {&r.settings_effective, &r.executor}) {
    const auto& g = member(*where, "grading");
    if (g.is_string()) return g.get<std::string>();
    if (g.is_object() && member(g, "mode").is_string()) return g["mode"].get<std::string>();
  }
  return {};
}

std::vector<headline> headlines(std::span<const run_result> runs) {
  std::vector<headline> out;
  for (const auto& r : runs) {
    // Throughput: the level with the highest output rate stands for the run.
    const suite_result* best = nullptr;
    std::string best_label;
    for (const auto& lv : throughput_levels(r)) {
      const metric* m = find_metric(*lv.suite, "output_tok_s");
      if (m && (!best || m->value > find_metric(*best, "output_tok_s")->value)) {
        best = lv.suite;
        best_label = lv.label;
      }
    }
    for (const auto& s : r.suites) {
      switch (kind_of(s)) {
        case suite_kind::humaneval:
          for (const auto& m : s.metrics)
            if (m.name.starts_with("pass@")) out.push_back({&r, &s, "", &m});
          break;
        case suite_kind::throughput:
          if (&s == best) {
            const std::string scope = best_label + " (peak output)";
            for (const char* name : {"output_tok_s", "ttft_ms", "tpot_ms", "e2el_ms"})
              if (const metric* m = find_metric(s, name)) out.push_back({&r, &s, scope, m});
          }
          break;
        case suite_kind::cost:
          break;  // below: per run, not per target

        case suite_kind::longctx:
          // The effective length and the score per length (not every bucket's).
          for (const auto& m : s.metrics)
            if (m.name == "effective_length" || m.name.starts_with("score@")) out.push_back({&r, &s, "", &m});
          break;
        case suite_kind::other: {
          // Figures with a CI first (accuracy-like), else the first few.
          std::size_t added = 0;
          for (const auto& m : s.metrics)
            if (!m.cis.empty()) {
              out.push_back({&r, &s, s.source, &m});
              ++added;
            }
          for (std::size_t i = 0; added == 0 && i < s.metrics.size() && i < 3; ++i)
            out.push_back({&r, &s, s.source, &s.metrics[i]});
          break;
        }
      }
    }
    // Cost: per kind (measured, modelled) the cheapest $/M total over targets and tiers, and
    // the fastest decode rate.
    for (const figure_kind kind : {figure_kind::measured, figure_kind::modelled}) {
      headline cheapest, fastest;
      for (const auto& s : r.suites) {
        if (kind_of(s) != suite_kind::cost) continue;
        const std::string target = string_member(s.per_task, "target");
        for (const auto& m : s.metrics) {
          if (m.kind != kind) continue;
          if (m.name.starts_with("usd_per_mtok_total") && (!cheapest.figure || m.value < cheapest.figure->value))
            cheapest = {&r, &s, target + " (cheapest)", &m};
          if ((m.name == "decode_tok_s" || (kind == figure_kind::measured && m.name == "output_tok_s")) &&
              (!fastest.figure || m.value > fastest.figure->value))
            fastest = {&r, &s, target + " (fastest)", &m};
        }
      }
      if (fastest.figure) out.push_back(fastest);
      if (cheapest.figure) out.push_back(cheapest);
    }
  }
  return out;
}

std::vector<throughput_level> throughput_levels(const run_result& r) {
  std::vector<throughput_level> out;
  for (const auto& s : r.suites) {
    if (kind_of(s) != suite_kind::throughput) continue;
    throughput_level lv;
    lv.suite = &s;
    lv.scenario = string_member(s.per_task, "scenario");
    if (const auto c = number_member(s.per_task, "concurrency")) {
      lv.order = *c;
      lv.label = fmt::format("concurrency={}", *c);
    } else if (const auto rate = number_member(s.per_task, "rate_per_s")) {
      lv.order = *rate;
      lv.label = fmt::format("rate={}/s", *rate);
    } else {
      lv.order = static_cast<double>(out.size());
      lv.label = s.source.empty() ? lv.scenario : s.source;
    }
    if (!lv.scenario.empty() && lv.scenario != "sweep" && lv.label.find(lv.scenario) == std::string::npos)
      lv.label = lv.scenario + " " + lv.label;
    const auto& sat = member(s.per_task, "saturated");
    lv.saturated = sat.is_boolean() && sat.get<bool>();
    out.push_back(std::move(lv));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  return out;
}

std::vector<cost_row> cost_rows(const run_result& r) {
  std::vector<cost_row> out;
  const auto levels = throughput_levels(r);
  for (const auto& s : r.suites) {
    const suite_kind k = kind_of(s);
    if (k != suite_kind::cost && k != suite_kind::throughput) continue;
    cost_row row;
    row.run = &r;
    row.suite = &s;
    for (const auto& m : s.metrics) {
      std::string basis, tier;
      if (parse_price_name(m.name, basis, tier))
        row.prices.push_back({basis, tier, &m});
      else if (m.name.starts_with("j_per_") || m.name.starts_with("power_w_"))
        row.energy.push_back(&m);
    }
    if (k == suite_kind::throughput && row.prices.empty() && row.energy.empty()) continue;
    const std::string per_task_kind = string_member(s.per_task, "kind");
    row.kind = per_task_kind == "modelled" ? figure_kind::modelled : figure_kind::measured;
    if (k == suite_kind::cost) {
      row.target = string_member(s.per_task, "target");
      row.rate = find_metric(s, row.kind == figure_kind::modelled ? "decode_tok_s" : "output_tok_s");
      if (!row.rate) row.rate = find_metric(s, "decode_tok_s");
      const auto& projection = member(s.per_task, "projection");
      row.calibration = string_member(member(projection, "calibration"), "source");
      row.model = string_member(s.per_task, "model");
      if (row.model.empty()) row.model = string_member(projection, "model_config");
    } else {
      row.target = run_target(r);
      row.rate = find_metric(s, "output_tok_s");
      row.model = model_label(r);
      for (const auto& lv : levels)
        if (lv.suite == &s) row.scope = lv.label;
    }
    const auto& figures = member(s.per_task, "target_figures");
    row.target_name = string_member(figures, "name");
    row.sources = figure_sources(figures);
    if (const auto& notes = member(s.per_task, "notes"); notes.is_array())
      for (const auto& n : notes)
        if (n.is_string()) row.notes.push_back(n.get<std::string>());
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<std::string> price_tiers(const cost_row& c) {
  std::set<std::string> tiers;
  for (const auto& p : c.prices) tiers.insert(p.tier);
  if (tiers.empty()) tiers.insert("");
  return {tiers.begin(), tiers.end()};
}

const metric* price_of(const cost_row& c, std::string_view tier, std::string_view basis) {
  for (const auto& p : c.prices)
    if (p.tier == tier && p.basis == basis) return p.figure;
  return nullptr;
}

std::optional<expert_load> expert_load_of(const run_result& r) {
  const auto& t = member(r.model, "telemetry");
  const auto& layers = member(t, "layers");
  if (!layers.is_array() || layers.empty()) return std::nullopt;
  expert_load out;
  for (const auto& l : layers) {
    if (!member(l, "hits").is_array()) continue;
    expert_layer el;
    el.layer = member(l, "layer").is_number_integer() ? l["layer"].get<int64_t>() : static_cast<int64_t>(out.layers.size());
    for (const auto& h : l["hits"]) el.hits.push_back(h.is_number() ? h.get<int64_t>() : 0);
    el.imbalance = number_member(l, "imbalance").value_or(0);
    el.load_entropy_bits = number_member(l, "load_entropy_bits").value_or(0);
    out.layers.push_back(std::move(el));
  }
  if (out.layers.empty()) return std::nullopt;
  auto int_member = [&](std::string_view key) {
    const auto& v = member(t, key);
    return v.is_number() ? v.get<int64_t>() : int64_t{0};
  };
  out.mean_imbalance = number_member(t, "mean_imbalance").value_or(0);
  out.mean_gate_entropy_bits = number_member(t, "mean_gate_entropy_bits").value_or(0);
  out.routed_tokens = int_member("routed_tokens");
  out.samples = int_member("samples");
  out.prompt_tokens = int_member("prompt_tokens");
  out.completion_tokens = int_member("completion_tokens");
  out.near_ties = int_member("near_tie_decisions");
  out.decisions = int_member("routing_decisions");
  return out;
}

std::vector<solved_task_cost> solved_task_costs(std::span<const run_result> runs,
                                                std::span<const cost_row> costs) {
  std::vector<solved_task_cost> out;
  for (const auto& r : runs) {
    const auto load = expert_load_of(r);
    // Token counts come from the engine's telemetry; other runners do not total them in
    // results.json.
    if (!load || load->samples <= 0) continue;
    for (const auto& s : r.suites) {
      const metric* p1 = find_metric(s, "pass@1");
      if (!p1) continue;
      for (const auto& c : costs) {
        // Modelled rows charge input tokens at the prefill rate and output tokens at the decode
        // rate (disaggregated), so a sample costs in x $in + out x $out. Measured rows charge
        // each basis the whole device time of the run: there (in + out) x $total is the cost.
        struct tier_prices {
          const metric *input = nullptr, *output = nullptr, *total = nullptr;
        };
        std::map<std::string, tier_prices> by_tier;
        for (const auto& p : c.prices) {
          if (p.basis == "input") by_tier[p.tier].input = p.figure;
          if (p.basis == "output") by_tier[p.tier].output = p.figure;
          if (p.basis == "total") by_tier[p.tier].total = p.figure;
        }
        for (const auto& [tier, prices] : by_tier) {
          const bool modelled = c.kind == figure_kind::modelled;
          if (modelled ? (!prices.input || !prices.output) : !prices.total) continue;
          solved_task_cost x;
          x.accuracy_run = &r;
          x.accuracy = &s;
          x.cost = &c;
          x.tier = tier;
          x.input_tokens_per_sample = static_cast<double>(load->prompt_tokens) / static_cast<double>(load->samples);
          x.output_tokens_per_sample = static_cast<double>(load->completion_tokens) / static_cast<double>(load->samples);
          x.usd_per_sample = modelled ? (x.input_tokens_per_sample * prices.input->value +
                                         x.output_tokens_per_sample * prices.output->value) / 1e6
                                      : (x.input_tokens_per_sample + x.output_tokens_per_sample) * prices.total->value / 1e6;
          x.pass1 = p1->value;
          x.pass1_lo = x.pass1_hi = p1->value;
          if (!p1->cis.empty()) {
            // The widest of the CIs given (bootstrap over tasks, Wilson over samples).
            x.pass1_lo = p1->cis.front().lo;
            x.pass1_hi = p1->cis.front().hi;
            for (const auto& ci : p1->cis) {
              x.pass1_lo = std::min(x.pass1_lo, ci.lo);
              x.pass1_hi = std::max(x.pass1_hi, ci.hi);
            }
          }
          if (x.pass1 > 0) x.usd_per_solved = x.usd_per_sample / x.pass1;
          if (x.pass1_hi > 0) x.usd_lo = x.usd_per_sample / x.pass1_hi;
          if (x.pass1_lo > 0) x.usd_hi = x.usd_per_sample / x.pass1_lo;
          out.push_back(x);
        }
      }
    }
  }
  return out;
}

std::string solved_usd_text(const solved_task_cost& x) {
  return x.usd_per_solved ? fmt::format("{:.4g}", *x.usd_per_solved) : "unbounded: no task solved";
}

std::string solved_range_text(const solved_task_cost& x) {
  return fmt::format("[{}, {}]", x.usd_lo ? fmt::format("{:.4g}", *x.usd_lo) : "inf", x.usd_hi ? fmt::format("{:.4g}", *x.usd_hi) : "inf");
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (const unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') out += ' ';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<task_split> task_split_of(const suite_result& s) {
  if (!s.per_task.is_object() || s.per_task.empty()) return std::nullopt;
  task_split t;
  bool any = false;
  for (const auto& [id, v] : s.per_task.items()) {
    if (!v.is_object() || !member(v, "n").is_number_integer() || !member(v, "c").is_number_integer()) continue;
    const auto n = v["n"].get<int64_t>(), c = v["c"].get<int64_t>();
    if (n <= 0) continue;
    any = true;
    if (c >= n) ++t.all;
    else if (c > 0) ++t.some;
    else ++t.none;
  }
  if (!any) return std::nullopt;
  return t;
}

namespace {
// One entry of per_task.buckets or per_task.lengths as the longctx suite writes them.
std::optional<longctx_cell> read_longctx_cell(const nlohmann::json& b) {
  if (!b.is_object()) return std::nullopt;
  const auto len = number_member(b, "length");
  const auto score = number_member(b, "score");
  if (!len || !score) return std::nullopt;
  longctx_cell c;
  c.length = static_cast<int64_t>(*len);
  c.score = *score;
  c.depth = number_member(b, "depth_percent");
  if (const auto& ci = member(b, "ci95"); ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) {
    c.lo = ci[0].get<double>();
    c.hi = ci[1].get<double>();
  }
  c.n = member(b, "n").is_number() ? b["n"].get<int64_t>() : 0;
  c.task = string_member(b, "task");
  const auto& scored = member(b, "scored");
  c.scored = !scored.is_boolean() || scored.get<bool>();
  c.why_not_scored = string_member(b, "why_not_scored");
  c.prefill_tok_s = number_member(b, "prefill_tok_s");
  c.kv_bytes = number_member(b, "kv_bytes");
  c.peak_rss_bytes = number_member(b, "peak_rss_bytes");
  return c;
}

std::vector<longctx_cell> read_longctx_cells(const suite_result& s, std::string_view key) {
  std::vector<longctx_cell> out;
  if (const auto& arr = member(s.per_task, key); arr.is_array())
    for (const auto& b : arr)
      if (auto c = read_longctx_cell(b)) out.push_back(std::move(*c));
  return out;
}
}  // namespace

std::vector<longctx_cell> longctx_buckets(const suite_result& s) { return read_longctx_cells(s, "buckets"); }
std::vector<longctx_cell> longctx_lengths(const suite_result& s) { return read_longctx_cells(s, "lengths"); }

bool is_infrastructure_verdict(std::string_view verdict) {
  return verdict == "sandbox_error" || verdict == "skipped" || verdict == "cancelled";
}

}  // namespace moebench::report_detail
