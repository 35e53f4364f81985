// Fuzz target for the SSE parser (untrusted bytes from any server). Besides "no crash, no UB",
// it checks the parser's central property: feeding the same bytes in arbitrary pieces yields
// exactly the events of feeding them at once, and no event exceeds the size bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/runners/sse.h"

namespace {

struct seen {
  std::string type, data, id;
  bool operator==(const seen&) const = default;
};

constexpr std::size_t max_event_bytes = 256;

std::vector<seen> parse(std::string_view bytes, const std::vector<std::size_t>& cuts, bool& failed) {
  moebench::sse::parser p(max_event_bytes);
  std::vector<seen> out;
  std::size_t at = 0;
  failed = false;
  auto on_event = [&](const moebench::sse::event& e) {
    if (e.data.size() > max_event_bytes) std::abort();
    out.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
  };
  for (std::size_t cut : cuts) {
    if (cut < at || cut > bytes.size()) continue;
    if (p.feed(bytes.substr(at, cut - at), on_event) == moebench::sse::parser::status::too_large) {
      failed = true;
      return out;
    }
    at = cut;
  }
  if (p.feed(bytes.substr(at), on_event) == moebench::sse::parser::status::too_large) failed = true;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the piece size; the rest is the stream.
  const std::size_t step = 1 + data[0] % 17;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::size_t> cuts;
  for (std::size_t c = step; c < bytes.size(); c += step) cuts.push_back(c);
  bool whole_failed = false, pieces_failed = false;
  const auto whole = parse(bytes, {}, whole_failed);
  const auto pieces = parse(bytes, cuts, pieces_failed);
  // A too-large failure depends only on content, so it must agree too, and so must every
  // event delivered before it.
  if (whole_failed != pieces_failed) std::abort();
  if (whole != pieces) std::abort();
  return 0;
}
