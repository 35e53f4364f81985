#pragma once
// Leaderboard bundles (docs/leaderboard.md): `moebench submit` packs a finished run with a
// manifest of sha256 hashes and an optional ed25519 signature (libsodium); `moebench validate`
// re-checks everything a submission claims; `moebench leaderboard` ranks validated bundles.
//
// Layout of a bundle directory:
//   manifest.json   {schema_version, kind, run_id, created_utc, moebench, suites[], samples,
//                    files: {path: {sha256, bytes}}}
//   signature.json  optional: {algorithm: "ed25519", public_key, signature} over manifest.json
//   run/            run.json (settings, seeds, provenance), results.json, samples.jsonl (the
//                   journal: generations and verdicts; each execution record moved to logs/),
//                   the suite's own outputs
//   logs/NNNNNN.json  the execution log of journal line NNNNNN (1-based): exit status, signal,
//                   limits hit, times, stdout/stderr as the sandbox kept them
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moebench/results.h"
#include "moebench/suite_registry.h"

namespace moebench::decisions {

// An ed25519 key pair, hex encoded (secret 64 bytes: libsodium's seed + public key).
struct signing_key {
  std::string secret_hex;
  std::string public_hex;
};
signing_key generate_signing_key();
// Writes the secret key to `path` (mode 0600) and the public key to `path`.pub.
void write_signing_key(const std::filesystem::path& path, const signing_key& key);
// Reads a secret key file written by write_signing_key. Error "bundle.bad_key" naming the file.
signing_key load_signing_key(const std::filesystem::path& path);
// A public key given as 64 hex digits or as a file holding them. Error "bundle.bad_key".
std::string load_public_key(const std::string& hex_or_file);

struct submit_options {
  std::optional<std::filesystem::path> sign_key;  // secret key file: sign the manifest
};
struct submit_summary {
  std::filesystem::path dir;
  int64_t files = 0;
  int64_t samples = 0;
  int64_t logs = 0;
  std::string public_key;  // "" when unsigned
};
// Writes the bundle of the finished run in `run_dir` to `out` (which must not exist; written
// through a staging directory, so a bundle is complete or absent). Errors "bundle.*" naming
// the file: an unfinished run, a shard (merge it first), an existing output.
submit_summary write_bundle(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                            const submit_options& options);

struct validate_options {
  std::vector<std::filesystem::path> suite_data;  // the validator's copies of suite data files
  std::vector<std::string> trusted_keys;          // public keys (hex); empty = any signer
  bool require_signature = false;
  int64_t reexecute = 20;                         // generations to re-execute; -1 = all
  uint64_t seed = 0;                              // named seed "validate_reexecute" derives from it
};

// One check and what it found. Problems are precise sentences naming the file, the sample or
// the figure.
struct validation_check {
  std::string name;  // "manifest", "signature", "run", "suite data", "metrics", "logs", "re-execution"
  bool ok = true;
  std::string detail;                 // what was checked
  std::vector<std::string> problems;  // empty when ok
};

struct validation_report {
  std::string bundle;
  bool valid = false;
  std::vector<validation_check> checks;
  std::optional<run_result> result;  // the bundle's results.json when readable
  std::string signer;                // public key hex when signed and verified
  std::vector<std::string> reexecuted;  // sample keys re-executed
  std::vector<std::string> problems() const;  // every check's problems, in order
};
void to_json(nlohmann::json& j, const validation_report& r);

// Validates a bundle: the manifest (every file present with its hash, nothing unlisted), the
// signature (if present; required by `require_signature`; signer among `trusted_keys` when
// given), the run (config hash of its settings, run.json and results.json agree), the suite
// data (rebuilt from the suites it knows: builtin or `suite_data`, by content hash), every
// metric recomputed from the per-sample records through the suite's own aggregate, every
// sample's execution log present, and a seeded random sample of generations re-executed in the
// sandbox with their verdicts compared. Never throws for a bad bundle: problems are in the
// report.
validation_report validate_bundle(const std::filesystem::path& bundle, std::span<const suite_definition> suites,
                                  const validate_options& options);

// The leaderboard of validated bundles: site/index.html (ranked table, self-contained) and
// site/leaderboard.json; invalid bundles are listed apart with their problems, never ranked.
struct leaderboard_summary {
  int64_t ranked = 0;
  int64_t rejected = 0;
};
leaderboard_summary write_leaderboard(const std::vector<validation_report>& reports, const std::filesystem::path& site);

}  // namespace moebench::decisions
