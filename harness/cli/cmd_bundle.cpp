// `moebench submit`, `moebench validate`, `moebench leaderboard` and `moebench keygen`:
// leaderboard bundles (docs/leaderboard.md).
#include <fmt/core.h>

#include "commands.h"
#include "moebench/decisions/bundle.h"
#include "moebench/error.h"
#include "moebench/suites/registry.h"

namespace moebench::cli {
namespace {

struct validate_flags {
  std::vector<std::string> suite_data;
  std::vector<std::string> public_keys;
  bool require_signature = false;
  int64_t reexecute = 20;
  uint64_t seed = 0;

  void add(CLI::App* cmd) {
    cmd->add_option("--suite-data", suite_data, "A suite data file this validator trusts (e.g. HumanEval.jsonl.gz); builtin sets are known");
    cmd->add_option("--public-key", public_keys, "Trusted signer: 64 hex digits or a .pub file (repeatable); implies a signature is required");
    cmd->add_flag("--require-signature", require_signature, "Reject unsigned bundles");
    cmd->add_option("--reexecute", reexecute, "Generations to re-execute in the sandbox (-1 = all)")->capture_default_str();
    cmd->add_option("--seed", seed, "Seed of the re-executed sample (named seed validate_reexecute)")->capture_default_str();
  }
  decisions::validate_options options() const {
    decisions::validate_options o;
    for (const auto& p : suite_data) o.suite_data.emplace_back(p);
    for (const auto& k : public_keys) o.trusted_keys.push_back(decisions::load_public_key(k));
    o.require_signature = require_signature;
    o.reexecute = reexecute;
    o.seed = seed;
    if (reexecute < -1) throw error("cli.bad_value", {"", 0, "--reexecute"}, "expected -1 (all) or a count >= 0");
    return o;
  }
};

void print_report(const decisions::validation_report& r) {
  fmt::print("{}: {}\n", r.bundle, r.valid ? "VALID" : "INVALID");
  for (const auto& c : r.checks) {
    fmt::print("  {:<4} {:<13} {}\n", c.ok ? "ok" : "FAIL", c.name, c.detail);
    for (const auto& p : c.problems) fmt::print("         - {}\n", p);
  }
  if (!r.signer.empty()) fmt::print("  signed by {}\n", r.signer);
}

}  // namespace

void add_bundle_commands(CLI::App& app, context& ctx) {
  {
    auto* cmd = app.add_subcommand("submit", "Pack a finished run into a leaderboard bundle (manifest of sha256, optional ed25519 signature)");
    struct opts {
      std::string run, out, sign_key;
    };
    auto o = std::make_shared<opts>();
    cmd->add_option("run", o->run, "Finished run directory")->required();
    cmd->add_option("-o,--output", o->out, "Bundle directory to create")->required();
    cmd->add_option("--sign-key", o->sign_key, "Secret key file (moebench keygen) to sign the manifest with");
    cmd->callback([o] {
      decisions::submit_options so;
      if (!o->sign_key.empty()) so.sign_key = o->sign_key;
      const auto s = decisions::write_bundle(o->run, o->out, so);
      fmt::print("bundle {}: {} files, {} samples, {} execution logs, {}\n", s.dir.string(), s.files, s.samples, s.logs,
                 s.public_key.empty() ? "unsigned" : "signed by " + s.public_key);
    });
  }
  {
    auto* cmd = app.add_subcommand("validate", "Check a bundle: manifest, signature, suite data, every metric recomputed, generations re-executed");
    struct opts {
      std::vector<std::string> bundles;
      bool json = false;
      validate_flags v;
    };
    auto o = std::make_shared<opts>();
    cmd->add_option("bundles", o->bundles, "Bundle directories")->required();
    cmd->add_flag("--json", o->json, "Print the reports as JSON");
    o->v.add(cmd);
    cmd->callback([o, &ctx] {
      const auto options = o->v.options();
      nlohmann::json all = nlohmann::json::array();
      bool valid = true;
      for (const auto& b : o->bundles) {
        const auto r = decisions::validate_bundle(b, moebench::suites::all(), options);
        valid = valid && r.valid;
        if (o->json) all.push_back(r);
        else print_report(r);
      }
      if (o->json) fmt::print("{}\n", all.dump(2));
      ctx.exit_code = valid ? exit_ok : exit_failure;
    });
  }
  {
    auto* cmd = app.add_subcommand("leaderboard", "Rank validated bundles: site/index.html and site/leaderboard.json");
    struct opts {
      std::vector<std::string> bundles;
      std::string site;
      validate_flags v;
    };
    auto o = std::make_shared<opts>();
    cmd->add_option("bundles", o->bundles, "Bundle directories")->required();
    cmd->add_option("-o,--output", o->site, "Site directory to write")->required();
    o->v.add(cmd);
    cmd->callback([o] {
      const auto options = o->v.options();
      std::vector<decisions::validation_report> reports;
      for (const auto& b : o->bundles) {
        reports.push_back(decisions::validate_bundle(b, moebench::suites::all(), options));
        if (!reports.back().valid) fmt::print(stderr, "moebench: {} is not valid and is left out:\n", b);
        for (const auto& p : reports.back().problems()) fmt::print(stderr, "  - {}\n", p);
      }
      const auto s = decisions::write_leaderboard(reports, o->site);
      fmt::print("leaderboard {}: {} bundles ranked, {} rejected\n", o->site, s.ranked, s.rejected);
    });
  }
  {
    auto* cmd = app.add_subcommand("keygen", "Create an ed25519 key pair for signing bundles (FILE and FILE.pub)");
    auto path = std::make_shared<std::string>();
    cmd->add_option("-o,--output", *path, "Secret key file to create (the public key goes to FILE.pub)")->required();
    cmd->callback([path] {
      const auto k = decisions::generate_signing_key();
      decisions::write_signing_key(*path, k);
      fmt::print("public key {} (in {}.pub); keep {} secret\n", k.public_hex, *path, *path);
    });
  }
}

}  // namespace moebench::cli
