#include "moebench/runners/sse.h"

#include <cstring>

namespace moebench::sse {

parser::status parser::feed_impl(std::string_view bytes, callback cb, void* ctx) {
  if (failed_) return status::too_large;
  std::size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') pos = 1;
    skip_lf_ = false;
  }
  while (pos < bytes.size()) {
    // Find the next CR or LF; both end a line (CRLF counts once).
    std::size_t end = pos;
    while (end < bytes.size() && bytes[end] != '\n' && bytes[end] != '\r') ++end;
    // The same bound whether a line arrives whole or in pieces: the outcome must not depend
    // on how the network split the stream.
    if (line_.size() + (end - pos) + data_.size() > max_event_bytes_) {
      failed_ = true;
      return status::too_large;
    }
    if (end == bytes.size()) {
      line_.append(bytes.data() + pos, end - pos);
      break;
    }
    bool ok;
    if (line_.empty()) {
      ok = process_line(bytes.substr(pos, end - pos), cb, ctx);
    } else {
      line_.append(bytes.data() + pos, end - pos);
      ok = process_line(line_, cb, ctx);
      line_.clear();
    }
    if (!ok) {
      failed_ = true;
      return status::too_large;
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos < bytes.size()) {
        if (bytes[pos] == '\n') ++pos;
      } else {
        skip_lf_ = true;
      }
    }
  }
  return status::ok;
}

bool parser::process_line(std::string_view line, callback cb, void* ctx) {
  if (line.empty()) {
    if (data_seen_) {
      std::string_view data(data_);
      data.remove_suffix(1);  // every data line appended a '\n'; the last one is not content
      ++events_;
      cb(ctx, event{type_.empty() ? std::string_view("message") : std::string_view(type_), data, id_});
    }
    data_.clear();
    type_.clear();
    data_seen_ = false;
    return true;
  }
  if (line[0] == ':') return true;  // a comment (servers send these as keep-alives)
  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_) return false;
    data_.append(value);
    data_.push_back('\n');
    data_seen_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    // The spec ignores ids that contain NUL.
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // `retry:` and unknown fields are ignored: reconnection is the runner's policy, not the server's.
  return true;
}

}  // namespace moebench::sse
