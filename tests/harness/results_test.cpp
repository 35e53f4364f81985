#include "moebench/results.h"

#include <gtest/gtest.h>

#include "moebench/error.h"
#include "moebench/io.h"
#include "test_util.h"

namespace moebench {
namespace {

run_result sample_result() {
  run_result r;
  r.run_id = "humaneval-oracle-20261128T000000Z-abcd1234";
  r.created_utc = "2026-11-28T00:00:00Z";
  r.finished_utc = "2026-11-28T00:00:05Z";
  r.config_hash = config_hash({{"suite", "humaneval"}, {"k", {1, 10}}});
  r.settings_requested = {{"suite", "humaneval"}, {"k", "1,10"}};
  r.settings_effective = {{"suite", "humaneval"}, {"k", {1, 10}}};
  r.seeds = {{"sampling", 1}, {"bootstrap", 18446744073709551615ULL}};
  r.build = current_build_info();
  r.host = current_host_info();
  r.model = {{"spec", "oracle"}};
  r.executor = {{"backend", "process"}, {"isolation_level", "process"}};
  suite_result s;
  s.suite = "humaneval";
  s.source = "builtin:moebench-humaneval";
  s.content_sha256 = sha256_hex("x");
  s.tasks_total = 3;
  s.tasks_evaluated = 2;
  s.samples = 20;
  metric m;
  m.name = "pass@1";
  m.value = 0.55;
  m.unit = "fraction";
  m.n = 2;
  m.cis = {{0.4, 0.7, 0.95, "bootstrap_tasks"}, {0.34, 0.74, 0.95, "wilson_samples"}};
  s.metrics.push_back(m);
  metric lat;
  lat.name = "ttft";
  lat.unit = "ms";
  lat.value = 12.5;
  lat.n = 20;
  lat.distribution = summarize({10, 12, 15});
  lat.kind = figure_kind::modelled;
  s.metrics.push_back(lat);
  s.verdicts = {{"passed", 11}, {"failed", 9}};
  s.per_task = {{"moebench/0", {{"n", 10}, {"c", 5}}}};
  r.suites.push_back(s);
  suite_result t;
  t.suite = "throughput";
  t.source = "server rate=2/s";
  t.validity = run_validity{false, {"duration 1.000 s is below the minimum 60.000 s"}};
  t.token_sources = {{"tokenizer", 7}, {"usage", 3}};
  r.suites.push_back(t);
  r.execution.wall_ns = 5'000'000'000;
  r.execution.samples_executed = 20;
  r.execution.samples_per_s = 4;
  r.execution.sample_wall_ms = summarize({1, 2, 3});
  return r;
}

TEST(results, round_trips_through_json_exactly) {
  const run_result r = sample_result();
  const nlohmann::json j = r;
  EXPECT_EQ(j["schema_version"], results_schema_version);
  const run_result back = j.get<run_result>();
  EXPECT_EQ(nlohmann::json(back), j);
  // And through text, as results.json is written and read.
  const run_result again = nlohmann::json::parse(j.dump(2)).get<run_result>();
  EXPECT_EQ(nlohmann::json(again), j);
  EXPECT_EQ(again.seeds.at("bootstrap"), 18446744073709551615ULL);
  EXPECT_EQ(again.suites[0].metrics[1].kind, figure_kind::modelled);
  ASSERT_TRUE(again.suites[0].metrics[1].distribution.has_value());
  EXPECT_EQ(again.suites[0].metrics[1].distribution->n, 3);
  EXPECT_FALSE(again.suites[0].validity.has_value());
  ASSERT_TRUE(again.suites[1].validity.has_value());
  EXPECT_FALSE(again.suites[1].validity->valid);
  EXPECT_EQ(again.suites[1].validity->reasons.size(), 1u);
  EXPECT_EQ(again.suites[1].token_sources.at("tokenizer"), 7);
  // Written only where something was generated.
  EXPECT_FALSE(j["suites"][0].contains("token_sources"));
  EXPECT_TRUE(again.suites[0].token_sources.empty());
}

TEST(results, results_written_before_validity_existed_still_read) {
  nlohmann::json j = sample_result();
  for (auto& s : j["suites"]) s.erase("validity");
  const run_result back = j.get<run_result>();
  EXPECT_FALSE(back.suites[1].validity.has_value());
}

TEST(results, unsupported_schema_version_and_missing_fields_are_errors) {
  nlohmann::json j = sample_result();
  j["schema_version"] = 99;
  EXPECT_THROW(j.get<run_result>(), error);
  nlohmann::json k = sample_result();
  k.erase("suites");
  try {
    k.get<run_result>();
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "results.schema");
  }
}

TEST(results, load_names_the_file) {
  testing::temp_dir dir;
  write_file_atomic(dir / "results.json", "{\"schema_version\": 1}");
  try {
    load_run_result(dir.path());
    FAIL();
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("results.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_run_result(dir / "nope"), error);
}

TEST(results, config_hash_is_stable_and_key_order_independent) {
  const nlohmann::json a = nlohmann::json::parse(R"({"b": 1, "a": [1, 2]})");
  const nlohmann::json b = nlohmann::json::parse(R"({"a": [1, 2], "b": 1})");
  EXPECT_EQ(config_hash(a), config_hash(b));
  EXPECT_NE(config_hash(a), config_hash(nlohmann::json::parse(R"({"a": [2, 1], "b": 1})")));
  EXPECT_EQ(config_hash(a).size(), 64u);
}

}  // namespace
}  // namespace moebench
