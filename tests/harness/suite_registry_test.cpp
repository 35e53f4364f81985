#include "moebench/suite_registry.h"

#include <gtest/gtest.h>

#include "moebench/error.h"

namespace moebench {
namespace {

const std::vector<suite_option> declared = {
    {"--n", "samples", "1"},
    {"--rate", "queries/s", "1.5"},
    {"--price", "TARGET=USD", "", suite_option::kind::repeated},
    {"--strict", "a switch", "", suite_option::kind::flag},
    {"--seed-x", "override", ""},
    {"--name", "text", "builtin"},
};

std::string error_id(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const error& e) {
    return e.id() + " " + e.where().field;
  }
  return "";
}

TEST(suite_args, defaults_apply_until_a_value_is_given) {
  suite_args a(declared);
  EXPECT_EQ(a.integer("--n"), 1);
  EXPECT_DOUBLE_EQ(a.number("--rate"), 1.5);
  EXPECT_EQ(a.text("--name"), "builtin");
  EXPECT_FALSE(a.on("--strict"));
  EXPECT_FALSE(a.optional_unsigned("--seed-x").has_value());
  EXPECT_TRUE(a.texts("--price").empty());
  a.set("--n", {"7"}).set("--strict").set("--price", {"a=1", "b=2"}).set("--seed-x", {"42"});
  EXPECT_EQ(a.integer("--n"), 7);
  EXPECT_TRUE(a.on("--strict"));
  EXPECT_EQ(a.texts("--price"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(a.optional_unsigned("--seed-x"), 42u);
  EXPECT_TRUE(a.given("--n"));
  EXPECT_FALSE(a.given("--rate"));
}

TEST(suite_args, bad_values_are_errors_naming_the_flag) {
  suite_args a(declared);
  a.set("--n", {"7x"}).set("--rate", {"inf"}).set("--seed-x", {"-3"});
  EXPECT_EQ(error_id([&] { a.integer("--n"); }), "cli.bad_value --n");
  EXPECT_EQ(error_id([&] { a.number("--rate"); }), "cli.bad_value --rate");
  EXPECT_EQ(error_id([&] { a.optional_unsigned("--seed-x"); }), "cli.bad_value --seed-x");
  EXPECT_EQ(error_id([&] { a.set("--other", {"1"}); }), "cli.not_for_suite --other");
  EXPECT_EQ(error_id([&] { suite_args(declared).set("--n", {""}).integer("--n"); }), "cli.bad_value --n");
}

TEST(suite_registry, finds_suites_by_name_and_lists_them) {
  std::vector<suite_definition> suites(2);
  suites[0].name = "alpha";
  suites[1].name = "beta";
  EXPECT_EQ(find_suite(suites, "beta"), &suites[1]);
  EXPECT_EQ(find_suite(suites, "gamma"), nullptr);
  EXPECT_EQ(suite_names(suites), "alpha, beta");
}

}  // namespace
}  // namespace moebench
