#include "moebench/io.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "moebench/text.h"

namespace moebench {
namespace fs = std::filesystem;

namespace {
std::string errno_text(int e) { return std::strerror(e); }

std::string gunzip(std::string_view data, const std::string& name) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw error("io.gzip", {name}, "cannot init zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are legal: continue with the next one.
      if (zs.avail_in == 0) break;
      inflateReset(&zs);
      continue;
    }
    if (rc != Z_OK)
      throw error("io.gzip", {name}, std::string("corrupt gzip data: ") + (zs.msg ? zs.msg : "?"));
    if (zs.avail_in == 0 && zs.avail_out != 0)
      throw error("io.gzip", {name}, "truncated gzip data");
  }
  return out;
}
}  // namespace

std::string read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("io.read", {path.string()}, "cannot open: " + errno_text(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw error("io.read", {path.string()}, "read failed");
  return data;
}

std::string read_file(const fs::path& path) {
  std::string data = read_file_bytes(path);
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
      static_cast<unsigned char>(data[1]) == 0x8b)
    return gunzip(data, path.string());
  return data;
}

void for_each_jsonl_text(std::string_view text, const std::string& name,
                         const std::function<void(const nlohmann::json&, int64_t)>& fn) {
  int64_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const auto line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw error("jsonl.bad_json", {name, line_no}, std::string("invalid JSON: ") + e.what());
    }
    if (!j.is_object()) throw error("jsonl.bad_json", {name, line_no}, "expected a JSON object");
    fn(j, line_no);
  }
}

void for_each_jsonl(const fs::path& path,
                    const std::function<void(const nlohmann::json&, int64_t)>& fn) {
  for_each_jsonl_text(read_file(path), path.string(), fn);
}

const nlohmann::json& require_field(const nlohmann::json& object, const std::string& field,
                                    const input_location& where) {
  const auto it = object.find(field);
  if (it == object.end())
    throw error("jsonl.missing_field", {where.file, where.line, field}, "required field missing");
  return *it;
}

std::string require_string(const nlohmann::json& object, const std::string& field,
                           const input_location& where) {
  const auto& v = require_field(object, field, where);
  if (!v.is_string())
    throw error("jsonl.bad_type", {where.file, where.line, field},
                std::string("expected a string, got ") + v.type_name());
  return v.get<std::string>();
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmpXXXXXX")).string();
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) throw error("io.write", {path.string()}, "cannot create temporary file: " + errno_text(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmpl.c_str());
      throw error("io.write", {path.string()}, "write failed: " + errno_text(e));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw error("io.write", {path.string()}, "fsync/close failed: " + errno_text(e));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw error("io.write", {path.string()}, "rename failed: " + errno_text(e));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  MOEBENCH_CHECK(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) == 1,
                 "EVP_Digest(sha256) failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

}  // namespace moebench
