#include "moebench/serve/echo_model.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace moebench::serve {
namespace {
namespace asio = boost::asio;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// One echo generation; owned by its pending timer callbacks and by the handle given out.
class echo_state : public std::enable_shared_from_this<echo_state> {
 public:
  echo_state(asio::io_context& ioc, std::vector<std::string> pieces, int64_t limit,
             std::vector<std::string> stop, std::shared_ptr<generation_sink> sink,
             std::chrono::nanoseconds interval)
      : strand_(asio::make_strand(ioc)),
        timer_(strand_),
        pieces_(std::move(pieces)),
        limit_(limit),
        stop_(std::move(stop)),
        sink_(std::move(sink)),
        interval_(interval) {}

  void begin() {
    if (interval_.count() == 0) {
      while (!finished_) step();
      return;
    }
    next_ = std::chrono::steady_clock::now();
    schedule();
  }

  void cancel() {
    asio::post(strand_, [self = shared_from_this()] {
      self->cancelled_ = true;
      self->timer_.cancel();
    });
  }

 private:
  void schedule() {
    // Tokens are due at fixed times from the start, so that the rate does not drift with load.
    next_ += interval_;
    timer_.expires_at(next_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
      if (self->cancelled_) return self->finish(generation_finish::cancelled);
      self->step();
      if (!self->finished_) self->schedule();
    });
  }

  void step() {
    if (produced_ >= limit_ || pieces_.empty()) {
      flush(text_.size());
      return finish(pieces_.empty() ? generation_finish::stop : generation_finish::length);
    }
    text_ += pieces_[static_cast<std::size_t>(produced_) % pieces_.size()];
    ++produced_;
    // As real servers do: stop before the first stop sequence, and hold back a tail that may
    // still become one, so that no emitted text ever has to be taken back.
    std::size_t longest = 0;
    for (const auto& s : stop_) longest = std::max(longest, s.size());
    const std::size_t from = sent_ >= longest ? sent_ - longest + 1 : 0;
    std::size_t cut = std::string::npos;
    for (const auto& s : stop_)
      if (!s.empty()) cut = std::min(cut, text_.find(s, from));
    if (cut != std::string::npos) {
      flush(cut);
      return finish(generation_finish::stop);
    }
    std::size_t hold = 0;
    for (const auto& s : stop_) {
      if (s.empty()) continue;
      for (std::size_t k = std::min(s.size() - 1, text_.size() - sent_); k > hold; --k) {
        if (std::string_view(text_).substr(text_.size() - k) == std::string_view(s).substr(0, k)) {
          hold = k;
          break;
        }
      }
    }
    flush(text_.size() - hold);
  }

  // Emits the text up to `end` that has not been emitted yet.
  void flush(std::size_t end) {
    if (end > sent_) sink_->on_token(std::string_view(text_).substr(sent_, end - sent_));
    sent_ = std::max(sent_, end);
  }

  void finish(generation_finish f) {
    if (finished_) return;
    finished_ = true;
    generation_summary s;
    s.finish = f;
    s.prompt_tokens = static_cast<int64_t>(pieces_.size());
    s.completion_tokens = produced_;
    sink_->on_finish(s);
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  const std::vector<std::string> pieces_;
  const int64_t limit_;
  const std::vector<std::string> stop_;
  const std::shared_ptr<generation_sink> sink_;
  const std::chrono::nanoseconds interval_;
  std::chrono::steady_clock::time_point next_;
  std::string text_;
  std::size_t sent_ = 0;
  int64_t produced_ = 0;
  bool finished_ = false;
  bool cancelled_ = false;
};

class echo_handle final : public generation {
 public:
  explicit echo_handle(std::shared_ptr<echo_state> s) : state_(std::move(s)) {}
  void cancel() override { state_->cancel(); }

 private:
  std::shared_ptr<echo_state> state_;
};

class echo_backend final : public model_backend {
 public:
  echo_backend(const echo_options& o, asio::io_context& ioc) : options_(o), ioc_(ioc) {}

  model_card card() const override {
    model_card c;
    c.id = options_.id;
    return c;
  }

  std::unique_ptr<generation> start(const generation_request& request,
                                    std::shared_ptr<generation_sink> sink) override {
    const auto interval = options_.tokens_per_s > 0
                              ? std::chrono::nanoseconds(static_cast<int64_t>(1e9 / options_.tokens_per_s))
                              : std::chrono::nanoseconds(0);
    auto state = std::make_shared<echo_state>(ioc_, echo_pieces(request.prompt),
                                              std::min(request.max_tokens, options_.max_tokens),
                                              request.stop, std::move(sink), interval);
    state->begin();
    return std::make_unique<echo_handle>(std::move(state));
  }

 private:
  const echo_options options_;
  asio::io_context& ioc_;
};

}  // namespace

std::vector<std::string> echo_pieces(std::string_view prompt) {
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < prompt.size()) {
    const std::size_t start = i;
    while (i < prompt.size() && is_space(prompt[i]) && start == 0) ++i;  // leading blanks join the first piece
    while (i < prompt.size() && !is_space(prompt[i])) ++i;
    while (i < prompt.size() && is_space(prompt[i])) ++i;
    pieces.emplace_back(prompt.substr(start, i - start));
  }
  return pieces;
}

std::unique_ptr<model_backend> make_echo_backend(const echo_options& options, asio::io_context& ioc) {
  return std::make_unique<echo_backend>(options, ioc);
}

}  // namespace moebench::serve
