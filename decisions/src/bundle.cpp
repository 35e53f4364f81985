#include "moebench/decisions/bundle.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/core.h>

#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/evaluation.h"
#include "moebench/executor.h"
#include "moebench/io.h"
#include "moebench/provenance.h"
#include "moebench/stats.h"
#include "moebench/suite.h"
#include "moebench/text.h"

namespace moebench::decisions {
namespace fs = std::filesystem;
namespace {

constexpr const char* bundle_kind = "moebench-bundle";
constexpr int64_t bundle_schema_version = 1;

void sodium_ready() { MOEBENCH_CHECK(sodium_init() >= 0, "libsodium failed to initialise"); }

std::string to_hex(const unsigned char* data, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view hex, std::size_t expected) {
  std::vector<unsigned char> out(expected);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 || len != expected ||
      end != hex.data() + hex.size())
    return std::nullopt;
  return out;
}

std::vector<std::string> files_under(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string log_name(int64_t line) { return fmt::format("logs/{:06d}.json", line); }

std::string dump_line(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// The first place two JSON values differ, as "path: a vs b"; "" when equal. Numbers compare
// with a relative tolerance of 1e-12 (values written and read back).
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& path) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    if (x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y))) return {};
    return fmt::format("{}: {} vs {}", path, a.dump(), b.dump());
  }
  if (a.type() != b.type()) return fmt::format("{}: {} vs {}", path, a.dump(), b.dump());
  if (a.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      const std::string sub = path + "." + k;
      if (!a.contains(k)) return fmt::format("{}: absent vs {}", sub, b[k].dump());
      if (!b.contains(k)) return fmt::format("{}: {} vs absent", sub, a[k].dump());
      if (auto d = first_difference(a[k], b[k], sub); !d.empty()) return d;
    }
    return {};
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return fmt::format("{}: {} items vs {}", path, a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto d = first_difference(a[i], b[i], fmt::format("{}[{}]", path, i)); !d.empty()) return d;
    return {};
  }
  return a == b ? std::string() : fmt::format("{}: {} vs {}", path, a.dump(), b.dump());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Keys

signing_key generate_signing_key() {
  sodium_ready();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  signing_key k{to_hex(sk, sizeof sk), to_hex(pk, sizeof pk)};
  sodium_memzero(sk, sizeof sk);
  return k;
}

void write_signing_key(const fs::path& path, const signing_key& key) {
  if (fs::exists(path)) throw error("bundle.bad_key", {path.string()}, "the key file exists; not overwriting a key");
  write_file_atomic(path, key.secret_hex + "\n");
  ::chmod(path.c_str(), 0600);
  write_file_atomic(path.string() + ".pub", key.public_hex + "\n");
}

signing_key load_signing_key(const fs::path& path) {
  sodium_ready();
  const std::string text(trim(read_file_bytes(path)));
  const auto sk = from_hex(text, crypto_sign_SECRETKEYBYTES);
  if (!sk) throw error("bundle.bad_key", {path.string()}, "expected an ed25519 secret key: 128 hex digits");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_ed25519_sk_to_pk(pk, sk->data());
  return {text, to_hex(pk, sizeof pk)};
}

std::string load_public_key(const std::string& hex_or_file) {
  sodium_ready();
  std::string text = hex_or_file;
  if (!from_hex(text, crypto_sign_PUBLICKEYBYTES)) {
    if (!fs::exists(hex_or_file))
      throw error("bundle.bad_key", {hex_or_file}, "expected an ed25519 public key (64 hex digits) or a file holding one");
    text = std::string(trim(read_file_bytes(hex_or_file)));
    if (!from_hex(text, crypto_sign_PUBLICKEYBYTES))
      throw error("bundle.bad_key", {hex_or_file}, "expected an ed25519 public key: 64 hex digits");
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Submit

submit_summary write_bundle(const fs::path& run_dir, const fs::path& out, const submit_options& options) {
  const run_result result = load_run_result(run_dir);
  if (result.shard)
    throw error("bundle.shard", {(run_dir / "results.json").string(), 0, "shard"},
                fmt::format("this run is shard {} of a run: merge the shards first (moebench merge)", to_string(*result.shard)));
  if (!fs::exists(run_dir / "run.json")) throw error("bundle.not_a_run", {(run_dir / "run.json").string()}, "no run.json");
  if (fs::exists(out)) throw error("bundle.exists", {out.string()}, "the output exists; a bundle is written to a new directory");
  std::optional<signing_key> key;
  if (options.sign_key) key = load_signing_key(*options.sign_key);

  const fs::path staging = out.string() + ".partial";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging / "run");
  fs::create_directories(staging / "logs");
  submit_summary summary;
  summary.dir = out;

  // The run's files as they are, the journal with its execution records moved to logs/.
  for (const auto& rel : files_under(run_dir)) {
    if (rel == "samples.jsonl") continue;
    fs::create_directories((staging / "run" / rel).parent_path());
    fs::copy_file(run_dir / rel, staging / "run" / rel);
  }
  std::string journal;
  if (fs::exists(run_dir / "samples.jsonl")) {
    for_each_jsonl(run_dir / "samples.jsonl", [&](const nlohmann::json& rec, int64_t line) {
      nlohmann::json r = rec;
      if (r.contains("score") && r["score"].is_object() && r["score"].contains("exec")) {
        const std::string name = log_name(line);
        write_file_atomic(staging / name, nlohmann::json{{"key", r.value("key", std::string())}, {"exec", r["score"]["exec"]}}.dump(2) + "\n");
        r["score"].erase("exec");
        r["score"]["log"] = name;
        ++summary.logs;
      }
      journal += dump_line(r) + "\n";
      ++summary.samples;
    });
  }
  write_file_atomic(staging / "run" / "samples.jsonl", journal);

  nlohmann::json files = nlohmann::json::object();
  for (const auto& rel : files_under(staging)) {
    const std::string bytes = read_file_bytes(staging / rel);
    files[rel] = {{"sha256", sha256_hex(bytes)}, {"bytes", bytes.size()}};
  }
  summary.files = static_cast<int64_t>(files.size());
  nlohmann::json suites = nlohmann::json::array();
  for (const auto& s : result.suites)
    suites.push_back({{"suite", s.suite}, {"source", s.source}, {"content_sha256", s.content_sha256}});
  const build_info b = current_build_info();
  const nlohmann::json manifest = {{"schema_version", bundle_schema_version},
                                   {"kind", bundle_kind},
                                   {"run_id", result.run_id},
                                   {"created_utc", utc_now_iso8601()},
                                   {"moebench", {{"version", b.version}, {"git_commit", b.git_commit}}},
                                   {"suites", suites},
                                   {"samples", summary.samples},
                                   {"files", files}};
  const std::string manifest_text = manifest.dump(2) + "\n";
  write_file_atomic(staging / "manifest.json", manifest_text);
  if (key) {
    sodium_ready();
    const auto sk = from_hex(key->secret_hex, crypto_sign_SECRETKEYBYTES);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(manifest_text.data()), manifest_text.size(),
                         sk->data());
    write_file_atomic(staging / "signature.json",
                      nlohmann::json{{"algorithm", "ed25519"}, {"public_key", key->public_hex},
                                     {"signature", to_hex(sig, sizeof sig)}, {"signed", "manifest.json"}}
                              .dump(2) + "\n");
    summary.public_key = key->public_hex;
  }
  fs::rename(staging, out, ec);
  if (ec) throw error("bundle.write", {out.string()}, "cannot create the bundle: " + ec.message());
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Validate

std::vector<std::string> validation_report::problems() const {
  std::vector<std::string> out;
  for (const auto& c : checks)
    for (const auto& p : c.problems) out.push_back(c.name + ": " + p);
  return out;
}

void to_json(nlohmann::json& j, const validation_report& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}, {"problems", c.problems}});
  j = {{"bundle", r.bundle}, {"valid", r.valid}, {"signer", r.signer}, {"reexecuted", r.reexecuted}, {"checks", checks}};
}

namespace {

struct validation_state {
  const fs::path& root;
  validation_report& report;
  validation_check& add(const std::string& name, const std::string& detail) {
    report.checks.push_back({name, true, detail, {}});
    return report.checks.back();
  }
};

void problem(validation_check& c, std::string p) {
  c.ok = false;
  c.problems.push_back(std::move(p));
}

std::optional<nlohmann::json> read_json(const fs::path& p, validation_check& c, const std::string& rel) {
  if (!fs::exists(p)) {
    problem(c, rel + " is missing");
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(read_file_bytes(p));
  } catch (const nlohmann::json::parse_error& e) {
    problem(c, fmt::format("{} is not JSON: {}", rel, e.what()));
    return std::nullopt;
  }
}

}  // namespace

validation_report validate_bundle(const fs::path& root, std::span<const suite_definition> suites,
                                  const validate_options& options) {
  sodium_ready();
  validation_report report;
  report.bundle = root.string();
  validation_state st{root, report};

  // 1. Manifest: every listed file present with its hash; nothing unlisted.
  auto& man = st.add("manifest", "every file's sha256 as manifest.json lists it");
  std::optional<nlohmann::json> manifest = read_json(root / "manifest.json", man, "manifest.json");
  std::string manifest_text;
  if (manifest) {
    manifest_text = read_file_bytes(root / "manifest.json");
    if (manifest->value("kind", std::string()) != bundle_kind || manifest->value("schema_version", int64_t{0}) != bundle_schema_version)
      problem(man, fmt::format("manifest.json is not a moebench bundle manifest of schema {}", bundle_schema_version));
    const auto files = manifest->value("files", nlohmann::json::object());
    std::set<std::string> listed;
    for (const auto& [rel, entry] : files.items()) {
      listed.insert(rel);
      const fs::path p = root / rel;
      if (rel.find("..") != std::string::npos || fs::path(rel).is_absolute()) {
        problem(man, rel + ": a path outside the bundle");
        continue;
      }
      if (!fs::exists(p)) {
        problem(man, rel + " is listed in the manifest but missing");
        continue;
      }
      const std::string got = sha256_hex(read_file_bytes(p));
      const std::string want = entry.value("sha256", std::string());
      if (got != want) problem(man, fmt::format("{}: sha256 {} but the manifest says {} (the file was changed)", rel, got.substr(0, 16), want.substr(0, 16)));
    }
    for (const auto& rel : files_under(root))
      if (rel != "manifest.json" && rel != "signature.json" && !listed.contains(rel))
        problem(man, rel + " is not listed in the manifest");
  }

  // 2. Signature.
  auto& sig = st.add("signature", "ed25519 over manifest.json");
  if (fs::exists(root / "signature.json")) {
    const auto sj = read_json(root / "signature.json", sig, "signature.json");
    if (sj && manifest) {
      const auto pk = from_hex(sj->value("public_key", std::string()), crypto_sign_PUBLICKEYBYTES);
      const auto sg = from_hex(sj->value("signature", std::string()), crypto_sign_BYTES);
      if (sj->value("algorithm", std::string()) != "ed25519" || !pk || !sg) {
        problem(sig, "signature.json: expected algorithm ed25519, a 64-hex-digit public_key and a 128-hex-digit signature");
      } else if (crypto_sign_verify_detached(sg->data(), reinterpret_cast<const unsigned char*>(manifest_text.data()),
                                             manifest_text.size(), pk->data()) != 0) {
        problem(sig, "signature.json: the ed25519 signature does not verify against manifest.json and public key " +
                         sj->value("public_key", std::string()).substr(0, 16) + "... (the manifest or the signature was changed)");
      } else {
        const std::string pkhex = sj->value("public_key", std::string());
        if (!options.trusted_keys.empty() &&
            std::find(options.trusted_keys.begin(), options.trusted_keys.end(), pkhex) == options.trusted_keys.end())
          problem(sig, "signed by key " + pkhex.substr(0, 16) + "..., which is not a trusted key (--public-key)");
        else
          report.signer = pkhex;
      }
    }
  } else if (options.require_signature || !options.trusted_keys.empty()) {
    problem(sig, "the bundle is not signed (no signature.json) and a signature is required");
  } else {
    sig.detail = "unsigned bundle (integrity from the manifest only)";
  }

  // 3. The run: settings, hashes, the results file.
  auto& run = st.add("run", "run.json and results.json agree; the config hash is the settings' hash");
  const auto run_json = read_json(root / "run" / "run.json", run, "run/run.json");
  const auto results_json = read_json(root / "run" / "results.json", run, "run/results.json");
  if (results_json) {
    try {
      report.result = results_json->get<run_result>();
    } catch (const std::exception& e) {
      problem(run, std::string("run/results.json: ") + e.what());
    }
  }
  if (report.result && run_json) {
    const auto& r = *report.result;
    if (config_hash(r.settings_effective) != r.config_hash)
      problem(run, "run/results.json: config_hash is not the sha256 of settings_effective (the settings were changed)");
    if (run_json->value("config_hash", std::string()) != r.config_hash)
      problem(run, "run/run.json and run/results.json name different config hashes");
    if (run_json->value("settings_effective", nlohmann::json()) != r.settings_effective)
      problem(run, "run/run.json and run/results.json hold different settings_effective");
    if (r.shard) problem(run, "the run is one shard of a run (merge the shards before submitting)");
    if (manifest && manifest->value("run_id", std::string()) != r.run_id)
      problem(run, "manifest.json names run " + manifest->value("run_id", std::string()) + ", results.json run " + r.run_id);
  }

  // 4. Records, with their execution logs joined back.
  auto& logs = st.add("logs", "every sample's execution log");
  std::vector<nlohmann::json> records;
  if (fs::exists(root / "run" / "samples.jsonl")) {
    try {
      for_each_jsonl(root / "run" / "samples.jsonl", [&](const nlohmann::json& rec, int64_t line) {
        nlohmann::json r = rec;
        const std::string key = r.value("key", fmt::format("line {}", line));
        if (r.contains("score") && r["score"].is_object() && !r.contains("type")) {
          auto& score = r["score"];
          if (score.contains("exec")) {
            // Fine: a log kept inline.
          } else if (!score.contains("log") || !score["log"].is_string()) {
            problem(logs, fmt::format("sample {} (run/samples.jsonl line {}) has no execution log", key, line));
          } else {
            const std::string rel = score["log"].get<std::string>();
            const fs::path p = root / rel;
            if (rel.find("..") != std::string::npos || !fs::exists(p)) {
              problem(logs, fmt::format("sample {} (run/samples.jsonl line {}): its execution log {} is missing", key, line, rel));
            } else {
              try {
                const auto lj = nlohmann::json::parse(read_file_bytes(p));
                if (lj.value("key", std::string()) != key)
                  problem(logs, fmt::format("{} is the log of sample {}, not of {}", rel, lj.value("key", std::string()), key));
                score["exec"] = lj.value("exec", nlohmann::json());
                score.erase("log");
              } catch (const nlohmann::json::parse_error& e) {
                problem(logs, fmt::format("{} is not JSON: {}", rel, e.what()));
              }
            }
          }
        }
        records.push_back(std::move(r));
      });
    } catch (const error& e) {
      problem(logs, e.what());
    }
  } else {
    problem(logs, "run/samples.jsonl is missing");
  }
  logs.detail = fmt::format("{} journal records", records.size());

  // 5. Suite data and metrics, through the suite's own code.
  auto& data = st.add("suite data", "each suite's content hash is a suite this moebench knows");
  auto& metrics = st.add("metrics", "every metric recomputed from the per-sample records by the suite's aggregate");
  auto& reexec = st.add("re-execution", "a seeded random sample of generations re-executed in the sandbox");
  std::optional<rebuilt_suite> rebuilt;
  if (report.result && run_json) {
    const std::string suite_name = run_json->value("settings_requested", nlohmann::json::object()).value("suite", std::string());
    const suite_definition* def = find_suite(suites, suite_name);
    if (def == nullptr) {
      problem(data, "run/run.json names suite '" + suite_name + "', which this moebench does not have");
    } else if (!def->rebuild) {
      problem(data, "suite " + suite_name + " cannot be rebuilt from a run (its metrics cannot be recomputed): not a leaderboard suite");
    } else {
      std::map<std::string, fs::path> known;
      for (const auto& p : options.suite_data) {
        known.emplace(sha256_hex(read_file(p)), p);  // decompressed, as suites hash their data
        known.emplace(sha256_hex(read_file_bytes(p)), p);
      }
      try {
        rebuilt = def->rebuild(*run_json, [&](const std::string& sha) {
          const auto it = known.find(sha);
          return it == known.end() ? fs::path() : it->second;
        });
      } catch (const error& e) {
        problem(data, e.message());
      }
    }
    if (rebuilt) {
      const auto& r = *report.result;
      for (const auto& s : r.suites)
        if (s.content_sha256 != rebuilt->suite->content_sha256())
          problem(data, fmt::format("{}: content hash {} in results.json, {} in the suite this moebench knows", s.suite,
                                    s.content_sha256.substr(0, 16), rebuilt->suite->content_sha256().substr(0, 16)));
      if (manifest)
        for (const auto& ms : manifest->value("suites", nlohmann::json::array()))
          if (ms.value("content_sha256", std::string()) != rebuilt->suite->content_sha256())
            problem(data, "manifest.json names suite data " + ms.value("content_sha256", std::string()).substr(0, 16) +
                              " that is not the run's");
      data.detail = fmt::format("{} ({}, sha256 {})", rebuilt->suite->name(), rebuilt->suite->source(),
                                rebuilt->suite->content_sha256().substr(0, 16));

      // Recompute.
      const auto planned = r.settings_effective.find("planned_samples");
      if (planned != r.settings_effective.end() && planned->is_number_integer() &&
          planned->get<int64_t>() != static_cast<int64_t>(records.size()))
        problem(metrics, fmt::format("the run planned {} samples but the journal holds {}", planned->get<int64_t>(), records.size()));
      try {
        suite_result again = rebuilt->suite->aggregate(records, r.seeds);
        again.token_sources = count_token_sources(records);
        const suite_result* claimed = nullptr;
        for (const auto& s : r.suites)
          if (s.suite == again.suite) claimed = &s;
        if (claimed == nullptr) {
          problem(metrics, "results.json holds no " + again.suite + " figures");
        } else {
          for (const auto& m : again.metrics) {
            const auto it = std::find_if(claimed->metrics.begin(), claimed->metrics.end(),
                                         [&](const metric& x) { return x.name == m.name; });
            if (it == claimed->metrics.end()) {
              problem(metrics, fmt::format("results.json lacks {} {}, which the records give ({})", again.suite, m.name, m.value));
              continue;
            }
            if (auto d = first_difference(nlohmann::json(*it), nlohmann::json(m), again.suite + " " + m.name); !d.empty())
              problem(metrics, fmt::format("results.json says {} = {}, the per-sample records give {} ({})", m.name,
                                           it->value, m.value, d));
          }
          nlohmann::json a = *claimed, b = again;
          a.erase("metrics");
          b.erase("metrics");
          if (auto d = first_difference(a, b, "results.json " + again.suite); !d.empty())
            problem(metrics, "the per-sample records disagree with " + d);
        }
        metrics.detail = fmt::format("{} metrics from {} records", again.metrics.size(), records.size());
      } catch (const std::exception& e) {
        problem(metrics, std::string("the suite could not aggregate the records: ") + e.what());
      }

      // Re-execute a seeded sample of generations.
      std::vector<std::size_t> candidates;
      for (std::size_t i = 0; i < records.size(); ++i)
        if (records[i].contains("score") && records[i]["score"].is_object() && records[i]["score"].contains("verdict") &&
            records[i].contains("completion"))
          candidates.push_back(i);
      rng pick(derive_seed(options.seed, "validate_reexecute"));
      for (std::size_t i = candidates.size(); i > 1; --i) std::swap(candidates[i - 1], candidates[pick.bounded(i)]);
      const std::size_t k = options.reexecute < 0 ? candidates.size()
                                                  : std::min(candidates.size(), static_cast<std::size_t>(options.reexecute));
      std::map<std::string, const task*> tasks;
      for (const auto& t : rebuilt->suite->tasks()) tasks.emplace(t.id, &t);
      for (std::size_t j = 0; j < k; ++j) {
        const auto& rec = records[candidates[j]];
        const std::string key = rec.value("key", std::string());
        const auto t = tasks.find(rec.value("task_id", std::string()));
        if (t == tasks.end()) {
          problem(reexec, "sample " + key + " names task " + rec.value("task_id", std::string()) + ", which the suite does not have");
          continue;
        }
        completion c;
        c.text = rec.value("completion", std::string());
        const auto g = rec.value("generation", nlohmann::json::object());
        try {
          c.status = outcome_from_string(g.value("outcome", std::string("ok")));
          c.finish = finish_reason_from_string(g.value("finish_reason", std::string("stop")));
        } catch (const error& e) {
          problem(reexec, "sample " + key + ": " + e.message());
          continue;
        }
        c.error = g.value("error", std::string());
        const nlohmann::json score = rebuilt->suite->score(*t->second, c);
        report.reexecuted.push_back(key);
        const std::string was = rec["score"].value("verdict", std::string());
        const std::string now = score.value("verdict", std::string());
        if (was != now) {
          std::string why = score.contains("exec") ? score["exec"].value("detail", std::string()) : std::string();
          if (why.size() > 160) why = why.substr(why.size() - 160);
          problem(reexec, fmt::format("sample {}: the bundle's verdict is {}, re-execution gives {}{}", key, was, now,
                                      why.empty() ? "" : " (" + std::string(trim(why)) + ")"));
        }
      }
      reexec.detail = fmt::format("{} of {} generations re-executed (seed {})", report.reexecuted.size(), candidates.size(),
                                  options.seed);
    }
  }
  if (!rebuilt) {
    if (metrics.problems.empty()) problem(metrics, "not recomputed: the suite could not be rebuilt (see suite data)");
    if (reexec.problems.empty()) problem(reexec, "not re-executed: the suite could not be rebuilt (see suite data)");
  }

  report.valid = std::all_of(report.checks.begin(), report.checks.end(), [](const auto& c) { return c.ok; });
  return report;
}

// ---------------------------------------------------------------------------------------------
// Leaderboard

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string figure(double v, const std::string& unit) {
  if (unit == "fraction") return fmt::format("{:.2f}%", 100 * v);
  return fmt::format("{:.4g}", v);
}

}  // namespace

leaderboard_summary write_leaderboard(const std::vector<validation_report>& reports, const fs::path& site) {
  struct row {
    const validation_report* report;
    const suite_result* suite;
    const metric* m;
  };
  std::map<std::string, std::vector<row>> boards;  // "suite metric" -> rows
  nlohmann::json rejected = nlohmann::json::array();
  leaderboard_summary summary;
  for (const auto& r : reports) {
    if (!r.valid || !r.result) {
      rejected.push_back({{"bundle", r.bundle}, {"problems", r.problems()}});
      ++summary.rejected;
      continue;
    }
    for (const auto& s : r.result->suites)
      for (const auto& m : s.metrics)
        if (m.kind == figure_kind::measured) boards[s.suite + " " + m.name].push_back({&r, &s, &m});
    ++summary.ranked;
  }
  nlohmann::json boards_json = nlohmann::json::array();
  std::string body;
  for (auto& [name, rows] : boards) {
    const bool higher = rows.front().m->unit == "fraction" || rows.front().m->unit.ends_with("/s");
    std::stable_sort(rows.begin(), rows.end(), [&](const row& a, const row& b) {
      return higher ? a.m->value > b.m->value : a.m->value < b.m->value;
    });
    nlohmann::json entries = nlohmann::json::array();
    body += fmt::format("<h2>{}</h2>\n<table>\n<tr><th>rank</th><th>model</th><th>{}</th><th>95% CI</th><th>n</th>"
                        "<th>hardware</th><th>cost</th><th>samples/s</th><th>signed by</th><th>run</th></tr>\n",
                        html_escape(name), html_escape(rows.front().m->name));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& rr = *rows[i].report->result;
      const metric& m = *rows[i].m;
      std::optional<confidence_interval> ci;
      if (!m.cis.empty()) ci = m.cis.front();
      const std::string model = rr.model.value("name", rr.model.value("spec", std::string("?")));
      const std::string hardware =
          fmt::format("{}, {} cores{}", rr.host.cpu_model, rr.host.logical_cores, rr.host.gpu.empty() ? "" : ", " + rr.host.gpu);
      // Cost columns: any price figure the run holds (throughput/cost with a price), else none.
      std::string cost = "-";
      nlohmann::json cost_json = nlohmann::json::object();
      for (const auto& s : rr.suites)
        for (const auto& x : s.metrics)
          if (x.unit.starts_with("usd/")) {
            cost_json[x.name] = x.value;
            if (cost == "-") cost = fmt::format("{} = {:.4g} {}", x.name, x.value, x.unit);
          }
      const double sps = rr.execution.samples_per_s;
      body += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3g}</td>"
                          "<td>{}</td><td>{}</td></tr>\n",
                          i + 1, html_escape(model), figure(m.value, m.unit),
                          ci ? fmt::format("[{}, {}] ({})", figure(ci->lo, m.unit), figure(ci->hi, m.unit), html_escape(ci->method)) : "-",
                          m.n, html_escape(hardware), html_escape(cost), sps,
                          rows[i].report->signer.empty() ? "unsigned" : html_escape(rows[i].report->signer.substr(0, 16)) + "...",
                          html_escape(rr.run_id));
      nlohmann::json e = {{"rank", i + 1},
                          {"model", model},
                          {"model_spec", rr.model.value("spec", std::string())},
                          {"value", m.value},
                          {"unit", m.unit},
                          {"n", m.n},
                          {"hardware", {{"cpu_model", rr.host.cpu_model}, {"logical_cores", rr.host.logical_cores},
                                        {"memory_bytes", rr.host.memory_bytes}, {"gpu", rr.host.gpu}}},
                          {"cost", cost_json},
                          {"samples_per_s", sps},
                          {"signer", rows[i].report->signer},
                          {"run_id", rr.run_id},
                          {"bundle", rows[i].report->bundle},
                          {"suite_sha256", rows[i].suite->content_sha256}};
      e["ci"] = ci ? nlohmann::json{{"lo", ci->lo}, {"hi", ci->hi}, {"level", ci->level}, {"method", ci->method}}
                   : nlohmann::json(nullptr);
      entries.push_back(std::move(e));
    }
    body += "</table>\n";
    boards_json.push_back({{"board", name}, {"higher_is_better", higher}, {"entries", entries}});
  }
  if (!rejected.empty()) {
    body += "<h2>Rejected bundles</h2>\n<ul>\n";
    for (const auto& r : rejected) {
      body += "<li>" + html_escape(r["bundle"].get<std::string>()) + "<ul>";
      for (const auto& p : r["problems"]) body += "<li>" + html_escape(p.get<std::string>()) + "</li>";
      body += "</ul></li>\n";
    }
    body += "</ul>\n";
  }
  const std::string generated = utc_now_iso8601();
  const std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>moebench leaderboard</title>\n"
      "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}</style></head><body>\n"
      "<h1>moebench leaderboard</h1>\n<p>Validated bundles only: manifest and signature checked, every metric "
      "recomputed from the per-sample records, a sample of generations re-executed in the sandbox. Generated " +
      generated + ".</p>\n" + body + "</body></html>\n";
  fs::create_directories(site);
  write_file_atomic(site / "index.html", html);
  write_file_atomic(site / "leaderboard.json",
                    nlohmann::json{{"generated_utc", generated}, {"boards", boards_json}, {"rejected", rejected}}.dump(2) + "\n");
  return summary;
}

}  // namespace moebench::decisions
