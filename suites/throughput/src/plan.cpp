// Everything decided before the first query is issued: lengths, prompts, arrival times.
#include <array>
#include <cmath>

#include <nlohmann/json.hpp>

#include "moebench/enum_names.h"
#include "moebench/error.h"
#include "moebench/stats.h"
#include "moebench/suites/throughput.h"
#include "moebench/text.h"

namespace moebench::throughput {
namespace {
using namespace std::string_view_literals;
constexpr std::array scenario_names{
    std::pair{scenario::offline, "offline"sv},
    std::pair{scenario::server, "server"sv},
    std::pair{scenario::single_stream, "single-stream"sv},
    std::pair{scenario::sweep, "sweep"sv},
};

bool parse_int(std::string_view text, int64_t& out) {
  const std::string t(trim(text));
  if (t.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoll(t, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == t.size();
}
}  // namespace

std::string_view to_string(scenario s) noexcept { return detail::enum_to_string(scenario_names, s); }
scenario scenario_from_string(std::string_view s) {
  try {
    return detail::enum_from_string(scenario_names, s, "scenario");
  } catch (const error& e) {
    throw error("cli.bad_value", {"", 0, "--scenario"}, e.message());
  }
}

std::string length_distribution::describe() const {
  switch (k) {
    case kind::fixed: return std::to_string(lo);
    case kind::uniform: return "uniform:" + std::to_string(lo) + ".." + std::to_string(hi);
    case kind::dataset: return "dataset(" + std::to_string(values.size()) + " values)";
  }
  return "?";
}

length_distribution parse_length(std::string_view text, const std::string& flag) {
  length_distribution d;
  int64_t v = 0;
  if (parse_int(text, v)) {
    if (v < 1) throw error("cli.bad_value", {"", 0, flag}, "token counts must be >= 1");
    d.k = length_distribution::kind::fixed;
    d.lo = d.hi = v;
    return d;
  }
  if (text.starts_with("uniform:")) {
    const auto body = text.substr(8);
    const auto dots = body.find("..");
    int64_t lo = 0, hi = 0;
    if (dots != std::string_view::npos && parse_int(body.substr(0, dots), lo) &&
        parse_int(body.substr(dots + 2), hi) && lo >= 1 && hi >= lo) {
      d.k = length_distribution::kind::uniform;
      d.lo = lo;
      d.hi = hi;
      return d;
    }
  }
  throw error("cli.bad_value", {"", 0, flag},
              "expected N or uniform:LO..HI (1 <= LO <= HI), got '" + std::string(text) + "'");
}

length_pairs parse_lengths_jsonl(std::string_view content, const std::string& file) {
  length_pairs out;
  int64_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= content.size()) {
    const auto nl = content.find('\n', pos);
    const auto line = content.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? content.size() + 1 : nl + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw error("lengths.bad_json", {file, line_no}, e.what());
    }
    if (!j.is_object()) throw error("lengths.bad_record", {file, line_no}, "expected a JSON object");
    for (const char* key : {"input_tokens", "output_tokens"}) {
      const auto it = j.find(key);
      if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 1)
        throw error("lengths.bad_record", {file, line_no, key}, "expected an integer >= 1");
    }
    out.input.push_back(j["input_tokens"].get<int64_t>());
    out.output.push_back(j["output_tokens"].get<int64_t>());
  }
  if (out.input.empty()) throw error("lengths.empty", {file}, "no records");
  return out;
}

std::vector<int64_t> poisson_schedule_ns(double rate_per_s, int64_t count, uint64_t seed) {
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s))
    throw error("cli.bad_value", {"", 0, "--rate"}, "the arrival rate must be a positive number");
  MOEBENCH_CHECK(count >= 0, "negative query count");
  rng r(seed);
  std::vector<int64_t> out;
  out.reserve(static_cast<std::size_t>(count));
  double t_s = 0;
  for (int64_t i = 0; i < count; ++i) {
    // Inverse CDF of the exponential; 1 - U is in (0, 1], so the log is finite.
    t_s += -std::log(1.0 - r.uniform()) / rate_per_s;
    out.push_back(static_cast<int64_t>(std::llround(t_s * 1e9)));
  }
  return out;
}

namespace {
constexpr std::array<std::string_view, 32> words{
      " the", " of", " and", " to", " in", " is", " that", " for", " it", " as", " was", " with",
      " be", " by", " on", " not", " he", " this", " are", " or", " his", " from", " at", " which",
      " but", " have", " an", " had", " they", " you", " were", " their"};
}  // namespace

prompt_synthesizer word_synthesizer() {
  prompt_synthesizer s;
  s.name = "words";
  s.exact = false;
  s.make = [](int64_t tokens, uint64_t seed) {
    rng r(seed);
    std::string out;
    out.reserve(static_cast<std::size_t>(tokens) * 5);
    for (int64_t i = 0; i < tokens; ++i) out += words[r.bounded(words.size())];
    return out;
  };
  return s;
}

prompt_synthesizer counting_synthesizer(std::function<int64_t(std::string_view)> count_tokens, std::string name) {
  prompt_synthesizer s;
  s.name = std::move(name);
  s.exact = true;
  s.make = [count = std::move(count_tokens)](int64_t tokens, uint64_t seed) {
    rng r(seed);
    std::string text;
    std::vector<std::size_t> ends;  // end offset of every word, to remove the last one
    const auto push = [&] {
      text += words[r.bounded(words.size())];
      ends.push_back(text.size());
    };
    for (int64_t i = 0; i < tokens; ++i) push();
    int64_t n = count(text);
    // Merges and special tokens move the count by a few; a fresh random word breaks cycles.
    for (int64_t step = 0; n != tokens && step < 4 * tokens + 256; ++step) {
      if (n < tokens) {
        push();
      } else if (!ends.empty()) {
        ends.pop_back();
        text.resize(ends.empty() ? 0 : ends.back());
      } else {
        break;
      }
      n = count(text);
    }
    if (n != tokens)
      throw error("throughput.prompt_length", {"", 0, "--input-len"},
                  "the tokenizer cannot make a prompt of exactly " + std::to_string(tokens) +
                      " tokens (closest: " + std::to_string(n) + ")");
    return text;
  };
  return s;
}

namespace {
int64_t draw(const length_distribution& d, rng& r) {
  switch (d.k) {
    case length_distribution::kind::fixed: return d.lo;
    case length_distribution::kind::uniform:
      return d.lo + static_cast<int64_t>(r.bounded(static_cast<uint64_t>(d.hi - d.lo + 1)));
    case length_distribution::kind::dataset:
      MOEBENCH_CHECK(!d.values.empty(), "empty length dataset");
      return d.values[r.bounded(d.values.size())];
  }
  return 0;
}
}  // namespace

std::vector<query> plan_queries(const plan_options& o, const prompt_synthesizer& synth) {
  MOEBENCH_CHECK(o.count >= 0, "negative query count");
  rng lengths(o.lengths_seed);
  std::vector<query> out;
  out.reserve(static_cast<std::size_t>(o.count));
  const bool paired = o.input.k == length_distribution::kind::dataset &&
                      o.output.k == length_distribution::kind::dataset &&
                      o.input.values.size() == o.output.values.size();
  for (int64_t i = 0; i < o.count; ++i) {
    query q;
    q.index = i;
    if (paired) {
      // A dataset keeps each record's input and output lengths together.
      const auto pick = lengths.bounded(o.input.values.size());
      q.input_tokens = o.input.values[pick];
      q.output_tokens = o.output.values[pick];
    } else {
      q.input_tokens = draw(o.input, lengths);
      q.output_tokens = draw(o.output, lengths);
    }
    q.prompt = synth.make(q.input_tokens, derive_seed(o.prompts_seed, std::to_string(i)));
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace moebench::throughput
