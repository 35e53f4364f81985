// The moebench command line: the only target that links every component.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "moebench/error.h"

int main(int argc, char** argv) {
  CLI::App app{"moebench: benchmark and evaluation harness for mixture-of-experts models"};
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? moebench::exit_ok : moebench::exit_bad_input;
  }
  return moebench::exit_ok;
}
