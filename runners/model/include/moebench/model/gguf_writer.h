#pragma once
// GGUF v3 writer. Metadata is held in memory; tensor data is produced row by row while the file
// is written, so files larger than memory (benchmark-sized synthetic models) can be written.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/model/gguf.h"
#include "moebench/model/tensor_types.h"

namespace moebench::gguf {

// An owned metadata value of any GGUF type, nested arrays included.
struct owned_value {
  value_type type = value_type::u8;
  uint64_t bits = 0;  // scalar payload: integers sign/zero-extended, floats as double bits, bool 0/1
  std::string str;    // string payload
  value_type element_type = value_type::u8;  // arrays
  std::vector<owned_value> items;            // arrays: every item has type element_type

  static owned_value u8(uint8_t v);
  static owned_value i8(int8_t v);
  static owned_value u16(uint16_t v);
  static owned_value i16(int16_t v);
  static owned_value u32(uint32_t v);
  static owned_value i32(int32_t v);
  static owned_value u64(uint64_t v);
  static owned_value i64(int64_t v);
  static owned_value f32(float v);
  static owned_value f64(double v);
  static owned_value boolean(bool v);
  static owned_value string(std::string v);
  // An array; every item must have type `element` (MOEBENCH_CHECK).
  static owned_value array(value_type element, std::vector<owned_value> items);
  static owned_value string_array(std::span<const std::string> v);
  static owned_value i32_array(std::span<const int32_t> v);
  static owned_value f32_array(std::span<const float> v);
};

// A deep copy of a value read from a file (e.g. to copy a tokenizer into a new model).
owned_value to_owned(const value& v);

// Fills out[0..row_length) with row `row` of a tensor, as f32 (quantised by the writer).
using row_source = std::function<void(int64_t row, float* out)>;

class writer {
 public:
  explicit writer(uint64_t alignment = default_alignment);

  // Sets (or replaces, keeping its position) a metadata entry.
  void set(std::string key, owned_value v);
  bool contains(std::string_view key) const noexcept;

  // Adds a tensor whose rows come from `rows` (shape in ggml order, shape[0] the row length,
  // which must be a multiple of `type`'s block size; `type` must satisfy can_quantize()).
  void add_tensor(std::string name, tensor_type type, std::vector<int64_t> shape, row_source rows);
  // Adds a tensor from raw, already encoded bytes (exactly its size).
  void add_tensor_bytes(std::string name, tensor_type type, std::vector<int64_t> shape,
                        std::vector<std::byte> bytes);

  // Writes the file (to a temporary beside `path`, then renamed). Errors: "gguf.io".
  void write(const std::filesystem::path& path) const;
  // The whole file in memory (tests, fuzz seeds).
  std::vector<std::byte> to_bytes() const;

 private:
  struct pending_tensor {
    std::string name;
    tensor_type type;
    std::vector<int64_t> shape;
    uint64_t bytes;
    row_source rows;
    std::vector<std::byte> raw;
  };
  template <class Sink>
  void emit(Sink& sink) const;

  uint64_t alignment_;
  std::vector<std::pair<std::string, owned_value>> metadata_;
  std::vector<pending_tensor> tensors_;
};

}  // namespace moebench::gguf
