// `moebench gate` and `moebench claims`: decisions over finished runs (docs/gates.md,
// docs/claims.md).
#include <fmt/core.h>

#include "commands.h"
#include "moebench/decisions/claims.h"
#include "moebench/decisions/gate.h"
#include "moebench/decisions/render.h"
#include "moebench/io.h"

namespace moebench::cli {
namespace {

// The main output (stdout or -o) in `format`, plus the extra files CI pages want.
struct output_options {
  std::string format = "text";
  std::string output;
  std::string junit;
  std::string md;
  std::string json;

  void add(CLI::App* cmd) {
    cmd->add_option("--format", format, "text | json | md | junit")->capture_default_str();
    cmd->add_option("-o,--output", output, "Write the main output to this file instead of standard output");
    cmd->add_option("--junit", junit, "Also write JUnit XML to this file");
    cmd->add_option("--md", md, "Also write the Markdown summary to this file");
    cmd->add_option("--json", json, "Also write the JSON result to this file");
  }

  template <class Render>
  void emit(const Render& render) const {
    const decisions::decision_format f = decisions::decision_format_from_string(format);
    const std::string text = render(f);
    if (output.empty()) fmt::print("{}", text);
    else write_file_atomic(output, text);
    if (!junit.empty()) write_file_atomic(junit, render(decisions::decision_format::junit));
    if (!md.empty()) write_file_atomic(md, render(decisions::decision_format::md));
    if (!json.empty()) write_file_atomic(json, render(decisions::decision_format::json));
  }
};

}  // namespace

void add_gate_command(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand(
      "gate", "Compare a candidate run with a baseline: PASS, REGRESSION, IMPROVEMENT or INCONCLUSIVE "
              "(exit 1 on REGRESSION)");
  struct opts {
    std::vector<std::string> baseline, candidate;
    std::string policy;
    bool force = false;
    output_options out;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("--baseline", o->baseline, "Baseline run directory; repeat it (or list several) for repetitions")
      ->required()->expected(1, -1);
  cmd->add_option("--candidate", o->candidate, "Candidate run directory; repeat it (or list several) for repetitions")
      ->required()->expected(1, -1);
  cmd->add_option("--policy", o->policy, "Gate policy JSON (alpha, floors, repetitions; docs/gates.md)");
  cmd->add_flag("--force", o->force, "Compare runs whose suites, grading or settings differ (the differences are noted)");
  o->out.add(cmd);
  cmd->callback([o, &ctx] {
    decisions::decision_format_from_string(o->out.format);  // bad --format before any work
    const decisions::gate_policy policy =
        o->policy.empty() ? decisions::gate_policy{} : decisions::load_gate_policy(o->policy);
    std::vector<decisions::loaded_run> baseline, candidate;
    for (const auto& r : o->baseline) baseline.push_back(decisions::load_run(r));
    for (const auto& r : o->candidate) candidate.push_back(decisions::load_run(r));
    const auto report = decisions::run_gate(baseline, candidate, policy, o->force);
    o->out.emit([&](decisions::decision_format f) { return decisions::render_gate(report, f); });
    ctx.exit_code = report.exit_code;
  });
}

void add_claims_command(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand(
      "claims", "Judge claims (claims.json) against runs: PASS, FAIL or INCONCLUSIVE per claim, with reasons");
  struct opts {
    std::string claims;
    std::vector<std::string> runs;
    double level = 0.95;
    bool fail_exit = false;
    output_options out;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("--claims", o->claims, "Claims file (docs/claims.md; claims/*.json ship with moebench)")->required();
  cmd->add_option("runs", o->runs, "Run directories (or results.json files) holding the figures");
  cmd->add_option("--level", o->level, "Confidence level for repetition intervals and the units needed")
      ->capture_default_str()->check(CLI::Range(0.5, 0.999));
  cmd->add_flag("--exit-on-fail", o->fail_exit, "Exit 1 when any claim FAILs");
  o->out.add(cmd);
  cmd->callback([o, &ctx] {
    decisions::decision_format_from_string(o->out.format);
    const auto spec = decisions::load_claims_spec(o->claims);
    std::vector<decisions::loaded_run> runs;
    for (const auto& r : o->runs) runs.push_back(decisions::load_run(r));
    const auto report = decisions::judge_claims(spec, runs, {.level = o->level});
    o->out.emit([&](decisions::decision_format f) { return decisions::render_claims(report, f); });
    ctx.exit_code = o->fail_exit && report.failed > 0 ? exit_failure : exit_ok;
  });
}

}  // namespace moebench::cli
