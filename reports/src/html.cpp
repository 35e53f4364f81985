// The offline HTML report: one self-contained file (CSS, chart specs, the charting library and
// our drawing bootstrap inlined; nothing is fetched at view time). Tables are rendered here, so
// every number is in the page without JavaScript; charts are Vega-Lite specs drawn in the
// browser by the library inlined at build time (reports/web, docs/reports.md).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/core.h>

#include "moebench/provenance.h"
#include "reporters.h"
#include "view.h"

namespace moebench::embedded {
extern const std::string_view report_css;
extern const std::string_view report_js;
extern const std::string_view vega_js;
extern const std::string_view vega_lite_js;
extern const std::string_view vega_license;
extern const std::string_view vega_lite_license;
extern const std::string_view chart_versions;
}  // namespace moebench::embedded

namespace moebench::report_detail {
namespace {
using json = nlohmann::json;

// Above this many cells a heatmap is drawn on a canvas: thousands of SVG nodes slow the page.
constexpr std::size_t canvas_cells = 4000;

std::string h(std::string_view s) { return xml_escape(s); }

// JSON inside <script>: '<' only occurs in strings, where \u003c keeps "</script>" and "<!--"
// from ending or confusing the element.
std::string script_json(const json& j) {
  const std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

// Numbers in chart data: 6 significant digits are plenty for a chart and keep the page small.
double chart_number(double v) {
  if (!std::isfinite(v) || v == 0) return std::isfinite(v) ? v : 0;
  const double scale = std::pow(10.0, 5 - std::floor(std::log10(std::fabs(v))));
  return std::round(v * scale) / scale;
}

std::string kind_badge(figure_kind k) {
  return k == figure_kind::modelled ? "<span class=\"badge kind-modelled\">modelled</span>"
                                    : "<span class=\"badge kind-measured\">measured</span>";
}

std::string grading_html(const run_result& r) {
  const std::string g = grading_mode(r);
  if (g.empty()) return "<span class=\"note\">not recorded</span>";
  if (g == "inprocess") return "inprocess <span class=\"forgeable\">(forgeable: the program under test can fake its verdict)</span>";
  return h(g);
}

// The suite a figure belongs to, as the page's data attributes name it.
std::string suite_key(const suite_result& s) {
  return s.source.empty() || kind_of(s) == suite_kind::humaneval ? s.suite : s.suite + " " + s.source;
}

// A table cell holding one metric, with its exact value in data attributes for tools and tests.
std::string metric_td(const run_result& r, const suite_result& s, const metric& m, const std::string& text) {
  return fmt::format("<td class=\"num\" data-run=\"{}\" data-suite=\"{}\" data-metric=\"{}\" data-value=\"{:.17g}\">{}</td>",
                     h(r.run_id), h(suite_key(s)), h(m.name), m.value, h(text));
}

class chart_set {
 public:
  // Registers a Vega-Lite spec and returns the figure that shows it.
  std::string add(json spec, std::string_view caption) {
    const std::size_t i = specs_.size();
    if (!spec.contains("usermeta")) spec["usermeta"] = json::object();
    specs_.push_back(std::move(spec));
    return fmt::format("<figure><div class=\"mb-chart\" id=\"chart-{}\" data-chart=\"{}\" role=\"img\" aria-label=\"{}\"></div>"
                       "<figcaption>{}</figcaption></figure>\n", i, i, h(caption), h(caption));
  }
  const json& specs() const { return specs_; }

 private:
  json specs_ = json::array();
};

json values(json rows) { return {{"values", std::move(rows)}}; }

// --- sections -------------------------------------------------------------------------------

std::string runs_section(std::span<const run_result> runs) {
  std::string out = "<section id=\"runs\"><h2>Runs</h2><table><tr><th>run</th><th>model</th><th>suites</th><th>target</th>"
                    "<th>grading</th><th>created (UTC)</th><th>finished (UTC)</th></tr>\n";
  for (const auto& r : runs) {
    std::set<std::string> names;
    for (const auto& s : r.suites) names.insert(s.suite);
    std::string suites;
    for (const auto& n : names) suites += (suites.empty() ? "" : ", ") + n;
    const std::string target = run_target(r);
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", h(r.run_id),
                       h(model_label(r)), h(suites), target.empty() ? "-" : h(target), grading_html(r), h(r.created_utc),
                       h(r.finished_utc));
  }
  return out + "</table></section>\n";
}

// Each CI on a line of its own (already escaped).
std::string ci_html(const metric& m) {
  if (m.cis.empty()) return "-";
  std::string out;
  for (const auto& c : m.cis) out += (out.empty() ? "" : "<br>") + h(format_ci(c, m.unit) + " " + ci_label(c.method));
  return out;
}

std::string summary_section(std::span<const run_result> runs) {
  const auto hs = headlines(runs);
  std::string out = "<section id=\"summary\"><h2>Summary</h2>";
  if (hs.empty()) return out + "<p class=\"empty\">These runs hold no figures.</p></section>\n";
  out += "<p class=\"note\">Each run's headline figures with n and 95% confidence intervals; every figure is in the "
         "suite sections below.</p><table class=\"mb-summary\"><tr><th>run</th><th>suite</th><th>scope</th><th>figure</th>"
         "<th>value</th><th>95% CI</th><th>percentiles</th><th>n</th><th>kind</th></tr>\n";
  for (const auto& x : hs) {
    const metric& m = *x.figure;
    const std::string pct = m.distribution ? fmt::format("p50 {:.4g} / p90 {:.4g} / p99 {:.4g}", m.distribution->p50, m.distribution->p90,
                                                         m.distribution->p99) : "-";
    out += fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td class=\"ci\">{}</td><td class=\"ci\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                       m.kind == figure_kind::modelled ? " class=\"modelled\"" : "", h(x.run->run_id), h(x.suite->suite),
                       x.scope.empty() ? "-" : h(x.scope), h(m.name), metric_td(*x.run, *x.suite, m, format_value(m)),
                       ci_html(m), h(pct), m.n, kind_badge(m.kind));
  }
  return out + "</table></section>\n";
}

std::string claims_section(const claims_file& claims) {
  std::string out = fmt::format("<section id=\"claims\"><h2>Claims</h2><p class=\"note\">Verdicts from <code>{}</code>: PASS or FAIL "
                                "when the 95% CI lies on one side of the threshold, INCONCLUSIVE otherwise.</p>",
                                h(claims.source));
  if (claims.claims.empty()) return out + "<p class=\"empty\">The claims file holds no claims.</p></section>\n";
  out += "<table class=\"mb-claims\"><tr><th>claim</th><th>verdict</th><th>run</th><th>target</th><th>observed</th><th>95% CI</th>"
         "<th>n</th><th>reason</th></tr>\n";
  for (const auto& c : claims.claims) {
    const std::string verdict(to_string(c.verdict));
    std::string observed = c.observed ? h(format_number(*c.observed, c.unit)) : "-";
    if (c.kind == "modelled") observed += " " + kind_badge(figure_kind::modelled);
    else if (c.kind == "measured") observed += " " + kind_badge(figure_kind::measured);
    const std::string ci = (c.lo && c.hi) ? fmt::format("[{}, {}]", format_number(*c.lo, c.unit), format_number(*c.hi, c.unit)) : "-";
    std::string reason = h(c.reason);
    if (!c.needed.empty()) reason += "<br><span class=\"note\">needed: " + h(c.needed) + "</span>";
    out += fmt::format("<tr><td>{}</td><td><span class=\"badge verdict-{}\">{}</span></td><td>{}</td><td>{}</td><td class=\"num\"{}>{}</td>"
                       "<td class=\"ci\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                       h(c.claim) + (c.text.empty() ? "" : "<br><span class=\"note\">" + h(c.text) + "</span>"), verdict, verdict, h(c.run.empty() ? "-" : c.run), h(c.target.empty() ? "-" : c.target),
                       c.observed ? fmt::format(" data-value=\"{:.17g}\"", *c.observed) : "", observed, h(ci), c.n, reason);
  }
  return out + "</table></section>\n";
}

// Every figure of the given suites, so that each number of results.json is on the page.
std::string all_figures(const std::vector<std::pair<const run_result*, const suite_result*>>& suites) {
  std::string out = "<details><summary>All figures</summary><table class=\"mb-figures\"><tr><th>run</th><th>suite</th><th>figure</th>"
                    "<th>value</th><th>95% CI</th><th>p50</th><th>p90</th><th>p99</th><th>n</th><th>kind</th></tr>\n";
  for (const auto& [r, s] : suites)
    for (const auto& m : s->metrics) {
      std::string pct = "<td></td><td></td><td></td>";
      if (m.distribution)
        pct = fmt::format("<td class=\"num\">{:.4g}</td><td class=\"num\">{:.4g}</td><td class=\"num\">{:.4g}</td>", m.distribution->p50,
                          m.distribution->p90, m.distribution->p99);
      out += fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td>{}<td class=\"ci\">{}</td>{}<td class=\"num\">{}</td><td>{}</td></tr>\n",
                         m.kind == figure_kind::modelled ? " class=\"modelled\"" : "", h(r->run_id), h(suite_key(*s)), h(m.name),
                         metric_td(*r, *s, m, format_value(m)), ci_html(m), pct, m.n, kind_badge(m.kind));
    }
  return out + "</table></details>\n";
}

std::vector<std::pair<const run_result*, const suite_result*>> suites_of(std::span<const run_result> runs, suite_kind k,
                                                                         const std::string& name = "") {
  std::vector<std::pair<const run_result*, const suite_result*>> out;
  for (const auto& r : runs)
    for (const auto& s : r.suites)
      if (kind_of(s) == k && (name.empty() || s.suite == name)) out.emplace_back(&r, &s);
  return out;
}

std::string verdict_colour(const std::string& v) {
  static const std::map<std::string, std::string> colours = {
      {"passed", "#2e8b57"},        {"failed", "#d1493f"},        {"partial", "#e9a23b"},      {"no_result", "#a0616a"},
      {"runtime_error", "#ef8a47"}, {"crashed", "#8c2d04"},       {"timeout_cpu", "#7e57c2"},  {"timeout_wall", "#5e35b1"},
      {"memory_limit", "#c2185b"},  {"output_limit", "#ad1457"},  {"security_violation", "#000000"},
      {"compile_error", "#f4c542"}, {"compile_timeout", "#b28704"}, {"patch_apply_failed", "#6d4c41"},
      {"test_log_unparseable", "#795548"}, {"sandbox_error", "#9e9e9e"}, {"skipped", "#bdbdbd"}, {"cancelled", "#757575"}};
  const auto it = colours.find(v);
  return it == colours.end() ? "#607d8b" : it->second;
}

std::string humaneval_section(std::span<const run_result> runs, chart_set& charts) {
  const auto suites = suites_of(runs, suite_kind::humaneval);
  std::string out = "<section id=\"suite-humaneval\"><h2>HumanEval-format (humaneval)</h2>";
  std::vector<std::string> names;
  for (const auto& [r, s] : suites)
    for (const auto& m : s->metrics)
      if (std::find(names.begin(), names.end(), m.name) == names.end()) names.push_back(m.name);
  out += "<table class=\"mb-humaneval\"><tr><th>run</th><th>model</th><th>grading</th><th>tasks</th><th>samples</th>";
  for (const auto& n : names) out += "<th>" + h(n) + "</th><th>95% CI</th>";
  out += "<th>tasks solved by all / some / no samples</th></tr>\n";
  json pass_rows = json::array(), verdict_rows = json::array();
  std::set<std::string> verdicts;
  for (const auto& [r, s] : suites) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td>", h(r->run_id),
                       h(model_label(*r)), grading_html(*r), s->tasks_evaluated, s->tasks_total, s->samples);
    for (const auto& n : names) {
      const metric* m = find_metric(*s, n);
      if (!m) {
        out += "<td>-</td><td>-</td>";
        continue;
      }
      out += metric_td(*r, *s, *m, format_value(*m)) + "<td class=\"ci\">" + ci_html(*m) + "</td>";
      json row = {{"run", r->run_id}, {"metric", m->name}, {"value", chart_number(m->value)}, {"n", m->n}};
      if (!m->cis.empty()) {
        row["lo"] = chart_number(m->cis.front().lo);
        row["hi"] = chart_number(m->cis.front().hi);
      }
      pass_rows.push_back(std::move(row));
    }
    const auto split = task_split_of(*s);
    out += split ? fmt::format("<td class=\"num\">{} / {} / {}</td>", split->all, split->some, split->none) : "<td>-</td>";
    out += "</tr>\n";
    for (const auto& [v, count] : s->verdicts) {
      verdicts.insert(v);
      verdict_rows.push_back({{"run", r->run_id}, {"verdict", v}, {"samples", count}});
    }
  }
  out += "</table><p class=\"note\">pass@k: the unbiased estimator averaged over tasks; the CI is a percentile bootstrap over "
         "tasks (10,000 resamples, seeded), and for pass@1 also a Wilson interval over samples.</p>";
  // Verdict table: one row per run.
  out += "<h3>Verdicts</h3><table class=\"mb-verdicts\"><tr><th>run</th>";
  for (const auto& v : verdicts) out += "<th>" + h(v) + "</th>";
  out += "</tr>\n";
  for (const auto& [r, s] : suites) {
    out += "<tr><td>" + h(r->run_id) + "</td>";
    for (const auto& v : verdicts) {
      const auto it = s->verdicts.find(v);
      out += fmt::format("<td class=\"num\">{}</td>", it == s->verdicts.end() ? 0 : it->second);
    }
    out += "</tr>\n";
  }
  out += "</table><p class=\"note\">sandbox_error, skipped and cancelled are infrastructure outcomes: they never count "
         "against the model.</p><div class=\"charts\">";
  if (!pass_rows.empty()) {
    json bar = {{"mark", {{"type", "bar"}, {"tooltip", true}}},
                {"encoding", {{"y", {{"field", "value"}, {"type", "quantitative"}, {"title", "pass@k"},
                                     {"axis", {{"format", ".0%"}}}, {"scale", {{"domain", {0, 1}}}}}}}}};
    json err = {{"mark", {{"type", "errorbar"}, {"ticks", true}, {"color", "#222"}}},
                {"encoding", {{"y", {{"field", "lo"}, {"type", "quantitative"}, {"title", "pass@k"}}}, {"y2", {{"field", "hi"}}}}}};
    json spec = {{"data", values(pass_rows)},
                 {"width", std::min<std::size_t>(640, 90 * names.size() * std::max<std::size_t>(1, suites.size()) + 60)},
                 {"height", 220},
                 {"encoding", {{"x", {{"field", "metric"}, {"type", "nominal"}, {"title", nullptr}, {"axis", {{"labelAngle", 0}}}}},
                               {"xOffset", {{"field", "run"}, {"type", "nominal"}}},
                               {"color", {{"field", "run"}, {"type", "nominal"}, {"title", "run"}}}}},
                 {"layer", {bar, err}}};
    out += charts.add(std::move(spec), "pass@k per run with 95% bootstrap CIs over tasks");
  }
  if (!verdict_rows.empty()) {
    json domain = json::array(), range = json::array();
    for (const auto& v : verdicts) {
      domain.push_back(v);
      range.push_back(verdict_colour(v));
    }
    json spec = {{"data", values(verdict_rows)},
                 {"width", 420},
                 {"height", {{"step", 26}}},
                 {"mark", {{"type", "bar"}, {"tooltip", true}}},
                 {"encoding", {{"y", {{"field", "run"}, {"type", "nominal"}, {"title", nullptr}}},
                               {"x", {{"field", "samples"}, {"type", "quantitative"}, {"stack", "zero"}, {"title", "samples"}}},
                               {"color", {{"field", "verdict"}, {"type", "nominal"}, {"scale", {{"domain", domain}, {"range", range}}}}}}}};
    out += charts.add(std::move(spec), "Verdict of every sample, per run");
  }
  return out + "</div>" + all_figures(suites) + "</section>\n";
}

std::string p50_p99_cells(const run_result& r, const suite_result& s, std::string_view name) {
  const metric* m = find_metric(s, name);
  if (!m || !m->distribution) return "<td>-</td>";
  return metric_td(r, s, *m, fmt::format("{:.4g} / {:.4g} / {:.4g}", m->distribution->p50, m->distribution->p90, m->distribution->p99));
}

std::string rate_cell(const run_result& r, const suite_result& s, std::string_view name) {
  const metric* m = find_metric(s, name);
  return m ? metric_td(r, s, *m, fmt::format("{:.4g}", m->value)) : "<td>-</td>";
}

std::string throughput_section(std::span<const run_result> runs, chart_set& charts) {
  const auto suites = suites_of(runs, suite_kind::throughput);
  std::string out = "<section id=\"suite-throughput\"><h2>Throughput and latency (throughput)</h2>"
                    "<p class=\"note\">Latencies in ms as p50 / p90 / p99, counted from each query's scheduled time (no "
                    "coordinated omission). TPOT = (E2EL - TTFT) / (output tokens - 1); ITL = gaps between streamed chunks.</p>"
                    "<table class=\"mb-throughput\"><tr><th>run</th><th>target</th><th>level</th><th>validity</th><th>queries</th>"
                    "<th>output tok/s</th><th>req/s</th><th>TTFT</th><th>TPOT</th><th>ITL</th><th>E2EL</th>"
                    "<th>tok/s per user</th></tr>\n";
  json latency_rows = json::array(), curve_rows = json::array();
  bool any_curve = false;
  std::set<std::string> validities;
  for (const auto& r : runs) {
    const auto levels = throughput_levels(r);
    for (const auto& lv : levels) {
      const suite_result& s = *lv.suite;
      std::string validity = "-";
      if (s.validity) {
        validity = s.validity->valid ? "<span class=\"badge valid\">VALID</span>" : "<span class=\"badge invalid\">INVALID</span>";
        for (const auto& reason : s.validity->reasons) validity += "<br><span class=\"note\">" + h(reason) + "</span>";
      }
      const std::string target = run_target(r);
      out += fmt::format("<tr><td>{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}{}</td><td>{}</td><td class=\"num\">{}</td>{}{}{}{}{}{}{}</tr>\n", h(r.run_id),
                         h(target.empty() ? "-" : target), h(lv.label), lv.saturated ? " <span class=\"note\">(saturated)</span>" : "",
                         validity, s.samples, rate_cell(r, s, "output_tok_s"), rate_cell(r, s, "request_s"),
                         p50_p99_cells(r, s, "ttft_ms"), p50_p99_cells(r, s, "tpot_ms"), p50_p99_cells(r, s, "itl_ms"),
                         p50_p99_cells(r, s, "e2el_ms"), rate_cell(r, s, "interactivity_tok_s_per_user"));
      for (const auto& [name, label] : {std::pair{"ttft_ms", "TTFT"}, std::pair{"tpot_ms", "TPOT"}, std::pair{"itl_ms", "ITL"},
                                        std::pair{"e2el_ms", "E2EL"}}) {
        const metric* m = find_metric(s, name);
        if (!m || !m->distribution) continue;
        for (const auto& [pct, v] : {std::pair{"p50", m->distribution->p50}, std::pair{"p90", m->distribution->p90},
                                     std::pair{"p99", m->distribution->p99}})
          latency_rows.push_back({{"run", r.run_id}, {"level", lv.label}, {"order", lv.order}, {"metric", label},
                                  {"percentile", pct}, {"ms", chart_number(v)}});
      }
      const metric* inter = find_metric(s, "interactivity_tok_s_per_user");
      const metric* outr = find_metric(s, "output_tok_s");
      if (inter && outr && std::isfinite(inter->value) && inter->value > 0) {
        const char* validity_label = !s.validity ? "-" : (s.validity->valid ? "VALID" : "INVALID");
        validities.insert(validity_label);
        curve_rows.push_back({{"run", r.run_id}, {"level", lv.label}, {"tok_s_per_user", chart_number(inter->value)},
                              {"output_tok_s", chart_number(outr->value)}, {"validity", validity_label}});
        any_curve = any_curve || levels.size() > 1;
      }
    }
  }
  out += "</table><div class=\"charts\">";
  if (!latency_rows.empty()) {
    json spec = {{"data", values(latency_rows)},
                 {"facet", {{"field", "metric"}, {"type", "nominal"}, {"title", nullptr}, {"sort", {"TTFT", "TPOT", "ITL", "E2EL"}}}},
                 {"columns", 2},
                 {"resolve", {{"scale", {{"y", "independent"}}}}},
                 {"spec", {{"width", 300},
                           {"height", 160},
                           {"mark", {{"type", "line"}, {"point", true}, {"tooltip", true}}},
                           {"encoding", {{"x", {{"field", "level"}, {"type", "ordinal"}, {"title", nullptr},
                                                {"sort", {{"field", "order"}, {"op", "min"}}}, {"axis", {{"labelAngle", -30}}}}},
                                         {"y", {{"field", "ms"}, {"type", "quantitative"}, {"title", "ms"}}},
                                         {"color", {{"field", "run"}, {"type", "nominal"}}},
                                         {"strokeDash", {{"field", "percentile"}, {"type", "nominal"}, {"sort", {"p50", "p90", "p99"}},
                                                         {"legend", {{"symbolFillColor", "#ffffff"}, {"symbolStrokeColor", "#333333"},
                                                                     {"symbolStrokeWidth", 1.5}, {"symbolSize", 140}}}}}}}}}};
    out += charts.add(std::move(spec), "Latency percentiles (p50, p90, p99) per level: TTFT, TPOT, ITL and E2EL");
  }
  if (!curve_rows.empty()) {
    json line = {{"mark", {{"type", "line"}, {"point", false}}},
                 {"encoding", {{"order", {{"field", "tok_s_per_user"}, {"type", "quantitative"}}}}}};
    // Only the validities present, so that the legend lists no shape the chart does not use.
    json domain = json::array(), range = json::array();
    for (const auto& [v, shape] : {std::pair{"VALID", "circle"}, std::pair{"INVALID", "cross"}, std::pair{"-", "square"}})
      if (validities.contains(v)) {
        domain.push_back(v);
        range.push_back(shape);
      }
    json points = {{"mark", {{"type", "point"}, {"filled", true}, {"size", 60}, {"tooltip", true}}},
                   {"encoding", {{"shape", {{"field", "validity"}, {"type", "nominal"}, {"scale", {{"domain", domain}, {"range", range}}}}}}}};
    json labels = {{"mark", {{"type", "text"}, {"dy", -10}, {"align", "center"}, {"fontSize", 10}}},
                   {"encoding", {{"text", {{"field", "level"}}}}}};
    json spec = {{"data", values(curve_rows)},
                 {"width", 460},
                 {"height", 280},
                 {"encoding", {{"x", {{"field", "tok_s_per_user"}, {"type", "quantitative"}, {"title", "interactivity: tok/s per user (1000 / p50 TPOT)"},
                                      {"scale", {{"zero", false}, {"padding", 40}}}}},
                               {"y", {{"field", "output_tok_s"}, {"type", "quantitative"}, {"title", "output tok/s"}}},
                               {"color", {{"field", "run"}, {"type", "nominal"}}}}},
                 {"layer", {line, points, labels}}};
    out += charts.add(std::move(spec), any_curve ? "Throughput versus interactivity: each point a level of the run (sweep concurrency or rate)"
                                                 : "Throughput versus interactivity (one level per run)");
  }
  return out + "</div>" + all_figures(suites) + "</section>\n";
}

// The citation keys behind a row's modelled figures: its prices' and its hardware figures'.
std::string row_sources(const cost_row& c) {
  std::set<std::string> price, hardware;
  for (const auto& f : c.sources) {
    if (f.source_key.empty()) continue;
    (f.name.starts_with("price[") ? price : hardware).insert(f.source_key);
  }
  auto join = [](const std::set<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + std::string("<code>") + h(k) + "</code>";
    return out;
  };
  std::string out;
  if (!price.empty()) out += "prices: " + join(price);
  if (!hardware.empty()) out += (out.empty() ? "" : "<br>") + std::string("hardware: ") + join(hardware);
  return out.empty() ? "-" : out;
}

std::string cost_section(const std::vector<cost_row>& rows, chart_set& charts) {
  std::string out = "<section id=\"cost\"><h2>Cost and energy</h2><p class=\"note\"><span class=\"badge kind-measured\">measured</span> "
                    "figures come from runs on real hardware; <span class=\"badge kind-modelled\">modelled</span> figures are roofline "
                    "projections from spec sheets and price lists (hatched rows; light, dashed bars), each with its sources. "
                    "$/M tokens = devices x $/device-hour / (tok/s x 3600 / 1e6).</p>";
  out += "<table class=\"mb-cost\"><tr><th>run</th><th>target</th><th>kind</th><th>model</th><th>rate</th><th>tier</th><th>$/M input</th>"
         "<th>$/M output</th><th>$/M total</th><th>energy</th><th>sources</th></tr>\n";
  json price_rows = json::array(), energy_rows = json::array();
  std::map<std::string, std::string> source_texts;
  // Each hardware figure once per target, and each note once with the rows it applies to.
  std::map<std::pair<std::string, std::string>, const sourced_figure*> figures;
  std::map<std::string, std::vector<std::string>> notes;
  std::set<std::string> calibrations;
  for (const auto& c : rows) {
    const std::vector<std::string> tiers = price_tiers(c);
    // "1.971 J/tok output, 1.005 J/tok total, 7000 W (tdp)": the basis of each figure is its
    // name's suffix, said once.
    std::string energy;
    std::set<std::string> bases;
    for (const metric* e : c.energy) {
      const auto us = e->name.rfind('_');
      const std::string basis = us == std::string::npos ? "" : e->name.substr(us + 1);
      std::string what = e->name.substr(0, us);
      if (what.starts_with("j_per_")) what = what.substr(6, what.size() - 6 - std::string_view("_token").size());
      else if (what == "power_w") what.clear();
      bases.insert(basis);
      energy += (energy.empty() ? "" : "<br>") + h(fmt::format("{:.4g} {}{}", e->value, e->unit, what.empty() ? "" : " " + what));
    }
    for (const auto& b : bases) energy += " <span class=\"note\">(" + h(b) + ")</span>";
    // A model file's path is long; its name says which it is (the path is in the run's settings).
    const std::string model = c.model.find('/') == std::string::npos ? c.model : std::filesystem::path(c.model).filename().string();
    const std::string target = c.target + (c.scope.empty() ? "" : " " + c.scope);
    // A measured and a modelled row of one target stay apart in the charts.
    const std::string chart_target = target + (c.kind == figure_kind::measured ? " (measured)" : "");
    bool first = true;
    for (const auto& tier : tiers) {
      auto price = [&](const char* basis) -> std::string {
        const metric* p = price_of(c, tier, basis);
        return p ? metric_td(*c.run, *c.suite, *p, fmt::format("{:.4g}", p->value)) : "<td>-</td>";
      };
      out += fmt::format("<tr{}><td>{}</td><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td>{}<td class=\"nowrap\">{}</td>{}{}{}<td class=\"nowrap\">{}</td><td>{}</td></tr>\n",
                         c.kind == figure_kind::modelled ? " class=\"modelled\"" : "", first ? h(c.run->run_id) : "",
                         first ? h(target) : "", first ? kind_badge(c.kind) : "", first ? h(model) : "",
                         first && c.rate ? metric_td(*c.run, *c.suite, *c.rate, format_value(*c.rate)) : "<td></td>",
                         h(tier.empty() ? "-" : tier), price("input"), price("output"), price("total"), first ? energy : "",
                         first ? row_sources(c) : "");
      first = false;
    }
    for (const auto& p : c.prices)
      price_rows.push_back({{"run", c.run->run_id}, {"target", chart_target}, {"tier", p.tier.empty() ? "-" : p.tier},
                            {"kind", std::string(to_string(c.kind))}, {"basis", p.basis}, {"usd_per_mtok", chart_number(p.figure->value)}});
    for (const metric* e : c.energy)
      if (e->name.starts_with("j_per_"))
        energy_rows.push_back({{"run", c.run->run_id}, {"target", chart_target}, {"kind", std::string(to_string(c.kind))},
                               {"figure", e->name}, {"j_per_token", chart_number(e->value)}});
    for (const auto& f : c.sources) {
      if (!f.source_key.empty()) source_texts[f.source_key] = f.source_text;
      figures.emplace(std::pair{c.target, f.name}, &f);
    }
    for (const auto& n : c.notes) {
      auto& where = notes[n];
      const std::string label = c.target + " (" + c.run->run_id + ")";
      if (std::find(where.begin(), where.end(), label) == where.end()) where.push_back(label);
    }
    if (!c.calibration.empty()) calibrations.insert(c.calibration);
  }
  out += "</table>";
  for (const auto& c : calibrations) out += "<p class=\"note\">Efficiency of the modelled rows: " + h(c) + "</p>";
  if (!notes.empty()) {
    out += "<details><summary>Notes on the rows (" + std::to_string(notes.size()) + ")</summary><ul class=\"sources\">";
    for (const auto& [n, where] : notes) {
      std::string list;
      for (const auto& w : where) list += (list.empty() ? "" : ", ") + w;
      out += "<li>" + h(n) + " <span class=\"note\">[" + h(list) + "]</span></li>";
    }
    out += "</ul></details>";
  }
  out += "<div class=\"charts\">";
  const json kind_dash = {{"field", "kind"}, {"type", "nominal"}, {"title", "kind"},
                          {"scale", {{"domain", {"measured", "modelled"}}, {"range", json::array({json::array({1, 0}), json::array({4, 3})})}}},
                          {"legend", {{"symbolFillColor", "#ffffff"}, {"symbolStrokeColor", "#333333"}, {"symbolStrokeWidth", 1.5},
                                      {"symbolSize", 160}}}};
  const json kind_opacity = {{"condition", {{"test", "datum.kind === 'modelled'"}, {"value", 0.35}}}, {"value", 0.95}};
  if (!price_rows.empty()) {
    json spec = {{"data", values(price_rows)},
                 {"facet", {{"row", {{"field", "run"}, {"type", "nominal"}, {"title", nullptr}, {"header", {{"labelAngle", 0}, {"labelAlign", "left"}}}}},
                            {"column", {{"field", "basis"}, {"type", "nominal"}, {"title", "$ per million tokens"}, {"sort", {"input", "output", "total"}}}}}},
                 {"resolve", {{"scale", {{"x", "independent"}, {"y", "independent"}}}}},
                 {"spec", {{"width", 220},
                           {"height", {{"step", 14}}},
                           {"mark", {{"type", "bar"}, {"tooltip", true}, {"strokeWidth", 1.2}}},
                           {"encoding", {{"y", {{"field", "target"}, {"type", "nominal"}, {"title", nullptr}, {"axis", {{"labelLimit", 220}}}}},
                                         {"yOffset", {{"field", "tier"}, {"type", "nominal"}}},
                                         {"x", {{"field", "usd_per_mtok"}, {"type", "quantitative"}, {"title", "$/M tokens"}}},
                                         {"color", {{"field", "tier"}, {"type", "nominal"}, {"title", "price tier"}}},
                                         {"stroke", {{"field", "tier"}, {"type", "nominal"}, {"title", "price tier"}}},
                                         {"strokeDash", kind_dash},
                                         {"fillOpacity", kind_opacity}}}}}};
    out += charts.add(std::move(spec), "$ per million input, output and total tokens per target and price tier, one row per run; modelled bars are light with a dashed outline");
  }
  if (!energy_rows.empty()) {
    json spec = {{"data", values(energy_rows)},
                 {"facet", {{"row", {{"field", "run"}, {"type", "nominal"}, {"title", nullptr}, {"header", {{"labelAngle", 0}, {"labelAlign", "left"}}}}}}},
                 {"resolve", {{"scale", {{"y", "independent"}}}}},
                 {"spec", {{"width", 300},
                           {"height", {{"step", 16}}},
                           {"mark", {{"type", "bar"}, {"tooltip", true}, {"strokeWidth", 1.2}}},
                           {"encoding", {{"y", {{"field", "target"}, {"type", "nominal"}, {"title", nullptr}, {"axis", {{"labelLimit", 220}}}}},
                                         {"yOffset", {{"field", "figure"}, {"type", "nominal"}}},
                                         {"x", {{"field", "j_per_token"}, {"type", "quantitative"}, {"title", "J per token"}}},
                                         {"color", {{"field", "figure"}, {"type", "nominal"}, {"title", "figure"}}},
                                         {"stroke", {{"field", "figure"}, {"type", "nominal"}, {"title", "figure"}}},
                                         {"strokeDash", kind_dash},
                                         {"fillOpacity", kind_opacity}}}}}};
    out += charts.add(std::move(spec), "Energy per token: _tdp assumes the devices draw their TDP, _rapl is measured (RAPL)");
  }
  out += "</div>";
  if (!figures.empty()) {
    out += "<h3>Sources of the modelled figures</h3><ul class=\"sources\">";
    for (const auto& [k, text] : source_texts) out += "<li><code>" + h(k) + "</code>: " + h(text) + "</li>";
    out += "</ul><details><summary>Every hardware figure and price behind the modelled rows (" + std::to_string(figures.size()) +
           ")</summary><table class=\"mb-sources\"><tr><th>target</th><th>figure</th><th>value</th><th>source</th><th>flag</th>"
           "<th>confidence</th><th>note</th></tr>\n";
    for (const auto& [key, f] : figures)
      out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">{:.6g}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         h(key.first), h(f->name), f->value, h(f->source_key), h(f->flag), h(f->confidence), h(f->note));
    out += "</table></details>";
  }
  std::vector<std::pair<const run_result*, const suite_result*>> cost_suites;
  for (const auto& c : rows)
    if (kind_of(*c.suite) == suite_kind::cost) cost_suites.emplace_back(c.run, c.suite);
  if (!cost_suites.empty()) out += all_figures(cost_suites);
  return out + "</section>\n";
}

std::string solved_cost_section(const std::vector<solved_task_cost>& xs, chart_set& charts) {
  std::string out = "<section id=\"cost-per-solved\"><h2>Cost per solved task</h2><p class=\"note\">The accuracy run's mean tokens "
                    "per sample (engine telemetry) priced at each row's $/M input and output tokens, divided by pass@1 (the expected "
                    "attempts per solved task); the range follows pass@1's widest 95% CI. The tokens are those of the model that ran, "
                    "the prices those of the cost row's model and target.</p><table class=\"mb-solved\"><tr><th>accuracy run</th>"
                    "<th>pass@1</th><th>tokens in / out per sample</th><th>target</th><th>kind</th><th>tier</th><th>$ per sample</th>"
                    "<th>$ per solved task</th><th>range</th></tr>\n";
  json rows = json::array();
  for (const auto& x : xs) {
    const std::string solved = solved_usd_text(x), range = solved_range_text(x);
    out += fmt::format("<tr{}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1f} / {:.1f}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td class=\"num\">{:.4g}</td><td class=\"num\">{}</td><td class=\"ci\">{}</td></tr>\n",
                       x.cost->kind == figure_kind::modelled ? " class=\"modelled\"" : "", h(x.accuracy_run->run_id),
                       h(format_number(x.pass1, "fraction")), x.input_tokens_per_sample, x.output_tokens_per_sample,
                       h(x.cost->target + (x.cost->scope.empty() ? "" : " " + x.cost->scope)), kind_badge(x.cost->kind), h(x.tier.empty() ? "-" : x.tier), x.usd_per_sample, h(solved), h(range));
    if (x.usd_per_solved) {
      json row = {{"label", x.cost->target + (x.cost->scope.empty() ? "" : " " + x.cost->scope) + (x.tier.empty() ? "" : " · " + x.tier)}, {"run", x.accuracy_run->run_id},
                  {"usd", chart_number(*x.usd_per_solved)}, {"kind", std::string(to_string(x.cost->kind))}};
      if (x.usd_lo) row["lo"] = chart_number(*x.usd_lo);
      if (x.usd_hi) row["hi"] = chart_number(*x.usd_hi);
      rows.push_back(std::move(row));
    }
  }
  out += "</table>";
  if (!rows.empty()) {
    // Points, not bars: a log scale has no zero for a bar to start from.
    json point = {{"mark", {{"type", "point"}, {"filled", true}, {"size", 50}, {"tooltip", true}}},
                  {"encoding", {{"x", {{"field", "usd"}, {"type", "quantitative"}, {"title", "$ per solved task"}, {"scale", {{"type", "log"}}}}}}}};
    json err = {{"transform", {{{"filter", "isValid(datum.hi) && isValid(datum.lo)"}}}},
                {"mark", {{"type", "errorbar"}, {"ticks", true}}},
                {"encoding", {{"x", {{"field", "lo"}, {"type", "quantitative"}, {"title", "$ per solved task"}}}, {"x2", {{"field", "hi"}}}}}};
    json spec = {{"data", values(rows)},
                 {"width", 420},
                 {"height", {{"step", 16}}},
                 {"encoding", {{"y", {{"field", "label"}, {"type", "nominal"}, {"title", nullptr}}},
                               {"yOffset", {{"field", "run"}, {"type", "nominal"}}},
                               {"color", {{"field", "run"}, {"type", "nominal"}}}}},
                 {"layer", {point, err}}};
    out += "<div class=\"charts\">" + charts.add(std::move(spec), "$ per solved task (log scale) with the range from pass@1's CI") + "</div>";
  }
  return out + "</section>\n";
}

std::string optional_number(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : "-";
}

std::string longctx_section(std::span<const run_result> runs, chart_set& charts) {
  const auto suites = suites_of(runs, suite_kind::longctx);
  std::string out = "<section id=\"suite-longctx\"><h2>Long context (longctx)</h2><p class=\"note\">Scores 0-100 as RULER scores "
                    "them; lengths in the model's own tokens, chat template included. A bucket is scored only when enough of its "
                    "prompts landed within the length tolerance.</p>";
  std::string effective;
  for (const auto& [r, s] : suites)
    if (s->validity && !s->validity->valid)
      for (const auto& reason : s->validity->reasons)
        out += "<p><span class=\"badge invalid\">INVALID</span> " + h(r->run_id) + ": " + h(reason) + "</p>";
  for (const auto& [r, s] : suites)
    if (const metric* e = find_metric(*s, "effective_length"))
      effective += fmt::format("<tr><td>{}</td>{}<td class=\"ci\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n", h(r->run_id),
                               metric_td(*r, *s, *e, format_value(*e)), ci_html(*e), e->n,
                               h(s->per_task.contains("effective_length") ? s->per_task["effective_length"].value("rule", std::string()) : ""));
  if (!effective.empty())
    out += "<table class=\"mb-longctx-effective\"><tr><th>run</th><th>effective length</th><th>95% CI</th><th>n</th><th>rule</th></tr>\n" +
           effective + "</table>";
  out += "<table class=\"mb-longctx\"><tr><th>run</th><th>length</th><th>score</th><th>95% CI</th><th>n</th><th>prefill tok/s</th>"
         "<th>KV bytes</th><th>peak RSS</th></tr>\n";
  json grid = json::array(), curve = json::array(), prefill = json::array();
  std::string bucket_rows;
  for (const auto& [r, s] : suites) {
    for (const auto& c : longctx_lengths(*s)) {
      const std::string score = c.scored ? fmt::format("{:.4g}", c.score) : "not scored: " + c.why_not_scored;
      out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"ci\">{}</td><td class=\"num\">{}</td>"
                         "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                         h(r->run_id), c.length, h(score), (c.lo && c.hi) ? fmt::format("[{:.4g}, {:.4g}]", *c.lo, *c.hi) : "-", c.n,
                         optional_number(c.prefill_tok_s, "{:.4g}"), optional_number(c.kv_bytes, "{:.0f}"),
                         optional_number(c.peak_rss_bytes, "{:.0f}"));
      if (c.scored) {
        json row = {{"run", r->run_id}, {"length", c.length}, {"score", chart_number(c.score)}};
        if (c.lo && c.hi) {
          row["lo"] = chart_number(*c.lo);
          row["hi"] = chart_number(*c.hi);
        }
        curve.push_back(std::move(row));
      }
      if (c.prefill_tok_s) prefill.push_back({{"run", r->run_id}, {"length", c.length}, {"prefill_tok_s", chart_number(*c.prefill_tok_s)}});
    }
    for (const auto& c : longctx_buckets(*s)) {
      bucket_rows += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                                 "<td class=\"ci\">{}</td><td class=\"num\">{}</td></tr>\n",
                                 h(r->run_id), h(c.task), c.length, c.depth ? fmt::format("{:g}%", *c.depth) : "-",
                                 h(c.scored ? fmt::format("{:.4g}", c.score) : "not scored: " + c.why_not_scored),
                                 (c.lo && c.hi) ? fmt::format("[{:.4g}, {:.4g}]", *c.lo, *c.hi) : "-", c.n);
      if (c.depth && c.scored)
        grid.push_back({{"run", r->run_id}, {"length", c.length}, {"depth", *c.depth}, {"score", chart_number(c.score)}});
    }
  }
  out += "</table>";
  if (!bucket_rows.empty())
    out += "<details><summary>Every bucket (task x length, and depth for the needle grid)</summary><table class=\"mb-longctx-buckets\">"
           "<tr><th>run</th><th>task</th><th>length</th><th>depth</th><th>score</th><th>95% CI</th><th>n</th></tr>\n" + bucket_rows +
           "</table></details>";
  out += "<div class=\"charts\">";
  if (!grid.empty()) {
    json rect = {{"mark", {{"type", "rect"}, {"tooltip", true}}},
                 {"encoding", {{"color", {{"field", "score"}, {"type", "quantitative"}, {"title", "score"},
                                          {"scale", {{"domain", {0, 100}}, {"scheme", "redyellowgreen"}}}}}}}};
    json text = {{"mark", {{"type", "text"}, {"fontSize", 10}}},
                 {"encoding", {{"text", {{"field", "score"}, {"type", "quantitative"}, {"format", ".0f"}}}}}};
    json spec = {{"data", values(grid)},
                 {"facet", {{"row", {{"field", "run"}, {"type", "nominal"}, {"title", nullptr}}}}},
                 {"spec", {{"width", {{"step", 44}}},
                           {"height", {{"step", 22}}},
                           {"encoding", {{"x", {{"field", "length"}, {"type", "ordinal"}, {"title", "context length (tokens)"}}},
                                         {"y", {{"field", "depth"}, {"type", "ordinal"}, {"title", "needle depth (%)"}}}}},
                           {"layer", {rect, text}}}}};
    out += charts.add(std::move(spec), "Needle retrieval score by depth x length");
  }
  // Ticks at the measured lengths only: a log axis's own ticks crowd between powers of two.
  std::set<int64_t> measured_lengths;
  for (const auto& row : curve) measured_lengths.insert(row["length"].get<int64_t>());
  for (const auto& row : prefill) measured_lengths.insert(row["length"].get<int64_t>());
  const json length_axis = {{"field", "length"}, {"type", "quantitative"}, {"title", "context length (tokens)"},
                            {"scale", {{"type", "log"}, {"base", 2}}},
                            {"axis", {{"values", measured_lengths}, {"format", "d"}, {"labelOverlap", true}}}};
  if (!curve.empty()) {
    json band = {{"transform", {{{"filter", "isValid(datum.lo) && isValid(datum.hi)"}}}},
                 {"mark", {{"type", "errorband"}}},
                 {"encoding", {{"y", {{"field", "lo"}, {"type", "quantitative"}, {"title", "score"}}}, {"y2", {{"field", "hi"}}}}}};
    json line = {{"mark", {{"type", "line"}, {"point", true}, {"tooltip", true}}},
                 {"encoding", {{"y", {{"field", "score"}, {"type", "quantitative"}, {"title", "score"}, {"scale", {{"domain", {0, 100}}}}}}}}};
    json spec = {{"data", values(curve)},
                 {"width", 420},
                 {"height", 240},
                 {"encoding", {{"x", length_axis}, {"color", {{"field", "run"}, {"type", "nominal"}}}}},
                 {"layer", {band, line}}};
    out += charts.add(std::move(spec), "Score by context length over every task, with 95% CIs");
  }
  if (!prefill.empty()) {
    json spec = {{"data", values(prefill)},
                 {"width", 420},
                 {"height", 240},
                 {"mark", {{"type", "line"}, {"point", true}, {"tooltip", true}}},
                 {"encoding", {{"x", length_axis},
                               {"y", {{"field", "prefill_tok_s"}, {"type", "quantitative"}, {"title", "prefill tok/s"}}},
                               {"color", {{"field", "run"}, {"type", "nominal"}}}}}};
    out += charts.add(std::move(spec), "Prefill rate by context length (falls where attention dominates)");
  }
  return out + "</div>" + all_figures(suites) + "</section>\n";
}

std::string expert_section(std::span<const run_result> runs, chart_set& charts) {
  std::string out;
  json imbalance = json::array();
  std::string charts_html;
  std::string table;
  for (const auto& r : runs) {
    const auto load = expert_load_of(r);
    if (!load) continue;
    json cells = json::array();
    std::size_t experts = 0;
    for (const auto& l : load->layers) {
      int64_t total = 0;
      for (const int64_t hcount : l.hits) total += hcount;
      const double mean = l.hits.empty() ? 0 : static_cast<double>(total) / static_cast<double>(l.hits.size());
      for (std::size_t e = 0; e < l.hits.size(); ++e)
        cells.push_back({{"l", l.layer}, {"e", e}, {"load", chart_number(mean > 0 ? static_cast<double>(l.hits[e]) / mean : 0)},
                         {"hits", l.hits[e]}});
      experts = std::max(experts, l.hits.size());
      imbalance.push_back({{"run", r.run_id}, {"layer", l.layer}, {"imbalance", chart_number(l.imbalance)}});
    }
    table += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3f}</td>"
                         "<td class=\"num\">{:.3f}</td><td class=\"num\">{}</td><td class=\"num\">{} of {}</td><td class=\"num\">{} / {}</td></tr>\n",
                         h(r.run_id), load->layers.size(), experts, load->mean_imbalance, load->mean_gate_entropy_bits, load->routed_tokens,
                         load->near_ties, load->decisions, load->prompt_tokens, load->completion_tokens);
    json spec = {{"data", values(std::move(cells))},
                 {"title", "expert load: " + r.run_id},
                 {"width", std::min<std::size_t>(760, std::max<std::size_t>(240, 26 * experts))},
                 {"height", std::min<std::size_t>(600, std::max<std::size_t>(60, 26 * load->layers.size()))},
                 {"mark", {{"type", "rect"}, {"tooltip", true}}},
                 {"encoding", {{"x", {{"field", "e"}, {"type", "ordinal"}, {"title", "expert"}, {"axis", {{"labelOverlap", true}}}}},
                               {"y", {{"field", "l"}, {"type", "ordinal"}, {"title", "layer"}}},
                               {"color", {{"field", "load"}, {"type", "quantitative"}, {"title", "load / mean"},
                                          {"scale", {{"scheme", "blueorange"}, {"domainMid", 1}}}}}}}};
    if (load->layers.size() * experts > canvas_cells) spec["usermeta"] = {{"renderer", "canvas"}};
    charts_html += charts.add(std::move(spec), "Tokens routed to each expert per MoE layer, as a multiple of the layer's mean (1 = uniform): " + r.run_id);
  }
  if (table.empty()) return out;
  out = "<section id=\"expert-load\"><h2>Expert load (routing telemetry)</h2><p class=\"note\">From the in-process engine: how often "
        "each routed expert was chosen. Imbalance = the busiest expert's count over the mean (1 = uniform); near ties are routing "
        "decisions that rounding differences between implementations could flip.</p><table class=\"mb-experts\"><tr><th>run</th>"
        "<th>MoE layers</th><th>experts</th><th>mean imbalance</th><th>gate entropy (bits)</th><th>routed tokens</th>"
        "<th>near-tie decisions</th><th>prompt / completion tokens</th></tr>\n" + table + "</table><div class=\"charts\">" + charts_html;
  json spec = {{"data", values(imbalance)},
               {"width", 360},
               {"height", 200},
               {"mark", {{"type", "bar"}, {"tooltip", true}}},
               {"encoding", {{"x", {{"field", "layer"}, {"type", "ordinal"}, {"title", "MoE layer"}}},
                             {"xOffset", {{"field", "run"}, {"type", "nominal"}}},
                             {"y", {{"field", "imbalance"}, {"type", "quantitative"}, {"title", "imbalance (max / mean)"}}},
                             {"color", {{"field", "run"}, {"type", "nominal"}}}}}};
  out += charts.add(std::move(spec), "Load imbalance per MoE layer");
  return out + "</div></section>\n";
}

std::string generic_section(std::span<const run_result> runs, const std::string& name) {
  const auto suites = suites_of(runs, suite_kind::other, name);
  std::string out = fmt::format("<section id=\"suite-{}\"><h2>{}</h2><p class=\"note\">This report has no dedicated view for this "
                                "suite; its figures as results.json holds them.</p><table class=\"mb-generic\"><tr><th>run</th><th>source</th>"
                                "<th>tasks</th><th>samples</th><th>figure</th><th>value</th><th>95% CI</th><th>n</th><th>kind</th></tr>\n",
                                h(name), h(name));
  for (const auto& [r, s] : suites) {
    for (const auto& m : s->metrics)
      out += fmt::format("<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td>{}</td>{}<td class=\"ci\">{}</td>"
                         "<td class=\"num\">{}</td><td>{}</td></tr>\n", m.kind == figure_kind::modelled ? " class=\"modelled\"" : "",
                         h(r->run_id), h(s->source), s->tasks_evaluated, s->tasks_total, s->samples, h(m.name),
                         metric_td(*r, *s, m, format_distribution(m)), ci_html(m), m.n, kind_badge(m.kind));
    if (s->validity && !s->validity->valid)
      for (const auto& reason : s->validity->reasons)
        out += fmt::format("<tr><td>{}</td><td>{}</td><td colspan=\"7\"><span class=\"badge invalid\">INVALID</span> {}</td></tr>\n",
                           h(r->run_id), h(s->source), h(reason));
  }
  std::string verdicts;
  for (const auto& [r, s] : suites)
    for (const auto& [v, n] : s->verdicts) verdicts += fmt::format("{}{}: {}={}", verdicts.empty() ? "" : "; ", r->run_id, v, n);
  if (!verdicts.empty()) out += "</table><p class=\"note\">Verdicts: " + h(verdicts) + "</p>";
  else out += "</table>";
  return out + "</section>\n";
}

std::string provenance_section(std::span<const run_result> runs) {
  std::string out = "<section id=\"provenance\"><h2>Provenance</h2><table class=\"mb-provenance\"><tr><th>run</th><th>moebench</th>"
                    "<th>host</th><th>CPU</th><th>cores / NUMA / memory</th><th>OS, kernel</th><th>GPU</th><th>executor</th>"
                    "<th>grading</th><th>seeds</th><th>config hash</th><th>execution</th></tr>\n";
  for (const auto& r : runs) {
    std::string seeds;
    for (const auto& [name, v] : r.seeds) seeds += (seeds.empty() ? "" : "<br>") + h(name) + " = " + std::to_string(v);
    const auto& e = r.execution;
    out += fmt::format("<tr><td>{}</td><td>{} ({}, {})<br><code>{}{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{} / {} / {:.1f} GiB</td>"
                       "<td>{}<br>{} {}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
                       "<td>{:.2f} s, {} invocation(s), {} samples resumed</td></tr>\n",
                       h(r.run_id), h(r.build.version), h(r.build.build_type), h(r.build.compiler), h(r.build.git_commit.substr(0, 12)),
                       r.build.git_dirty ? "+dirty" : "", h(r.host.hostname), h(r.host.cpu_model), r.host.logical_cores, r.host.numa_nodes,
                       static_cast<double>(r.host.memory_bytes) / (1024.0 * 1024 * 1024), h(r.host.os), h(r.host.kernel), h(r.host.machine),
                       h(r.host.gpu.empty() ? "-" : r.host.gpu), h(r.executor.value("backend", std::string("-"))),
                       h(r.executor.value("isolation_level", std::string("-"))), grading_html(r), seeds, h(r.config_hash),
                       static_cast<double>(e.wall_ns) / 1e9, e.invocations, e.samples_resumed);
  }
  out += "</table>";
  for (const auto& r : runs)
    out += fmt::format("<details><summary>{}: effective settings (the config hash covers these)</summary><pre>{}</pre></details>\n",
                       h(r.run_id), h(r.settings_effective.dump(2, ' ', false, json::error_handler_t::replace)));
  return out + "</section>\n";
}

}  // namespace

std::string render_html(std::span<const run_result> runs, const report_options& options) {
  const std::string title = options.title.empty() ? "moebench report" : options.title;
  chart_set charts;
  std::vector<std::pair<std::string, std::string>> nav = {{"runs", "Runs"}, {"summary", "Summary"}};
  std::string body = runs_section(runs) + summary_section(runs);
  if (options.claims) {
    nav.emplace_back("claims", "Claims");
    body += claims_section(*options.claims);
  }
  std::set<suite_kind> kinds;
  std::vector<std::string> others;
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      kinds.insert(kind_of(s));
      if (kind_of(s) == suite_kind::other && std::find(others.begin(), others.end(), s.suite) == others.end()) others.push_back(s.suite);
    }
  if (kinds.contains(suite_kind::humaneval)) {
    nav.emplace_back("suite-humaneval", "HumanEval");
    body += humaneval_section(runs, charts);
  }
  if (kinds.contains(suite_kind::throughput)) {
    nav.emplace_back("suite-throughput", "Throughput");
    body += throughput_section(runs, charts);
  }
  std::vector<cost_row> rows;
  for (const auto& r : runs)
    for (auto& c : cost_rows(r)) rows.push_back(std::move(c));
  if (!rows.empty()) {
    nav.emplace_back("cost", "Cost");
    body += cost_section(rows, charts);
  }
  const auto solved = solved_task_costs(runs, rows);
  if (!solved.empty()) {
    nav.emplace_back("cost-per-solved", "Cost per solved task");
    body += solved_cost_section(solved, charts);
  }
  if (kinds.contains(suite_kind::longctx)) {
    nav.emplace_back("suite-longctx", "Long context");
    body += longctx_section(runs, charts);
  }
  const std::string experts = expert_section(runs, charts);
  if (!experts.empty()) nav.emplace_back("expert-load", "Expert load");
  body += experts;
  for (const auto& name : others) {
    nav.emplace_back("suite-" + name, name);
    body += generic_section(runs, name);
  }
  nav.emplace_back("provenance", "Provenance");
  body += provenance_section(runs);

  const build_info b = current_build_info();
  std::string html;
  html.reserve(body.size() + embedded::vega_js.size() + embedded::vega_lite_js.size() + 65536);
  html += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  html += fmt::format("<meta name=\"generator\" content=\"moebench {} ({})\"><title>{}</title>\n<style>\n{}</style></head>\n<body>\n",
                      h(b.version), h(b.git_commit.substr(0, 12)), h(title), embedded::report_css);
  std::string run_list;
  for (const auto& r : runs) run_list += (run_list.empty() ? "" : ", ") + h(r.run_id);
  html += fmt::format("<header><h1>{}</h1><p>{} run{}: {}. Rendered by moebench {} from results.json; offline, nothing is "
                      "fetched.</p></header>\n<nav>",
                      h(title), runs.size(), runs.size() == 1 ? "" : "s", run_list, h(b.version));
  for (const auto& [id, label] : nav) html += fmt::format("<a href=\"#{}\">{}</a>", h(id), h(label));
  html += "</nav>\n<main>\n" + body + "</main>\n";
  html += "<script type=\"application/json\" id=\"mb-charts\">" + script_json(charts.specs()) + "</script>\n";
  html += fmt::format("<!-- Charts: {}.\nvega licence:\n{}\nvega-lite licence:\n{}\n-->\n", embedded::chart_versions,
                      embedded::vega_license, embedded::vega_lite_license);
  html += "<script>";
  html += embedded::vega_js;
  html += "</script>\n<script>";
  html += embedded::vega_lite_js;
  html += "</script>\n<script>";
  html += embedded::report_js;
  html += "</script>\n</body></html>\n";
  return html;
}

}  // namespace moebench::report_detail
