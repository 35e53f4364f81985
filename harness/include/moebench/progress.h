#pragma once
// Progress of a long step: a live line (done/total, rate, ETA) on a terminal, plain periodic
// lines otherwise (CI logs), nothing when quiet. Thread-safe.
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace moebench {

class progress {
 public:
  enum class mode { automatic, tty, lines, quiet };
  progress(std::string label, int64_t total, int64_t already_done, mode m = mode::automatic,
           std::FILE* out = stderr);
  void tick(int64_t n = 1);
  void finish();

 private:
  void print_locked(bool final_line);
  std::string label_;
  int64_t total_;
  int64_t done_;
  int64_t start_done_;
  int64_t start_ns_;
  int64_t last_print_ns_ = 0;
  bool tty_ = false;
  bool quiet_ = false;
  bool finished_ = false;
  std::FILE* out_;
  std::mutex mu_;
};

}  // namespace moebench
