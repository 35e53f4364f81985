#include "moebench/io.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "test_util.h"

namespace moebench {
namespace {

using testing::temp_dir;

std::string gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void write(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

TEST(jsonl, reads_plain_and_gzip_with_line_numbers_skipping_blank_lines) {
  temp_dir dir;
  const std::string text = "{\"a\":1}\n\n  \n{\"a\":2}\n";
  write(dir / "x.jsonl", text);
  write(dir / "x.jsonl.gz", gzip(text));
  for (const char* name : {"x.jsonl", "x.jsonl.gz"}) {
    std::vector<std::pair<int, int64_t>> seen;
    for_each_jsonl(dir / name, [&](const nlohmann::json& j, int64_t line) {
      seen.emplace_back(j["a"].get<int>(), line);
    });
    EXPECT_EQ(seen, (std::vector<std::pair<int, int64_t>>{{1, 1}, {2, 4}})) << name;
  }
}

TEST(jsonl, bad_json_names_file_and_line) {
  temp_dir dir;
  write(dir / "bad.jsonl", "{\"a\":1}\n{\"a\":\n");
  try {
    for_each_jsonl(dir / "bad.jsonl", [](const nlohmann::json&, int64_t) {});
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "jsonl.bad_json");
    EXPECT_EQ(e.where().line, 2);
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
  write(dir / "arr.jsonl", "[1,2]\n");
  EXPECT_THROW(for_each_jsonl(dir / "arr.jsonl", [](const nlohmann::json&, int64_t) {}), error);
}

TEST(jsonl, truncated_gzip_is_an_error_not_a_crash) {
  temp_dir dir;
  std::string gz = gzip(std::string(10000, 'x'));
  gz.resize(gz.size() / 2);
  write(dir / "t.jsonl.gz", gz);
  try {
    read_file(dir / "t.jsonl.gz");
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "io.gzip");
  }
}

TEST(fields, missing_and_mistyped_fields_name_the_field) {
  const nlohmann::json j = {{"task_id", 3}};
  try {
    require_string(j, "task_id", {"s.jsonl", 7});
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "jsonl.bad_type");
    EXPECT_EQ(e.where().field, "task_id");
    EXPECT_EQ(std::string(e.what()), "s.jsonl:7: field 'task_id': expected a string, got number [jsonl.bad_type]");
  }
  try {
    require_field(j, "completion", {"s.jsonl", 7});
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.id(), "jsonl.missing_field");
  }
}

TEST(atomic_write, replaces_the_file_and_leaves_no_temporary) {
  temp_dir dir;
  write_file_atomic(dir / "r.json", "one");
  write_file_atomic(dir / "r.json", "two");
  EXPECT_EQ(read_file(dir / "r.json"), "two");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(sha256, known_vector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace moebench
