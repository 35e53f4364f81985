// The reporters over hand-built run_result values: Markdown, JUnit and HTML show every suite's
// view, degrade for suites they do not know, escape what runs contain, and render claims; the
// derived figures (cost per solved task) are checked by hand.
#include <regex>

#include <gtest/gtest.h>

#include "moebench/error.h"
#include "moebench/reports/reports.h"
#include "view.h"

namespace moebench {
namespace {

metric make_metric(std::string name, double value, std::string unit, int64_t n, figure_kind kind = figure_kind::measured) {
  return {.name = std::move(name), .value = value, .unit = std::move(unit), .n = n, .cis = {}, .distribution = {}, .kind = kind};
}

metric latency(std::string name, double mean, double p50, double p99, int64_t n) {
  metric m = make_metric(std::move(name), mean, "ms", n);
  summary d;
  d.n = n;
  d.mean = mean;
  d.p50 = p50;
  d.p90 = (p50 + p99) / 2;
  d.p99 = p99;
  d.min = p50 / 2;
  d.max = p99;
  m.distribution = d;
  return m;
}

run_result base_run(std::string id) {
  run_result r;
  r.run_id = std::move(id);
  r.created_utc = "2026-01-01T00:00:00Z";
  r.finished_utc = "2026-01-01T00:01:00Z";
  r.config_hash = std::string(64, 'a');
  r.seeds = {{"sampling", 1}, {"bootstrap", 2}};
  r.build = {"0.1.0", "0123456789abcdef", false, "Release", "GNU 12"};
  r.host.cpu_model = "Test CPU";
  r.host.logical_cores = 2;
  r.model = {{"spec", "gguf:m.gguf"}, {"name", "mini"}};
  r.executor = {{"backend", "ns"}, {"isolation_level", "full"}};
  return r;
}

// pass@1 = 0.25 over 4 tasks (n = 2 each), with telemetry: 100 prompt and 20 completion
// tokens per sample.
run_result humaneval_run(std::string id, std::string grading = "split") {
  run_result r = base_run(std::move(id));
  r.settings_effective = {{"suite", "humaneval"}, {"grading", grading}};
  suite_result s;
  s.suite = "humaneval";
  s.source = "builtin:moebench-humaneval";
  s.tasks_total = s.tasks_evaluated = 4;
  s.samples = 8;
  metric p1 = make_metric("pass@1", 0.25, "fraction", 4);
  p1.cis = {{0.1, 0.5, 0.95, "bootstrap_tasks"}, {0.05, 0.6, 0.95, "wilson_samples"}};
  s.metrics = {p1};
  s.verdicts = {{"passed", 2}, {"failed", 5}, {"sandbox_error", 1}};
  s.per_task = {{"t/0", {{"n", 2}, {"c", 2}}}, {"t/1", {{"n", 2}, {"c", 0}}}, {"t/2", {{"n", 2}, {"c", 0}}}, {"t/3", {{"n", 2}, {"c", 0}}}};
  r.suites.push_back(s);
  r.model["telemetry"] = {{"layers", {{{"layer", 1}, {"hits", {30, 10, 0, 0}}, {"imbalance", 3.0}, {"load_entropy_bits", 0.8}},
                                      {{"layer", 2}, {"hits", {10, 10, 10, 10}}, {"imbalance", 1.0}, {"load_entropy_bits", 2.0}}}},
                          {"mean_imbalance", 2.0}, {"samples", 8}, {"prompt_tokens", 800}, {"completion_tokens", 160},
                          {"routed_tokens", 40}, {"near_tie_decisions", 3}, {"routing_decisions", 80}};
  return r;
}

run_result throughput_run(std::string id) {
  run_result r = base_run(std::move(id));
  r.settings_effective = {{"suite", "throughput"}, {"target", "cpu-avx2-t2"}};
  for (int c : {1, 2}) {
    suite_result s;
    s.suite = "throughput";
    s.source = "sweep concurrency=" + std::to_string(c);
    s.samples = 8;
    s.metrics = {latency("ttft_ms", 20.0 * c, 19.0 * c, 30.0 * c, 8), latency("tpot_ms", 5.0, 4.5, 7.0, 8),
                 latency("itl_ms", 5.0, 4.9, 9.0, 120), latency("e2el_ms", 100.0, 98.0, 140.0, 8),
                 make_metric("output_tok_s", 150.0 * c, "tok/s", 8), make_metric("request_s", 10.0 * c, "req/s", 8),
                 make_metric("interactivity_tok_s_per_user", 200.0 / c, "tok/s/user", 8),
                 make_metric("usd_per_mtok_total[user]", 1.5 / c, "usd/Mtok", 8)};
    s.per_task = {{"scenario", "sweep"}, {"concurrency", c}, {"saturated", c == 2}};
    s.validity = run_validity{c == 1, c == 1 ? std::vector<std::string>{} : std::vector<std::string>{"duration 0.1 s is below the minimum 1 s"}};
    r.suites.push_back(s);
  }
  return r;
}

// One modelled target: input $0.10/M, output $2.00/M, total $1.00/M.
run_result cost_run(std::string id) {
  run_result r = base_run(std::move(id));
  r.model = {{"name", "model config big"}, {"spec", ""}};
  suite_result s;
  s.suite = "cost";
  s.source = "h200 (modelled)";
  s.metrics = {make_metric("decode_tok_s", 3000, "tok/s", 1, figure_kind::modelled),
               make_metric("usd_per_mtok_input[tier-a]", 0.10, "usd/Mtok", 1, figure_kind::modelled),
               make_metric("usd_per_mtok_output[tier-a]", 2.00, "usd/Mtok", 1, figure_kind::modelled),
               make_metric("usd_per_mtok_total[tier-a]", 1.00, "usd/Mtok", 1, figure_kind::modelled),
               make_metric("j_per_output_token_tdp", 1.4, "J/tok", 1, figure_kind::modelled)};
  s.per_task = {{"target", "h200"}, {"kind", "modelled"}, {"notes", {"roofline note"}},
                {"projection", {{"model_config", "big"}, {"calibration", {{"source", "uncalibrated: roofline upper bound"}}}}},
                {"target_figures", {{"name", "NVIDIA H200"},
                                    {"sources", {{"spec-sheet", "The H200 spec sheet"}, {"price-list", "A price list"}}},
                                    {"figures", {{"memory_bw_gbs", {{"value", 4800}, {"source", "spec-sheet"}, {"flag", "datasheet"}, {"confidence", "primary"}}}}},
                                    {"prices", {{{"tier", "tier-a"}, {"usd_per_hour", {{"value", 1.5}, {"source", "price-list"}, {"flag", "estimate"}, {"confidence", "primary"}}}}}}}}};
  r.suites.push_back(s);
  return r;
}

run_result unknown_suite_run(std::string id) {
  run_result r = base_run(std::move(id));
  suite_result s;
  s.suite = "swebench";
  s.source = "instances.jsonl";
  s.tasks_total = s.tasks_evaluated = 15;
  s.samples = 15;
  metric m = make_metric("resolved", 0.6, "fraction", 15);
  m.cis = {{0.35, 0.8, 0.95, "wilson_samples"}};
  s.metrics = {m};
  r.suites.push_back(s);
  return r;
}

// In the longctx suite's layout: per_task.buckets (needle grid cells) and per_task.lengths.
run_result longctx_run(std::string id) {
  run_result r = base_run(std::move(id));
  suite_result s;
  s.suite = "longctx";
  s.source = "generated";
  s.samples = 12;
  nlohmann::json buckets = nlohmann::json::array(), lengths = nlohmann::json::array();
  for (int64_t len : {1024, 4096})
    for (int depth : {0, 50, 100})
      buckets.push_back({{"task", "needle_grid"}, {"length", len}, {"depth_percent", depth}, {"n", 2}, {"scored", true},
                         {"score", len == 1024 ? 100.0 : 50.0 - depth / 4.0}, {"ci95", {0.0, 100.0}}});
  buckets.push_back({{"task", "niah_single"}, {"length", 4096}, {"n", 2}, {"scored", false}, {"score", 0.0}, {"ci95", {0.0, 0.0}},
                     {"why_not_scored", "1 of 2 prompts landed in range"}});
  for (int64_t len : {1024, 4096}) {
    lengths.push_back({{"length", len}, {"n", 6}, {"scored", true}, {"score", len == 1024 ? 100.0 : 37.5}, {"ci95", {20.0, 90.0}},
                       {"prefill_tok_s", len == 1024 ? 900.0 : 600.0}, {"kv_bytes", 1000 * len}, {"peak_rss_bytes", 5e7}});
    metric m = make_metric("score@" + std::to_string(len), len == 1024 ? 100.0 : 37.5, "percent", 6);
    m.cis = {{20.0, 100.0, 0.95, "bootstrap_samples"}};
    s.metrics.push_back(m);
  }
  metric e = make_metric("effective_length", 1024, "tokens", 12);
  e.cis = {{1024, 4096, 0.95, "bootstrap_samples"}};
  s.metrics.push_back(e);
  s.per_task = {{"buckets", buckets}, {"lengths", lengths}, {"effective_length", {{"tokens", 1024}, {"rule", "the longest length ..."}}}};
  r.suites.push_back(s);
  return r;
}

std::vector<run_result> all_runs() {
  return {humaneval_run("he"), throughput_run("tp"), cost_run("cost"), unknown_suite_run("swe"), longctx_run("long")};
}

claims_file sample_claims() {
  return parse_claims(R"({"claims": [
    {"claim": "humaneval.pass@1 >= 0.90", "verdict": "FAIL", "run": "he", "observed": {"value": 0.25, "lo": 0.1, "hi": 0.5, "unit": "fraction", "n": 4, "kind": "measured"}, "reason": "the CI lies below 0.90"},
    {"claim": "cost.usd_per_mtok_input <= 0.30 on h200", "verdict": "PASS", "target": "h200", "observed": {"value": 0.1, "unit": "usd/Mtok", "kind": "modelled"}, "reason": "modelled"},
    {"claim": "swebench.resolved >= 0.50", "verdict": "INCONCLUSIVE", "reason": "the CI straddles 0.50", "needed": "about 200 instances"}
  ]})", "claims.json");
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

TEST(reports, markdown_has_every_view_and_the_claims) {
  const auto runs = all_runs();
  report_options o;
  o.claims = sample_claims();
  const std::string md = render_report(runs, report_format::md, o);
  for (const char* want : {"## Runs", "## Summary", "## Claims", "## humaneval", "## throughput", "## Cost and energy",
                           "## Cost per solved task", "## Expert load (routing telemetry)", "## swebench", "## Provenance",
                           "| he | humaneval | - | pass@1 | 25.00% | [10.00, 50.00]% bootstrap over tasks | 4 | measured |",
                           "❌ FAIL", "✅ PASS", "❔ INCONCLUSIVE", "Needed: about 200 instances", "**INVALID**",
                           "duration 0.1 s is below the minimum 1 s", "*modelled*", "`spec-sheet`: The H200 spec sheet",
                           "| swe | instances.jsonl | 15/15 | 15 | resolved | 60.00% |", "split", "## longctx",
                           "| long | 4096 | 37.5 | [20, 90] | 6 | 600 |", "- long: effective length 1024 tokens 95% CI [1024, 4096]",
                           "| long | niah\\_single | 4096 | - | not scored: 1 of 2 prompts landed in range |",
                           "| long | longctx | - | score@4096 | 37.5% |"})
    EXPECT_NE(md.find(want), std::string::npos) << want << "\n" << md;
}

TEST(reports, markdown_escapes_table_cells) {
  auto runs = std::vector<run_result>{humaneval_run("a|b\nc")};
  const std::string md = render_report(runs, report_format::md);
  EXPECT_NE(md.find("| a\\|b c |"), std::string::npos) << md;
}

TEST(reports, cost_per_solved_task_by_hand) {
  const auto runs = all_runs();
  std::vector<report_detail::cost_row> rows;
  for (const auto& r : runs)
    for (auto& c : report_detail::cost_rows(r)) rows.push_back(std::move(c));
  ASSERT_EQ(rows.size(), 3u);  // two priced throughput levels and the h200 row
  const auto xs = report_detail::solved_task_costs(runs, rows);
  ASSERT_EQ(xs.size(), 3u);
  const auto& modelled = xs.back();
  EXPECT_EQ(modelled.cost->target, "h200");
  // 100 input tokens at $0.10/M + 20 output tokens at $2.00/M = $5e-5 per sample; / 0.25.
  EXPECT_NEAR(modelled.usd_per_sample, 5e-5, 1e-15);
  EXPECT_NEAR(*modelled.usd_per_solved, 2e-4, 1e-15);
  // The widest CI (Wilson 0.05 .. 0.6) bounds it.
  EXPECT_NEAR(*modelled.usd_lo, 5e-5 / 0.6, 1e-15);
  EXPECT_NEAR(*modelled.usd_hi, 5e-5 / 0.05, 1e-12);
  // Measured rows charge all 120 tokens at the total price ($1.50/M at concurrency 1).
  EXPECT_NEAR(xs.front().usd_per_sample, 120 * 1.5 / 1e6, 1e-15);
}

TEST(reports, nothing_solved_is_unbounded_not_infinite_dollars) {
  auto runs = all_runs();
  runs[0].suites[0].metrics[0].value = 0;
  runs[0].suites[0].metrics[0].cis = {{0, 0.3, 0.95, "wilson_samples"}};
  const std::string md = render_report(runs, report_format::md);
  EXPECT_NE(md.find("unbounded: no task solved"), std::string::npos);
  EXPECT_EQ(md.find("| inf |"), std::string::npos);
}

TEST(reports, junit_cases_follow_claims_and_checks) {
  const auto runs = all_runs();
  report_options o;
  o.claims = sample_claims();
  const std::string xml = render_report(runs, report_format::junit, o);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  const std::size_t cases = count(xml, "<testcase ");
  const std::size_t failures = count(xml, "<failure ");
  const std::size_t skipped = count(xml, "<skipped ");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(xml, m, std::regex("<testsuites name=\"moebench\" tests=\"(\\d+)\" failures=\"(\\d+)\" errors=\"0\" skipped=\"(\\d+)\">")));
  EXPECT_EQ(std::stoul(m[1]), cases);
  EXPECT_EQ(std::stoul(m[2]), failures);
  EXPECT_EQ(std::stoul(m[3]), skipped);
  // FAIL claim, the INVALID sweep level, the humaneval sandbox_error sample.
  EXPECT_EQ(failures, 3u) << xml;
  EXPECT_EQ(skipped, 1u);
  EXPECT_NE(xml.find("name=\"humaneval.pass@1 &gt;= 0.90\">\n      <failure message=\"FAIL: the CI lies below 0.90\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"INVALID: duration 0.1 s is below the minimum 1 s\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"1 samples were not scored because of the infrastructure (sandbox_error=1)\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"tp/throughput sweep concurrency=2\""), std::string::npos);
}

TEST(reports, junit_flags_a_figure_outside_its_ci) {
  auto runs = std::vector<run_result>{humaneval_run("he")};
  runs[0].suites[0].metrics[0].cis[0] = {0.3, 0.5, 0.95, "bootstrap_tasks"};
  const std::string xml = render_report(runs, report_format::junit);
  EXPECT_NE(xml.find("bootstrap over tasks CI [30.00, 50.00]% does not contain the value"), std::string::npos) << xml;
}

TEST(reports, html_is_self_contained_and_holds_every_figure) {
  const auto runs = all_runs();
  report_options o;
  o.claims = sample_claims();
  const std::string html = render_report(runs, report_format::html, o);
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  // Nothing to fetch: no external scripts, styles or images.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  // The inlined library and its licence.
  EXPECT_NE(html.find("vega 6."), std::string::npos);
  EXPECT_NE(html.find("Redistribution and use in source and binary forms"), std::string::npos);
  for (const auto& r : runs)
    for (const auto& s : r.suites)
      for (const auto& m : s.metrics)
        EXPECT_NE(html.find("data-run=\"" + r.run_id + "\" data-suite=\"" + (s.suite == "humaneval" ? s.suite : s.suite + " " + s.source) +
                            "\" data-metric=\"" + m.name + "\""), std::string::npos) << r.run_id << " " << m.name;
  EXPECT_NE(html.find("data-metric=\"pass@1\" data-value=\"0.25\">25.00%</td>"), std::string::npos);
  EXPECT_NE(html.find("data-metric=\"resolved\" data-value=\"0.59999999999999998\">60.00%"), std::string::npos);
  for (const char* id : {"runs", "summary", "claims", "suite-humaneval", "suite-throughput", "cost", "cost-per-solved",
                         "expert-load", "suite-swebench", "suite-longctx", "provenance"})
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
  EXPECT_NE(html.find("<span class=\"badge verdict-FAIL\">FAIL</span>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"modelled\">"), std::string::npos);
  EXPECT_NE(html.find("The H200 spec sheet"), std::string::npos);
  // One spec per chart element.
  const auto start = html.find("<script type=\"application/json\" id=\"mb-charts\">");
  ASSERT_NE(start, std::string::npos);
  const auto body = html.find('>', start) + 1;
  const auto specs = nlohmann::json::parse(html.substr(body, html.find("</script>", body) - body));
  EXPECT_EQ(specs.size(), count(html, "class=\"mb-chart\""));
  // pass@k, verdicts, latency, curve, cost, energy, solved, expert heatmap + imbalance, longctx
  // grid, score by length, prefill by length.
  EXPECT_EQ(specs.size(), 12u);
  EXPECT_NE(html.find("data-metric=\"effective_length\" data-value=\"1024\">1024 tokens</td>"), std::string::npos);
}

TEST(reports, html_marks_inprocess_grading_forgeable) {
  auto runs = std::vector<run_result>{humaneval_run("he", "inprocess")};
  const std::string html = render_report(runs, report_format::html);
  EXPECT_NE(html.find("inprocess <span class=\"forgeable\">"), std::string::npos);
  const std::string md = render_report(runs, report_format::md);
  EXPECT_NE(md.find("inprocess (forgeable)"), std::string::npos);
}

TEST(reports, html_escapes_what_runs_contain) {
  auto runs = std::vector<run_result>{humaneval_run("</script><script>alert(1)</script>")};
  runs[0].model["name"] = "<img src=x onerror=alert(1)>";
  const std::string html = render_report(runs, report_format::html);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // In the chart data the run id is a JSON string with '<' escaped.
  EXPECT_NE(html.find("\\u003c/script>\\u003cscript>alert(1)"), std::string::npos);
}

TEST(reports, a_run_without_suites_degrades) {
  auto runs = std::vector<run_result>{base_run("empty")};
  const std::string html = render_report(runs, report_format::html);
  EXPECT_NE(html.find("These runs hold no figures."), std::string::npos);
  EXPECT_NE(html.find("<section id=\"provenance\">"), std::string::npos);
  EXPECT_EQ(html.find("<section id=\"suite-"), std::string::npos);
  const std::string md = render_report(runs, report_format::md);
  EXPECT_NE(md.find("## Provenance"), std::string::npos);
}

TEST(reports, rendering_is_deterministic) {
  const auto runs = all_runs();
  EXPECT_EQ(render_report(runs, report_format::html), render_report(runs, report_format::html));
}

TEST(reports, claims_errors_name_the_field) {
  struct bad {
    const char* text;
    const char* id;
    const char* field;
  };
  for (const bad& b : {bad{"not json", "claims.bad_json", ""}, bad{"{}", "claims.missing_field", "claims"},
                       bad{R"({"claims": {}})", "claims.bad_value", "claims"},
                       bad{R"({"claims": [{"claim": "x", "verdict": "PASS"}, {"claim": "y", "verdict": "maybe"}]})", "claims.bad_value", "claims[1].verdict"},
                       bad{R"({"claims": [{"verdict": "PASS"}]})", "claims.missing_field", "claims[0].claim"},
                       bad{R"({"claims": [{"claim": "x", "verdict": "PASS", "observed": {"value": "high"}}]})", "claims.bad_value", "claims[0].observed.value"}}) {
    try {
      parse_claims(b.text, "c.json");
      ADD_FAILURE() << b.text;
    } catch (const error& e) {
      EXPECT_EQ(e.id(), b.id) << b.text;
      EXPECT_EQ(e.where().field, b.field) << b.text;
      EXPECT_EQ(e.where().file, "c.json");
    }
  }
}

}  // namespace
}  // namespace moebench
