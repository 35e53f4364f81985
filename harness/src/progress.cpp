#include "moebench/progress.h"

#include <unistd.h>

#include <fmt/core.h>

#include "moebench/clock.h"

namespace moebench {

progress::progress(std::string label, int64_t total, int64_t already_done, mode m, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      done_(already_done),
      start_done_(already_done),
      start_ns_(now_ns()),
      out_(out) {
  switch (m) {
    case mode::automatic:
      tty_ = ::isatty(::fileno(out)) != 0;
      break;
    case mode::tty:
      tty_ = true;
      break;
    case mode::lines:
      tty_ = false;
      break;
    case mode::quiet:
      quiet_ = true;
      break;
  }
}

void progress::tick(int64_t n) {
  std::lock_guard lock(mu_);
  done_ += n;
  const int64_t now = now_ns();
  // A terminal gets ~10 updates a second; a log gets a line every 10 s.
  const int64_t interval_ns = tty_ ? 100'000'000 : 10'000'000'000;
  if (now - last_print_ns_ >= interval_ns) {
    last_print_ns_ = now;
    print_locked(false);
  }
}

void progress::finish() {
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  print_locked(true);
}

void progress::print_locked(bool final_line) {
  if (quiet_) return;
  const double elapsed_s = static_cast<double>(now_ns() - start_ns_) / 1e9;
  const auto fresh = static_cast<double>(done_ - start_done_);
  const double rate = elapsed_s > 0 ? fresh / elapsed_s : 0;
  const double eta_s = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
  const std::string line = fmt::format("{}: {}/{} ({:.1f}/s, ETA {:.0f}s, elapsed {:.1f}s)",
                                       label_, done_, total_, rate, eta_s, elapsed_s);
  if (tty_)
    fmt::print(out_, "\r\033[K{}{}", line, final_line ? "\n" : "");
  else
    fmt::print(out_, "{}\n", line);
  std::fflush(out_);
}

}  // namespace moebench
