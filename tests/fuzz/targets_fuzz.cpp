// Fuzz target for the parsers of user-supplied measurement inputs: hardware target files,
// model config files and lengths JSONL. The first byte picks the parser. Bad input must end in
// moebench::error; anything else (another exception, a failed check, a crash) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "moebench/error.h"
#include "moebench/suites/throughput.h"
#include "moebench/targets/roofline.h"
#include "moebench/targets/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 3) {
      case 0:
        for (const auto& t : moebench::targets::parse_targets(text, "fuzz.json")) {
          moebench::targets::projection_options o;
          o.batch = 3;
          o.context = 100;
          moebench::targets::project(moebench::targets::builtin_model_configs().front(), t, o);
        }
        break;
      case 1:
        for (const auto& m : moebench::targets::parse_model_configs(text, "fuzz.json")) {
          moebench::targets::derive(m);
          moebench::targets::project(m, moebench::targets::builtin_targets().front(), {});
        }
        break;
      case 2:
        moebench::throughput::parse_lengths_jsonl(text, "fuzz.jsonl");
        break;
    }
  } catch (const moebench::error&) {
  }
  return 0;
}
