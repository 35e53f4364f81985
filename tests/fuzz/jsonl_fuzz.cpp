// libFuzzer entry point for the JSONL parsers of untrusted input: the problem-file parser of the
// HumanEval suite (over the generic JSONL reader) and the UTF-8 repair used on program output.
// Any input must either parse or raise moebench::error (a clear error, never a crash and never
// another exception type).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "moebench/error.h"
#include "moebench/io.h"
#include "moebench/suites/humaneval.h"
#include "moebench/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto set = moebench::humaneval::parse_problems(text, "fuzz.jsonl");
    if (set.problems.empty() || set.index.size() != set.problems.size()) std::abort();
    for (const auto& p : set.problems)
      (void)moebench::humaneval::build_program(p, p.canonical_solution);
  } catch (const moebench::error&) {
  }
  int64_t lines = 0;
  try {
    moebench::for_each_jsonl_text(text, "fuzz.jsonl", [&](const nlohmann::json& j, int64_t line) {
      if (!j.is_object() || line <= lines) std::abort();
      lines = line;
    });
  } catch (const moebench::error&) {
  }
  const std::string repaired = moebench::to_valid_utf8(text);
  if (moebench::to_valid_utf8(repaired) != repaired) std::abort();  // idempotent
  (void)nlohmann::json(repaired).dump();  // must be serialisable without throwing
  return 0;
}
