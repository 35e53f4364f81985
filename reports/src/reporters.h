#pragma once
// The reporters behind render_report(), one per format; each renders run_result values only.
#include <span>
#include <string>

#include "moebench/reports/reports.h"

namespace moebench::report_detail {

std::string render_markdown(std::span<const run_result> runs, const report_options& options);
std::string render_html(std::span<const run_result> runs, const report_options& options);
std::string render_junit(std::span<const run_result> runs, const report_options& options);

}  // namespace moebench::report_detail
