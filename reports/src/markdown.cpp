// GitHub-flavoured Markdown: the summary a CI page shows.
#include <algorithm>
#include <set>

#include <fmt/core.h>

#include "reporters.h"
#include "view.h"

namespace moebench::report_detail {
namespace {

std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

std::string grading_label(const run_result& r) {
  const std::string g = grading_mode(r);
  if (g.empty()) return "not recorded";
  if (g == "inprocess") return "inprocess (forgeable)";
  return g;
}

std::string value_with_ci(const metric& m) {
  std::string cell = format_value(m);
  if (!m.cis.empty()) cell += " " + format_ci(m.cis.front(), m.unit);
  if (m.kind == figure_kind::modelled) cell += " (modelled)";
  return cell;
}

std::string p50_p99(const suite_result& s, std::string_view name) {
  const metric* m = find_metric(s, name);
  if (!m || !m->distribution) return "-";
  return fmt::format("{:.4g} / {:.4g}", m->distribution->p50, m->distribution->p99);
}

std::string rate(const suite_result& s, std::string_view name) {
  const metric* m = find_metric(s, name);
  return m ? fmt::format("{:.4g}", m->value) : "-";
}

std::string verdict_icon(claim_verdict v) {
  switch (v) {
    case claim_verdict::pass: return "✅ PASS";
    case claim_verdict::fail: return "❌ FAIL";
    case claim_verdict::inconclusive: return "❔ INCONCLUSIVE";
  }
  return "?";
}

void runs_section(std::string& md, std::span<const run_result> runs) {
  md += "## Runs\n\n| run | model | suites | target | grading | created (UTC) |\n|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    std::set<std::string> names;
    for (const auto& s : r.suites) names.insert(s.suite);
    std::string suites;
    for (const auto& n : names) suites += (suites.empty() ? "" : ", ") + n;
    const std::string target = run_target(r);
    md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", md_escape(r.run_id), md_escape(model_label(r)),
                      md_escape(suites), target.empty() ? "-" : md_escape(target), grading_label(r),
                      md_escape(r.created_utc));
  }
  md += "\n";
}

void summary_section(std::string& md, std::span<const run_result> runs) {
  const auto hs = headlines(runs);
  if (hs.empty()) return;
  md += "## Summary\n\n| run | suite | scope | figure | value | 95% CI | n | kind |\n|---|---|---|---|---:|---|---:|---|\n";
  for (const auto& h : hs) {
    const metric& m = *h.figure;
    std::string ci = "-";
    if (!m.cis.empty()) ci = format_ci(m.cis.front(), m.unit) + " " + ci_label(m.cis.front().method);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", md_escape(h.run->run_id),
                      md_escape(h.suite->suite), h.scope.empty() ? "-" : md_escape(h.scope), md_escape(m.name),
                      md_escape(format_distribution(m)), ci, m.n, to_string(m.kind));
  }
  md += "\n";
}

void claims_section(std::string& md, const claims_file& claims) {
  md += fmt::format("## Claims\n\nFrom `{}`.\n\n| claim | verdict | run | target | observed | 95% CI | n | reason |\n"
                    "|---|---|---|---|---:|---|---:|---|\n", md_escape(claims.source));
  for (const auto& c : claims.claims) {
    const std::string observed = c.observed ? format_number(*c.observed, c.unit) + (c.kind == "modelled" ? " (modelled)" : "") : "-";
    const std::string ci = (c.lo && c.hi) ? fmt::format("[{}, {}]", format_number(*c.lo, c.unit), format_number(*c.hi, c.unit)) : "-";
    std::string reason = c.reason;
    if (!c.needed.empty()) reason += (reason.empty() ? "" : " ") + std::string("Needed: ") + c.needed;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", md_escape(c.claim + (c.text.empty() ? "" : " (" + c.text + ")")), verdict_icon(c.verdict),
                      c.run.empty() ? "-" : md_escape(c.run), c.target.empty() ? "-" : md_escape(c.target),
                      observed, ci, c.n, md_escape(reason));
  }
  md += "\n";
}

void humaneval_section(std::string& md, std::span<const run_result> runs) {
  std::vector<std::string> metric_names;
  std::set<std::string> verdicts;
  for (const auto& r : runs)
    for (const auto& s : r.suites)
      if (kind_of(s) == suite_kind::humaneval) {
        for (const auto& m : s.metrics)
          if (std::find(metric_names.begin(), metric_names.end(), m.name) == metric_names.end())
            metric_names.push_back(m.name);
        for (const auto& [v, n] : s.verdicts) verdicts.insert(v);
      }
  md += "## humaneval\n\n| run | model | tasks | samples |";
  for (const auto& name : metric_names) md += fmt::format(" {} (95% CI) |", md_escape(name));
  md += "\n|---|---|---:|---:|";
  for (std::size_t i = 0; i < metric_names.size(); ++i) md += "---|";
  md += "\n";
  std::string splits;
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      if (kind_of(s) != suite_kind::humaneval) continue;
      md += fmt::format("| {} | {} | {}/{} | {} |", md_escape(r.run_id), md_escape(model_label(r)),
                        s.tasks_evaluated, s.tasks_total, s.samples);
      for (const auto& name : metric_names) {
        const metric* m = find_metric(s, name);
        md += m ? " " + value_with_ci(*m) + " |" : " - |";
      }
      md += "\n";
      if (const auto t = task_split_of(s))
        splits += fmt::format("- {}: {} tasks solved by every sample, {} by some, {} by none\n",
                              md_escape(r.run_id), t->all, t->some, t->none);
    }
  md += "\nCIs: bootstrap over tasks (seeded; the seed is in each run's results); pass@1 also has a "
        "Wilson interval over samples in results.json.\n\n" + splits;
  md += "\n### Verdicts\n\n| run |";
  for (const auto& v : verdicts) md += " " + md_escape(v) + " |";
  md += "\n|---|";
  for (std::size_t i = 0; i < verdicts.size(); ++i) md += "---:|";
  md += "\n";
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      if (kind_of(s) != suite_kind::humaneval) continue;
      md += "| " + md_escape(r.run_id) + " |";
      for (const auto& v : verdicts) {
        const auto it = s.verdicts.find(v);
        md += fmt::format(" {} |", it == s.verdicts.end() ? 0 : it->second);
      }
      md += "\n";
    }
  md += "\n";
}

void throughput_section(std::string& md, std::span<const run_result> runs) {
  md += "## throughput\n\nLatency columns: p50 / p99 in ms, counted from each query's scheduled time.\n\n"
        "| run | level | validity | output tok/s | req/s | TTFT | TPOT | ITL | E2EL | tok/s/user |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  std::string invalid;
  for (const auto& r : runs)
    for (const auto& lv : throughput_levels(r)) {
      const suite_result& s = *lv.suite;
      std::string validity = "-";
      if (s.validity) {
        validity = s.validity->valid ? "VALID" : "**INVALID**";
        for (const auto& reason : s.validity->reasons)
          invalid += fmt::format("- {} {}: {}\n", md_escape(r.run_id), md_escape(lv.label), md_escape(reason));
      }
      md += fmt::format("| {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} |\n", md_escape(r.run_id),
                        md_escape(lv.label), lv.saturated ? " (saturated)" : "", validity, rate(s, "output_tok_s"),
                        rate(s, "request_s"), p50_p99(s, "ttft_ms"), p50_p99(s, "tpot_ms"), p50_p99(s, "itl_ms"),
                        p50_p99(s, "e2el_ms"), rate(s, "interactivity_tok_s_per_user"));
    }
  if (!invalid.empty()) md += "\nINVALID because:\n" + invalid;
  md += "\n";
}

void cost_section(std::string& md, std::span<const cost_row> rows) {
  if (rows.empty()) return;
  md += "## Cost and energy\n\nModelled rows are roofline projections from spec sheets; measured rows come "
        "from runs on real hardware.\n\n| run | target | kind | model | rate | tier | $/M input | $/M output | "
        "$/M total | J/token |\n|---|---|---|---|---:|---|---:|---:|---:|---|\n";
  std::map<std::string, std::string> sources;
  std::set<std::string> calibrations;
  for (const auto& c : rows) {
    const std::vector<std::string> tiers = price_tiers(c);
    std::string energy;
    for (const metric* e : c.energy)
      if (e->name.starts_with("j_per_")) energy += (energy.empty() ? "" : ", ") + fmt::format("{:.4g} ({})", e->value, e->name);
    const std::string target = c.target + (c.scope.empty() ? "" : " " + c.scope);
    bool first = true;
    for (const auto& tier : tiers) {
      auto price = [&](const char* basis) {
        const metric* p = price_of(c, tier, basis);
        return p ? fmt::format("{:.4g}", p->value) : std::string("-");
      };
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", md_escape(c.run->run_id),
                        md_escape(target), c.kind == figure_kind::modelled ? "*modelled*" : "**measured**",
                        md_escape(c.model), first && c.rate ? format_value(*c.rate) : "", tier.empty() ? "-" : md_escape(tier),
                        price("input"), price("output"), price("total"), first ? md_escape(energy.empty() ? "-" : energy) : "");
      first = false;
    }
    for (const auto& f : c.sources)
      if (!f.source_key.empty()) sources[f.source_key] = f.source_text;
    if (!c.calibration.empty()) calibrations.insert(c.calibration);
  }
  if (!calibrations.empty()) {
    md += "\nEfficiency of the modelled rows:\n";
    for (const auto& c : calibrations) md += "- " + md_escape(c) + "\n";
  }
  if (!sources.empty()) {
    md += "\nSources of the modelled figures (prices, bandwidths, peaks, TDPs):\n";
    for (const auto& [k, text] : sources) md += fmt::format("- `{}`: {}\n", k, md_escape(text));
  }
  md += "\n";
}

void solved_cost_section(std::string& md, std::span<const solved_task_cost> xs) {
  if (xs.empty()) return;
  md += "## Cost per solved task\n\nThe accuracy run's mean tokens per sample priced at the target's $/M input and "
        "output, divided by pass@1; the range follows pass@1's 95% CI.\n\n| accuracy run | pass@1 | tokens in/out "
        "per sample | target | kind | tier | $ per sample | $ per solved task | range |\n"
        "|---|---:|---:|---|---|---|---:|---:|---|\n";
  for (const auto& x : xs) {
    const std::string solved = solved_usd_text(x), range = solved_range_text(x);
    md += fmt::format("| {} | {} | {:.1f} / {:.1f} | {} | {} | {} | {:.4g} | {} | {} |\n", md_escape(x.accuracy_run->run_id),
                      format_number(x.pass1, "fraction"), x.input_tokens_per_sample, x.output_tokens_per_sample,
                      md_escape(x.cost->target + (x.cost->scope.empty() ? "" : " " + x.cost->scope)), to_string(x.cost->kind), md_escape(x.tier.empty() ? "-" : x.tier),
                      x.usd_per_sample, solved, range);
  }
  md += "\n";
}

void expert_load_section(std::string& md, std::span<const run_result> runs) {
  std::string rows;
  for (const auto& r : runs) {
    const auto load = expert_load_of(r);
    if (!load) continue;
    const auto worst = std::max_element(load->layers.begin(), load->layers.end(),
                                        [](const auto& a, const auto& b) { return a.imbalance < b.imbalance; });
    rows += fmt::format("| {} | {} | {} | {:.3f} | {} ({:.3f}) | {:.3f} | {} of {} |\n", md_escape(r.run_id),
                        load->layers.size(), load->layers.front().hits.size(), load->mean_imbalance, worst->layer,
                        worst->imbalance, load->mean_gate_entropy_bits, load->near_ties, load->decisions);
  }
  if (rows.empty()) return;
  md += "## Expert load (routing telemetry)\n\nImbalance = the most-used expert's share over the mean share "
        "(1 = uniform).\n\n| run | MoE layers | experts | mean imbalance | most imbalanced layer | gate entropy (bits) | "
        "near-tie decisions |\n|---|---:|---:|---:|---|---:|---:|\n" + rows + "\n";
}

void longctx_section(std::string& md, std::span<const run_result> runs) {
  md += "## longctx\n\nScores 0-100 (RULER); lengths in the model's own tokens.\n\n| run | length | score | 95% CI | n | prefill tok/s |\n"
        "|---|---:|---:|---|---:|---:|\n";
  std::string effective, buckets;
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      if (kind_of(s) != suite_kind::longctx) continue;
      for (const auto& c : longctx_lengths(s))
        md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", md_escape(r.run_id), c.length,
                          c.scored ? fmt::format("{:.4g}", c.score) : "not scored: " + md_escape(c.why_not_scored),
                          (c.lo && c.hi) ? fmt::format("[{:.4g}, {:.4g}]", *c.lo, *c.hi) : "-", c.n,
                          c.prefill_tok_s ? fmt::format("{:.4g}", *c.prefill_tok_s) : "-");
      for (const auto& c : longctx_buckets(s))
        buckets += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", md_escape(r.run_id), md_escape(c.task), c.length,
                               c.depth ? fmt::format("{:g}%", *c.depth) : "-",
                               c.scored ? fmt::format("{:.4g}", c.score) : "not scored: " + md_escape(c.why_not_scored),
                               (c.lo && c.hi) ? fmt::format("[{:.4g}, {:.4g}]", *c.lo, *c.hi) : "-", c.n);
      if (s.validity && !s.validity->valid)
        for (const auto& reason : s.validity->reasons) effective += fmt::format("- {}: **INVALID**: {}\n", md_escape(r.run_id), md_escape(reason));
      if (const metric* e = find_metric(s, "effective_length"))
        effective += fmt::format("- {}: effective length {} {}\n", md_escape(r.run_id), format_value(*e),
                                 e->cis.empty() ? "" : "95% CI " + format_ci(e->cis.front(), e->unit));
    }
  if (!effective.empty()) md += "\n" + effective;
  if (!buckets.empty())
    md += "\n| run | task | length | depth | score | 95% CI | n |\n|---|---|---:|---:|---:|---|---:|\n" + buckets;
  md += "\n";
}

void generic_section(std::string& md, std::span<const run_result> runs, const std::string& suite) {
  md += fmt::format("## {}\n\n| run | source | tasks | samples | figure | value | 95% CI | n | kind |\n"
                    "|---|---|---:|---:|---|---:|---|---:|---|\n", md_escape(suite));
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      if (s.suite != suite) continue;
      for (const auto& m : s.metrics)
        md += fmt::format("| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} |\n", md_escape(r.run_id), md_escape(s.source),
                          s.tasks_evaluated, s.tasks_total, s.samples, md_escape(m.name), md_escape(format_distribution(m)),
                          m.cis.empty() ? "-" : format_ci(m.cis.front(), m.unit), m.n, to_string(m.kind));
      if (s.validity && !s.validity->valid)
        for (const auto& reason : s.validity->reasons)
          md += fmt::format("| {} | {} | | | INVALID | {} | | | |\n", md_escape(r.run_id), md_escape(s.source), md_escape(reason));
    }
  md += "\n";
}

void provenance_section(std::string& md, std::span<const run_result> runs) {
  md += "## Provenance\n\n| run | moebench | commit | host CPU | cores | OS | kernel | executor | grading | seeds | config hash |\n"
        "|---|---|---|---|---:|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    std::string seeds;
    for (const auto& [name, v] : r.seeds) seeds += (seeds.empty() ? "" : ", ") + fmt::format("{}={}", name, v);
    md += fmt::format("| {} | {} ({}) | {}{} | {} | {} | {} | {} | {} ({}) | {} | {} | {} |\n", md_escape(r.run_id),
                      md_escape(r.build.version), md_escape(r.build.build_type), md_escape(r.build.git_commit.substr(0, 12)),
                      r.build.git_dirty ? "+dirty" : "", md_escape(r.host.cpu_model), r.host.logical_cores,
                      md_escape(r.host.os), md_escape(r.host.kernel), md_escape(r.executor.value("backend", std::string("-"))),
                      md_escape(r.executor.value("isolation_level", std::string("-"))), grading_label(r), md_escape(seeds),
                      md_escape(r.config_hash.substr(0, 16)));
  }
}

}  // namespace

std::string render_markdown(std::span<const run_result> runs, const report_options& options) {
  std::string md = "# " + md_escape(options.title.empty() ? "moebench report" : options.title) + "\n\n";
  runs_section(md, runs);
  summary_section(md, runs);
  if (options.claims) claims_section(md, *options.claims);
  std::set<suite_kind> kinds;
  std::vector<std::string> others;
  for (const auto& r : runs)
    for (const auto& s : r.suites) {
      kinds.insert(kind_of(s));
      if (kind_of(s) == suite_kind::other && std::find(others.begin(), others.end(), s.suite) == others.end())
        others.push_back(s.suite);
    }
  if (kinds.contains(suite_kind::humaneval)) humaneval_section(md, runs);
  if (kinds.contains(suite_kind::throughput)) throughput_section(md, runs);
  std::vector<cost_row> rows;
  for (const auto& r : runs)
    for (auto& c : cost_rows(r)) rows.push_back(std::move(c));
  cost_section(md, rows);
  solved_cost_section(md, solved_task_costs(runs, rows));
  if (kinds.contains(suite_kind::longctx)) longctx_section(md, runs);
  expert_load_section(md, runs);
  for (const auto& name : others) generic_section(md, runs, name);
  provenance_section(md, runs);
  return md;
}

}  // namespace moebench::report_detail
