#pragma once
// An incremental parser for Server-Sent Events (the WHATWG "text/event-stream" format), as
// OpenAI-compatible servers stream completions: `data: {...}\n\n` ... `data: [DONE]\n\n`.
// Input is untrusted: every buffer is bounded, any byte sequence is accepted or rejected
// without undefined behaviour (tests/fuzz/sse_fuzz.cpp).
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace moebench::sse {

struct event {
  std::string_view type;  // "message" unless an `event:` field said otherwise
  std::string_view data;  // the data lines joined by '\n'
  std::string_view id;    // the last `id:` field seen (persists across events, per the spec)
};

// Feeding is push-style: bytes arrive in arbitrary pieces (a TCP read may end mid-line, even
// between the CR and LF of a CRLF); events are handed to the callback as soon as their
// terminating blank line has been seen, so that the caller can timestamp each one on arrival.
// Not thread-safe; one parser per stream.
class parser {
 public:
  // `max_event_bytes` bounds one line plus the data of one event: a server that streams an
  // endless line cannot make the client grow without limit.
  explicit parser(std::size_t max_event_bytes = std::size_t{8} << 20) noexcept
      : max_event_bytes_(max_event_bytes) {}

  enum class status { ok, too_large };

  // Calls on_event(const event&) for every completed event in `bytes`. After too_large the
  // parser stays failed and ignores further input. Event views are valid only during the call.
  template <class F>
  status feed(std::string_view bytes, F&& on_event) {
    using fn = std::remove_reference_t<F>;
    return feed_impl(bytes, &invoke<fn>, const_cast<void*>(static_cast<const void*>(&on_event)));
  }

  // True when a partial line or an undispatched event is buffered: the stream ended mid-event.
  bool has_partial() const noexcept { return !line_.empty() || data_seen_; }
  bool failed() const noexcept { return failed_; }
  std::size_t events() const noexcept { return events_; }

 private:
  using callback = void (*)(void*, const event&);
  template <class F>
  static void invoke(void* f, const event& e) {
    (*static_cast<F*>(f))(e);
  }
  status feed_impl(std::string_view bytes, callback cb, void* ctx);
  bool process_line(std::string_view line, callback cb, void* ctx);

  std::size_t max_event_bytes_;
  std::string line_;   // a line not yet terminated
  std::string data_;   // data of the current event, each line followed by '\n'
  std::string type_;
  std::string id_;
  bool data_seen_ = false;
  bool skip_lf_ = false;  // the previous piece ended with CR: a leading LF belongs to it
  bool failed_ = false;
  std::size_t events_ = 0;
};

}  // namespace moebench::sse
