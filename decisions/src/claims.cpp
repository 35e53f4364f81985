#include "moebench/decisions/claims.h"

#include <algorithm>
#include <cctype>
#include <charconv>
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
    std::pair{claim_verdict::pass, "PASS"sv},
    std::pair{claim_verdict::fail, "FAIL"sv},
    std::pair{claim_verdict::inconclusive, "INCONCLUSIVE"sv},
};
constexpr std::array op_names{
    std::pair{claim_op::ge, ">="sv}, std::pair{claim_op::gt, ">"sv}, std::pair{claim_op::le, "<="sv},
    std::pair{claim_op::lt, "<"sv},  std::pair{claim_op::eq, "=="sv}, std::pair{claim_op::in, "in"sv},
};

// ---------------------------------------------------------------------------------------------
// Parsing

class claim_parser {
 public:
  claim_parser(std::string_view text, const input_location& where) : s_(text), where_(where) {}

  claim_expr parse() {
    claim_expr e;
    skip();
    if (s_.substr(pos_).starts_with("ratio(")) {
      pos_ += 6;
      e.is_ratio = true;
      set_ref(e, word(",)"));
      expect(',');
      e.target = word(",)");
      expect(',');
      e.target2 = word(",)");
      expect(')');
      if (e.model_fact) fail("ratio() compares a metric between two targets, not a model fact");
    } else {
      set_ref(e, word("<>=,()"));
      skip();
      const std::size_t save = pos_;
      if (keyword("on")) {
        e.target = word("<>=[],()");
        if (e.model_fact) fail("a model fact has no target ('on ...')");
      } else {
        pos_ = save;
      }
    }
    skip();
    if (take(">=")) e.op = claim_op::ge;
    else if (take("<=")) e.op = claim_op::le;
    else if (take("==")) e.op = claim_op::eq;
    else if (take(">")) e.op = claim_op::gt;
    else if (take("<")) e.op = claim_op::lt;
    else if (keyword("in")) e.op = claim_op::in;
    else fail("expected a comparison: >=, >, <=, <, == or in");
    skip();
    if (e.op == claim_op::in) {
      expect('[');
      e.lo = number();
      expect(',');
      e.hi = number();
      expect(']');
      if (!(e.lo <= e.hi)) fail("the interval's lower bound exceeds its upper bound");
    } else {
      e.threshold = number();
    }
    skip();
    // "on <target>" may also follow the comparison: `cost.usd_per_mtok_input <= 0.30 on h100`.
    if (!e.is_ratio && e.target.empty() && keyword("on")) {
      e.target = word("<>=[],()");
      if (e.model_fact) fail("a model fact has no target ('on ...')");
      skip();
    }
    if (pos_ != s_.size()) fail("unexpected text after the claim");
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw error("claims.syntax", where_,
                fmt::format("{} at column {} of '{}'", what, pos_ + 1, std::string(s_)));
  }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool take(std::string_view t) {
    if (s_.substr(pos_).starts_with(t)) {
      pos_ += t.size();
      return true;
    }
    return false;
  }
  // A whole word followed by a space or a '['.
  bool keyword(std::string_view k) {
    if (!s_.substr(pos_).starts_with(k)) return false;
    const std::size_t end = pos_ + k.size();
    if (end < s_.size() && !std::isspace(static_cast<unsigned char>(s_[end])) && s_[end] != '[') return false;
    pos_ = end;
    skip();
    return true;
  }
  void expect(char c) {
    skip();
    if (pos_ >= s_.size() || s_[pos_] != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
    skip();
  }
  // Characters up to a space or one of `stops`; brackets inside a metric name ("x[tier]") are
  // kept when `stops` allows them.
  std::string word(std::string_view stops) {
    skip();
    const std::size_t start = pos_;
    int depth = 0;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) break;
      if (c == '[' && stops.find('[') == std::string_view::npos) ++depth;
      if (c == ']' && depth > 0) {
        --depth;
        ++pos_;
        continue;
      }
      if (depth == 0 && stops.find(c) != std::string_view::npos) break;
      ++pos_;
    }
    if (pos_ == start) fail("expected a name");
    return std::string(s_.substr(start, pos_ - start));
  }
  void set_ref(claim_expr& e, const std::string& ref) {
    const auto dot = ref.find('.');
    if (dot == std::string::npos) {
      e.metric = ref;
      return;
    }
    e.suite = ref.substr(0, dot);
    e.metric = ref.substr(dot + 1);
    if (e.suite.empty() || e.metric.empty()) fail("expected suite.metric");
    if (e.suite == "model") {
      e.model_fact = true;
      e.suite.clear();
    }
  }
  double number() {
    skip();
    const std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '-' || s_[pos_] == '+'))
      ++pos_;
    const std::string text(s_.substr(start, pos_ - start));
    double v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) {
      pos_ = start;
      fail("expected a number");
    }
    skip();
    if (take("%")) v /= 100;
    skip();
    return v;
  }

  std::string_view s_;
  input_location where_;
  std::size_t pos_ = 0;
};

std::string number_text(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

std::string_view to_string(claim_verdict v) noexcept { return detail::enum_to_string(verdict_names, v); }
std::string_view to_string(claim_op op) noexcept { return detail::enum_to_string(op_names, op); }

std::string claim_expr::text() const {
  const std::string ref = model_fact ? "model." + metric : (suite.empty() ? metric : suite + "." + metric);
  std::string lhs = is_ratio ? fmt::format("ratio({}, {}, {})", ref, target, target2)
                             : (target.empty() ? ref : ref + " on " + target);
  if (op == claim_op::in) return fmt::format("{} in [{}, {}]", lhs, number_text(lo), number_text(hi));
  return fmt::format("{} {} {}", lhs, to_string(op), number_text(threshold));
}

claim_expr parse_claim(std::string_view text, const input_location& where) {
  return claim_parser(text, where).parse();
}

claims_spec parse_claims_spec(std::string_view text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw error("claims.bad_json", {path}, fmt::format("not JSON: {}", e.what()));
  }
  if (!j.is_object()) throw error("claims.bad_value", {path}, "expected a JSON object");
  claims_spec spec;
  spec.path = path;
  static const std::set<std::string> top_fields{"schema_version", "title", "description", "sources", "claims", "facts"};
  for (const auto& [k, v] : j.items())
    if (!top_fields.contains(k))
      throw error("claims.bad_value", {path, 0, k}, "unknown field (known: title, description, sources, claims, facts)");
  if (const auto it = j.find("title"); it != j.end()) {
    if (!it->is_string()) throw error("claims.bad_value", {path, 0, "title"}, "expected a string");
    spec.title = it->get<std::string>();
  }
  if (const auto it = j.find("sources"); it != j.end()) {
    if (!it->is_object()) throw error("claims.bad_value", {path, 0, "sources"}, "expected an object: key -> citation");
    spec.sources = *it;
  }
  const auto it = j.find("claims");
  if (it == j.end()) throw error("claims.missing_field", {path, 0, "claims"}, "expected a \"claims\" array");
  if (!it->is_array()) throw error("claims.bad_value", {path, 0, "claims"}, "expected an array");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const std::string field = fmt::format("claims[{}]", i);
    const auto& c = (*it)[i];
    if (!c.is_object()) throw error("claims.bad_value", {path, 0, field}, "expected an object");
    claim_spec cs;
    static const std::set<std::string> fields{"id", "text", "claim", "source", "model", "note"};
    for (const auto& [k, v] : c.items()) {
      if (!fields.contains(k))
        throw error("claims.bad_value", {path, 0, field + "." + k},
                    "unknown field (known: id, text, claim, source, model, note)");
      if (!v.is_string()) throw error("claims.bad_value", {path, 0, field + "." + k}, "expected a string");
    }
    cs.claim = c.value("claim", std::string());
    if (cs.claim.empty()) throw error("claims.missing_field", {path, 0, field + ".claim"}, "every claim needs its expression");
    cs.id = c.value("id", field);
    if (!ids.insert(cs.id).second) throw error("claims.bad_value", {path, 0, field + ".id"}, "duplicate id '" + cs.id + "'");
    cs.text = c.value("text", std::string());
    cs.source = c.value("source", std::string());
    cs.model = c.value("model", std::string());
    cs.note = c.value("note", std::string());
    if (!cs.source.empty() && !spec.sources.contains(cs.source))
      throw error("claims.bad_value", {path, 0, field + ".source"}, "source '" + cs.source + "' is not in \"sources\"");
    cs.expr = parse_claim(cs.claim, {path, 0, field + ".claim"});
    spec.claims.push_back(std::move(cs));
  }
  return spec;
}

claims_spec load_claims_spec(const std::filesystem::path& path) { return parse_claims_spec(read_file(path), path.string()); }

// ---------------------------------------------------------------------------------------------
// Judging

namespace {

// A figure found in a run, before it is judged.
struct raw_figure {
  const loaded_run* run = nullptr;
  std::string metric;  // the metric's full name ("usd_per_mtok_input[tier]")
  std::string group;  // figures of one group are repetitions of one measurement
  judged_figure f;
  bool has_cis = false;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool run_is_model(const run_result& r, const std::string& model) {
  if (model.empty()) return true;
  const std::string want = lower(model);
  std::vector<std::string> names;
  for (const char* k : {"name", "spec"})
    if (const auto it = r.model.find(k); it != r.model.end() && it->is_string()) names.push_back(it->get<std::string>());
  if (const auto d = r.model.find("details"); d != r.model.end() && d->is_object())
    for (const char* k : {"name", "id"})
      if (const auto it = d->find(k); it != d->end() && it->is_string()) names.push_back(it->get<std::string>());
  for (const auto& n : names)
    if (lower(n).find(want) != std::string::npos) return true;
  return false;
}

// Model facts: the field itself in model.details, a cost run's model config figure, or an alias
// naming the same fact in the other vocabulary (GGUF facts vs model config figures).
struct fact_value {
  double value = 0;
  std::string basis;
  bool evidence = true;
};

std::optional<fact_value> model_fact(const run_result& r, const std::string& fact) {
  const auto d = r.model.find("details");
  if (d == r.model.end() || !d->is_object()) return std::nullopt;
  static const std::map<std::string, std::vector<std::string>> aliases{
      {"total_params", {"total_params"}},
      {"active_params", {"active_params", "active_params_per_token"}},
      {"experts_per_token", {"experts_per_token", "n_expert_used"}},
      {"routed_experts", {"routed_experts", "n_expert"}},
      {"context_length", {"context_length"}},
      {"layers", {"layers", "n_layer"}},
      {"hidden", {"hidden", "n_embd"}},
  };
  std::vector<std::string> keys{fact};
  if (const auto a = aliases.find(fact); a != aliases.end()) keys = a->second;
  const std::string spec = r.model.value("spec", std::string());
  for (const auto& k : keys) {
    if (const auto it = d->find(k); it != d->end() && it->is_number())
      return fact_value{it->get<double>(), fmt::format("declared by the model ({}, field {})", spec, k), true};
    if (const auto figs = d->find("figures"); figs != d->end() && figs->is_object())
      if (const auto it = figs->find(k); it != figs->end() && it->is_object() && it->contains("value") &&
                                         it->at("value").is_number()) {
        const std::string id = d->value("id", std::string());
        const std::string status = d->value("status", std::string());
        const std::string source = it->value("source", std::string());
        std::string citation;
        if (const auto srcs = d->find("sources"); srcs != d->end() && srcs->contains(source) && srcs->at(source).is_string())
          citation = srcs->at(source).get<std::string>();
        const std::string flag = it->value("flag", std::string("?"));
        return fact_value{it->at("value").get<double>(),
                          fmt::format("model config {} ({}), figure {} flagged {} ({}), source {}{}", id, status, k,
                                      flag, it->value("confidence", std::string("?")), source,
                                      citation.empty() ? "" : ": " + citation),
                          flag != "estimate"};
      }
  }
  return std::nullopt;
}

std::string modelled_basis(const run_result& r, const suite_result& s) {
  std::string calib;
  if (s.per_task.is_object())
    if (const auto p = s.per_task.find("projection"); p != s.per_task.end() && p->is_object())
      if (const auto c = p->find("calibration"); c != p->end() && c->is_object())
        calib = c->value("source", std::string());
  std::string model;
  if (const auto d = r.model.find("details"); d != r.model.end() && d->is_object())
    model = d->value("id", std::string());
  return fmt::format("rests on a model: {} projection{}{}", s.suite,
                     model.empty() ? "" : " of model config " + model,
                     calib.empty() ? "" : " (" + calib + ")");
}

bool metric_name_matches(const std::string& want, const std::string& name) {
  return name == want || (name.size() > want.size() + 1 && name.starts_with(want) && name[want.size()] == '[');
}

std::vector<raw_figure> find_metric_figures(const std::vector<loaded_run>& runs, const claim_spec& c,
                                            const std::string& target) {
  const auto& e = c.expr;
  std::vector<raw_figure> out;
  for (const auto& lr : runs) {
    if (!run_is_model(lr.result, c.model)) continue;
    for (const auto& s : lr.result.suites) {
      if (!e.suite.empty() && s.suite != e.suite) continue;
      const std::string t = entry_target(lr.result, s);
      if (!target.empty() && !target_matches(target, t)) continue;
      for (const auto& m : s.metrics) {
        if (!metric_name_matches(e.metric, m.name)) continue;
        raw_figure rf;
        rf.run = &lr;
        rf.metric = m.name;
        auto& f = rf.f;
        f.run = lr.result.run_id;
        f.label = identify(s).label() + " " + m.name;
        f.target = t;
        f.value = m.value;
        f.unit = m.unit;
        f.n = m.n;
        f.kind = std::string(to_string(m.kind));
        if (!m.cis.empty()) {
          f.ci = interval{m.cis.front().lo, m.cis.front().hi};
          f.ci_method = fmt::format("{:.0f}% {}", 100 * m.cis.front().level, m.cis.front().method);
          rf.has_cis = true;
        }
        if (m.kind == figure_kind::modelled) f.basis = modelled_basis(lr.result, s);
        else f.basis = fmt::format("measured in run {}", lr.result.run_id);
        // Repetitions pool only measured figures without their own interval.
        rf.group = f.label + (rf.has_cis || m.kind != figure_kind::measured ? "@" + f.run : "");
        out.push_back(std::move(rf));
      }
    }
  }
  return out;
}

// Where the claim's region lies relative to an interval (or a point, lo == hi).
claim_verdict judge_interval(const claim_expr& e, double lo, double hi) {
  switch (e.op) {
    case claim_op::ge: return lo >= e.threshold ? claim_verdict::pass : hi < e.threshold ? claim_verdict::fail : claim_verdict::inconclusive;
    case claim_op::gt: return lo > e.threshold ? claim_verdict::pass : hi <= e.threshold ? claim_verdict::fail : claim_verdict::inconclusive;
    case claim_op::le: return hi <= e.threshold ? claim_verdict::pass : lo > e.threshold ? claim_verdict::fail : claim_verdict::inconclusive;
    case claim_op::lt: return hi < e.threshold ? claim_verdict::pass : lo >= e.threshold ? claim_verdict::fail : claim_verdict::inconclusive;
    case claim_op::eq: {
      const double tol = 1e-9 * std::max(1.0, std::fabs(e.threshold));
      if (std::fabs(lo - e.threshold) <= tol && std::fabs(hi - e.threshold) <= tol) return claim_verdict::pass;
      return (hi < e.threshold - tol || lo > e.threshold + tol) ? claim_verdict::fail : claim_verdict::inconclusive;
    }
    case claim_op::in:
      if (lo >= e.lo && hi <= e.hi) return claim_verdict::pass;
      return (hi < e.lo || lo > e.hi) ? claim_verdict::fail : claim_verdict::inconclusive;
  }
  return claim_verdict::inconclusive;
}

std::string region_text(const claim_expr& e) {
  if (e.op == claim_op::in) return fmt::format("in [{}, {}]", format_number(e.lo), format_number(e.hi));
  return fmt::format("{} {}", to_string(e.op), format_number(e.threshold));
}

// Distance from a value to the boundary that an interval around it straddles.
double margin_to_region(const claim_expr& e, double v) {
  if (e.op != claim_op::in) return std::fabs(v - e.threshold);
  if (v < e.lo || v > e.hi) return std::min(std::fabs(v - e.lo), std::fabs(v - e.hi));
  return std::min(v - e.lo, e.hi - v);
}

void judge_figure(const claim_expr& e, judged_figure& f, double level, double power) {
  const std::string value = fmt::format("{} = {} {}", f.label, format_number(f.value), f.unit);
  if (f.ci) {
    f.verdict = judge_interval(e, f.ci->lo, f.ci->hi);
    const std::string ci = fmt::format("{} CI [{}, {}] (n = {})", f.ci_method, format_number(f.ci->lo),
                                       format_number(f.ci->hi), f.n);
    switch (f.verdict) {
      case claim_verdict::pass: f.reason = fmt::format("{}, {} lies entirely {}", value, ci, region_text(e)); break;
      case claim_verdict::fail: f.reason = fmt::format("{}, {} lies entirely outside {}", value, ci, region_text(e)); break;
      case claim_verdict::inconclusive: {
        const double z = normal_quantile(0.5 + level / 2);
        const double se = (f.ci->hi - f.ci->lo) / (2 * z);
        const double margin = margin_to_region(e, f.value);
        if (f.n > 0 && se > 0 && margin > 0)
          f.needed = std::max(f.n + 1, units_to_resolve(f.n, se, margin, 1 - level, power));
        f.reason = fmt::format("{}, {} straddles the boundary of {}{}", value, ci, region_text(e),
                               f.needed ? fmt::format("; about {} units (n) would decide it", *f.needed)
                                        : "; the estimate sits on the boundary");
        break;
      }
    }
    if (f.kind == "modelled") f.reason += "; " + f.basis;
    return;
  }
  if (f.kind == "measured") {
    f.verdict = claim_verdict::inconclusive;
    f.needed = median_ci_min_n(level);
    f.reason = fmt::format("{} is one measurement without a confidence interval ({} the claim's {}); "
                           "{} repetitions (runs) give a {:.0f}% interval for the median",
                           value, judge_interval(e, f.value, f.value) == claim_verdict::pass ? "inside" : "outside",
                           region_text(e), *f.needed, 100 * level);
    return;
  }
  if (!f.evidence) {
    f.verdict = claim_verdict::inconclusive;
    f.reason = fmt::format("{} restates a claim, it is no evidence ({})", value, f.basis);
    return;
  }
  f.verdict = judge_interval(e, f.value, f.value);
  f.reason = fmt::format("{} is {}{}; {}", value, f.verdict == claim_verdict::pass ? "" : "not ", region_text(e), f.basis);
}

// Repetitions of a measured figure without intervals: the median and its order-statistic
// interval.
judged_figure pool_repetitions(const std::vector<const raw_figure*>& group, double level) {
  judged_figure f = group.front()->f;
  std::vector<double> values;
  std::string runs;
  for (const auto* g : group) {
    values.push_back(g->f.value);
    runs += (runs.empty() ? "" : ", ") + g->f.run;
  }
  const auto m = median_ci(values, level);
  f.value = m.median;
  f.run = group.size() == 1 ? f.run : "";
  f.basis = fmt::format("measured in runs {}", runs);
  f.n = static_cast<int64_t>(values.size());
  if (m.ci) {
    f.ci = m.ci;
    f.ci_method = fmt::format("{:.1f}% median over {} repetitions", 100 * m.coverage, values.size());
  }
  return f;
}

}  // namespace

claims_report judge_claims(const claims_spec& spec, const std::vector<loaded_run>& runs,
                           const claims_options& options) {
  claims_report report;
  report.source = spec.path;
  report.title = spec.title;
  report.sources = spec.sources;
  for (const auto& r : runs) report.runs.push_back(r.name);

  for (const auto& c : spec.claims) {
    judged_claim jc;
    jc.spec = c;
    const auto& e = c.expr;
    std::vector<judged_figure> figures;

    if (e.model_fact) {
      std::set<std::string> seen;
      for (const auto& lr : runs) {
        if (!run_is_model(lr.result, c.model)) continue;
        const auto fact = model_fact(lr.result, e.metric);
        if (!fact) continue;
        const std::string name = lr.result.model.value("name", std::string("?"));
        if (!seen.insert(name + "|" + fmt::format("{}", fact->value)).second) continue;
        judged_figure f;
        f.run = lr.result.run_id;
        f.label = fmt::format("{}: {}", name, e.metric);
        f.value = fact->value;
        f.kind = "declared";
        f.basis = fact->basis;
        f.evidence = fact->evidence;
        figures.push_back(std::move(f));
      }
    } else if (e.is_ratio) {
      const auto num = find_metric_figures(runs, c, e.target);
      const auto den = find_metric_figures(runs, c, e.target2);
      for (const auto& a : num) {
        const raw_figure* best = nullptr;
        for (const auto& b : den) {
          if (b.metric != a.metric) continue;
          if (!best || (b.run == a.run && best->run != a.run)) best = &b;
        }
        if (!best || best->f.value == 0) continue;
        judged_figure f;
        f.run = a.run == best->run ? a.f.run : a.f.run + " / " + best->f.run;
        f.label = fmt::format("ratio {} / {}", a.f.label, best->f.label);
        f.target = a.f.target + " / " + best->f.target;
        f.value = a.f.value / best->f.value;
        f.unit = "ratio";
        f.n = std::min(a.f.n, best->f.n);
        const bool modelled = a.f.kind == "modelled" || best->f.kind == "modelled";
        f.kind = modelled ? "modelled" : "measured";
        f.basis = modelled ? (a.f.kind == "modelled" ? a.f.basis : best->f.basis) : "measured";
        if (a.f.ci && best->f.ci && best->f.ci->lo > 0) {
          // Conservative bounds: each end of the numerator over the far end of the denominator.
          f.ci = interval{a.f.ci->lo / best->f.ci->hi, a.f.ci->hi / best->f.ci->lo};
          f.ci_method = "bounds of both intervals";
        }
        figures.push_back(std::move(f));
      }
    } else {
      const auto raw = find_metric_figures(runs, c, e.target);
      std::map<std::string, std::vector<const raw_figure*>> groups;
      std::vector<std::string> order;
      for (const auto& r : raw) {
        if (!groups.contains(r.group)) order.push_back(r.group);
        groups[r.group].push_back(&r);
      }
      for (const auto& g : order) {
        const auto& members = groups[g];
        if (members.size() > 1 || (!members.front()->has_cis && members.front()->f.kind == "measured"))
          figures.push_back(members.size() > 1 ? pool_repetitions(members, options.level) : members.front()->f);
        else
          figures.push_back(members.front()->f);
      }
    }

    for (auto& f : figures) judge_figure(e, f, options.level, options.power);

    if (figures.empty()) {
      jc.verdict = claim_verdict::inconclusive;
      std::string what = e.model_fact ? "model." + e.metric : (e.suite.empty() ? e.metric : e.suite + "." + e.metric);
      if (e.is_ratio) what = fmt::format("{} on both {} and {}", what, e.target, e.target2);
      else if (!e.target.empty()) what += " on " + e.target;
      std::string hint;
      if (!e.model_fact && !e.target.empty()) {
        // Say where the metric is held, when only the target is missing.
        claim_spec any = c;
        std::set<std::string> targets;
        for (const auto& r : find_metric_figures(runs, any, "")) targets.insert(r.f.target.empty() ? "(no target)" : r.f.target);
        if (!targets.empty()) {
          std::string list;
          for (const auto& t : targets) list += (list.empty() ? "" : ", ") + t;
          hint = " (runs hold it on: " + list + ")";
        }
      }
      jc.reason = fmt::format("no run holds {}{}{}", what,
                              c.model.empty() ? "" : " for model " + c.model, hint);
      jc.needed = e.model_fact ? "a run of the model" : "a run that measures it" +
                                                         std::string(e.suite.empty() ? "" : " (suite " + e.suite + ")");
    } else {
      int pass = 0, fail = 0, inc = 0, evidence = 0;
      for (const auto& f : figures) {
        if (!f.evidence) continue;
        ++evidence;
        pass += f.verdict == claim_verdict::pass;
        fail += f.verdict == claim_verdict::fail;
        inc += f.verdict == claim_verdict::inconclusive;
      }
      if (evidence > 0 && pass == evidence) jc.verdict = claim_verdict::pass;
      else if (evidence > 0 && fail == evidence) jc.verdict = claim_verdict::fail;
      else jc.verdict = claim_verdict::inconclusive;
      if (figures.size() == 1) {
        jc.reason = figures.front().reason;
      } else {
        jc.reason = jc.verdict == claim_verdict::inconclusive && pass + fail > 0 && inc == 0
                        ? fmt::format("the figures disagree ({} PASS, {} FAIL): ", pass, fail)
                        : fmt::format("{} figures: ", figures.size());
        for (std::size_t i = 0; i < figures.size(); ++i)
          jc.reason += fmt::format("{}{} -> {}", i ? "; " : "", figures[i].reason, to_string(figures[i].verdict));
      }
      if (evidence == 0) {
        jc.reason = "no figure is evidence: " + jc.reason;
        jc.needed = "a run of the model itself";
      }
      std::optional<int64_t> needed;
      for (const auto& f : figures)
        if (f.verdict == claim_verdict::inconclusive && f.needed) needed = std::max(needed.value_or(0), *f.needed);
      if (jc.verdict == claim_verdict::inconclusive && needed)
        jc.needed = figures.front().kind == "measured" && !figures.front().ci
                        ? fmt::format("{} repetitions of the run", *needed)
                        : fmt::format("about {} units (n) instead of {}", *needed, figures.front().n);
    }
    jc.figures = std::move(figures);
    switch (jc.verdict) {
      case claim_verdict::pass: ++report.passed; break;
      case claim_verdict::fail: ++report.failed; break;
      case claim_verdict::inconclusive: ++report.inconclusive; break;
    }
    report.claims.push_back(std::move(jc));
  }
  return report;
}

void to_json(nlohmann::json& j, const claims_report& r) {
  j = {{"schema_version", 1}, {"source", r.source}, {"title", r.title}, {"sources", r.sources}, {"runs", r.runs}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : r.claims) {
    nlohmann::json cj = {{"id", c.spec.id},        {"text", c.spec.text},     {"claim", c.spec.claim},
                         {"source", c.spec.source}, {"model", c.spec.model}, {"verdict", to_string(c.verdict)},
                         {"reason", c.reason},      {"needed", c.needed}};
    if (!c.spec.note.empty()) cj["note"] = c.spec.note;
    if (c.figures.size() == 1) {
      const auto& f = c.figures.front();
      cj["run"] = f.run;
      cj["target"] = f.target;
      nlohmann::json obs = {{"value", f.value}, {"unit", f.unit}, {"n", f.n}, {"kind", f.kind}};
      if (f.ci) {
        obs["lo"] = f.ci->lo;
        obs["hi"] = f.ci->hi;
      }
      cj["observed"] = obs;
      cj["basis"] = f.basis;
    }
    nlohmann::json figs = nlohmann::json::array();
    for (const auto& f : c.figures) {
      nlohmann::json fj = {{"run", f.run},   {"label", f.label}, {"target", f.target}, {"value", f.value},
                           {"unit", f.unit}, {"n", f.n},         {"kind", f.kind},     {"basis", f.basis},
                           {"verdict", to_string(f.verdict)},    {"reason", f.reason}};
      fj["ci"] = f.ci ? nlohmann::json{{"lo", f.ci->lo}, {"hi", f.ci->hi}, {"method", f.ci_method}} : nlohmann::json(nullptr);
      fj["needed"] = f.needed ? nlohmann::json(*f.needed) : nlohmann::json(nullptr);
      fj["evidence"] = f.evidence;
      figs.push_back(std::move(fj));
    }
    cj["figures"] = std::move(figs);
    list.push_back(std::move(cj));
  }
  j["claims"] = std::move(list);
  j["summary"] = {{"pass", r.passed}, {"fail", r.failed}, {"inconclusive", r.inconclusive}};
}

}  // namespace moebench::decisions
