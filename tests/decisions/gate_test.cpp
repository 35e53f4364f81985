#include "moebench/decisions/gate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fixtures.h"
#include "moebench/decisions/render.h"
#include "moebench/error.h"

namespace moebench::decisions {
namespace {
using testing::accuracy_run;
using testing::loaded;
using testing::speed_run;

gate_report gate1(const run_result& b, const run_result& c, const gate_policy& p = {}, bool force = false) {
  return run_gate({loaded(b)}, {loaded(c)}, p, force);
}

const metric_comparison& only(const gate_report& r) {
  EXPECT_EQ(r.comparisons.size(), 1u);
  return r.comparisons.front();
}

// 500 items with latent pass probabilities: most items near-certain either way (as a
// deterministic model), a tenth of them genuinely uncertain.
std::vector<double> latent_items(uint64_t seed) {
  rng r(seed);
  std::vector<double> p;
  for (int i = 0; i < 500; ++i) {
    const double u = r.uniform();
    p.push_back(u < 0.45 ? 0.97 : (u < 0.9 ? 0.03 : 0.1 + 0.8 * r.uniform()));
  }
  return p;
}

std::vector<int> draw(const std::vector<double>& p, int n, rng& r) {
  std::vector<int> c;
  for (double pi : p) {
    int k = 0;
    for (int s = 0; s < n; ++s) k += r.uniform() < pi ? 1 : 0;
    c.push_back(k);
  }
  return c;
}

TEST(gate, five_point_regression_on_500_items_is_caught) {
  // Baseline: 350 of 500 pass. Candidate: 35 of those fail, 10 others now pass: -25 items = -5
  // points. McNemar exact: p = 2 P(X <= 10 | 45, 1/2) = 2.47e-4.
  std::vector<int> base(500, 0), cand(500, 0);
  for (int i = 0; i < 350; ++i) base[i] = cand[i] = 1;
  for (int i = 0; i < 35; ++i) cand[i] = 0;
  for (int i = 350; i < 360; ++i) cand[i] = 1;
  const auto r = gate1(accuracy_run("base", base, 1), accuracy_run("cand", cand, 1, "gguf:other.gguf"));
  const auto& c = only(r);
  EXPECT_EQ(c.test, comparison_test::mcnemar_exact);
  EXPECT_EQ(c.details["lost"], 35);
  EXPECT_EQ(c.details["gained"], 10);
  EXPECT_NEAR(c.difference, -0.05, 1e-12);
  EXPECT_NEAR(c.p_value, 2 * 0.00012354389230040397, 1e-15);
  EXPECT_EQ(c.verdict, gate_verdict::regression) << c.reason;
  EXPECT_EQ(r.verdict, gate_verdict::regression);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(c.reason.find("-5.00 points"), std::string::npos) << c.reason;
  ASSERT_TRUE(c.ci.has_value());
  EXPECT_LT(c.ci->hi, 0.0);
}

TEST(gate, significant_drop_below_the_floor_passes) {
  // -0.8 points, significant, but under a 2-point floor whose loss the CI rules out.
  std::vector<int> base(1000, 1), cand(1000, 1);
  for (int i = 0; i < 8; ++i) cand[i] = 0;
  gate_policy p;
  p.accuracy_floor_points = 2;
  const auto r = gate1(accuracy_run("b", base, 1), accuracy_run("c", cand, 1), p);
  EXPECT_LT(only(r).p_value, 0.05);
  EXPECT_EQ(only(r).verdict, gate_verdict::pass) << only(r).reason;
  EXPECT_EQ(r.exit_code, 0);
}

TEST(gate, improvement_is_reported_and_exits_zero) {
  std::vector<int> base(500, 0), cand(500, 0);
  for (int i = 0; i < 300; ++i) base[i] = cand[i] = 1;
  for (int i = 300; i < 340; ++i) cand[i] = 1;
  const auto r = gate1(accuracy_run("b", base, 1), accuracy_run("c", cand, 1));
  EXPECT_EQ(r.verdict, gate_verdict::improvement);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(gate, small_samples_are_inconclusive_with_the_items_needed) {
  // 40 items, 3 lost and 1 gained: -5 points, p = 0.625; a 1-point loss cannot be ruled out.
  std::vector<int> base(40, 0), cand(40, 0);
  for (int i = 0; i < 30; ++i) base[i] = cand[i] = 1;
  for (int i = 0; i < 3; ++i) cand[i] = 0;
  cand[35] = 1;
  gate_policy p;
  const auto r = gate1(accuracy_run("b", base, 1), accuracy_run("c", cand, 1), p);
  const auto& c = only(r);
  EXPECT_NEAR(c.p_value, 0.625, 1e-12);
  EXPECT_EQ(c.verdict, gate_verdict::inconclusive) << c.reason;
  ASSERT_TRUE(c.needed.has_value());
  EXPECT_GT(*c.needed, 40);
  EXPECT_NE(c.reason.find("items would decide"), std::string::npos) << c.reason;
  EXPECT_EQ(r.exit_code, 0);
  p.fail_on_inconclusive = true;
  EXPECT_EQ(gate1(accuracy_run("b", base, 1), accuracy_run("c", cand, 1), p).exit_code, 1);
}

TEST(gate, noise_only_false_positive_rate_is_at_most_alpha_mcnemar) {
  gate_policy p;
  p.bootstrap_resamples = 500;
  int flagged = 0, caught = 0;
  constexpr int sims = 200;
  for (int s = 0; s < sims; ++s) {
    const auto lat = latent_items(1000 + s);
    rng r(5000 + s);
    const auto b = draw(lat, 1, r), c = draw(lat, 1, r);
    flagged += gate1(accuracy_run("b", b, 1), accuracy_run("c", c, 1), p).verdict == gate_verdict::regression;
    // The same items with a true 5-point regression: 27 near-certain passes become
    // near-certain failures (27 x 0.94 / 500 = 5.1 points).
    auto worse = lat;
    int moved = 0;
    for (auto& pi : worse)
      if (pi == 0.97 && moved < 27) {
        pi = 0.03;
        ++moved;
      }
    const auto c2 = draw(worse, 1, r);
    caught += gate1(accuracy_run("b", b, 1), accuracy_run("c", c2, 1), p).verdict == gate_verdict::regression;
  }
  const double fpr = static_cast<double>(flagged) / sims, power = static_cast<double>(caught) / sims;
  RecordProperty("false_positive_rate", std::to_string(fpr));
  RecordProperty("power_5_points", std::to_string(power));
  EXPECT_LE(fpr, p.alpha) << flagged << " of " << sims;
  EXPECT_GE(power, 0.8) << caught << " of " << sims;
}

TEST(gate, noise_only_false_positive_rate_is_at_most_alpha_bootstrap) {
  // pass@1 from 5 samples per item: the paired bootstrap.
  gate_policy p;
  p.bootstrap_resamples = 500;
  int flagged = 0;
  constexpr int sims = 100;
  for (int s = 0; s < sims; ++s) {
    const auto lat = latent_items(9000 + s);
    rng r(7000 + s);
    const auto rep = gate1(accuracy_run("b", draw(lat, 5, r), 5), accuracy_run("c", draw(lat, 5, r), 5), p);
    EXPECT_EQ(only(rep).test, comparison_test::paired_bootstrap);
    flagged += rep.verdict == gate_verdict::regression;
  }
  EXPECT_LE(static_cast<double>(flagged) / sims, p.alpha) << flagged << " of " << sims;
}

std::vector<loaded_run> speed_side(const std::string& name, int n, double tok_s, double sigma, rng& r) {
  std::vector<loaded_run> out;
  for (int i = 0; i < n; ++i) {
    // Log-normal noise from Box-Muller.
    const double z = std::sqrt(-2 * std::log(1 - r.uniform())) * std::cos(2 * M_PI * r.uniform());
    const double noise = std::exp(sigma * z);
    out.push_back(loaded(speed_run(name + std::to_string(i), tok_s * noise, 50 * (100 / tok_s) / noise)));
  }
  return out;
}

TEST(gate, speed_regression_over_repetitions_and_noise) {
  gate_policy p;
  p.metrics.push_back({"throughput.ttft_ms", false, {}, {}, {}});
  int flagged = 0, caught = 0;
  constexpr int sims = 200;
  for (int s = 0; s < sims; ++s) {
    rng r(300 + s);
    const auto base = speed_side("b", 9, 100, 0.02, r);
    flagged += run_gate(base, speed_side("c", 9, 100, 0.02, r), p, false).verdict == gate_verdict::regression;
    caught += run_gate(base, speed_side("c", 9, 90, 0.02, r), p, false).verdict == gate_verdict::regression;
  }
  EXPECT_LE(static_cast<double>(flagged) / sims, p.alpha) << flagged;
  EXPECT_GE(caught, sims * 95 / 100) << caught;

  rng r(1);
  const auto rep = run_gate(speed_side("b", 9, 100, 0.01, r), speed_side("c", 9, 90, 0.01, r), p, false);
  const auto& c = only(rep);
  EXPECT_EQ(c.test, comparison_test::mann_whitney);
  EXPECT_EQ(c.details["method"], "exact");
  EXPECT_NEAR(c.difference, -0.10, 0.02);
  EXPECT_EQ(c.verdict, gate_verdict::regression) << c.reason;
  // Lower-is-better: a 10% longer TTFT is a regression too.
  gate_policy q;
  q.metrics.push_back({"throughput.output_tok_s", false, {}, {}, {}});
  const auto lat = run_gate(speed_side("b", 9, 100, 0.01, r), speed_side("c", 9, 90, 0.01, r), q, false);
  EXPECT_EQ(only(lat).metric, "ttft_ms");
  EXPECT_FALSE(only(lat).higher_is_better);
  EXPECT_EQ(only(lat).verdict, gate_verdict::regression) << only(lat).reason;
}

TEST(gate, too_few_repetitions_are_inconclusive_with_the_number_needed) {
  gate_policy p;
  p.metrics.push_back({"throughput.ttft_ms", false, {}, {}, {}});
  rng r(2);
  const auto rep = run_gate(speed_side("b", 3, 100, 0.05, r), speed_side("c", 4, 80, 0.05, r), p, false);
  const auto& c = only(rep);
  EXPECT_EQ(c.verdict, gate_verdict::inconclusive);
  ASSERT_TRUE(c.needed.has_value());
  EXPECT_GE(*c.needed, 9);
  // With 5% noise, a 3% change needs more than 9: Noether's estimate.
  EXPECT_GT(*c.needed, 9);
  EXPECT_NE(c.reason.find("3 baseline and 4 candidate repetitions"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find(fmt::format("run {} more baseline", *c.needed - 3)), std::string::npos) << c.reason;
}

TEST(gate, refuses_runs_that_measure_different_things) {
  std::vector<int> items(50, 1);
  auto b = accuracy_run("b", items, 1);
  auto c = accuracy_run("c", items, 1, "gguf:other.gguf");
  c.suites[0].content_sha256 = "def";
  c.settings_effective["problems_sha256"] = "def";
  c.settings_effective["grading"] = "inprocess";
  b.settings_effective["grading"] = "split";
  c.settings_effective["limit"] = 20;
  try {
    gate1(b, c);
    FAIL() << "expected gate.incomparable";
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "gate.incomparable");
    const std::string m = e.message();
    EXPECT_NE(m.find("humaneval content hash: abc (b) vs def (c)"), std::string::npos) << m;
    EXPECT_NE(m.find("grading mode grading: split (b) vs inprocess (c)"), std::string::npos) << m;
    EXPECT_NE(m.find("setting limit: 0 (b) vs 20 (c)"), std::string::npos) << m;
    EXPECT_EQ(m.find("model"), std::string::npos) << "the model may differ: " << m;
  }
  const auto forced = gate1(b, c, {}, true);
  EXPECT_EQ(forced.differences.size(), 4u);
  EXPECT_NE(forced.notes.front().find("forced past a difference"), std::string::npos);
  // A run from before grading modes: the missing mode is named too.
  auto old_run = accuracy_run("o", items, 1);
  try {
    gate1(b, old_run);
    ADD_FAILURE() << "expected gate.incomparable";
  } catch (const error& e) {
    EXPECT_NE(e.message().find("grading mode grading is split in b and absent in o"), std::string::npos) << e.message();
  }
  // Repetitions within one side must be of the same model.
  EXPECT_THROW(run_gate({loaded(b), loaded(accuracy_run("b2", items, 1, "gguf:x.gguf"))}, {loaded(b)}, {}, false),
               error);
}

TEST(gate, holm_adjusts_over_metrics) {
  std::vector<int> base(500, 0), cand(500, 0);
  for (int i = 0; i < 350; ++i) base[i] = cand[i] = 1;
  for (int i = 0; i < 35; ++i) cand[i] = 0;
  for (int i = 350; i < 360; ++i) cand[i] = 1;
  auto b = accuracy_run("b", base, 1), c = accuracy_run("c", cand, 1);
  // A second metric that did not change.
  for (auto* r : {&b, &c}) {
    auto m = r->suites[0].metrics[0];
    m.name = "other";
    r->suites[0].metrics.push_back(m);
    for (auto& [k, v] : b.suites[0].per_task.items()) r->suites[0].per_task[k]["other"] = v["pass@1"];
  }
  const auto r = gate1(b, c);
  ASSERT_EQ(r.comparisons.size(), 2u);
  EXPECT_NEAR(r.comparisons[0].p_adjusted, 2 * r.comparisons[0].p_value, 1e-15);
  EXPECT_EQ(r.comparisons[1].p_adjusted, 1.0);
}

TEST(gate_policy, parses_and_rejects_with_the_field) {
  const auto p = parse_gate_policy(R"({"alpha": 0.01, "accuracy_floor_points": 2, "speed_floor_percent": 5,
      "min_repetitions": 12, "fail_on_inconclusive": true, "multiple_comparisons": "none",
      "metrics": {"throughput.*_ms": {"gate": false}, "humaneval.pass@1": {"floor_points": 0.5}}})",
                                   "g.json");
  EXPECT_EQ(p.alpha, 0.01);
  EXPECT_EQ(p.min_repetitions, 12);
  EXPECT_FALSE(p.holm);
  ASSERT_EQ(p.metrics.size(), 2u);
  try {
    parse_gate_policy(R"({"alpha": 0.01, "metrics": {"x": {"floor": 1}}})", "g.json");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.where().field, "metrics.x.floor");
    EXPECT_EQ(e.where().file, "g.json");
  }
  EXPECT_THROW(parse_gate_policy(R"({"alpha": 0.7})", "g.json"), error);
  EXPECT_THROW(parse_gate_policy(R"({"alhpa": 0.05})", "g.json"), error);
  EXPECT_THROW(parse_gate_policy("[1]", "g.json"), error);
}

TEST(gate_render, junit_and_markdown) {
  std::vector<int> base(500, 0), cand(500, 0);
  for (int i = 0; i < 350; ++i) base[i] = cand[i] = 1;
  for (int i = 0; i < 35; ++i) cand[i] = 0;
  const auto r = gate1(accuracy_run("b", base, 1), accuracy_run("c", cand, 1));
  const std::string x = render_gate(r, decision_format::junit);
  EXPECT_NE(x.find("<testcase classname=\"humaneval\" name=\"pass@1\">"), std::string::npos) << x;
  EXPECT_NE(x.find("<failure message=\"REGRESSION: pass@1 -7.00 points"), std::string::npos) << x;
  EXPECT_NE(x.find("failures=\"1\""), std::string::npos);
  const std::string md = render_gate(r, decision_format::md);
  EXPECT_NE(md.find("### moebench gate: REGRESSION"), std::string::npos);
  EXPECT_NE(md.find("| REGRESSION | humaneval | pass@1 | 70.00% | 63.00% | -7.00 pts |"), std::string::npos) << md;
  const auto j = nlohmann::json::parse(render_gate(r, decision_format::json));
  EXPECT_EQ(j["verdict"], "REGRESSION");
  EXPECT_EQ(j["comparisons"][0]["test"], "mcnemar_exact");
  EXPECT_EQ(xml_escape("a<b & \"c\"\x01"), "a&lt;b &amp; &quot;c&quot; ");
}

}  // namespace
}  // namespace moebench::decisions
