#include "moebench/text.h"

#include <gtest/gtest.h>

#include "moebench/error.h"
#include "moebench/executor.h"

namespace moebench {
namespace {

TEST(text, valid_utf8_is_unchanged_and_invalid_bytes_are_replaced) {
  EXPECT_EQ(to_valid_utf8("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_EQ(to_valid_utf8(std::string_view("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(to_valid_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(to_valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // cut sequence
}

TEST(text, truncate_cuts_at_a_character_boundary) {
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("a\xC3\xA9z", 2), "a...[truncated]");
}

TEST(text, split_keeps_empty_fields) {
  EXPECT_EQ(split("1,,10", ','), (std::vector<std::string>{"1", "", "10"}));
}

TEST(executor_enums, names_round_trip_and_unknown_names_are_errors) {
  for (auto v : {verdict::passed, verdict::failed, verdict::no_result, verdict::crashed,
                 verdict::sandbox_error, verdict::cancelled}) {
    EXPECT_EQ(verdict_from_string(to_string(v)), v);
  }
  EXPECT_THROW(verdict_from_string("PASSED!"), moebench::error);
  EXPECT_TRUE(is_infrastructure(verdict::sandbox_error));
  EXPECT_FALSE(is_infrastructure(verdict::timeout_wall));
}

}  // namespace
}  // namespace moebench
