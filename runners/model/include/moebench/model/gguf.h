#pragma once
// GGUF v3 reader (llama.cpp's model file format, see docs/gguf.md); v2 files, which have the
// same layout, are read too.
//
// The file is memory-mapped read-only and fully validated when opened: header, every metadata
// value (nested arrays included), tensor infos, alignment, and tensor data ranges (in bounds,
// aligned, not overlapping). Nothing is allocated from a count before that count has been checked
// against the bytes left in the file. Bad input throws moebench::error with an id "gguf.*" and
// input_location{path, 0, key or tensor name}.
//
// Lifetime: every string_view, span and data pointer handed out points into the mapping and
// stays valid as long as the `file` object (moving a `file` keeps them valid).
// Thread-safety: a `file` is immutable after construction; concurrent reads are safe.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/model/tensor_types.h"

namespace moebench::gguf {

namespace detail {
struct parser;
}  // namespace detail

inline constexpr uint32_t magic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr uint32_t supported_version = 3;  // written; version 2 (same layout) is also read
inline constexpr uint64_t default_alignment = 32;

// GGUF metadata value types (numeric ids as stored in the file).
enum class value_type : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};
std::string_view name(value_type t) noexcept;  // "u8", ..., "bool", "string", "array"
bool is_integer(value_type t) noexcept;
bool is_float(value_type t) noexcept;

// One metadata value, a read-only view into the mapping. Accessors have preconditions on type()
// (broken ones are MOEBENCH_CHECK failures); the typed lookups on `file` check types for you and
// report mismatches as user errors naming the key.
class value {
 public:
  value_type type() const noexcept { return type_; }

  // Scalars. as_int/as_uint accept any integer type whose value fits; as_double any float type.
  int64_t as_int() const;
  uint64_t as_uint() const;
  double as_double() const;
  bool as_bool() const;
  std::string_view as_string() const;  // raw bytes; GGUF does not guarantee valid UTF-8

  // Arrays (type() == array).
  value_type element_type() const;
  uint64_t size() const;
  std::span<const std::string_view> strings() const;  // element_type() == string
  std::span<const value> arrays() const;               // element_type() == array (nested)
  // Element i of an array of scalars, converted; same rules as the scalar accessors.
  int64_t int_at(uint64_t i) const;
  uint64_t uint_at(uint64_t i) const;
  double double_at(uint64_t i) const;
  bool bool_at(uint64_t i) const;
  // Raw little-endian element bytes of an array of scalars (size() * element size bytes).
  std::span<const std::byte> raw_elements() const;

 private:
  friend struct detail::parser;
  value_type type_ = value_type::u8;
  value_type element_type_ = value_type::u8;
  uint64_t bits_ = 0;                 // scalar payload, zero-extended little-endian
  std::string_view string_;           // string payload
  uint64_t count_ = 0;                // array element count
  const std::byte* raw_ = nullptr;    // array of scalars: first element
  std::vector<std::string_view> strings_;
  std::vector<value> arrays_;
};

struct metadata_entry {
  std::string_view key;
  value val;
};

struct tensor_info {
  std::string_view name;
  tensor_type type = tensor_type::f32;
  // ggml order: shape[0] is the contiguous row length (ne0), shape[1] the number of rows ...
  // 1 to 4 dimensions, each >= 1.
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // from the start of the data section, a multiple of alignment()
  uint64_t bytes = 0;   // exact size of the tensor's data
  int64_t elements() const noexcept;
  int64_t row_length() const noexcept { return shape[0]; }
  int64_t rows() const noexcept { return elements() / shape[0]; }
};

class file {
 public:
  // Maps and validates `path`. Errors: "gguf.io" when it cannot be opened or mapped, plus the
  // validation ids listed in docs/gguf.md.
  explicit file(const std::filesystem::path& path);
  // Parses an in-memory copy (fuzzing, tests). `name` is used in error messages.
  static file from_bytes(std::span<const std::byte> bytes, std::string name = "<memory>");

  file(file&&) noexcept;
  file& operator=(file&&) noexcept;
  ~file();

  const std::string& path() const noexcept;
  uint32_t version() const noexcept;
  uint64_t alignment() const noexcept;       // general.alignment or 32
  uint64_t data_offset() const noexcept;     // file offset of the data section
  uint64_t file_bytes() const noexcept;

  // Metadata, in file order.
  std::span<const metadata_entry> metadata() const noexcept;
  const value* find(std::string_view key) const noexcept;  // nullptr if absent
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  // Typed lookups. A missing key throws "gguf.missing_key", a value of another type
  // "gguf.wrong_type", an integer out of the target range "gguf.out_of_range"; each names the key.
  // Integer getters accept any integer value type; float getters accept f32 and f64.
  std::string_view get_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  uint64_t get_uint(std::string_view key) const;
  uint32_t get_u32(std::string_view key) const;
  double get_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::span<const std::string_view> get_string_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;  // any integer element type
  std::vector<float> get_float_array(std::string_view key) const;  // f32 or f64 elements
  // The same lookups for optional keys: nullopt when absent; a wrong type still throws.
  std::optional<std::string_view> find_string(std::string_view key) const;
  std::optional<int64_t> find_int(std::string_view key) const;
  std::optional<uint64_t> find_uint(std::string_view key) const;
  std::optional<uint32_t> find_u32(std::string_view key) const;
  std::optional<double> find_float(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;

  // general.architecture, and "<arch>.<suffix>" lookups (e.g. arch_key("block_count")).
  std::string_view architecture() const;  // throws "gguf.missing_key" when absent
  std::string arch_key(std::string_view suffix) const;

  // Tensors, in file order.
  std::span<const tensor_info> tensors() const noexcept;
  const tensor_info* find_tensor(std::string_view name) const noexcept;
  const tensor_info& tensor(std::string_view name) const;  // throws "gguf.missing_tensor"
  // The tensor's bytes (tensor_info::bytes of them), inside the mapping.
  std::span<const std::byte> data(const tensor_info& t) const;
  // Dequantises row `row` (0-based, < t.rows()) of `t` into dst[0..t.row_length()).
  void dequantize_row(const tensor_info& t, int64_t row, float* dst) const;

 private:
  friend struct detail::parser;
  struct impl;
  explicit file(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace moebench::gguf
