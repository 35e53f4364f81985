#include "moebench/decisions/claims.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fixtures.h"
#include "moebench/decisions/render.h"
#include "moebench/error.h"
#include "moebench/significance.h"

namespace moebench::decisions {
namespace {
using testing::loaded;

claims_spec spec_of(const std::vector<std::string>& exprs) {
  nlohmann::json j = {{"title", "t"}, {"claims", nlohmann::json::array()}};
  for (std::size_t i = 0; i < exprs.size(); ++i) j["claims"].push_back({{"id", "c" + std::to_string(i)}, {"claim", exprs[i]}});
  return parse_claims_spec(j.dump(), "claims.json");
}

// A run holding humaneval pass@1 with a given value and CI over n tasks.
run_result humaneval_run(const std::string& id, double v, double lo, double hi, int64_t n) {
  run_result r;
  r.run_id = id;
  r.model = {{"spec", "gguf:dsv3-mini.gguf"},
             {"name", "dsv3-mini"},
             {"details", {{"total_params", 2715648.0}, {"active_params_per_token", 1405184.0}, {"n_expert_used", 4},
                          {"n_expert", 16}, {"context_length", 1024}}}};
  suite_result s;
  s.suite = "humaneval";
  metric m;
  m.name = "pass@1";
  m.unit = "fraction";
  m.value = v;
  m.n = n;
  m.cis = {{lo, hi, 0.95, "bootstrap_tasks"}};
  s.metrics.push_back(m);
  r.suites.push_back(s);
  return r;
}

// A cost run as `moebench run --suite cost` writes it: one modelled entry per target.
run_result cost_run() {
  run_result r;
  r.run_id = "cost1";
  r.settings_effective = {{"suite", "cost"}, {"targets", {"h100-sxm", "ascend-910c"}}};
  r.model = {{"spec", ""},
             {"name", "DeepSeek-V4-Pro"},
             {"details",
              {{"id", "deepseek-v4-pro"},
               {"status", "published"},
               {"sources", {{"deepseek-v4-card", "DeepSeek-V4 model card"}}},
               {"figures",
                {{"total_params", {{"value", 1.6e12}, {"source", "deepseek-v4-card"}, {"flag", "datasheet"}, {"confidence", "primary"}}},
                 {"experts_per_token", {{"value", 6.0}, {"source", "deepseek-v4-card"}, {"flag", "datasheet"}, {"confidence", "primary"}}}}}}}};
  auto entry = [](const std::string& target, double per_device, bool priced) {
    suite_result s;
    s.suite = "cost";
    s.per_task = {{"target", target}, {"kind", "modelled"},
                  {"projection", {{"calibration", {{"source", "uncalibrated: roofline upper bound"}}}}}};
    metric m;
    m.name = "decode_tok_s_per_device";
    m.unit = "tok/s";
    m.value = per_device;
    m.n = 1;
    m.kind = figure_kind::modelled;
    s.metrics.push_back(m);
    if (priced) {
      for (auto [tier, usd] : {std::pair{"tier-a", 0.02}, std::pair{"tier-b", 0.026}}) {
        metric p = m;
        p.name = std::string("usd_per_mtok_input[") + tier + "]";
        p.unit = "usd/Mtok";
        p.value = usd;
        s.metrics.push_back(p);
      }
    }
    return s;
  };
  r.suites = {entry("h100-sxm", 355.0, true), entry("ascend-910c", 373.0, false)};
  return r;
}

TEST(claim_syntax, parses_the_grammar) {
  const input_location where{"f.json", 0, "claims[0].claim"};
  auto e = parse_claim("humaneval.pass@1 >= 0.90", where);
  EXPECT_EQ(e.suite, "humaneval");
  EXPECT_EQ(e.metric, "pass@1");
  EXPECT_EQ(e.op, claim_op::ge);
  EXPECT_EQ(e.threshold, 0.90);
  e = parse_claim("cost.usd_per_mtok_input <= 0.30 on ascend-910c", where);
  EXPECT_EQ(e.target, "ascend-910c");
  EXPECT_EQ(e.op, claim_op::le);
  EXPECT_EQ(e.text(), "cost.usd_per_mtok_input on ascend-910c <= 0.3");
  EXPECT_EQ(parse_claim("cost.usd_per_mtok_input on ascend-910c <= 0.30", where).target, "ascend-910c");
  e = parse_claim("ratio(decode_tok_s, ascend-910c, h100) >= 60%", where);
  EXPECT_TRUE(e.is_ratio);
  EXPECT_EQ(e.metric, "decode_tok_s");
  EXPECT_EQ(e.suite, "");
  EXPECT_EQ(e.target, "ascend-910c");
  EXPECT_EQ(e.target2, "h100");
  EXPECT_NEAR(e.threshold, 0.60, 1e-15);
  e = parse_claim("model.total_params in [0.9e12, 1.1e12]", where);
  EXPECT_TRUE(e.model_fact);
  EXPECT_EQ(e.op, claim_op::in);
  EXPECT_EQ(e.lo, 0.9e12);
  EXPECT_EQ(e.text(), "model.total_params in [9e+11, 1.1e+12]");
  e = parse_claim("cost.usd_per_mtok_input[inferencex-rental]<0.3", where);
  EXPECT_EQ(e.metric, "usd_per_mtok_input[inferencex-rental]");
  EXPECT_EQ(e.op, claim_op::lt);
  EXPECT_EQ(parse_claim("longctx.effective_length >= 1048576", where).threshold, 1048576.0);
  EXPECT_EQ(parse_claim("model.experts_per_token == 16", where).op, claim_op::eq);

  for (const char* bad : {"humaneval.pass@1", "humaneval.pass@1 >= ", "humaneval.pass@1 >= x",
                          "humaneval.pass@1 >= 0.9 extra", "ratio(a, b) >= 1", "x in [2, 1]",
                          "model.total_params >= 1 on h100", ".x >= 1", "a.b on x >= 1 on y"}) {
    try {
      parse_claim(bad, where);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const error& err) {
      EXPECT_EQ(err.id(), "claims.syntax") << bad;
      EXPECT_EQ(err.where().field, "claims[0].claim");
      EXPECT_NE(err.message().find("at column"), std::string::npos) << err.message();
    }
  }
}

TEST(claims_file, errors_name_the_field) {
  try {
    parse_claims_spec(R"({"claims": [{"claim": "a.b >= 1"}, {"claim": "a.b >>= 1"}]})", "c.json");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.where().file, "c.json");
    EXPECT_EQ(e.where().field, "claims[1].claim");
  }
  try {
    parse_claims_spec(R"({"claims": [{"claim": "a.b >= 1", "source": "nowhere"}]})", "c.json");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.where().field, "claims[0].source");
  }
  EXPECT_THROW(parse_claims_spec(R"({"claims": [{"claim": "a.b >= 1", "verdict": "PASS"}]})", "c.json"), error);
  EXPECT_THROW(parse_claims_spec(R"({"claims": [{"text": "no expression"}]})", "c.json"), error);
}

TEST(claims, verdicts_from_confidence_intervals) {
  const auto spec = spec_of({"humaneval.pass@1 >= 0.90"});
  const std::vector<loaded_run> pass{loaded(humaneval_run("a", 0.95, 0.92, 0.97, 164))};
  EXPECT_EQ(judge_claims(spec, pass).claims[0].verdict, claim_verdict::pass);
  const std::vector<loaded_run> fail{loaded(humaneval_run("a", 0.60, 0.52, 0.68, 164))};
  const auto f = judge_claims(spec, fail).claims[0];
  EXPECT_EQ(f.verdict, claim_verdict::fail);
  EXPECT_NE(f.reason.find("lies entirely outside >= 0.9"), std::string::npos) << f.reason;
  // Straddling: 0.88 [0.83, 0.93] at n = 164. se = 0.1 / (2 x 1.96) = 0.02551; margin 0.02;
  // n' = 164 (0.02551 x 2.8016 / 0.02)^2 = 164 x 12.77 = 2,095.
  const std::vector<loaded_run> mid{loaded(humaneval_run("a", 0.88, 0.83, 0.93, 164))};
  const auto m = judge_claims(spec, mid).claims[0];
  EXPECT_EQ(m.verdict, claim_verdict::inconclusive);
  ASSERT_TRUE(m.figures[0].needed.has_value());
  const double se = 0.1 / (2 * normal_quantile(0.975));
  const double z = normal_quantile(0.975) + normal_quantile(0.8);
  EXPECT_EQ(*m.figures[0].needed, static_cast<int64_t>(std::ceil(164 * std::pow(se * z / 0.02, 2) - 1e-9)));
  EXPECT_NEAR(static_cast<double>(*m.figures[0].needed), 2095, 1);
  EXPECT_NE(m.needed.find("instead of 164"), std::string::npos) << m.needed;
}

TEST(claims, missing_suites_are_inconclusive_not_errors) {
  const auto spec = spec_of({"swebench.resolved >= 0.80", "longctx.effective_length >= 1048576",
                             "cost.usd_per_mtok_input <= 0.30 on ascend-910c"});
  const auto r = judge_claims(spec, {loaded(humaneval_run("a", 0.9, 0.85, 0.95, 164)), loaded(cost_run())});
  ASSERT_EQ(r.claims.size(), 3u);
  for (const auto& c : r.claims) EXPECT_EQ(c.verdict, claim_verdict::inconclusive) << c.reason;
  EXPECT_EQ(r.claims[0].reason, "no run holds swebench.resolved");
  EXPECT_EQ(r.claims[2].reason, "no run holds cost.usd_per_mtok_input on ascend-910c (runs hold it on: h100-sxm)");
  EXPECT_EQ(r.inconclusive, 3);
}

TEST(claims, modelled_figures_say_they_rest_on_a_model) {
  const auto spec = spec_of({"cost.usd_per_mtok_input <= 0.30 on h100", "ratio(cost.decode_tok_s_per_device, ascend-910c, h100) >= 0.60",
                             "cost.usd_per_mtok_input <= 0.021 on h100"});
  const auto r = judge_claims(spec, {loaded(cost_run())});
  const auto& a = r.claims[0];
  EXPECT_EQ(a.verdict, claim_verdict::pass) << a.reason;
  EXPECT_EQ(a.figures.size(), 2u);  // two price tiers
  EXPECT_NE(a.reason.find("rests on a model: cost projection of model config deepseek-v4-pro (uncalibrated: roofline upper bound)"),
            std::string::npos) << a.reason;
  const auto& b = r.claims[1];
  EXPECT_EQ(b.verdict, claim_verdict::pass) << b.reason;
  ASSERT_EQ(b.figures.size(), 1u);
  EXPECT_NEAR(b.figures[0].value, 373.0 / 355.0, 1e-12);
  EXPECT_EQ(b.figures[0].kind, "modelled");
  // The tiers disagree: 0.02 passes, 0.026 fails.
  EXPECT_EQ(r.claims[2].verdict, claim_verdict::inconclusive);
  EXPECT_NE(r.claims[2].reason.find("the figures disagree (1 PASS, 1 FAIL)"), std::string::npos) << r.claims[2].reason;
}

TEST(claims, model_facts_from_gguf_runs_and_model_configs) {
  const auto spec = spec_of({"model.total_params in [0.9e12, 1.1e12]", "model.experts_per_token == 6"});
  const auto r = judge_claims(spec, {loaded(cost_run())});
  EXPECT_EQ(r.claims[0].verdict, claim_verdict::fail);
  EXPECT_NE(r.claims[0].reason.find("model config deepseek-v4-pro (published), figure total_params flagged datasheet"),
            std::string::npos) << r.claims[0].reason;
  EXPECT_EQ(r.claims[1].verdict, claim_verdict::pass);
  const auto g = judge_claims(spec, {loaded(humaneval_run("a", 0.9, 0.85, 0.95, 164))});
  EXPECT_EQ(g.claims[1].verdict, claim_verdict::fail);  // n_expert_used = 4
  EXPECT_NE(g.claims[1].reason.find("field n_expert_used"), std::string::npos) << g.claims[1].reason;
  // Both runs: the two models disagree.
  const auto both = judge_claims(spec, {loaded(cost_run()), loaded(humaneval_run("a", 0.9, 0.85, 0.95, 164))});
  EXPECT_EQ(both.claims[1].verdict, claim_verdict::inconclusive);
  // A model config's estimate restates the claim: listed, but it cannot decide it.
  auto rumour = cost_run();
  rumour.model["details"]["id"] = "rumoured-1t";
  rumour.model["details"]["figures"]["experts_per_token"] = {{"value", 16.0}, {"source", "deepseek-v4-card"},
                                                             {"flag", "estimate"}, {"confidence", "unverified"}};
  const auto est = judge_claims(spec_of({"model.experts_per_token == 16"}), {loaded(rumour)});
  EXPECT_EQ(est.claims[0].verdict, claim_verdict::inconclusive);
  EXPECT_NE(est.claims[0].reason.find("no figure is evidence"), std::string::npos) << est.claims[0].reason;
  EXPECT_NE(est.claims[0].reason.find("restates a claim"), std::string::npos) << est.claims[0].reason;
  const auto with_demo = judge_claims(spec_of({"model.experts_per_token == 16"}),
                                      {loaded(rumour), loaded(humaneval_run("a", 0.9, 0.85, 0.95, 164))});
  EXPECT_EQ(with_demo.claims[0].verdict, claim_verdict::fail) << with_demo.claims[0].reason;
  // Scoped to one model.
  nlohmann::json j = {{"claims", {{{"claim", "model.experts_per_token == 6"}, {"model", "v4-pro"}}}}};
  const auto scoped = judge_claims(parse_claims_spec(j.dump(), "c.json"),
                                   {loaded(cost_run()), loaded(humaneval_run("a", 0.9, 0.85, 0.95, 164))});
  EXPECT_EQ(scoped.claims[0].verdict, claim_verdict::pass);
}

TEST(claims, measured_figures_without_intervals_need_repetitions) {
  const auto spec = spec_of({"throughput.output_tok_s >= 90"});
  const auto one = judge_claims(spec, {loaded(testing::speed_run("s0", 100, 50))});
  EXPECT_EQ(one.claims[0].verdict, claim_verdict::inconclusive);
  EXPECT_NE(one.claims[0].reason.find("one measurement without a confidence interval"), std::string::npos);
  EXPECT_EQ(one.claims[0].needed, "6 repetitions of the run");
  std::vector<loaded_run> six;
  for (int i = 0; i < 6; ++i) six.push_back(loaded(testing::speed_run("s" + std::to_string(i), 95 + i, 50)));
  const auto rep = judge_claims(spec, six);
  EXPECT_EQ(rep.claims[0].verdict, claim_verdict::pass) << rep.claims[0].reason;
  ASSERT_EQ(rep.claims[0].figures.size(), 1u);
  EXPECT_EQ(rep.claims[0].figures[0].ci->lo, 95.0);
  EXPECT_EQ(rep.claims[0].figures[0].ci->hi, 100.0);
  EXPECT_NE(rep.claims[0].reason.find("96.9% median over 6 repetitions"), std::string::npos) << rep.claims[0].reason;
}

TEST(claims, judged_file_is_what_reports_read) {
  const auto spec = spec_of({"humaneval.pass@1 >= 0.90", "swebench.resolved >= 0.8"});
  const auto r = judge_claims(spec, {loaded(humaneval_run("a", 0.95, 0.92, 0.97, 164))});
  const nlohmann::json j = r;
  EXPECT_EQ(j["claims"][0]["verdict"], "PASS");
  EXPECT_EQ(j["claims"][0]["run"], "a");
  EXPECT_EQ(j["claims"][0]["observed"]["lo"], 0.92);
  EXPECT_EQ(j["claims"][0]["observed"]["kind"], "measured");
  EXPECT_EQ(j["claims"][1]["verdict"], "INCONCLUSIVE");
  EXPECT_EQ(j["summary"]["pass"], 1);
  const std::string x = render_claims(r, decision_format::junit);
  EXPECT_NE(x.find("<skipped message=\"INCONCLUSIVE: no run holds swebench.resolved"), std::string::npos) << x;
}

}  // namespace
}  // namespace moebench::decisions
