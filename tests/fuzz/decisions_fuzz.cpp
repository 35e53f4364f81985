// Fuzz target for the parsers of decision inputs: claims files (and the claim grammar inside
// them), gate policy files, single claim expressions. The first byte picks the parser. Bad
// input must end in moebench::error; anything else (another exception, a failed check, a
// crash) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "moebench/decisions/claims.h"
#include "moebench/decisions/gate.h"
#include "moebench/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        const auto spec = moebench::decisions::parse_claims_spec(text, "fuzz.json");
        // Judging against no runs exercises every claim's lookup and reason.
        moebench::decisions::judge_claims(spec, {});
        break;
      }
      case 1: moebench::decisions::parse_gate_policy(text, "fuzz.json"); break;
      case 2: {
        const auto e = moebench::decisions::parse_claim(text, {"fuzz", 0, "claim"});
        moebench::decisions::parse_claim(e.text(), {"fuzz", 0, "claim"});  // canonical text parses back
        break;
      }
    }
  } catch (const moebench::error&) {
  }
  return 0;
}
