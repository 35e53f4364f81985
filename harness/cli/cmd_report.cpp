// `moebench report`: renders one or more finished runs (the reporters live in reports/).
#include <fmt/core.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/io.h"
#include "moebench/reports/reports.h"

namespace moebench::cli {
namespace {

// --format when given, else from the output file's extension, else Markdown.
report_format choose_format(const std::string& format, const std::string& output) {
  if (!format.empty()) {
    try {
      return report_format_from_string(format);
    } catch (const error& e) {
      throw error(e.id(), {"", 0, "--format"}, e.message());
    }
  }
  const std::string ext = std::filesystem::path(output).extension().string();
  if (ext == ".html" || ext == ".htm") return report_format::html;
  if (ext == ".xml") return report_format::junit;
  if (ext == ".json") return report_format::json;
  return report_format::md;
}

}  // namespace

void add_report_command(CLI::App& app, context& /*ctx*/) {
  auto* cmd = app.add_subcommand("report", "Render finished runs: offline HTML with charts, Markdown, JUnit XML or JSON");
  struct opts {
    std::vector<std::string> runs;
    std::string format;
    std::string output;
    std::string claims;
    std::string title;
    bool timing = false;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("runs", o->runs, "Run directories (or results.json files), shown side by side")->required();
  cmd->add_option("--format", o->format,
                  "html | md | junit | json (default: from the -o extension: .html, .md, .xml, .json; else md)");
  cmd->add_option("-o,--output", o->output, "Write to this file instead of standard output");
  cmd->add_option("--claims", o->claims, "Judged claims (JSON, docs/reports.md) shown as a table / JUnit test cases");
  cmd->add_option("--title", o->title, "Title of the report");
  cmd->add_flag("--timing", o->timing, "Print the time taken to read, render and write to standard error");
  cmd->callback([o] {
    const int64_t start_ns = now_ns();
    const report_format f = choose_format(o->format, o->output);
    report_options options;
    options.title = o->title;
    if (!o->claims.empty()) options.claims = load_claims(o->claims);
    std::vector<run_result> runs;
    for (const auto& r : o->runs) runs.push_back(load_run_result(r));
    const int64_t loaded_ns = now_ns();
    const std::string text = render_report(runs, f, options);
    const int64_t rendered_ns = now_ns();
    if (o->output.empty())
      fmt::print("{}", text);
    else
      write_file_atomic(o->output, text);
    if (o->timing)
      fmt::print(stderr, "report: read {:.3f} s, rendered {:.3f} s, wrote {:.3f} s, total {:.3f} s, {} bytes ({})\n",
                 static_cast<double>(loaded_ns - start_ns) / 1e9, static_cast<double>(rendered_ns - loaded_ns) / 1e9,
                 static_cast<double>(now_ns() - rendered_ns) / 1e9, static_cast<double>(now_ns() - start_ns) / 1e9,
                 text.size(), to_string(f));
  });
}

}  // namespace moebench::cli
