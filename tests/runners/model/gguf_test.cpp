// GGUF reader: writer -> reader round trips of every metadata type, typed lookups, tensor data,
// and strict validation of hostile files (each a clear error id, never a crash).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/model/gguf_writer.h"

namespace {

using namespace moebench::gguf;

file parse(const std::vector<std::byte>& bytes) { return file::from_bytes(bytes, "test.gguf"); }

// Parses and returns the error id ("" if it parsed).
std::string error_id(const std::vector<std::byte>& bytes, std::string* field = nullptr) {
  try {
    parse(bytes);
  } catch (const moebench::error& e) {
    if (field) *field = e.where().field;
    EXPECT_EQ(e.where().file, "test.gguf");
    return e.id();
  }
  return "";
}

TEST(gguf, round_trip_of_every_metadata_type) {
  writer w;
  w.set("t.u8", owned_value::u8(200));
  w.set("t.i8", owned_value::i8(-5));
  w.set("t.u16", owned_value::u16(65535));
  w.set("t.i16", owned_value::i16(-30000));
  w.set("t.u32", owned_value::u32(4000000000u));
  w.set("t.i32", owned_value::i32(-123456));
  w.set("t.u64", owned_value::u64((1ull << 63) + 5));
  w.set("t.i64", owned_value::i64(-(1ll << 40)));
  w.set("t.f32", owned_value::f32(1.5f));
  w.set("t.f64", owned_value::f64(std::numbers::pi));
  w.set("t.bool", owned_value::boolean(true));
  w.set("t.str", owned_value::string(std::string("h\xc3\xa9llo\0x", 8)));
  w.set("t.empty", owned_value::array(value_type::f32, {}));
  w.set("t.a_u8", owned_value::array(value_type::u8, {owned_value::u8(1), owned_value::u8(255)}));
  w.set("t.a_i16", owned_value::array(value_type::i16, {owned_value::i16(-2), owned_value::i16(3)}));
  const std::vector<int32_t> ints{-1, 0, 7};
  w.set("t.a_i32", owned_value::i32_array(ints));
  w.set("t.a_u64", owned_value::array(value_type::u64, {owned_value::u64(~0ull)}));
  const std::vector<float> floats{0.5f, -2.0f};
  w.set("t.a_f32", owned_value::f32_array(floats));
  w.set("t.a_f64", owned_value::array(value_type::f64, {owned_value::f64(1e300)}));
  w.set("t.a_bool", owned_value::array(value_type::boolean, {owned_value::boolean(false), owned_value::boolean(true)}));
  const std::vector<std::string> strs{"a", "", "ccc"};
  w.set("t.a_str", owned_value::string_array(strs));
  w.set("t.nested",
        owned_value::array(value_type::array,
                           {owned_value::array(value_type::i32, {owned_value::i32(1), owned_value::i32(2)}),
                            owned_value::array(value_type::array,
                                               {owned_value::string_array(strs)}),
                            owned_value::array(value_type::u8, {})}));
  w.set("t.u32", owned_value::u32(17));  // replacing keeps the position

  const file f = parse(w.to_bytes());
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), 22u);
  EXPECT_EQ(f.metadata()[4].key, "t.u32");
  EXPECT_EQ(f.get_uint("t.u8"), 200u);
  EXPECT_EQ(f.get_int("t.i8"), -5);
  EXPECT_EQ(f.get_uint("t.u16"), 65535u);
  EXPECT_EQ(f.get_int("t.i16"), -30000);
  EXPECT_EQ(f.get_u32("t.u32"), 17u);
  EXPECT_EQ(f.get_int("t.i32"), -123456);
  EXPECT_EQ(f.get_uint("t.u64"), (1ull << 63) + 5);
  EXPECT_EQ(f.get_int("t.i64"), -(1ll << 40));
  EXPECT_EQ(f.get_float("t.f32"), 1.5);
  EXPECT_EQ(f.get_float("t.f64"), std::numbers::pi);
  EXPECT_TRUE(f.get_bool("t.bool"));
  EXPECT_EQ(f.get_string("t.str"), std::string_view("h\xc3\xa9llo\0x", 8));
  EXPECT_EQ(f.find("t.empty")->size(), 0u);
  EXPECT_EQ(f.get_int_array("t.a_u8"), (std::vector<int64_t>{1, 255}));
  EXPECT_EQ(f.get_int_array("t.a_i16"), (std::vector<int64_t>{-2, 3}));
  EXPECT_EQ(f.get_int_array("t.a_i32"), (std::vector<int64_t>{-1, 0, 7}));
  EXPECT_EQ(f.find("t.a_u64")->uint_at(0), ~0ull);
  EXPECT_EQ(f.get_float_array("t.a_f32"), floats);
  EXPECT_EQ(f.find("t.a_f64")->double_at(0), 1e300);
  EXPECT_FALSE(f.find("t.a_bool")->bool_at(0));
  EXPECT_TRUE(f.find("t.a_bool")->bool_at(1));
  const auto sa = f.get_string_array("t.a_str");
  ASSERT_EQ(sa.size(), 3u);
  EXPECT_EQ(sa[2], "ccc");
  const value& nested = *f.find("t.nested");
  ASSERT_EQ(nested.element_type(), value_type::array);
  ASSERT_EQ(nested.size(), 3u);
  EXPECT_EQ(nested.arrays()[0].int_at(1), 2);
  EXPECT_EQ(nested.arrays()[1].arrays()[0].strings()[0], "a");
  EXPECT_EQ(nested.arrays()[2].size(), 0u);

  // Writing what was read gives the same bytes again.
  writer w2;
  for (const metadata_entry& e : f.metadata()) w2.set(std::string(e.key), to_owned(e.val));
  EXPECT_EQ(w2.to_bytes(), w.to_bytes());
}

TEST(gguf, typed_lookup_errors_name_the_key) {
  writer w;
  w.set("k.u32", owned_value::u32(5));
  w.set("k.neg", owned_value::i32(-1));
  w.set("k.big", owned_value::u64(1ull << 40));
  w.set("k.huge", owned_value::u64(~0ull));
  const file f = parse(w.to_bytes());
  auto expect_error = [&](auto&& fn, const std::string& id, const std::string& key) {
    try {
      fn();
      ADD_FAILURE() << "no error for " << key;
    } catch (const moebench::error& e) {
      EXPECT_EQ(e.id(), id);
      EXPECT_EQ(e.where().field, key);
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos);
    }
  };
  expect_error([&] { (void)f.get_string("k.u32"); }, "gguf.wrong_type", "k.u32");
  expect_error([&] { (void)f.get_float("k.u32"); }, "gguf.wrong_type", "k.u32");
  expect_error([&] { (void)f.get_string_array("k.u32"); }, "gguf.wrong_type", "k.u32");
  expect_error([&] { (void)f.get_uint("missing.key"); }, "gguf.missing_key", "missing.key");
  expect_error([&] { (void)f.get_uint("k.neg"); }, "gguf.out_of_range", "k.neg");
  expect_error([&] { (void)f.get_u32("k.big"); }, "gguf.out_of_range", "k.big");
  expect_error([&] { (void)f.get_int("k.huge"); }, "gguf.out_of_range", "k.huge");
  expect_error([&] { (void)f.tensor("nope"); }, "gguf.missing_tensor", "nope");
  expect_error([&] { (void)f.find_bool("k.u32"); }, "gguf.wrong_type", "k.u32");
  EXPECT_EQ(f.find_u32("absent"), std::nullopt);
  EXPECT_EQ(f.find_u32("k.u32"), 5u);
  EXPECT_EQ(f.get_int("k.neg"), -1);
}

TEST(gguf, tensors_offsets_and_data) {
  writer w(64);
  w.set("general.alignment", owned_value::u32(64));
  w.add_tensor("a", tensor_type::f32, {3, 2}, [](int64_t r, float* o) {
    for (int i = 0; i < 3; ++i) o[i] = static_cast<float>(10 * r + i);
  });
  w.add_tensor("b", tensor_type::q8_0, {64, 1, 2}, [](int64_t r, float* o) {
    for (int i = 0; i < 64; ++i) o[i] = static_cast<float>(i - 32) / 4.0f + static_cast<float>(r);
  });
  w.add_tensor("c", tensor_type::f16, {5}, [](int64_t, float* o) {
    for (int i = 0; i < 5; ++i) o[i] = 0.25f * static_cast<float>(i);
  });
  const auto bytes = w.to_bytes();
  const file f = parse(bytes);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 3u);
  const tensor_info& a = f.tensor("a");
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(a.bytes, 24u);
  EXPECT_EQ(a.rows(), 2);
  const tensor_info& bt = f.tensor("b");
  EXPECT_EQ(bt.offset, 64u);
  EXPECT_EQ(bt.bytes, 136u);  // two rows of two q8_0 blocks
  EXPECT_EQ(bt.shape, (std::vector<int64_t>{64, 1, 2}));
  EXPECT_EQ(f.tensor("c").offset, 256u);
  std::vector<float> row(64);
  f.dequantize_row(a, 1, row.data());
  EXPECT_EQ(row[0], 10.0f);
  EXPECT_EQ(row[2], 12.0f);
  f.dequantize_row(bt, 1, row.data());
  EXPECT_NEAR(row[0], -7.0f, 0.05f);
  EXPECT_NEAR(row[63], 8.75f, 0.05f);
  f.dequantize_row(f.tensor("c"), 0, row.data());
  EXPECT_EQ(row[4], 1.0f);
  EXPECT_EQ(f.data(a).data(), f.data(a).data());
  EXPECT_EQ(f.file_bytes(), bytes.size());

  // The same through a file on disk (mmap path).
  const auto path = std::filesystem::temp_directory_path() / "moebench_gguf_test.gguf";
  w.write(path);
  const file g(path);
  EXPECT_EQ(g.tensors().size(), 3u);
  g.dequantize_row(g.tensor("a"), 0, row.data());
  EXPECT_EQ(row[1], 1.0f);
  std::filesystem::remove(path);
}

// A hand-made GGUF byte stream, to place hostile values exactly.
struct raw {
  std::vector<std::byte> b;
  raw& u32(uint32_t v) { return put(v, 4); }
  raw& u64(uint64_t v) { return put(v, 8); }
  raw& u8(uint8_t v) { return put(v, 1); }
  raw& str(std::string_view s) {
    u64(s.size());
    for (char c : s) b.push_back(static_cast<std::byte>(c));
    return *this;
  }
  raw& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
    return *this;
  }
  raw& header(uint64_t n_tensors, uint64_t n_kv) { return u32(magic).u32(3).u64(n_tensors).u64(n_kv); }
  raw& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
  raw& pad_to(std::size_t align) {
    while (b.size() % align) b.push_back(std::byte{0});
    return *this;
  }
  raw& zeros(std::size_t n) {
    b.insert(b.end(), n, std::byte{0});
    return *this;
  }
};

TEST(gguf, hostile_headers) {
  EXPECT_EQ(error_id(raw{}.b), "gguf.truncated");
  EXPECT_EQ(error_id(raw{}.u32(0x46554746).u32(3).u64(0).u64(0).b), "gguf.bad_magic");
  EXPECT_EQ(error_id(raw{}.u32(magic).u32(1).u64(0).u64(0).b), "gguf.bad_version");
  EXPECT_EQ(error_id(raw{}.u32(magic).u32(4).u64(0).u64(0).b), "gguf.bad_version");
  EXPECT_EQ(error_id(raw{}.u32(magic).u32(2).u64(0).u64(0).b), "");  // v2: same layout
  EXPECT_EQ(error_id(raw{}.u32(magic).u32(0xffffffff).u64(0).u64(0).b), "gguf.bad_version");
  EXPECT_EQ(error_id(raw{}.header(0, 0).b), "");
  EXPECT_EQ(error_id(raw{}.header(0, 1ull << 62).b), "gguf.too_many");
  EXPECT_EQ(error_id(raw{}.header(~0ull, 0).b), "gguf.too_many");
  EXPECT_EQ(error_id(raw{}.header(0, 2).str("a").u32(4).u32(1).b), "gguf.too_many");
  EXPECT_EQ(error_id(raw{}.header(0, 2).str("a").u32(4).u32(1).str("bbbbbbbbbb").u32(8).b),
            "gguf.truncated");
}

TEST(gguf, hostile_metadata) {
  std::string field;
  // String length far beyond the file.
  EXPECT_EQ(error_id(raw{}.header(0, 1).u64(~0ull).zeros(16).b), "gguf.bad_string");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(8).u64(1ull << 40).b, &field), "gguf.bad_string");
  EXPECT_EQ(field, "k");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(13).b, &field), "gguf.bad_value_type");
  EXPECT_EQ(field, "k");
  // Array counts that cannot fit: never allocated.
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(9).u32(6).u64(1ull << 60).b), "gguf.too_many");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(9).u32(8).u64(~0ull).b), "gguf.too_many");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(9).u32(9).u64(~0ull / 2).b), "gguf.too_many");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(9).u32(99).u64(0).b), "gguf.bad_value_type");
  // Arrays nested deeper than the limit.
  raw deep;
  deep.header(0, 1).str("k").u32(9);
  for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
  deep.u32(4).u64(0);
  EXPECT_EQ(error_id(deep.b), "gguf.too_deep");
  EXPECT_EQ(error_id(raw{}.header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).b, &field),
            "gguf.duplicate_key");
  EXPECT_EQ(field, "k");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("k").u32(7).u8(2).b), "gguf.bad_bool");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("general.alignment").u32(4).u32(48).b), "gguf.bad_alignment");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("general.alignment").u32(4).u32(0).b), "gguf.bad_alignment");
  EXPECT_EQ(error_id(raw{}.header(0, 1).str("general.alignment").u32(10).u64(32).b), "gguf.bad_alignment");
}

TEST(gguf, hostile_tensor_infos) {
  std::string field;
  auto one = [](std::vector<uint64_t> dims, uint32_t type, uint64_t offset, std::size_t data) {
    raw r;
    r.header(1, 0).tensor("w", std::move(dims), type, offset).pad_to(32).zeros(data);
    return r.b;
  };
  EXPECT_EQ(error_id(one({4}, 0, 0, 16)), "");
  EXPECT_EQ(error_id(one({4}, 0, 0, 15), &field), "gguf.bad_offset");
  EXPECT_EQ(field, "w");
  EXPECT_EQ(error_id(one({4}, 0, 64, 64)), "gguf.bad_offset");
  EXPECT_EQ(error_id(one({4}, 0, ~0ull - 31, 64)), "gguf.bad_offset");  // offset + bytes overflows
  EXPECT_EQ(error_id(one({4}, 0, 8, 64), &field), "gguf.misaligned_offset");
  EXPECT_EQ(error_id(one({4}, 4, 0, 64)), "gguf.unknown_tensor_type");
  EXPECT_EQ(error_id(one({4}, 31, 0, 64)), "gguf.unknown_tensor_type");
  EXPECT_EQ(error_id(one({4}, 1000, 0, 64)), "gguf.unknown_tensor_type");
  EXPECT_EQ(error_id(one({4, 1, 1, 1, 1}, 0, 0, 64)), "gguf.bad_dims");
  EXPECT_EQ(error_id(one({}, 0, 0, 64)), "gguf.bad_dims");
  EXPECT_EQ(error_id(one({4, 0}, 0, 0, 64)), "gguf.bad_dims");
  EXPECT_EQ(error_id(one({1ull << 32, 1ull << 32}, 0, 0, 64)), "gguf.bad_dims");  // 2^64 elements
  EXPECT_EQ(error_id(one({1ull << 62}, 0, 0, 64)), "gguf.bad_dims");             // 2^64 bytes
  EXPECT_EQ(error_id(one({1ull << 40}, 0, 0, 64)), "gguf.bad_offset");
  EXPECT_EQ(error_id(one({100}, 12, 0, 4096)), "gguf.bad_dims");  // not a multiple of 256
  // Two tensors whose data overlap, and two with the same name.
  raw two;
  two.header(2, 0).tensor("x", {8}, 0, 0).tensor("y", {8}, 0, 0).pad_to(32).zeros(64);
  EXPECT_EQ(error_id(two.b, &field), "gguf.overlapping_tensors");
  raw two_b;
  two_b.header(2, 0).tensor("x", {16}, 0, 32).tensor("y", {8}, 0, 64).pad_to(32).zeros(128);
  EXPECT_EQ(error_id(two_b.b), "gguf.overlapping_tensors");
  raw dup;
  dup.header(2, 0).tensor("x", {8}, 0, 0).tensor("x", {8}, 0, 32).pad_to(32).zeros(64);
  EXPECT_EQ(error_id(dup.b), "gguf.duplicate_tensor");
  raw long_name;
  long_name.header(1, 0).tensor(std::string(64, 'n'), {8}, 0, 0).pad_to(32).zeros(32);
  EXPECT_EQ(error_id(long_name.b), "gguf.bad_tensor_name");
  // Header ends before the data section.
  raw short_file;
  short_file.header(1, 0).tensor("x", {8}, 0, 0);
  EXPECT_EQ(error_id(short_file.b), "gguf.truncated");
}

TEST(gguf, every_truncation_is_a_clean_error) {
  writer w;
  w.set("general.architecture", owned_value::string("llama"));
  const std::vector<std::string> strs{"x", "yy"};
  w.set("s", owned_value::string_array(strs));
  w.add_tensor("a", tensor_type::q8_0, {32, 2}, [](int64_t, float* o) {
    for (int i = 0; i < 32; ++i) o[i] = 1.0f;
  });
  const auto full = w.to_bytes();
  ASSERT_EQ(error_id(full), "");
  const file whole = parse(full);
  const tensor_info& last = whole.tensor("a");
  // Only the padding after the last tensor's data may be cut.
  const std::size_t data_end = whole.data_offset() + last.offset + last.bytes;
  EXPECT_LT(data_end, full.size());
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string id = error_id(cut);
    if (n >= data_end) {
      EXPECT_EQ(id, "") << n;
      continue;
    }
    ASSERT_TRUE(id == "gguf.truncated" || id == "gguf.bad_string" || id == "gguf.too_many" ||
                id == "gguf.bad_offset")
        << "prefix " << n << ": '" << id << "'";
  }
}

TEST(gguf, missing_file_is_an_io_error) {
  try {
    file f("/nonexistent/moebench.gguf");
    FAIL();
  } catch (const moebench::error& e) {
    EXPECT_EQ(e.id(), "gguf.io");
    EXPECT_EQ(e.where().file, "/nonexistent/moebench.gguf");
  }
}

TEST(gguf, cli_exits_2_on_hostile_files) {
  const std::string bin = std::getenv("MOEBENCH_BIN") ? std::getenv("MOEBENCH_BIN") : MOEBENCH_TEST_BIN;
  const auto path = std::filesystem::temp_directory_path() / "moebench_bad_magic.gguf";
  {
    std::ofstream o(path, std::ios::binary);
    o << "GGUX\x03\0\0\0";
  }
  const std::string cmd = std::string(bin) + " model inspect " + path.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_NE(out.find("[gguf.bad_magic]"), std::string::npos) << out;
  std::filesystem::remove(path);
}

}  // namespace
