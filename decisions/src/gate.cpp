#include "moebench/decisions/gate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/core.h>

#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/significance.h"

namespace moebench::decisions {
namespace {
using namespace std::string_view_literals;

constexpr std::array verdict_names{
    std::pair{gate_verdict::pass, "PASS"sv},
    std::pair{gate_verdict::regression, "REGRESSION"sv},
    std::pair{gate_verdict::improvement, "IMPROVEMENT"sv},
    std::pair{gate_verdict::inconclusive, "INCONCLUSIVE"sv},
};
constexpr std::array test_names{
    std::pair{comparison_test::mcnemar_exact, "mcnemar_exact"sv},
    std::pair{comparison_test::paired_bootstrap, "paired_bootstrap"sv},
    std::pair{comparison_test::mann_whitney, "mann_whitney"sv},
    std::pair{comparison_test::none, "none"sv},
};

// ---------------------------------------------------------------------------------------------
// Policy file

double policy_number(const nlohmann::json& j, const std::string& key, const std::string& source,
                     const std::string& field, double lo, double hi, bool open_lo) {
  const auto& v = j.at(key);
  if (!v.is_number()) throw error("gate.policy", {source, 0, field}, "expected a number");
  const double x = v.get<double>();
  if (!(open_lo ? x > lo : x >= lo) || !(x < hi))
    throw error("gate.policy", {source, 0, field},
                fmt::format("must be in {}{}, {})", open_lo ? "(" : "[", format_number(lo), format_number(hi)));
  return x;
}

bool policy_bool(const nlohmann::json& j, const std::string& key, const std::string& source, const std::string& field) {
  const auto& v = j.at(key);
  if (!v.is_boolean()) throw error("gate.policy", {source, 0, field}, "expected true or false");
  return v.get<bool>();
}

}  // namespace

std::string_view to_string(gate_verdict v) noexcept { return detail::enum_to_string(verdict_names, v); }
std::string_view to_string(comparison_test t) noexcept { return detail::enum_to_string(test_names, t); }

gate_policy parse_gate_policy(std::string_view text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw error("gate.policy", {source}, fmt::format("not JSON: {}", e.what()));
  }
  if (!j.is_object()) throw error("gate.policy", {source}, "expected a JSON object");
  gate_policy p;
  constexpr double big = 1e300;
  for (const auto& [key, value] : j.items()) {
    if (key == "alpha") p.alpha = policy_number(j, key, source, key, 0, 0.5, true);
    else if (key == "power") p.power = policy_number(j, key, source, key, 0, 1, true);
    else if (key == "accuracy_floor_points") p.accuracy_floor_points = policy_number(j, key, source, key, 0, big, false);
    else if (key == "speed_floor_percent") p.speed_floor_percent = policy_number(j, key, source, key, 0, 100, false);
    else if (key == "min_repetitions") {
      if (!value.is_number_integer() || value.get<int64_t>() < 2)
        throw error("gate.policy", {source, 0, key}, "expected an integer >= 2");
      p.min_repetitions = value.get<int64_t>();
    } else if (key == "fail_on_inconclusive") p.fail_on_inconclusive = policy_bool(j, key, source, key);
    else if (key == "multiple_comparisons") {
      if (value != "holm" && value != "none")
        throw error("gate.policy", {source, 0, key}, "expected \"holm\" or \"none\"");
      p.holm = value == "holm";
    } else if (key == "bootstrap_resamples") {
      if (!value.is_number_integer() || value.get<int64_t>() < 100 || value.get<int64_t>() > 10'000'000)
        throw error("gate.policy", {source, 0, key}, "expected an integer in [100, 10000000]");
      p.bootstrap_resamples = value.get<int64_t>();
    } else if (key == "seed") {
      if (!value.is_number_unsigned()) throw error("gate.policy", {source, 0, key}, "expected an unsigned integer");
      p.seed = value.get<uint64_t>();
    } else if (key == "exclude") {
      if (!value.is_array()) throw error("gate.policy", {source, 0, key}, "expected an array of patterns");
      p.exclude.clear();
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string())
          throw error("gate.policy", {source, 0, fmt::format("exclude[{}]", i)}, "expected a string");
        p.exclude.push_back(value[i].get<std::string>());
      }
    } else if (key == "metrics") {
      if (!value.is_object())
        throw error("gate.policy", {source, 0, key}, "expected an object: pattern -> rule");
      for (const auto& [pattern, rule] : value.items()) {
        const std::string field = "metrics." + pattern;
        if (!rule.is_object()) throw error("gate.policy", {source, 0, field}, "expected an object");
        metric_rule m;
        m.pattern = pattern;
        for (const auto& [rk, rv] : rule.items()) {
          const std::string rf = field + "." + rk;
          if (rk == "gate") m.gate = policy_bool(rule, rk, source, rf);
          else if (rk == "floor_points") m.floor_points = policy_number(rule, rk, source, rf, 0, big, false);
          else if (rk == "floor_percent") m.floor_percent = policy_number(rule, rk, source, rf, 0, 100, false);
          else if (rk == "higher_is_better") m.higher_is_better = policy_bool(rule, rk, source, rf);
          else
            throw error("gate.policy", {source, 0, rf},
                        "unknown field (known: gate, floor_points, floor_percent, higher_is_better)");
        }
        p.metrics.push_back(std::move(m));
      }
    } else {
      throw error("gate.policy", {source, 0, key},
                  "unknown field (known: alpha, power, accuracy_floor_points, speed_floor_percent, "
                  "min_repetitions, fail_on_inconclusive, multiple_comparisons, bootstrap_resamples, "
                  "seed, exclude, metrics)");
    }
  }
  return p;
}

gate_policy load_gate_policy(const std::filesystem::path& path) { return parse_gate_policy(read_file(path), path.string()); }

void to_json(nlohmann::json& j, const gate_policy& p) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& m : p.metrics) {
    nlohmann::json r = nlohmann::json::object();
    if (m.gate) r["gate"] = *m.gate;
    if (m.floor_points) r["floor_points"] = *m.floor_points;
    if (m.floor_percent) r["floor_percent"] = *m.floor_percent;
    if (m.higher_is_better) r["higher_is_better"] = *m.higher_is_better;
    metrics[m.pattern] = r;
  }
  j = {{"alpha", p.alpha},
       {"power", p.power},
       {"accuracy_floor_points", p.accuracy_floor_points},
       {"speed_floor_percent", p.speed_floor_percent},
       {"min_repetitions", p.min_repetitions},
       {"fail_on_inconclusive", p.fail_on_inconclusive},
       {"multiple_comparisons", p.holm ? "holm" : "none"},
       {"bootstrap_resamples", p.bootstrap_resamples},
       {"seed", p.seed},
       {"exclude", p.exclude},
       {"metrics", metrics}};
}

void to_json(nlohmann::json& j, const metric_comparison& c) {
  j = {{"entry", c.entry},
       {"metric", c.metric},
       {"unit", c.unit},
       {"kind", c.accuracy ? "accuracy" : "speed"},
       {"higher_is_better", c.higher_is_better},
       {"test", to_string(c.test)},
       {"n_baseline", c.n_baseline},
       {"n_candidate", c.n_candidate},
       {"baseline", c.baseline_value},
       {"candidate", c.candidate_value},
       {"difference", c.difference},
       {"difference_kind", c.accuracy ? "absolute" : "relative"},
       {"p_value", c.p_value},
       {"p_adjusted", c.p_adjusted},
       {"floor", c.floor},
       {"verdict", to_string(c.verdict)},
       {"reason", c.reason},
       {"details", c.details}};
  j["ci"] = c.ci ? nlohmann::json{{"lo", c.ci->lo}, {"hi", c.ci->hi}} : nlohmann::json(nullptr);
  j["needed"] = c.needed ? nlohmann::json(*c.needed) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const gate_report& r) {
  j = {{"verdict", to_string(r.verdict)},
       {"exit_code", r.exit_code},
       {"baseline_runs", r.baseline_runs},
       {"candidate_runs", r.candidate_runs},
       {"policy", r.policy},
       {"seeds", {{"gate_bootstrap", r.bootstrap_seed}}},
       {"differences", r.differences},
       {"notes", r.notes},
       {"comparisons", r.comparisons}};
}

// ---------------------------------------------------------------------------------------------
// Comparability

namespace {

std::string short_value(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Keys that legitimately differ between runs of one comparison: the model under test, the
// seeds (recorded, reported as a note), and where the problem file lay (its hash is compared).
bool ignored_setting(const std::string& path, bool same_model) {
  if (path == "seeds" || path == "problems_source") return true;
  if (!same_model && (path == "model" || path == "measured_model")) return true;
  return false;
}

void diff_json(const nlohmann::json& a, const nlohmann::json& b, const std::string& path,
               std::string_view a_name, std::string_view b_name, bool same_model,
               std::vector<std::string>& out) {
  if (ignored_setting(path, same_model)) return;
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      const std::string sub = path.empty() ? k : path + "." + k;
      const bool in_a = a.contains(k), in_b = b.contains(k);
      if (in_a && in_b) diff_json(a[k], b[k], sub, a_name, b_name, same_model, out);
      else if (!ignored_setting(sub, same_model))
        out.push_back(fmt::format("{} {} is {} in {} and absent in {}",
                                  k == "grading" ? "grading mode" : "setting", sub,
                                  short_value(in_a ? a[k] : b[k]), in_a ? a_name : b_name,
                                  in_a ? b_name : a_name));
    }
    return;
  }
  if (a == b) return;
  const bool grading = path == "grading" || path.ends_with(".grading");
  out.push_back(fmt::format("{} {}: {} ({}) vs {} ({})", grading ? "grading mode" : "setting",
                            path, short_value(a), a_name, short_value(b), b_name));
}

}  // namespace

std::vector<std::string> comparability_differences(const run_result& a, const run_result& b,
                                                   std::string_view a_name, std::string_view b_name,
                                                   bool same_model) {
  std::vector<std::string> out;
  std::map<entry_id, const suite_result*> b_entries;
  for (const auto& s : b.suites) b_entries.emplace(identify(s), &s);
  for (const auto& s : a.suites) {
    const auto it = b_entries.find(identify(s));
    if (it == b_entries.end()) continue;
    if (s.content_sha256 != it->second->content_sha256)
      out.push_back(fmt::format("{} content hash: {} ({}) vs {} ({})", identify(s).label(),
                                s.content_sha256.substr(0, 12), a_name,
                                it->second->content_sha256.substr(0, 12), b_name));
  }
  diff_json(a.settings_effective, b.settings_effective, "", a_name, b_name, same_model, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The gate

namespace {

struct side_entry {
  const suite_result* suite;
  const run_result* run;
};

// Entries of one side: label -> the entry in each run (every run must have it to be gated).
std::map<entry_id, std::vector<side_entry>> side_entries(const std::vector<loaded_run>& runs) {
  std::map<entry_id, std::vector<side_entry>> out;
  for (const auto& r : runs)
    for (const auto& s : r.result.suites) out[identify(s)].push_back({&s, &r.result});
  for (auto it = out.begin(); it != out.end();)
    it = it->second.size() == runs.size() ? std::next(it) : out.erase(it);
  return out;
}

const metric* find_metric(const suite_result& s, const std::string& name) {
  for (const auto& m : s.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

// Oriented decision (see gate.h). `e` the estimate, `ci` its interval, `floor` >= 0, all in
// "positive is better" orientation; `regression_at` / `improvement_at` the thresholds.
gate_verdict decide(double e, const std::optional<interval>& ci, double p_adjusted, double alpha,
                    double regression_at, double improvement_at) {
  const bool significant = p_adjusted < alpha;
  if (significant && e < 0 && e <= regression_at) return gate_verdict::regression;
  if (significant && e > 0 && e >= improvement_at) return gate_verdict::improvement;
  if (ci && ci->lo > regression_at) return gate_verdict::pass;
  return gate_verdict::inconclusive;
}

struct pending {
  metric_comparison c;
  // Oriented (positive = better) figures for the decision, in the units of `difference` or
  // log ratio for speed.
  double e = 0;
  std::optional<interval> ci;
  double regression_at = 0, improvement_at = 0;
  double standard_error = 0;  // of e, for the units needed
  bool decidable = true;      // false: INCONCLUSIVE already decided (too few repetitions)
};

interval orient(const interval& i, bool higher) { return higher ? i : interval{-i.hi, -i.lo}; }

std::string points(double fraction_diff, bool fraction) {
  return fraction ? fmt::format("{:+.2f} points", 100 * fraction_diff) : fmt::format("{:+.4g}", fraction_diff);
}

std::string percent(double rel) { return fmt::format("{:+.1f}%", 100 * rel); }

}  // namespace

gate_report run_gate(const std::vector<loaded_run>& baseline, const std::vector<loaded_run>& candidate,
                     const gate_policy& policy, bool force) {
  if (baseline.empty() || candidate.empty())
    throw error("gate.no_runs", "the gate needs at least one baseline and one candidate run");
  gate_report report;
  report.policy = policy;
  for (const auto& r : baseline) report.baseline_runs.push_back(r.name);
  for (const auto& r : candidate) report.candidate_runs.push_back(r.name);
  report.bootstrap_seed = derive_seed(policy.seed, "gate_bootstrap");

  // Comparability: the baseline's first run against every other run; repetitions within a side
  // must be the same model too.
  const auto& ref = baseline.front();
  for (std::size_t i = 1; i < baseline.size(); ++i)
    for (auto& d : comparability_differences(ref.result, baseline[i].result, ref.name, baseline[i].name, true))
      report.differences.push_back(std::move(d));
  for (const auto& c : candidate)
    for (auto& d : comparability_differences(ref.result, c.result, ref.name, c.name, false))
      report.differences.push_back(std::move(d));
  for (std::size_t i = 1; i < candidate.size(); ++i)
    for (auto& d : comparability_differences(candidate.front().result, candidate[i].result,
                                             candidate.front().name, candidate[i].name, true))
      report.differences.push_back(std::move(d));
  if (!report.differences.empty()) {
    if (!force) {
      std::string list;
      constexpr std::size_t shown = 12;
      for (std::size_t i = 0; i < std::min(shown, report.differences.size()); ++i) list += "\n  - " + report.differences[i];
      if (report.differences.size() > shown) list += fmt::format("\n  ... and {} more", report.differences.size() - shown);
      throw error("gate.incomparable",
                  fmt::format("the runs differ in what they measure (--force compares them anyway):{}", list));
    }
    for (const auto& d : report.differences) report.notes.push_back("forced past a difference: " + d);
  }
  if (ref.result.seeds != candidate.front().result.seeds)
    report.notes.push_back("the baseline and the candidate used different seeds (sampling and CIs differ by chance alone)");

  const auto base_entries = side_entries(baseline);
  const auto cand_entries = side_entries(candidate);
  std::vector<std::string> no_direction, modelled, only_one_side;
  for (const auto& [id, _] : base_entries)
    if (!cand_entries.contains(id)) only_one_side.push_back(id.label() + " (baseline only)");
  for (const auto& [id, _] : cand_entries)
    if (!base_entries.contains(id)) only_one_side.push_back(id.label() + " (candidate only)");

  std::vector<pending> work;
  for (const auto& [id, b_side] : base_entries) {
    const auto c_it = cand_entries.find(id);
    if (c_it == cand_entries.end()) continue;
    const auto& c_side = c_it->second;
    for (const auto& bm : b_side.front().suite->metrics) {
      const std::string full = id.suite + "." + bm.name;
      bool excluded = false;
      for (const auto& pat : policy.exclude) excluded = excluded || glob_match(pat, full);
      const metric_rule* rule = nullptr;
      for (const auto& r : policy.metrics)
        if (glob_match(r.pattern, full)) {
          rule = &r;
          break;
        }
      if (rule && rule->gate) excluded = !*rule->gate;
      if (excluded) continue;
      // The metric must be in every run of both sides.
      std::vector<const metric*> bms, cms;
      for (const auto& e : b_side) bms.push_back(find_metric(*e.suite, bm.name));
      for (const auto& e : c_side) cms.push_back(find_metric(*e.suite, bm.name));
      if (std::count(bms.begin(), bms.end(), nullptr) + std::count(cms.begin(), cms.end(), nullptr) > 0) continue;

      std::optional<bool> higher = rule && rule->higher_is_better ? rule->higher_is_better : higher_is_better(bm.unit);
      pending w;
      auto& c = w.c;
      c.entry = id.label();
      c.metric = bm.name;
      c.unit = bm.unit;

      // Accuracy: per-item values on both sides.
      std::vector<std::optional<item_values>> b_items, c_items;
      for (const auto& e : b_side) b_items.push_back(per_item_values(*e.suite, bm.name));
      for (const auto& e : c_side) c_items.push_back(per_item_values(*e.suite, bm.name));
      const bool items = std::all_of(b_items.begin(), b_items.end(), [](const auto& v) { return v.has_value(); }) &&
                         std::all_of(c_items.begin(), c_items.end(), [](const auto& v) { return v.has_value(); });
      if (items) {
        c.accuracy = true;
        c.higher_is_better = higher.value_or(true);
        // Mean per item over the side's runs; only items every run of both sides holds.
        auto mean_items = [](const std::vector<std::optional<item_values>>& side, std::map<std::string, double>& out,
                             bool& binary, std::set<std::string>& all_items) {
          std::map<std::string, int> count;
          for (const auto& v : side)
            for (const auto& [item, x] : v->values) {
              out[item] += x;
              count[item] += 1;
              all_items.insert(item);
              const auto n = v->samples.find(item);
              if ((n != v->samples.end() && n->second != 1) || (x != 0 && x != 1)) binary = false;
            }
          for (auto it = out.begin(); it != out.end();) {
            if (count[it->first] != static_cast<int>(side.size())) {
              it = out.erase(it);
              continue;
            }
            it->second /= static_cast<double>(side.size());
            ++it;
          }
          if (side.size() > 1) binary = false;
        };
        std::map<std::string, double> bv, cv;
        bool binary = true;
        std::set<std::string> all_items;
        mean_items(b_items, bv, binary, all_items);
        mean_items(c_items, cv, binary, all_items);
        std::vector<double> bx, cx;
        for (const auto& [item, x] : bv) {
          const auto it = cv.find(item);
          if (it == cv.end()) continue;
          bx.push_back(x);
          cx.push_back(it->second);
        }
        const auto n = static_cast<int64_t>(bx.size());
        if (static_cast<std::size_t>(n) < all_items.size())
          report.notes.push_back(fmt::format("{} {}: {} of {} items are not held by every run and are left out",
                                             c.entry, c.metric, all_items.size() - bx.size(), all_items.size()));
        c.n_baseline = c.n_candidate = n;
        if (n == 0) {
          c.verdict = gate_verdict::inconclusive;
          c.reason = "no item is held by both runs";
          w.decidable = false;
          work.push_back(std::move(w));
          continue;
        }
        double sb = 0, sc = 0;
        for (std::size_t i = 0; i < bx.size(); ++i) {
          sb += bx[i];
          sc += cx[i];
        }
        c.baseline_value = sb / static_cast<double>(n);
        c.candidate_value = sc / static_cast<double>(n);
        c.difference = c.candidate_value - c.baseline_value;
        const double scale = bm.unit == "fraction" ? 0.01 : 1.0;
        c.floor = (rule && rule->floor_points ? *rule->floor_points : policy.accuracy_floor_points) * scale;
        const uint64_t seed = derive_seed(report.bootstrap_seed, full + "|" + id.qualifier);
        const auto boot = paired_bootstrap(bx, cx, seed, policy.bootstrap_resamples, 1 - policy.alpha);
        c.ci = boot.ci;
        w.standard_error = boot.standard_error;
        if (binary) {
          int64_t lost = 0, gained = 0;
          for (std::size_t i = 0; i < bx.size(); ++i) {
            if (bx[i] == 1 && cx[i] == 0) ++lost;
            if (bx[i] == 0 && cx[i] == 1) ++gained;
          }
          const auto mc = mcnemar_exact(lost, gained);
          c.test = comparison_test::mcnemar_exact;
          c.p_value = mc.p_value;
          const double nn = static_cast<double>(n);
          const double disc = static_cast<double>(lost + gained) / nn;
          w.standard_error = std::sqrt(std::max(0.0, disc - c.difference * c.difference) / nn);
          c.details = {{"lost", lost}, {"gained", gained}, {"discordant", lost + gained},
                       {"bootstrap_seed", seed}};
        } else {
          c.test = comparison_test::paired_bootstrap;
          c.p_value = boot.p_value;
          c.details = {{"bootstrap_seed", seed}, {"resamples", policy.bootstrap_resamples},
                       {"standard_error", boot.standard_error}};
        }
        const double s = c.higher_is_better ? 1 : -1;
        w.e = s * c.difference;
        w.ci = orient(*c.ci, c.higher_is_better);
        w.regression_at = -c.floor;
        w.improvement_at = c.floor;
        work.push_back(std::move(w));
        continue;
      }

      // Repetitions: one value per run.
      if (bm.kind == figure_kind::modelled) {
        modelled.push_back(full);
        continue;
      }
      if (!higher) {
        no_direction.push_back(full + " [" + bm.unit + "]");
        continue;
      }
      c.accuracy = false;
      c.higher_is_better = *higher;
      std::vector<double> bvals, cvals;
      for (const auto* m : bms) bvals.push_back(m->value);
      for (const auto* m : cms) cvals.push_back(m->value);
      c.n_baseline = static_cast<int64_t>(bvals.size());
      c.n_candidate = static_cast<int64_t>(cvals.size());
      auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return percentile_sorted(v, 50);
      };
      c.baseline_value = median(bvals);
      c.candidate_value = median(cvals);
      c.difference = c.baseline_value != 0 ? c.candidate_value / c.baseline_value - 1 : 0;
      const double f = (rule && rule->floor_percent ? *rule->floor_percent : policy.speed_floor_percent) / 100;
      c.floor = f;
      const bool positive = std::all_of(bvals.begin(), bvals.end(), [](double v) { return v > 0; }) &&
                            std::all_of(cvals.begin(), cvals.end(), [](double v) { return v > 0; });
      // Oriented log ratio: a loss of f% is log(1 - f) for higher-is-better figures and
      // -log(1 + f) for lower-is-better ones (a 3% slower time).
      w.regression_at = c.higher_is_better ? std::log1p(-std::min(f, 0.999999)) : -std::log1p(f);
      w.improvement_at = c.higher_is_better ? std::log1p(f) : -std::log1p(-std::min(f, 0.999999));
      auto log_sd = [](const std::vector<double>& v) {
        if (v.size() < 2) return 0.0;
        double m = 0;
        for (double x : v) m += std::log(x);
        m /= static_cast<double>(v.size());
        double ss = 0;
        for (double x : v) ss += (std::log(x) - m) * (std::log(x) - m);
        return std::sqrt(ss / static_cast<double>(v.size() - 1));
      };
      if (!positive) {
        c.verdict = gate_verdict::inconclusive;
        c.reason = "values are not all positive: a relative comparison is undefined";
        w.decidable = false;
        work.push_back(std::move(w));
        continue;
      }
      const double sd = std::sqrt((log_sd(bvals) * log_sd(bvals) + log_sd(cvals) * log_sd(cvals)) / 2);
      if (c.n_baseline < policy.min_repetitions || c.n_candidate < policy.min_repetitions) {
        int64_t needed = policy.min_repetitions;
        if (sd > 0) {
          const double prob = normal_cdf(std::fabs(w.regression_at) / (sd * std::sqrt(2.0)));
          needed = std::max(needed, mann_whitney_sample_size(prob, policy.alpha, policy.power));
        }
        c.needed = needed;
        c.verdict = gate_verdict::inconclusive;
        c.reason = fmt::format("{} baseline and {} candidate repetitions; the Mann-Whitney test needs at least {} "
                               "per side{}: run {} more baseline and {} more candidate repetitions",
                               c.n_baseline, c.n_candidate, policy.min_repetitions,
                               needed > policy.min_repetitions
                                   ? fmt::format(" (about {} to detect a {:.1f}% change at the noise seen)", needed, 100 * f)
                                   : "",
                               std::max<int64_t>(0, needed - c.n_baseline), std::max<int64_t>(0, needed - c.n_candidate));
        w.decidable = false;
        work.push_back(std::move(w));
        continue;
      }
      std::vector<double> lb, lc;
      for (double v : bvals) lb.push_back(std::log(v));
      for (double v : cvals) lc.push_back(std::log(v));
      const auto mw = mann_whitney_u(cvals, bvals);
      const auto hl = hodges_lehmann_shift(lc, lb, 1 - policy.alpha);
      c.test = comparison_test::mann_whitney;
      c.p_value = mw.p_value;
      c.difference = std::expm1(hl.estimate);
      if (hl.ci) c.ci = interval{std::expm1(hl.ci->lo), std::expm1(hl.ci->hi)};
      c.details = {{"u_candidate", mw.u_x}, {"method", to_string(mw.method)},
                   {"prob_superiority", mw.prob_superiority}, {"log_ratio_estimate", hl.estimate}};
      const double s = c.higher_is_better ? 1 : -1;
      w.e = s * hl.estimate;
      if (hl.ci) {
        w.ci = orient(*hl.ci, c.higher_is_better);
        w.standard_error = (hl.ci->hi - hl.ci->lo) / (2 * normal_quantile(1 - policy.alpha / 2));
      }
      work.push_back(std::move(w));
    }
  }

  // Holm over the metrics that reached a test.
  std::vector<double> ps;
  for (const auto& w : work)
    if (w.decidable) ps.push_back(w.c.p_value);
  const std::vector<double> adjusted = policy.holm ? holm_adjust(ps) : ps;
  std::size_t k = 0;
  for (auto& w : work) {
    auto& c = w.c;
    if (!w.decidable) {
      c.p_adjusted = 1;
      continue;
    }
    c.p_adjusted = adjusted[k++];
    c.verdict = decide(w.e, w.ci, c.p_adjusted, policy.alpha, w.regression_at, w.improvement_at);
    const bool fraction = c.unit == "fraction";
    const std::string level = fmt::format("{:.0f}%", 100 * (1 - policy.alpha));
    std::string change, ci_text, floor_text;
    if (c.accuracy) {
      change = fmt::format("{} {} ({} -> {})", c.metric, points(c.difference, fraction),
                           fraction ? fmt::format("{:.2f}%", 100 * c.baseline_value) : format_number(c.baseline_value),
                           fraction ? fmt::format("{:.2f}%", 100 * c.candidate_value) : format_number(c.candidate_value));
      if (c.ci) ci_text = fmt::format("{} CI [{}, {}]", level, points(c.ci->lo, fraction), points(c.ci->hi, fraction));
      floor_text = fraction ? fmt::format("{:.2f}-point floor", 100 * c.floor) : fmt::format("floor {}", format_number(c.floor));
    } else {
      change = fmt::format("{} {} (median {} -> {} {})", c.metric, percent(c.difference),
                           format_number(c.baseline_value), format_number(c.candidate_value), c.unit);
      if (c.ci) ci_text = fmt::format("{} CI [{}, {}]", level, percent(c.ci->lo), percent(c.ci->hi));
      else ci_text = "no interval at this size";
      floor_text = fmt::format("{:.1f}% floor", 100 * c.floor);
    }
    std::string test_text;
    switch (c.test) {
      case comparison_test::mcnemar_exact:
        test_text = fmt::format("McNemar exact p = {:.3g} ({} items lost, {} gained)", c.p_value,
                                c.details.value("lost", int64_t{0}), c.details.value("gained", int64_t{0}));
        break;
      case comparison_test::paired_bootstrap:
        test_text = fmt::format("paired bootstrap p = {:.3g} over {} items", c.p_value, c.n_baseline);
        break;
      case comparison_test::mann_whitney:
        test_text = fmt::format("Mann-Whitney p = {:.3g} ({}, {} vs {} repetitions)", c.p_value,
                                c.details.value("method", std::string()), c.n_baseline, c.n_candidate);
        break;
      case comparison_test::none: break;
    }
    if (policy.holm && ps.size() > 1) test_text += fmt::format(", Holm-adjusted {:.3g}", c.p_adjusted);
    switch (c.verdict) {
      case gate_verdict::regression:
        c.reason = fmt::format("{}; {}; {}; worse by at least the {}", change, ci_text, test_text, floor_text);
        break;
      case gate_verdict::improvement:
        c.reason = fmt::format("{}; {}; {}; better by at least the {}", change, ci_text, test_text, floor_text);
        break;
      case gate_verdict::pass:
        c.reason = fmt::format("{}; {}; {}; a loss beyond the {} is ruled out", change, ci_text, test_text, floor_text);
        break;
      case gate_verdict::inconclusive: {
        // Units that would decide: to exclude a loss of the floor when the estimate is above
        // it, or to make a loss beyond the floor significant.
        const double margin = w.e > w.regression_at ? w.e - w.regression_at : std::fabs(w.e);
        const int64_t n = c.accuracy ? c.n_baseline : std::min(c.n_baseline, c.n_candidate);
        if (w.standard_error > 0 && margin > 0)
          c.needed = std::max(n + 1, units_to_resolve(n, w.standard_error, margin, policy.alpha, policy.power));
        c.reason = fmt::format("{}; {}; {}; cannot rule out a loss beyond the {}{}", change, ci_text, test_text,
                               floor_text,
                               c.needed ? fmt::format(": about {} {} would decide", *c.needed,
                                                      c.accuracy ? "items" : "repetitions per side")
                                        : ": no difference to measure against a zero floor");
        break;
      }
    }
  }

  for (auto& w : work) report.comparisons.push_back(std::move(w.c));
  if (!modelled.empty()) {
    std::string list;
    for (const auto& m : modelled) list += (list.empty() ? "" : ", ") + m;
    report.notes.push_back("not gated, modelled figures (they follow from the model, not from the run): " + list);
  }
  if (!no_direction.empty()) {
    std::string list;
    for (const auto& m : no_direction) list += (list.empty() ? "" : ", ") + m;
    report.notes.push_back("not gated, no direction known for the unit (set higher_is_better in the policy): " + list);
  }
  for (const auto& e : only_one_side) report.notes.push_back("not compared, suite entry in one side only: " + e);
  if (report.comparisons.empty()) report.notes.push_back("no metric is held by both sides: nothing was compared");

  bool any_reg = false, any_inc = report.comparisons.empty(), any_imp = false;
  for (const auto& c : report.comparisons) {
    any_reg = any_reg || c.verdict == gate_verdict::regression;
    any_inc = any_inc || c.verdict == gate_verdict::inconclusive;
    any_imp = any_imp || c.verdict == gate_verdict::improvement;
  }
  report.verdict = any_reg ? gate_verdict::regression
                   : any_inc ? gate_verdict::inconclusive
                   : any_imp ? gate_verdict::improvement
                             : gate_verdict::pass;
  report.exit_code = report.verdict == gate_verdict::regression ||
                             (report.verdict == gate_verdict::inconclusive && policy.fail_on_inconclusive)
                         ? exit_failure
                         : exit_ok;
  return report;
}

}  // namespace moebench::decisions
