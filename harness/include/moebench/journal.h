#pragma once
// The journal: an append-only JSONL file with one record per finished sample (DESIGN.md
// section 4). Each record is written with a single write(2) of the whole line, so a process
// killed at any moment leaves at most one torn (incomplete) last line, which open() repairs.
// Durable against process death as soon as append() returns (the data is in the kernel);
// sync() makes it durable against power loss too.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

namespace moebench {

struct journal_recovery {
  std::vector<nlohmann::json> records;  // complete records found, in file order
  int64_t torn_bytes_removed = 0;       // bytes of an incomplete last line that were cut off
};

class journal {
 public:
  // Opens (creating if needed) the journal at `path` for appending. An incomplete or
  // unparseable last line is truncated away; an unparseable line before the last one is
  // corruption and throws error "journal.corrupt" naming file:line.
  static journal open(const std::filesystem::path& path, journal_recovery* recovery);

  journal(journal&& other) noexcept;
  journal& operator=(journal&&) = delete;
  journal(const journal&) = delete;
  ~journal();

  // Appends one record as one line. Thread-safe. Throws error "journal.write" on I/O failure.
  void append(const nlohmann::json& record);
  // fdatasync. Thread-safe.
  void sync();

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  journal(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mu_;
};

}  // namespace moebench
