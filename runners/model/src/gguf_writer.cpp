#include "moebench/model/gguf_writer.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include <fmt/core.h>

#include "moebench/error.h"
#include "value_types.h"

namespace moebench::gguf {

namespace {

owned_value scalar(value_type t, uint64_t bits) {
  owned_value v;
  v.type = t;
  v.bits = bits;
  return v;
}

uint64_t element_bytes(value_type t) noexcept { return detail::value_traits(t).scalar_bytes; }

}  // namespace

owned_value owned_value::u8(uint8_t v) { return scalar(value_type::u8, v); }
owned_value owned_value::i8(int8_t v) {
  return scalar(value_type::i8, static_cast<uint64_t>(static_cast<int64_t>(v)));
}
owned_value owned_value::u16(uint16_t v) { return scalar(value_type::u16, v); }
owned_value owned_value::i16(int16_t v) {
  return scalar(value_type::i16, static_cast<uint64_t>(static_cast<int64_t>(v)));
}
owned_value owned_value::u32(uint32_t v) { return scalar(value_type::u32, v); }
owned_value owned_value::i32(int32_t v) {
  return scalar(value_type::i32, static_cast<uint64_t>(static_cast<int64_t>(v)));
}
owned_value owned_value::u64(uint64_t v) { return scalar(value_type::u64, v); }
owned_value owned_value::i64(int64_t v) { return scalar(value_type::i64, static_cast<uint64_t>(v)); }
owned_value owned_value::f32(float v) {
  return scalar(value_type::f32, std::bit_cast<uint64_t>(static_cast<double>(v)));
}
owned_value owned_value::f64(double v) { return scalar(value_type::f64, std::bit_cast<uint64_t>(v)); }
owned_value owned_value::boolean(bool v) { return scalar(value_type::boolean, v ? 1 : 0); }
owned_value owned_value::string(std::string v) {
  owned_value o;
  o.type = value_type::string;
  o.str = std::move(v);
  return o;
}
owned_value owned_value::array(value_type element, std::vector<owned_value> items) {
  for (const owned_value& it : items)
    MOEBENCH_CHECK(it.type == element, "owned_value::array: item type differs from element type");
  owned_value o;
  o.type = value_type::array;
  o.element_type = element;
  o.items = std::move(items);
  return o;
}
owned_value owned_value::string_array(std::span<const std::string> v) {
  std::vector<owned_value> items;
  items.reserve(v.size());
  for (const auto& s : v) items.push_back(string(s));
  return array(value_type::string, std::move(items));
}
owned_value owned_value::i32_array(std::span<const int32_t> v) {
  std::vector<owned_value> items;
  items.reserve(v.size());
  for (int32_t x : v) items.push_back(i32(x));
  return array(value_type::i32, std::move(items));
}
owned_value owned_value::f32_array(std::span<const float> v) {
  std::vector<owned_value> items;
  items.reserve(v.size());
  for (float x : v) items.push_back(f32(x));
  return array(value_type::f32, std::move(items));
}

owned_value to_owned(const value& v) {
  switch (v.type()) {
    case value_type::string: return owned_value::string(std::string(v.as_string()));
    case value_type::array: {
      std::vector<owned_value> items;
      items.reserve(v.size());
      const value_type et = v.element_type();
      if (et == value_type::string) {
        for (std::string_view s : v.strings()) items.push_back(owned_value::string(std::string(s)));
      } else if (et == value_type::array) {
        for (const value& a : v.arrays()) items.push_back(to_owned(a));
      } else {
        // The reader's canonical payload is the owned one (and its bools are checked 0 or 1).
        const auto raw = v.raw_elements();
        const uint64_t eb = element_bytes(et);
        for (uint64_t i = 0; i < v.size(); ++i)
          items.push_back(scalar(et, detail::decode_scalar(et, raw.data() + i * eb)));
      }
      return owned_value::array(et, std::move(items));
    }
    case value_type::boolean: return owned_value::boolean(v.as_bool());
    case value_type::f32: return owned_value::f32(static_cast<float>(v.as_double()));
    case value_type::f64: return owned_value::f64(v.as_double());
    case value_type::u8:
    case value_type::i8:
    case value_type::u16:
    case value_type::i16:
    case value_type::u32:
    case value_type::i32:
    case value_type::u64:
    case value_type::i64: {
      // as_uint/as_int reject out-of-range conversions; the raw payload is what we want.
      return scalar(v.type(), v.type() == value_type::u64 ? v.as_uint() : static_cast<uint64_t>(v.as_int()));
    }
  }
  MOEBENCH_CHECK(false, "to_owned: unreachable");
  return {};
}

// ---- writer ------------------------------------------------------------------------------

writer::writer(uint64_t alignment) : alignment_(alignment) {
  MOEBENCH_CHECK(alignment > 0 && std::has_single_bit(alignment), "writer: alignment must be a power of two");
}

void writer::set(std::string key, owned_value v) {
  for (auto& [k, val] : metadata_)
    if (k == key) {
      val = std::move(v);
      return;
    }
  metadata_.emplace_back(std::move(key), std::move(v));
}

bool writer::contains(std::string_view key) const noexcept {
  for (const auto& [k, v] : metadata_)
    if (k == key) return true;
  return false;
}

namespace {
uint64_t tensor_bytes(tensor_type type, const std::vector<int64_t>& shape) {
  MOEBENCH_CHECK(!shape.empty() && shape.size() <= 4, "writer: tensors have 1 to 4 dimensions");
  int64_t rows = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
  const auto rb = row_bytes(type, shape[0]);
  MOEBENCH_CHECK(rb.has_value(), "writer: row length is not a multiple of the block size");
  return *rb * static_cast<uint64_t>(rows);
}
}  // namespace

void writer::add_tensor(std::string name, tensor_type type, std::vector<int64_t> shape, row_source rows) {
  MOEBENCH_CHECK(can_quantize(type), "writer::add_tensor: type cannot be quantised");
  const uint64_t bytes = tensor_bytes(type, shape);
  tensors_.push_back({std::move(name), type, std::move(shape), bytes, std::move(rows), {}});
}

void writer::add_tensor_bytes(std::string name, tensor_type type, std::vector<int64_t> shape,
                              std::vector<std::byte> bytes) {
  const uint64_t n = tensor_bytes(type, shape);
  MOEBENCH_CHECK(n == bytes.size(), "writer::add_tensor_bytes: wrong byte count");
  tensors_.push_back({std::move(name), type, std::move(shape), n, nullptr, std::move(bytes)});
}

namespace {

template <class Sink>
void put_uint(Sink& s, uint64_t v, int n) {
  std::byte b[8];
  for (int i = 0; i < n; ++i) b[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  s.write(b, static_cast<uint64_t>(n));
}

template <class Sink>
void put_string(Sink& s, std::string_view str) {
  put_uint(s, str.size(), 8);
  s.write(reinterpret_cast<const std::byte*>(str.data()), str.size());
}

template <class Sink>
void put_payload(Sink& s, const owned_value& v);

template <class Sink>
void put_array_body(Sink& s, const owned_value& v) {
  put_uint(s, static_cast<uint32_t>(v.element_type), 4);
  put_uint(s, v.items.size(), 8);
  for (const owned_value& it : v.items) put_payload(s, it);
}

template <class Sink>
void put_payload(Sink& s, const owned_value& v) {
  switch (v.type) {
    case value_type::string: put_string(s, v.str); return;
    case value_type::array: put_array_body(s, v); return;
    case value_type::f32:
      put_uint(s, std::bit_cast<uint32_t>(static_cast<float>(std::bit_cast<double>(v.bits))), 4);
      return;
    case value_type::u8:
    case value_type::i8:
    case value_type::u16:
    case value_type::i16:
    case value_type::u32:
    case value_type::i32:
    case value_type::u64:
    case value_type::i64:
    case value_type::f64:
    case value_type::boolean: put_uint(s, v.bits, static_cast<int>(element_bytes(v.type))); return;
  }
}

struct memory_sink {
  std::vector<std::byte>& out;
  void write(const std::byte* p, uint64_t n) {
    if (n == 0) return;
    const std::size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, p, n);
  }
  uint64_t pos() const { return out.size(); }
};

struct file_sink {
  std::FILE* f;
  std::string path;
  uint64_t written = 0;
  void write(const std::byte* p, uint64_t n) {
    if (n > 0 && std::fwrite(p, 1, n, f) != n)
      throw error("gguf.io", {path, 0, ""}, fmt::format("write failed: {}", std::strerror(errno)));
    written += n;
  }
  uint64_t pos() const { return written; }
};

}  // namespace

template <class Sink>
void writer::emit(Sink& sink) const {
  put_uint(sink, magic, 4);
  put_uint(sink, supported_version, 4);
  put_uint(sink, tensors_.size(), 8);
  put_uint(sink, metadata_.size(), 8);
  for (const auto& [k, v] : metadata_) {
    put_string(sink, k);
    put_uint(sink, static_cast<uint32_t>(v.type), 4);
    put_payload(sink, v);
  }
  auto padded = [&](uint64_t n) { return (n + alignment_ - 1) / alignment_ * alignment_; };
  uint64_t offset = 0;
  for (const pending_tensor& t : tensors_) {
    put_string(sink, t.name);
    put_uint(sink, t.shape.size(), 4);
    for (int64_t d : t.shape) put_uint(sink, static_cast<uint64_t>(d), 8);
    put_uint(sink, static_cast<uint32_t>(t.type), 4);
    put_uint(sink, offset, 8);
    offset = padded(offset + t.bytes);
  }
  const std::vector<std::byte> zeros(alignment_, std::byte{0});
  sink.write(zeros.data(), padded(sink.pos()) - sink.pos());
  const uint64_t data_start = sink.pos();
  std::vector<float> row_f32;
  std::vector<std::byte> row_q;
  for (const pending_tensor& t : tensors_) {
    if (t.rows) {
      const int64_t n = t.shape[0];
      const uint64_t rb = *row_bytes(t.type, n);
      row_f32.resize(static_cast<std::size_t>(n));
      row_q.resize(rb);
      const int64_t rows = static_cast<int64_t>(t.bytes / rb);
      for (int64_t r = 0; r < rows; ++r) {
        t.rows(r, row_f32.data());
        quantize_row(t.type, row_f32.data(), row_q.data(), n);
        sink.write(row_q.data(), rb);
      }
    } else {
      sink.write(t.raw.data(), t.raw.size());
    }
    const uint64_t rel = sink.pos() - data_start;
    sink.write(zeros.data(), padded(rel) - rel);
  }
}

std::vector<std::byte> writer::to_bytes() const {
  std::vector<std::byte> out;
  memory_sink s{out};
  emit(s);
  return out;
}

void writer::write(const std::filesystem::path& path) const {
  const std::string tmp = path.string() + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr)
    throw error("gguf.io", {path.string(), 0, ""}, fmt::format("cannot create: {}", std::strerror(errno)));
  try {
    file_sink s{f, path.string()};
    emit(s);
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0 || std::rename(tmp.c_str(), path.string().c_str()) != 0) {
    std::remove(tmp.c_str());
    throw error("gguf.io", {path.string(), 0, ""}, fmt::format("cannot write: {}", std::strerror(errno)));
  }
}

}  // namespace moebench::gguf
