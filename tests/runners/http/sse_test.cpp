#include "moebench/runners/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace moebench {
namespace {

struct ev {
  std::string type, data, id;
  bool operator==(const ev&) const = default;
};

std::vector<ev> feed_all(sse::parser& p, const std::vector<std::string>& pieces) {
  std::vector<ev> out;
  for (const auto& piece : pieces)
    EXPECT_EQ(p.feed(piece, [&](const sse::event& e) {
                out.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
              }),
              sse::parser::status::ok);
  return out;
}

TEST(sse_parser, openai_stream) {
  sse::parser p;
  const auto got = feed_all(p, {"data: {\"a\":1}\n\n", "data: [DONE]\n\n"});
  EXPECT_EQ(got, (std::vector<ev>{{"message", "{\"a\":1}", ""}, {"message", "[DONE]", ""}}));
  EXPECT_FALSE(p.has_partial());
}

TEST(sse_parser, events_complete_only_at_the_blank_line_across_any_split) {
  const std::string stream = "event: add\r\nid: 3\r\ndata: line one\r\ndata:line two\r\n\r\n: comment\r\ndata: x\r\r";
  const std::vector<ev> expected{{"add", "line one\nline two", "3"}, {"message", "x", "3"}};
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    sse::parser p;
    EXPECT_EQ(feed_all(p, {stream.substr(0, cut), stream.substr(cut)}), expected) << cut;
  }
  sse::parser bytewise;
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(feed_all(bytewise, bytes), expected);
}

TEST(sse_parser, partial_event_is_reported) {
  sse::parser p;
  EXPECT_TRUE(feed_all(p, {"data: half"}).empty());
  EXPECT_TRUE(p.has_partial());
  EXPECT_TRUE(feed_all(p, {"\n"}).empty());
  EXPECT_TRUE(p.has_partial());  // a data line without its blank line
  EXPECT_EQ(feed_all(p, {"\n"}).size(), 1u);
  EXPECT_FALSE(p.has_partial());
}

TEST(sse_parser, empty_data_and_fields_without_colon) {
  sse::parser p;
  EXPECT_EQ(feed_all(p, {"data\n\n", "data:\n\n", "\n\n", "event: only-type\n\n"}),
            (std::vector<ev>{{"message", "", ""}, {"message", "", ""}}));
}

TEST(sse_parser, bounds_lines_and_events) {
  sse::parser p(64);
  EXPECT_EQ(p.feed(std::string(100, 'x'), [](const sse::event&) {}), sse::parser::status::too_large);
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(p.feed("data: ok\n\n", [](const sse::event&) { FAIL(); }), sse::parser::status::too_large);

  sse::parser q(64);
  std::string many;
  for (int i = 0; i < 10; ++i) many += "data: 0123456789\n";
  EXPECT_EQ(q.feed(many, [](const sse::event&) {}), sse::parser::status::too_large);
}

}  // namespace
}  // namespace moebench
