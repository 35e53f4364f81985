#pragma once
// Reporters over the one results model: every format renders run_result values, nothing else.
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "moebench/results.h"

namespace moebench {

enum class report_format { json, md };
std::string_view to_string(report_format f) noexcept;
report_format report_format_from_string(std::string_view s);

// JSON: one run -> its results.json object; several -> {"schema_version", "runs": [...]}.
// Markdown: a summary table per suite (one row per run) with CIs, then verdicts and provenance.
std::string render_report(std::span<const run_result> runs, report_format format);

// The console summary printed at the end of `moebench run`.
void print_run_summary(std::FILE* out, const run_result& run, std::string_view run_dir);

}  // namespace moebench
