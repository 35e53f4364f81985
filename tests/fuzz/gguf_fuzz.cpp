// libFuzzer entry point for the GGUF reader: any input must either parse or throw
// moebench::error with a "gguf." id; a parsed file's metadata and tensor data must be readable
// within bounds (ASan checks that).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "moebench/error.h"
#include "moebench/model/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moebench;
  try {
    const gguf::file f = gguf::file::from_bytes(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size), "fuzz");
    double sink = 0;
    for (const gguf::metadata_entry& e : f.metadata()) {
      sink += static_cast<double>(e.key.size());
      const gguf::value& v = e.val;
      if (v.type() == gguf::value_type::array) {
        if (v.element_type() == gguf::value_type::string) {
          for (auto s : v.strings()) sink += static_cast<double>(s.size());
        } else if (v.element_type() != gguf::value_type::array && v.size() > 0) {
          sink += static_cast<double>(v.raw_elements().back());
        }
      } else if (v.type() == gguf::value_type::string) {
        sink += static_cast<double>(v.as_string().size());
      }
    }
    std::vector<float> row;
    for (const gguf::tensor_info& t : f.tensors()) {
      const auto bytes = f.data(t);
      if (!bytes.empty()) sink += static_cast<double>(bytes.front()) + static_cast<double>(bytes.back());
      if (gguf::can_dequantize(t.type) && t.row_length() <= (1 << 16)) {
        row.resize(static_cast<std::size_t>(t.row_length()));
        f.dequantize_row(t, t.rows() - 1, row.data());
        sink += row.empty() ? 0.0 : static_cast<double>(row[0] == row[0]);
      }
    }
    if (sink < 0) std::abort();  // keeps the reads from being optimised away
  } catch (const error& e) {
    if (e.id().rfind("gguf.", 0) != 0) std::abort();
  }
  return 0;
}
