#include "moebench/model/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_map>

#include <fmt/core.h>

#include "moebench/error.h"
#include "value_types.h"

namespace moebench::gguf {

std::string_view name(value_type t) noexcept { return detail::value_traits(t).name; }
bool is_integer(value_type t) noexcept { return detail::value_traits(t).is_integer; }
bool is_float(value_type t) noexcept { return detail::value_traits(t).is_float; }

namespace {

using detail::decode_scalar;
using detail::load_le;

bool is_signed(value_type t) noexcept { return detail::value_traits(t).is_signed; }
uint64_t scalar_bytes(value_type t) noexcept { return detail::value_traits(t).scalar_bytes; }

std::optional<value_type> value_type_from_id(uint32_t id) noexcept {
  if (id > 12) return std::nullopt;
  return static_cast<value_type>(id);
}

constexpr int max_array_depth = 8;
constexpr uint64_t max_tensor_name_bytes = 63;  // ggml's GGML_MAX_NAME is 64 including the NUL
constexpr uint32_t max_dims = 4;                // GGML_MAX_DIMS

}  // namespace

// ---- value -------------------------------------------------------------------------------

int64_t value::as_int() const {
  MOEBENCH_CHECK(is_integer(type_), "value::as_int on a non-integer");
  if (!is_signed(type_) && bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw error("gguf.out_of_range", "unsigned value does not fit in int64");
  return static_cast<int64_t>(bits_);
}

uint64_t value::as_uint() const {
  MOEBENCH_CHECK(is_integer(type_), "value::as_uint on a non-integer");
  if (is_signed(type_) && static_cast<int64_t>(bits_) < 0)
    throw error("gguf.out_of_range", "negative value where an unsigned one is expected");
  return bits_;
}

double value::as_double() const {
  MOEBENCH_CHECK(is_float(type_), "value::as_double on a non-float");
  return std::bit_cast<double>(bits_);
}

bool value::as_bool() const {
  MOEBENCH_CHECK(type_ == value_type::boolean, "value::as_bool on a non-bool");
  return bits_ != 0;
}

std::string_view value::as_string() const {
  MOEBENCH_CHECK(type_ == value_type::string, "value::as_string on a non-string");
  return string_;
}

value_type value::element_type() const {
  MOEBENCH_CHECK(type_ == value_type::array, "value::element_type on a non-array");
  return element_type_;
}

uint64_t value::size() const {
  MOEBENCH_CHECK(type_ == value_type::array, "value::size on a non-array");
  return count_;
}

std::span<const std::string_view> value::strings() const {
  MOEBENCH_CHECK(type_ == value_type::array && element_type_ == value_type::string,
                 "value::strings on something other than an array of strings");
  return strings_;
}

std::span<const value> value::arrays() const {
  MOEBENCH_CHECK(type_ == value_type::array && element_type_ == value_type::array,
                 "value::arrays on something other than an array of arrays");
  return arrays_;
}

int64_t value::int_at(uint64_t i) const {
  MOEBENCH_CHECK(type_ == value_type::array && is_integer(element_type_) && i < count_,
                 "value::int_at: not an integer array or index out of range");
  const uint64_t b = decode_scalar(element_type_, raw_ + i * scalar_bytes(element_type_));
  if (!is_signed(element_type_) && b > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw error("gguf.out_of_range", "unsigned array element does not fit in int64");
  return static_cast<int64_t>(b);
}

uint64_t value::uint_at(uint64_t i) const {
  MOEBENCH_CHECK(type_ == value_type::array && is_integer(element_type_) && i < count_,
                 "value::uint_at: not an integer array or index out of range");
  const uint64_t b = decode_scalar(element_type_, raw_ + i * scalar_bytes(element_type_));
  if (is_signed(element_type_) && static_cast<int64_t>(b) < 0)
    throw error("gguf.out_of_range", "negative array element where an unsigned one is expected");
  return b;
}

double value::double_at(uint64_t i) const {
  MOEBENCH_CHECK(type_ == value_type::array && is_float(element_type_) && i < count_,
                 "value::double_at: not a float array or index out of range");
  return std::bit_cast<double>(decode_scalar(element_type_, raw_ + i * scalar_bytes(element_type_)));
}

bool value::bool_at(uint64_t i) const {
  MOEBENCH_CHECK(type_ == value_type::array && element_type_ == value_type::boolean && i < count_,
                 "value::bool_at: not a bool array or index out of range");
  return raw_[i] != std::byte{0};
}

std::span<const std::byte> value::raw_elements() const {
  MOEBENCH_CHECK(type_ == value_type::array && scalar_bytes(element_type_) > 0,
                 "value::raw_elements on something other than an array of scalars");
  return {raw_, count_ * scalar_bytes(element_type_)};
}

int64_t tensor_info::elements() const noexcept {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---- file --------------------------------------------------------------------------------

struct file::impl {
  std::string path;
  const std::byte* base = nullptr;
  uint64_t size = 0;
  void* mapping = nullptr;
  std::size_t mapping_bytes = 0;
  std::vector<std::byte> owned;
  uint32_t version = 0;
  uint64_t alignment = default_alignment;
  uint64_t data_offset = 0;
  std::vector<metadata_entry> metadata;
  std::unordered_map<std::string_view, std::size_t> key_index;
  std::vector<tensor_info> tensors;
  std::unordered_map<std::string_view, std::size_t> tensor_index;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (mapping != nullptr) ::munmap(mapping, mapping_bytes);
  }
};

namespace detail {

// A bounds-checked cursor over the file bytes. Every read checks the bytes left first, and every
// count is checked against the bytes left before anything is allocated from it.
struct parser {
  file::impl& f;
  uint64_t pos = 0;

  [[noreturn]] void fail(const char* id, const std::string& field, const std::string& msg) const {
    throw error(id, {f.path, 0, field}, msg);
  }

  uint64_t left() const noexcept { return f.size - pos; }

  void need(uint64_t n, const std::string& field, const char* what) const {
    if (n > left())
      fail("gguf.truncated", field,
           fmt::format("file ends while reading {} at byte {} (needs {} bytes, {} left)", what, pos,
                       n, left()));
  }

  uint64_t read_uint(uint64_t n, const std::string& field, const char* what) {
    need(n, field, what);
    const uint64_t v = load_le(f.base + pos, n);
    pos += n;
    return v;
  }

  std::string_view read_string(const std::string& field, const char* what) {
    const uint64_t len = read_uint(8, field, what);
    if (len > left())
      fail("gguf.bad_string", field,
           fmt::format("{} has length {} at byte {}, but only {} bytes are left", what, len,
                       pos - 8, left()));
    std::string_view s(reinterpret_cast<const char*>(f.base + pos), len);
    pos += len;
    return s;
  }

  value_type read_value_type(const std::string& field) {
    const uint64_t start = pos;
    const auto id = static_cast<uint32_t>(read_uint(4, field, "a value type"));
    const auto t = value_type_from_id(id);
    if (!t) fail("gguf.bad_value_type", field, fmt::format("unknown value type {} at byte {}", id, start));
    return *t;
  }

  // Reads the payload of an array (element type, count, elements) into v.
  void read_array(value& v, const std::string& field, int depth) {
    if (depth > max_array_depth)
      fail("gguf.too_deep", field,
           fmt::format("arrays nested more than {} deep", max_array_depth));
    v.type_ = value_type::array;
    v.element_type_ = read_value_type(field);
    const uint64_t count_pos = pos;
    v.count_ = read_uint(8, field, "an array length");
    // The smallest encoding of one element bounds the count by the bytes left.
    const uint64_t elem = scalar_bytes(v.element_type_);
    const uint64_t min_elem = elem > 0 ? elem : (v.element_type_ == value_type::string ? 8 : 12);
    if (v.count_ > left() / min_elem)
      fail("gguf.too_many", field,
           fmt::format("array at byte {} claims {} elements of type {}, more than the {} bytes left "
                       "can hold",
                       count_pos, v.count_, name(v.element_type_), left()));
    if (elem > 0) {
      v.raw_ = f.base + pos;
      if (v.element_type_ == value_type::boolean)
        for (uint64_t i = 0; i < v.count_; ++i) check_bool(f.base[pos + i], field);
      pos += v.count_ * elem;
    } else if (v.element_type_ == value_type::string) {
      v.strings_.reserve(v.count_);
      for (uint64_t i = 0; i < v.count_; ++i) v.strings_.push_back(read_string(field, "a string"));
    } else {
      v.arrays_.resize(v.count_);
      for (uint64_t i = 0; i < v.count_; ++i) read_array(v.arrays_[i], field, depth + 1);
    }
  }

  void check_bool(std::byte b, const std::string& field) const {
    if (b != std::byte{0} && b != std::byte{1})
      fail("gguf.bad_bool", field,
           fmt::format("bool value {} is neither 0 nor 1", static_cast<unsigned>(b)));
  }

  value read_value(value_type t, const std::string& field) {
    value v;
    v.type_ = t;
    switch (t) {
      case value_type::string: v.string_ = read_string(field, "a string value"); break;
      case value_type::array: read_array(v, field, 1); break;
      case value_type::boolean:
        need(1, field, "a bool");
        check_bool(f.base[pos], field);
        v.bits_ = decode_scalar(t, f.base + pos);
        pos += 1;
        break;
      case value_type::u8:
      case value_type::i8:
      case value_type::u16:
      case value_type::i16:
      case value_type::u32:
      case value_type::i32:
      case value_type::f32:
      case value_type::u64:
      case value_type::i64:
      case value_type::f64:
        need(scalar_bytes(t), field, "a scalar value");
        v.bits_ = decode_scalar(t, f.base + pos);
        pos += scalar_bytes(t);
        break;
    }
    return v;
  }

  void parse() {
    const uint64_t m = read_uint(4, "", "the magic");
    if (m != magic)
      fail("gguf.bad_magic", "",
           fmt::format("not a GGUF file: magic is 0x{:08x}, expected 0x{:08x} (\"GGUF\")", m, magic));
    f.version = static_cast<uint32_t>(read_uint(4, "", "the version"));
    // Version 2 has the same layout as 3 (3 only allowed big-endian files, which carry the magic
    // byte-swapped and are rejected above); llama.cpp reads both.
    if (f.version != supported_version && f.version != 2)
      fail("gguf.bad_version", "",
           fmt::format("GGUF version {} is not supported (2 and {} are)", f.version, supported_version));
    const uint64_t n_tensors = read_uint(8, "", "the tensor count");
    const uint64_t n_kv = read_uint(8, "", "the metadata count");
    // Minimal encodings: a key-value pair is >= 8 (key length) + 4 (type) + 1 bytes, a tensor
    // info >= 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
    if (n_kv > left() / 13)
      fail("gguf.too_many", "",
           fmt::format("{} metadata entries cannot fit in the {} bytes left", n_kv, left()));
    if (n_tensors > left() / 32)
      fail("gguf.too_many", "",
           fmt::format("{} tensors cannot fit in the {} bytes left", n_tensors, left()));

    f.metadata.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string idx = fmt::format("metadata[{}]", i);
      const std::string_view key = read_string(idx, "a metadata key");
      const std::string field(key);
      const value_type t = read_value_type(field);
      value v = read_value(t, field);
      if (!f.key_index.emplace(key, f.metadata.size()).second)
        fail("gguf.duplicate_key", field, "metadata key appears twice");
      f.metadata.push_back({key, std::move(v)});
    }

    if (auto it = f.key_index.find("general.alignment"); it != f.key_index.end()) {
      const value& a = f.metadata[it->second].val;
      if (a.type() != value_type::u32)
        fail("gguf.bad_alignment", "general.alignment",
             fmt::format("must be a u32, is a {}", name(a.type())));
      const uint64_t al = a.as_uint();
      if (al == 0 || !std::has_single_bit(al))
        fail("gguf.bad_alignment", "general.alignment",
             fmt::format("alignment {} is not a power of two", al));
      f.alignment = al;
    }

    f.tensors.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(i);

    const uint64_t header_end = pos;
    const uint64_t pad = (f.alignment - header_end % f.alignment) % f.alignment;
    // A file without tensors may end right after its header.
    f.data_offset = std::min(f.size, header_end + pad);
    if (n_tensors > 0 && header_end + pad > f.size)
      fail("gguf.truncated", "",
           fmt::format("file ends at byte {} before its data section at byte {}", f.size,
                       header_end + pad));
    check_tensor_ranges();
  }

  void read_tensor_info(uint64_t i) {
    const std::string idx = fmt::format("tensor[{}]", i);
    const std::string_view nm = read_string(idx, "a tensor name");
    const std::string field(nm);
    if (nm.size() > max_tensor_name_bytes)
      fail("gguf.bad_tensor_name", idx,
           fmt::format("tensor name is {} bytes long, the limit is {}", nm.size(),
                       max_tensor_name_bytes));
    tensor_info t;
    t.name = nm;
    const auto n_dims = static_cast<uint32_t>(read_uint(4, field, "a dimension count"));
    if (n_dims < 1 || n_dims > max_dims)
      fail("gguf.bad_dims", field, fmt::format("{} dimensions (must be 1 to {})", n_dims, max_dims));
    t.shape.reserve(n_dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = read_uint(8, field, "a dimension");
      if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne)
        fail("gguf.bad_dims", field,
             fmt::format("dimension {} is {}: must be >= 1 and the element count must fit in int64",
                         d, ne));
      elements *= ne;
      t.shape.push_back(static_cast<int64_t>(ne));
    }
    const auto type_id = static_cast<uint32_t>(read_uint(4, field, "a tensor type"));
    const auto type = tensor_type_from_id(type_id);
    if (!type) fail("gguf.unknown_tensor_type", field, fmt::format("unknown tensor type {}", type_id));
    t.type = *type;
    const auto rb = row_bytes(t.type, t.shape[0]);
    if (!rb)
      fail("gguf.bad_dims", field,
           fmt::format("row length {} is not a multiple of the {} block size {} or is too large", t.shape[0],
                       gguf::name(t.type), traits(t.type).block_elements));
    const uint64_t rows = elements / static_cast<uint64_t>(t.shape[0]);
    if (*rb != 0 && rows > std::numeric_limits<uint64_t>::max() / *rb)
      fail("gguf.bad_dims", field, "tensor size overflows");
    t.bytes = *rb * rows;
    t.offset = read_uint(8, field, "a tensor offset");
    if (!f.tensor_index.emplace(nm, f.tensors.size()).second)
      fail("gguf.duplicate_tensor", field, "tensor name appears twice");
    f.tensors.push_back(std::move(t));
  }

  void check_tensor_ranges() {
    const uint64_t data_bytes = f.size - f.data_offset;
    std::vector<std::size_t> order(f.tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
      const tensor_info& t = f.tensors[i];
      const std::string field(t.name);
      if (t.offset % f.alignment != 0)
        fail("gguf.misaligned_offset", field,
             fmt::format("data offset {} is not a multiple of the alignment {}", t.offset,
                         f.alignment));
      if (t.offset > data_bytes || t.bytes > data_bytes - t.offset)
        fail("gguf.bad_offset", field,
             fmt::format("data [{}, +{}) lies outside the {}-byte data section", t.offset, t.bytes,
                         data_bytes));
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return f.tensors[a].offset < f.tensors[b].offset;
    });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const tensor_info& prev = f.tensors[order[k - 1]];
      const tensor_info& cur = f.tensors[order[k]];
      if (prev.offset + prev.bytes > cur.offset)
        fail("gguf.overlapping_tensors", std::string(cur.name),
             fmt::format("data at offset {} overlaps tensor '{}' [{}, +{})", cur.offset, prev.name,
                         prev.offset, prev.bytes));
    }
  }
};

}  // namespace detail

file::file(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  detail::parser{*impl_}.parse();
}

file::file(const std::filesystem::path& path) : impl_(std::make_unique<impl>()) {
  impl& f = *impl_;
  f.path = path.string();
  const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw error("gguf.io", {f.path, 0, ""}, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw error("gguf.io", {f.path, 0, ""}, "not a regular file");
  }
  f.size = static_cast<uint64_t>(st.st_size);
  if (f.size > 0) {
    void* m = ::mmap(nullptr, f.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw error("gguf.io", {f.path, 0, ""}, fmt::format("cannot map: {}", std::strerror(e)));
    }
    f.mapping = m;
    f.mapping_bytes = f.size;
    f.base = static_cast<const std::byte*>(m);
  }
  ::close(fd);
  detail::parser{f}.parse();
}

file file::from_bytes(std::span<const std::byte> bytes, std::string name) {
  auto p = std::make_unique<impl>();
  p->path = std::move(name);
  p->owned.assign(bytes.begin(), bytes.end());
  p->base = p->owned.data();
  p->size = p->owned.size();
  return file(std::move(p));
}

file::file(file&&) noexcept = default;
file& file::operator=(file&&) noexcept = default;
file::~file() = default;

const std::string& file::path() const noexcept { return impl_->path; }
uint32_t file::version() const noexcept { return impl_->version; }
uint64_t file::alignment() const noexcept { return impl_->alignment; }
uint64_t file::data_offset() const noexcept { return impl_->data_offset; }
uint64_t file::file_bytes() const noexcept { return impl_->size; }
std::span<const metadata_entry> file::metadata() const noexcept { return impl_->metadata; }

const value* file::find(std::string_view key) const noexcept {
  auto it = impl_->key_index.find(key);
  return it == impl_->key_index.end() ? nullptr : &impl_->metadata[it->second].val;
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, std::string_view key, value_type got,
                             const char* want) {
  throw error("gguf.wrong_type", {path, 0, std::string(key)},
              fmt::format("expected {}, found {}", want, name(got)));
}

const value& required(const file& f, std::string_view key) {
  const value* v = f.find(key);
  if (v == nullptr)
    throw error("gguf.missing_key", {f.path(), 0, std::string(key)}, "metadata key is missing");
  return *v;
}

// Runs `read`, re-throwing a moebench::error from it (a value out of range) with the key as its
// location.
template <class F>
auto naming_key(const std::string& path, std::string_view key, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const error& e) {
    throw error(e.id(), {path, 0, std::string(key)}, e.message());
  }
}

// find_X: get_X where the key is present.
template <class T>
std::optional<T> if_present(const file& f, std::string_view key, T (file::*get)(std::string_view) const) {
  if (!f.contains(key)) return std::nullopt;
  return (f.*get)(key);
}

}  // namespace

std::string_view file::get_string(std::string_view key) const {
  const value& v = required(*this, key);
  if (v.type() != value_type::string) wrong_type(impl_->path, key, v.type(), "a string");
  return v.as_string();
}

int64_t file::get_int(std::string_view key) const {
  const value& v = required(*this, key);
  if (!is_integer(v.type())) wrong_type(impl_->path, key, v.type(), "an integer");
  return naming_key(impl_->path, key, [&] { return v.as_int(); });
}

uint64_t file::get_uint(std::string_view key) const {
  const value& v = required(*this, key);
  if (!is_integer(v.type())) wrong_type(impl_->path, key, v.type(), "an integer");
  return naming_key(impl_->path, key, [&] { return v.as_uint(); });
}

uint32_t file::get_u32(std::string_view key) const {
  const uint64_t u = get_uint(key);
  if (u > std::numeric_limits<uint32_t>::max())
    throw error("gguf.out_of_range", {impl_->path, 0, std::string(key)},
                fmt::format("value {} does not fit in 32 bits", u));
  return static_cast<uint32_t>(u);
}

double file::get_float(std::string_view key) const {
  const value& v = required(*this, key);
  if (!is_float(v.type())) wrong_type(impl_->path, key, v.type(), "a float");
  return v.as_double();
}

bool file::get_bool(std::string_view key) const {
  const value& v = required(*this, key);
  if (v.type() != value_type::boolean) wrong_type(impl_->path, key, v.type(), "a bool");
  return v.as_bool();
}

std::span<const std::string_view> file::get_string_array(std::string_view key) const {
  const value& v = required(*this, key);
  if (v.type() != value_type::array || v.element_type() != value_type::string)
    wrong_type(impl_->path, key, v.type(), "an array of strings");
  return v.strings();
}

std::vector<int64_t> file::get_int_array(std::string_view key) const {
  const value& v = required(*this, key);
  if (v.type() != value_type::array || !is_integer(v.element_type()))
    wrong_type(impl_->path, key, v.type(), "an array of integers");
  std::vector<int64_t> out;
  out.reserve(v.size());
  naming_key(impl_->path, key, [&] {
    for (uint64_t i = 0; i < v.size(); ++i) out.push_back(v.int_at(i));
  });
  return out;
}

std::vector<float> file::get_float_array(std::string_view key) const {
  const value& v = required(*this, key);
  if (v.type() != value_type::array || !is_float(v.element_type()))
    wrong_type(impl_->path, key, v.type(), "an array of floats");
  std::vector<float> out;
  out.reserve(v.size());
  for (uint64_t i = 0; i < v.size(); ++i) out.push_back(static_cast<float>(v.double_at(i)));
  return out;
}


std::optional<std::string_view> file::find_string(std::string_view key) const {
  return if_present(*this, key, &file::get_string);
}
std::optional<int64_t> file::find_int(std::string_view key) const { return if_present(*this, key, &file::get_int); }
std::optional<uint64_t> file::find_uint(std::string_view key) const { return if_present(*this, key, &file::get_uint); }
std::optional<uint32_t> file::find_u32(std::string_view key) const { return if_present(*this, key, &file::get_u32); }
std::optional<double> file::find_float(std::string_view key) const { return if_present(*this, key, &file::get_float); }
std::optional<bool> file::find_bool(std::string_view key) const { return if_present(*this, key, &file::get_bool); }

std::string_view file::architecture() const { return get_string("general.architecture"); }

std::string file::arch_key(std::string_view suffix) const {
  std::string k(architecture());
  k += '.';
  k += suffix;
  return k;
}

std::span<const tensor_info> file::tensors() const noexcept { return impl_->tensors; }

const tensor_info* file::find_tensor(std::string_view name) const noexcept {
  auto it = impl_->tensor_index.find(name);
  return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

const tensor_info& file::tensor(std::string_view name) const {
  const tensor_info* t = find_tensor(name);
  if (t == nullptr)
    throw error("gguf.missing_tensor", {impl_->path, 0, std::string(name)}, "tensor is missing");
  return *t;
}

std::span<const std::byte> file::data(const tensor_info& t) const {
  return {impl_->base + impl_->data_offset + t.offset, t.bytes};
}

void file::dequantize_row(const tensor_info& t, int64_t row, float* dst) const {
  MOEBENCH_CHECK(row >= 0 && row < t.rows(), "dequantize_row: row out of range");
  const uint64_t rb = *row_bytes(t.type, t.shape[0]);
  gguf::dequantize_row(t.type, data(t).data() + static_cast<uint64_t>(row) * rb, dst, t.shape[0]);
}

}  // namespace moebench::gguf
