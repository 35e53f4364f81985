// The moebench command line: the only target that links every component.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands.h"
#include "moebench/error.h"

int main(int argc, char** argv) {
  CLI::App app{"moebench: benchmark and evaluation harness for mixture-of-experts models"};
  app.require_subcommand(1);
  moebench::cli::context ctx;
  moebench::cli::add_run_command(app, ctx);
  moebench::cli::add_report_command(app, ctx);
  moebench::cli::add_targets_command(app, ctx);
  moebench::cli::add_bench_command(app, ctx);
  moebench::cli::add_version_command(app, ctx);
  moebench::cli::add_model_command(app, ctx);
  moebench::cli::add_generate_command(app, ctx);
  moebench::cli::add_sandbox_command(app, ctx);
  moebench::cli::add_serve_command(app, ctx);
  moebench::cli::add_bench_openai_command(app, ctx);
  moebench::cli::add_bench_engine_command(app, ctx);
  moebench::cli::add_bench_report_command(app, ctx);
  moebench::cli::add_demo_command(app, ctx);
  moebench::cli::add_gate_command(app, ctx);
  moebench::cli::add_claims_command(app, ctx);
  moebench::cli::add_merge_command(app, ctx);
  moebench::cli::add_bundle_commands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? moebench::exit_ok : moebench::exit_bad_input;
  } catch (const moebench::error& e) {
    fmt::print(stderr, "moebench: error: {}\n", e.what());
    return moebench::exit_bad_input;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moebench: internal error: {}\n", e.what());
    return moebench::exit_internal;
  }
  return ctx.exit_code;
}
