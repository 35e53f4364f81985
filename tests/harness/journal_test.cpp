#include "moebench/journal.h"

#include <gtest/gtest.h>

#include <fstream>

#include "moebench/error.h"
#include "moebench/io.h"
#include "test_util.h"

namespace moebench {
namespace {

using testing::temp_dir;

void append_raw(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << bytes;
}

TEST(journal, appends_records_and_recovers_them_in_order) {
  temp_dir dir;
  const auto path = dir / "samples.jsonl";
  {
    journal_recovery rec;
    journal j = journal::open(path, &rec);
    EXPECT_TRUE(rec.records.empty());
    j.append({{"key", "a#0"}, {"v", 1}});
    j.append({{"key", "a#1"}, {"v", "two\nlines"}});
  }
  journal_recovery rec;
  journal j = journal::open(path, &rec);
  ASSERT_EQ(rec.records.size(), 2u);
  EXPECT_EQ(rec.records[0]["key"], "a#0");
  EXPECT_EQ(rec.records[1]["v"], "two\nlines");
  EXPECT_EQ(rec.torn_bytes_removed, 0);
}

TEST(journal, repairs_a_torn_last_line_and_appends_after_it) {
  temp_dir dir;
  const auto path = dir / "samples.jsonl";
  { journal::open(path, nullptr).append({{"key", "a#0"}}); }
  append_raw(path, "{\"key\": \"a#1\", \"comp");  // killed mid-write
  {
    journal_recovery rec;
    journal j = journal::open(path, &rec);
    ASSERT_EQ(rec.records.size(), 1u);
    EXPECT_EQ(rec.torn_bytes_removed, 20);
    j.append({{"key", "a#1"}});
  }
  const std::string text = read_file(path);
  EXPECT_EQ(text, "{\"key\":\"a#0\"}\n{\"key\":\"a#1\"}\n");
}

TEST(journal, a_complete_record_without_its_newline_is_also_torn) {
  temp_dir dir;
  const auto path = dir / "samples.jsonl";
  append_raw(path, "{\"key\":\"a#0\"}\n{\"key\":\"a#1\"}");
  journal_recovery rec;
  journal::open(path, &rec);
  EXPECT_EQ(rec.records.size(), 1u);
  EXPECT_EQ(read_file(path), "{\"key\":\"a#0\"}\n");
}

TEST(journal, corruption_before_the_end_is_an_error_naming_the_line) {
  temp_dir dir;
  const auto path = dir / "samples.jsonl";
  append_raw(path, "{\"key\":\"a#0\"}\nnot json\n{\"key\":\"a#2\"}\n");
  try {
    journal::open(path, nullptr);
    FAIL() << "expected journal.corrupt";
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "journal.corrupt");
    EXPECT_EQ(e.where().line, 2);
  }
  // Nothing was truncated by the failed open.
  EXPECT_EQ(read_file(path), "{\"key\":\"a#0\"}\nnot json\n{\"key\":\"a#2\"}\n");
}

}  // namespace
}  // namespace moebench
