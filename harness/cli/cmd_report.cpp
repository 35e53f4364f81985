// `moebench report`: renders one or more finished runs.
#include <fmt/core.h>

#include "commands.h"
#include "moebench/io.h"
#include "moebench/reports/reports.h"

namespace moebench::cli {

void add_report_command(CLI::App& app, context& /*ctx*/) {
  auto* cmd = app.add_subcommand("report", "Render finished runs as JSON or Markdown");
  struct opts {
    std::vector<std::string> runs;
    std::string format = "md";
    std::string output;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("runs", o->runs, "Run directories (or results.json files)")->required();
  cmd->add_option("--format", o->format, "json | md")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Write to this file instead of standard output");
  cmd->callback([o] {
    const report_format f = [&] {
      try {
        return report_format_from_string(o->format);
      } catch (const error& e) {
        throw error(e.id(), {"", 0, "--format"}, e.message());
      }
    }();
    std::vector<run_result> runs;
    for (const auto& r : o->runs) runs.push_back(load_run_result(r));
    const std::string text = render_report(runs, f);
    if (o->output.empty())
      fmt::print("{}", text);
    else
      write_file_atomic(o->output, text);
  });
}

}  // namespace moebench::cli
