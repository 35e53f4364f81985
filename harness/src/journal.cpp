#include "moebench/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "moebench/error.h"
#include "moebench/io.h"

namespace moebench {

journal journal::open(const std::filesystem::path& path, journal_recovery* recovery) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw error("journal.open", {path.string()}, std::string("cannot open: ") + std::strerror(errno));
  journal j(path, fd);

  std::string text;
  {
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw error("journal.read", {path.string()}, std::strerror(errno));
      if (n == 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
  }

  journal_recovery rec;
  std::size_t keep = 0;  // bytes of complete, valid lines
  std::size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    ++line_no;
    const bool complete = nl != std::string::npos;
    const std::string_view line(text.data() + pos, (complete ? nl : text.size()) - pos);
    nlohmann::json record;
    bool valid = complete;
    if (valid) {
      try {
        record = nlohmann::json::parse(line);
        valid = record.is_object();
      } catch (const nlohmann::json::parse_error&) {
        valid = false;
      }
    }
    const bool last = !complete || nl + 1 == text.size();
    if (!valid) {
      if (!last)
        throw error("journal.corrupt", {path.string(), line_no},
                    "unparseable record before the end of the journal");
      break;  // torn tail
    }
    rec.records.push_back(std::move(record));
    pos = nl + 1;
    keep = pos;
  }
  rec.torn_bytes_removed = static_cast<int64_t>(text.size() - keep);
  if (keep != text.size()) {
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
      throw error("journal.repair", {path.string()}, std::strerror(errno));
    ::fdatasync(fd);
  }
  if (::lseek(fd, 0, SEEK_END) < 0)
    throw error("journal.open", {path.string()}, std::strerror(errno));
  if (recovery) *recovery = std::move(rec);
  return j;
}

journal::journal(journal&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

journal::~journal() {
  if (fd_ >= 0) ::close(fd_);
}

void journal::append(const nlohmann::json& record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard lock(mu_);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw error("journal.write", {path_.string()}, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

void journal::sync() {
  std::lock_guard lock(mu_);
  ::fdatasync(fd_);
}

}  // namespace moebench
