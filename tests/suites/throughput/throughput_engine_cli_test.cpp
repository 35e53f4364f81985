// The throughput and cost suites end to end on the in-process engine: a synthetic GGUF, real
// processes, real files, real kills. Figures are checked for presence and for consistency with
// each other, the model file and hand arithmetic, never for speed.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "moebench/io.h"
#include "test_util.h"

namespace moebench {
namespace {

using testing::cli_result;
using testing::run_cli;
using testing::slurp;
using testing::temp_dir;
namespace fs = std::filesystem;

const nlohmann::json* find_metric(const nlohmann::json& suite, const std::string& name) {
  for (const auto& m : suite.at("metrics"))
    if (m.at("name") == name) return &m;
  return nullptr;
}

double value(const nlohmann::json& suite, const std::string& name) {
  const auto* m = find_metric(suite, name);
  EXPECT_NE(m, nullptr) << name << " missing from " << suite.value("source", "");
  return m ? m->at("value").get<double>() : NAN;
}

std::vector<nlohmann::json> journal_of(const fs::path& run) {
  std::vector<nlohmann::json> out;
  for_each_jsonl(run / "samples.jsonl", [&](const nlohmann::json& j, int64_t) { out.push_back(j); });
  return out;
}

std::vector<nlohmann::json> queries_of(const fs::path& run, const std::string& level) {
  std::vector<nlohmann::json> out;
  for (const auto& j : journal_of(run))
    if (j.at("type") == "query" && j.at("level") == level) out.push_back(j);
  return out;
}

// Every figure the issue asks for, present and consistent, in one level of a gguf: run with
// `input` prompt tokens and `output` generated tokens per query (throughput runs ask the runner
// to ignore EOS, so every query reaches its planned length) and an SLO; `queries` are the
// level's journal records.
void expect_complete_level(const nlohmann::json& s, const nlohmann::json& model_details, int64_t input,
                           int64_t output, const std::vector<nlohmann::json>& queries) {
  SCOPED_TRACE(s.value("source", ""));
  ASSERT_FALSE(queries.empty());
  double out_sum = 0, steps = 0, context_sum = 0;
  for (const auto& q : queries) {
    EXPECT_EQ(q.at("input_tokens"), input);
    EXPECT_EQ(q.at("output_tokens"), output);
    const auto o = q.at("output_tokens").get<double>();
    out_sum += o;
    if (o > 1) {
      steps += o - 1;
      context_sum += (o - 1) * static_cast<double>(input) + (o - 1) * o / 2;
    }
  }
  ASSERT_GT(steps, 0);
  EXPECT_EQ(s.at("suite"), "throughput");
  for (const char* name : {"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"}) {
    const auto* m = find_metric(s, name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->at("kind"), "measured");
    const auto& d = m->at("distribution");
    for (const char* p : {"mean", "p50", "p90", "p99"}) ASSERT_TRUE(d.contains(p)) << name << " " << p;
    EXPECT_GT(d.at("p50").get<double>(), 0) << name;
    EXPECT_LE(d.at("p50").get<double>(), d.at("p90").get<double>()) << name;
    EXPECT_LE(d.at("p90").get<double>(), d.at("p99").get<double>()) << name;
  }
  const double ok = static_cast<double>(s.at("verdicts").at("ok").get<int64_t>());
  const double dur = value(s, "duration_s");
  ASSERT_GT(dur, 0);
  // The engine reports prompt tokens and the tokenizer-backed synthesiser makes them exact.
  EXPECT_EQ(s.at("per_task").at("input_tokens_source"), "runner");
  EXPECT_NEAR(value(s, "input_tok_s"), ok * static_cast<double>(input) / dur, 1e-6 * value(s, "input_tok_s"));
  EXPECT_NEAR(value(s, "output_tok_s"), out_sum / dur, 1e-6 * value(s, "output_tok_s"));
  EXPECT_NEAR(value(s, "total_tok_s"), value(s, "input_tok_s") + value(s, "output_tok_s"), 1e-6 * value(s, "total_tok_s"));
  const double attainment = value(s, "slo_attainment");
  EXPECT_GE(attainment, 0);
  EXPECT_LE(attainment, 1);
  EXPECT_NEAR(value(s, "goodput_req_s"), attainment * value(s, "request_s"), 1e-9 * value(s, "request_s") + 1e-12);
  ASSERT_FALSE(s.at("validity").is_null());
  EXPECT_TRUE(s["validity"].at("valid").get<bool>()) << s["validity"].dump();
  // The per-stream decode rate: decoded tokens over decode time, from the journaled times.
  double decode_s = 0;
  for (const auto& q : queries)
    if (q.at("output_tokens").get<int64_t>() > 1)
      decode_s += static_cast<double>(q.at("complete_ns").get<int64_t>() - q.at("first_chunk_ns").get<int64_t>()) / 1e9;
  EXPECT_NEAR(value(s, "decode_tok_s_per_stream"), steps / decode_s, 1e-6 * value(s, "decode_tok_s_per_stream"));
  // The calibration: weights from the engine's model facts, KV of qwen3moe-mini by hand
  // (2 layers x 2 KV heads x 64 x 2 (K and V) = 512 values x 4 bytes of the engine's f32
  // cache), context in + j for decoded token j, averaged over the decoded tokens.
  const auto& c = s.at("per_task").at("calibration");
  EXPECT_EQ(c.at("kind"), "measured");
  EXPECT_EQ(c.at("weight_bytes_per_token").get<double>(), model_details.at("active_weight_bytes_per_token").get<double>());
  EXPECT_EQ(c.at("kv_bytes_per_context_token").get<double>(), 2048);
  EXPECT_NEAR(c.at("mean_context_tokens").get<double>(), context_sum / steps, 1e-9);
  const double bytes = c.at("weight_bytes_per_token").get<double>() + 2048 * c.at("mean_context_tokens").get<double>();
  EXPECT_DOUBLE_EQ(value(s, "decode_bytes_per_token"), bytes);
  EXPECT_NEAR(value(s, "decode_bandwidth_gbs"), bytes * value(s, "decode_tok_s_per_stream") / 1e9, 1e-9);
  EXPECT_NEAR(value(s, "bandwidth_roofline_fraction"), value(s, "decode_bandwidth_gbs") / c.at("memory_bw_gbs").get<double>(), 1e-12);
  EXPECT_EQ(c.at("memory_bw_flag"), "measured");
}

// One synthetic model and the runs several tests read, made once.
class engine_runs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new temp_dir();
    model_ = (*dir_ / "m.gguf").string();
    const cli_result synth = run_cli({"model", "synth", "--preset", "qwen3moe-mini", "-o", model_}, dir_->path());
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<std::string> base(const std::string& id, const std::string& scenario) {
    return {"run", "--suite", "throughput", "--model", "gguf:" + model_, "--target", "cpu", "--scenario", scenario,
            "--input-len", "16", "--output-len", "8", "--slo", "ttft=60000ms,tpot=60000ms", "--min-queries", "4", "--queries", "4", "--seed", "3", "--out", (*dir_ / "runs").string(), "--run-id", id};
  }
  static fs::path run(const std::string& id, const std::string& scenario, std::vector<std::string> extra = {}) {
    auto args = base(id, scenario);
    if (std::find(extra.begin(), extra.end(), "--min-duration-s") == extra.end())
      extra.insert(extra.end(), {"--min-duration-s", "0.001"});
    args.insert(args.end(), extra.begin(), extra.end());
    const cli_result r = run_cli(args, dir_->path());
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    return *dir_ / "runs" / id;
  }
  static temp_dir* dir_;
  static std::string model_;
};
temp_dir* engine_runs::dir_ = nullptr;
std::string engine_runs::model_;

TEST_F(engine_runs, server_at_rate_2_puts_every_metric_into_results_json) {
  const fs::path dir = run("server", "server", {"--rate", "2"});
  const auto results = nlohmann::json::parse(slurp(dir / "results.json"));
  ASSERT_EQ(results.at("suites").size(), 1u);
  const auto& s = results["suites"][0];
  expect_complete_level(s, results.at("model").at("details"), 16, 8, queries_of(dir, "server"));
  EXPECT_EQ(s.at("per_task").at("rate_per_s"), 2.0);
  // Poisson arrivals at 2/s: queue delay is measured from the schedule, and the run lasts at
  // least until the last scheduled arrival.
  ASSERT_NE(find_metric(s, "queue_delay_ms"), nullptr);
  const auto records = journal_of(dir);
  ASSERT_EQ(records.size(), 5u);  // four queries and the level record
  int64_t last_scheduled = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(records[i].at("type"), "query");
    EXPECT_GE(records[i].at("issued_ns").get<int64_t>(), records[i].at("scheduled_ns").get<int64_t>());
    last_scheduled = std::max(last_scheduled, records[i].at("scheduled_ns").get<int64_t>());
  }
  EXPECT_GE(value(s, "duration_s"), static_cast<double>(last_scheduled) / 1e9);
  EXPECT_EQ(records[4].at("type"), "level");
  EXPECT_EQ(records[4].at("result"), s);  // the level record is the result, journaled as produced
  EXPECT_EQ(results.at("execution").at("invocations"), 1);
}

TEST_F(engine_runs, sweep_records_every_point_of_the_curve_with_every_metric) {
  const fs::path dir = run("sweep", "sweep", {"--max-concurrency", "4"});
  const auto results = nlohmann::json::parse(slurp(dir / "results.json"));
  const auto& suites = results.at("suites");
  ASSERT_GE(suites.size(), 2u);  // the first level never saturates
  ASSERT_LE(suites.size(), 3u);  // 1, 2, 4
  double best = 0;
  for (std::size_t i = 0; i < suites.size(); ++i) {
    const auto& s = suites[i];
    expect_complete_level(s, results.at("model").at("details"), 16, 8,
                          queries_of(dir, "concurrency=" + std::to_string(int64_t{1} << i)));
    EXPECT_EQ(s.at("per_task").at("concurrency"), int64_t{1} << i);
    const double v = value(s, "output_tok_s");
    const bool saturated = s.at("per_task").at("saturated").get<bool>();
    EXPECT_EQ(saturated, i > 0 && v < best * 1.05) << i;
    if (i + 1 < suites.size()) {
      EXPECT_FALSE(saturated) << "continued past a saturated level " << i;
    } else if (suites.size() < 3) {
      EXPECT_TRUE(saturated) << "stopped without saturating";
    }
    best = std::max(best, v);
  }
  // One journal record per query and one per level, in level order.
  std::vector<std::string> levels;
  int64_t queries = 0;
  for (const auto& j : journal_of(dir)) {
    if (j.at("type") == "level") levels.push_back(j.at("level").get<std::string>());
    if (j.at("type") == "query") ++queries;
  }
  ASSERT_EQ(levels.size(), suites.size());
  EXPECT_EQ(levels[0], "concurrency=1");
  EXPECT_EQ(queries, static_cast<int64_t>(4 * suites.size()));
}

TEST_F(engine_runs, an_unmet_minimum_is_invalid_and_says_why) {
  const fs::path dir = run("invalid", "single-stream", {"--min-duration-s", "3600"});
  const auto results = nlohmann::json::parse(slurp(dir / "results.json"));
  const auto& v = results["suites"][0].at("validity");
  EXPECT_FALSE(v.at("valid").get<bool>());
  ASSERT_EQ(v.at("reasons").size(), 1u);
  EXPECT_NE(v["reasons"][0].get<std::string>().find("below the minimum 3600.000 s"), std::string::npos);
  // An INVALID run cannot calibrate a projection.
  const cli_result c = run_cli({"run", "--suite", "cost", "--target", "h100", "--model-config", "deepseek-v3",
                                "--calibrate-from", dir.string(), "--out", (*dir_ / "cost").string()},
                               dir_->path());
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("INVALID"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("calibrate.no_measurement"), std::string::npos) << c.err;
}

// Rewrites a finished run's measured fraction, to check the cost arithmetic by hand.
fs::path with_fraction(const fs::path& run, const fs::path& copy, double fraction) {
  fs::create_directories(copy);
  fs::copy(run, copy, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  auto results = nlohmann::json::parse(slurp(copy / "results.json"));
  auto& s = results["suites"][0];
  s["per_task"]["calibration"]["bandwidth_roofline_fraction"] = fraction;
  for (auto& m : s["metrics"])
    if (m["name"] == "bandwidth_roofline_fraction") m["value"] = fraction;
  write_file_atomic(copy / "results.json", results.dump(2));
  return copy;
}

TEST_F(engine_runs, cost_calibrated_from_a_run_scales_the_memory_roof_and_names_its_source) {
  const fs::path measured = run("calib", "single-stream");
  const fs::path calib = with_fraction(measured, *dir_ / "calib-quarter", 0.25);
  const cli_result r = run_cli({"run", "--suite", "cost", "--target", "h200:8,cpu", "--model-config", "deepseek-v3",
                                "--batch", "1", "--context", "4096", "--calibrate-from", calib.string(), "--price",
                                "cpu=0.5", "--out", (*dir_ / "cost").string(), "--run-id", "calibrated"},
                               dir_->path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cli_result p = run_cli({"targets", "project", "--model-config", "deepseek-v3", "--target", "h200", "--devices",
                                "8", "--batch", "1", "--context", "4096", "--json"},
                               dir_->path());
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto proj = nlohmann::json::parse(p.out);
  ASSERT_EQ(proj.at("decode").at("bound"), "memory");
  const auto results = nlohmann::json::parse(slurp(*dir_ / "cost/calibrated/results.json"));
  const auto& suites = results.at("suites");
  ASSERT_EQ(suites.size(), 3u);  // h200 and cpu modelled, then the measured row
  // Memory-bound decode at a quarter of the bandwidth roof: a quarter of the tokens.
  EXPECT_NEAR(value(suites[0], "decode_tok_s"), proj.at("decode").at("tok_s").get<double>() * 0.25, 1e-9);
  const auto& cal = results.at("settings_effective").at("calibration");
  EXPECT_EQ(cal.at("kind"), "measured");
  EXPECT_EQ(cal.at("bandwidth_efficiency"), 0.25);
  EXPECT_EQ(cal.at("run_id"), "calib");
  EXPECT_EQ(cal.at("metric"), "bandwidth_roofline_fraction");
  const std::string source = suites[0].at("per_task").at("projection").at("calibration").at("source");
  for (const char* needle : {"measured: run calib", "target cpu-", "model qwen3moe-mini", "gguf:",
                             "metric bandwidth_roofline_fraction = 0.2500", "compute roof uncalibrated"})
    EXPECT_NE(source.find(needle), std::string::npos) << needle << " in " << source;
  for (const auto& m : suites[0].at("metrics")) EXPECT_EQ(m.at("kind"), "modelled");
  // The measured row: the run's own figures, labelled measured, charged at --price cpu.
  const auto& row = suites[2];
  EXPECT_EQ(row.at("per_task").at("kind"), "measured");
  EXPECT_EQ(row.at("per_task").at("run_id"), "calib");
  const auto original = nlohmann::json::parse(slurp(measured / "results.json"))["suites"][0];
  EXPECT_EQ(value(row, "output_tok_s"), value(original, "output_tok_s"));
  EXPECT_NEAR(value(row, "usd_per_mtok_output[user]"), 0.5 / (value(original, "output_tok_s") * 3600 / 1e6), 1e-9);
  for (const auto& m : row.at("metrics")) EXPECT_EQ(m.at("kind"), "measured");
  EXPECT_NE(r.out.find("measured"), std::string::npos);
  EXPECT_NE(r.out.find("(measured: run calib (single-stream), target cpu-"), std::string::npos) << r.out;
  EXPECT_NE(suites[0].at("source").get<std::string>().find("calibrated by run calib"), std::string::npos);

  // A fraction above the roof (a model resident in the caches) and a run without a calibration
  // are refused with the reason.
  const fs::path over = with_fraction(measured, *dir_ / "calib-over", 1.5);
  const cli_result bad = run_cli({"run", "--suite", "cost", "--target", "h100", "--model-config", "deepseek-v3",
                                  "--calibrate-from", over.string(), "--out", (*dir_ / "cost").string()},
                                 dir_->path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("calibrate.out_of_range"), std::string::npos) << bad.err;
  const cli_result both = run_cli({"run", "--suite", "cost", "--target", "h100", "--model-config", "deepseek-v3",
                                   "--calibrate-from", calib.string(), "--efficiency", "0.5", "--efficiency-source",
                                   "x", "--out", (*dir_ / "cost").string()},
                                  dir_->path());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--calibrate-from"), std::string::npos) << both.err;
}

TEST_F(engine_runs, the_acceptance_cost_command_labels_modelled_rows_beside_the_cpu) {
  const cli_result r = run_cli({"run", "--suite", "cost", "--target", "h100,h200,ascend-910c,cpu", "--model-config",
                                "deepseek-v3", "--out", (*dir_ / "cost").string(), "--run-id", "acceptance"},
                               dir_->path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(*dir_ / "cost/acceptance/results.json"));
  const auto& suites = results.at("suites");
  ASSERT_EQ(suites.size(), 4u);
  for (const auto& s : suites) {
    EXPECT_EQ(s.at("per_task").at("kind"), "modelled");
    EXPECT_GT(value(s, "decode_tok_s"), 0);
  }
  EXPECT_TRUE(suites[3].at("per_task").at("target").get<std::string>().starts_with("cpu-"));
  EXPECT_NE(suites[3].at("source").get<std::string>().find("modelled from measured bandwidth"), std::string::npos);
  EXPECT_EQ(results.at("settings_effective").at("calibration").at("kind"), "none");
  EXPECT_NE(r.out.find("uncalibrated: roofline upper bound"), std::string::npos) << r.out;
}

TEST_F(engine_runs, cost_takes_its_model_config_from_a_gguf) {
  const cli_result r = run_cli({"run", "--suite", "cost", "--target", "h100", "--model-config", "gguf:" + model_,
                                "--batch", "1", "--context", "16", "--out", (*dir_ / "cost").string(), "--run-id",
                                "from-gguf"},
                               dir_->path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto results = nlohmann::json::parse(slurp(*dir_ / "cost/from-gguf/results.json"));
  const auto& cfg = results.at("settings_effective").at("model_config");
  EXPECT_EQ(cfg.at("id"), "gguf:m.gguf");
  EXPECT_EQ(cfg.at("attention"), "gqa");
  EXPECT_EQ(cfg.at("figures").at("total_params").at("value"), 2233856);
  EXPECT_EQ(cfg.at("figures").at("total_params").at("flag"), "model_file");
  EXPECT_EQ(results["suites"][0].at("per_task").at("projection").at("weight_bytes"), 2233856.0 * 4);
}

// --- resume after SIGKILL ------------------------------------------------------------------

pid_t spawn_cli(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "a", stderr)) ::_exit(127);
    std::vector<char*> argv;
    std::string bin = testing::moebench_bin();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits until `pred` holds of the journal's text (or 60 s), then kills the process.
template <class Pred>
void kill_when(pid_t pid, const fs::path& journal, Pred pred) {
  for (int waited = 0; waited < 60000; waited += 2) {
    std::error_code ec;
    if (pred(fs::exists(journal, ec) ? slurp(journal) : std::string())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the run finished before the kill";
}

int64_t count_of(const std::string& text, const std::string& needle) {
  int64_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A fake runner whose throughput doubles with concurrency up to 8 slots, slow enough that a
// kill lands inside the second sweep point.
std::vector<std::string> sweep_args(const fs::path& out, const std::string& id) {
  return {"run", "--suite", "throughput", "--model", "fake:ttft_ms=10,tpot_ms=10,slots=8", "--target", "cpu",
          "--threads", "1", "--scenario", "sweep", "--queries", "8", "--min-queries", "1", "--min-duration-s", "0",
          "--max-concurrency", "8", "--input-len", "8", "--output-len", "10", "--out", out.string(), "--run-id", id};
}

TEST(throughput_resume, a_killed_sweep_keeps_finished_points_and_reruns_the_interrupted_one) {
  temp_dir dir;
  const fs::path run = dir / "runs/killed";
  const pid_t pid = spawn_cli(sweep_args(dir / "runs", "killed"), dir / "killed.log");
  // Killed once the first point is journaled: the second is under way (8 queries of ~110 ms
  // at concurrency 2 take ~440 ms).
  kill_when(pid, run / "samples.jsonl", [](const std::string& t) { return count_of(t, "\"type\":\"level\"") >= 1; });
  ASSERT_FALSE(fs::exists(run / "results.json"));
  const std::string before = slurp(run / "samples.jsonl");
  ASSERT_EQ(count_of(before, "\"type\":\"level\""), 1) << before;
  nlohmann::json first_point;
  for_each_jsonl(run / "samples.jsonl", [&](const nlohmann::json& j, int64_t) {
    if (j.at("type") == "level") first_point = j.at("result");
  });
  // As a kill in the middle of the second point's journaling would leave it: two of its query
  // records, then a torn line.
  {
    std::ofstream out(run / "samples.jsonl", std::ios::app);
    out << R"({"type":"query","key":"concurrency=2#0","level":"concurrency=2","index":0})" << "\n"
        << R"({"type":"query","key":"concurrency=2#1","level":"concurrency=2","index":1})" << "\n"
        << R"({"type":"query","key":"conc)";
  }
  const cli_result resumed = run_cli({"run", "--resume", run.string()}, dir.path());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  EXPECT_NE(resumed.err.find("repaired the journal"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.out.find("concurrency=1: finished by invocation 1, kept from the journal"), std::string::npos)
      << resumed.out;
  EXPECT_NE(resumed.out.find("concurrency=2: not finished by an earlier invocation"), std::string::npos) << resumed.out;

  const auto results = nlohmann::json::parse(slurp(run / "results.json"));
  const auto& suites = results.at("suites");
  ASSERT_GE(suites.size(), 2u);
  EXPECT_EQ(results.at("execution").at("invocations"), 2);
  EXPECT_EQ(results.at("execution").at("samples_resumed"), 8);
  EXPECT_EQ(results.at("execution").at("samples_executed"), static_cast<int64_t>(8 * (suites.size() - 1)));
  // The finished point is the earlier process's measurement, unchanged, and says so.
  auto kept = suites[0];
  EXPECT_TRUE(kept.at("per_task").at("from_earlier_invocation").get<bool>());
  EXPECT_EQ(kept.at("per_task").at("measured_by_invocation"), 1);
  EXPECT_EQ(kept.at("metrics"), first_point.at("metrics"));
  // The interrupted point was measured again from scratch; the two partial records are gone.
  const auto& rerun = suites[1].at("per_task");
  EXPECT_FALSE(rerun.at("from_earlier_invocation").get<bool>());
  EXPECT_EQ(rerun.at("measured_by_invocation"), 2);
  EXPECT_EQ(rerun.at("rerun_after_interruption").at("discarded_query_records"), 2);
  for (std::size_t i = 2; i < suites.size(); ++i)
    EXPECT_FALSE(suites[i].at("per_task").contains("rerun_after_interruption")) << i;
  std::set<std::string> keys;
  int64_t queries = 0, levels = 0;
  for (const auto& j : journal_of(run)) {
    if (j.at("type") == "query") {
      ++queries;
      EXPECT_TRUE(keys.insert(j.at("key").get<std::string>()).second) << "duplicate " << j.at("key");
    } else {
      ++levels;
    }
  }
  EXPECT_EQ(levels, static_cast<int64_t>(suites.size()));
  EXPECT_EQ(queries, static_cast<int64_t>(8 * suites.size()));

  // A finished run is not resumed again, and --resume takes no other settings.
  const cli_result again = run_cli({"run", "--resume", run.string()}, dir.path());
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("run.finished"), std::string::npos) << again.err;
  const cli_result extra = run_cli({"run", "--resume", run.string(), "--rate", "3"}, dir.path());
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("--rate"), std::string::npos) << extra.err;
}

TEST(throughput_resume, a_killed_single_scenario_run_is_measured_again_and_says_so) {
  temp_dir dir;
  const fs::path run = dir / "runs/server";
  const pid_t pid = spawn_cli({"run", "--suite", "throughput", "--model", "fake:ttft_ms=5,tpot_ms=5,slots=4",
                               "--target", "cpu", "--threads", "1", "--scenario", "server", "--rate", "20",
                               "--queries", "12", "--min-queries", "1", "--min-duration-s", "0", "--input-len", "8",
                               "--output-len", "4", "--out", (dir / "runs").string(), "--run-id", "server"},
                              dir / "server.log");
  // Killed once the run directory exists: the 12 arrivals at 20/s take ~600 ms.
  kill_when(pid, run / "run.json", [](const std::string& t) { return !t.empty(); });
  ASSERT_TRUE(fs::exists(run / "run.json"));
  ASSERT_FALSE(fs::exists(run / "results.json"));
  const cli_result resumed = run_cli({"run", "--resume", run.string()}, dir.path());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto results = nlohmann::json::parse(slurp(run / "results.json"));
  ASSERT_EQ(results.at("suites").size(), 1u);
  const auto& s = results["suites"][0];
  EXPECT_TRUE(s.at("per_task").contains("rerun_after_interruption")) << s.at("per_task").dump();
  EXPECT_EQ(s.at("per_task").at("measured_by_invocation"), 2);
  EXPECT_EQ(s.at("verdicts").at("ok"), 12);
  EXPECT_EQ(results.at("execution").at("samples_resumed"), 0);
  EXPECT_EQ(results.at("execution").at("invocations"), 2);
  EXPECT_NE(resumed.out.find("server: not finished by an earlier invocation, measured again from scratch"),
            std::string::npos) << resumed.out;
}

}  // namespace
}  // namespace moebench
