#pragma once
// Every subcommand of the moebench CLI registers itself through one function here; main.cpp
// calls them all. A command's callback throws moebench::error for bad input (exit 2) and sets
// ctx.exit_code for other outcomes.
#include <CLI/CLI.hpp>

namespace moebench::cli {

struct context {
  int exit_code = 0;
};

void add_version_command(CLI::App& app, context& ctx);
void add_bench_command(CLI::App& app, context& ctx);
// The `bench` group, created on first use: every component adds its benchmark under it.
CLI::App& bench_subcommand(CLI::App& app);
void add_run_command(CLI::App& app, context& ctx);
void add_report_command(CLI::App& app, context& ctx);
void add_targets_command(CLI::App& app, context& ctx);
void add_model_command(CLI::App& app, context& ctx);
void add_generate_command(CLI::App& app, context& ctx);
// Adds `tokenize` under the `model` subcommand (called by add_model_command).
void add_model_tokenize_command(CLI::App& model_subcommand, context& ctx);
void add_sandbox_command(CLI::App& app, context& ctx);
void add_serve_command(CLI::App& app, context& ctx);
void add_bench_openai_command(CLI::App& app, context& ctx);
void add_bench_engine_command(CLI::App& app, context& ctx);
void add_bench_report_command(CLI::App& app, context& ctx);
void add_demo_command(CLI::App& app, context& ctx);
void add_gate_command(CLI::App& app, context& ctx);
void add_claims_command(CLI::App& app, context& ctx);
void add_merge_command(CLI::App& app, context& ctx);
// submit, validate, leaderboard, keygen
void add_bundle_commands(CLI::App& app, context& ctx);

// Reads an API key from the environment variable `env_name` ("" = no key). The key itself is
// never printed, logged or recorded; only the variable's name is.
std::string api_key_from_env(const std::string& env_name, const char* flag);
// Raises the soft limit on open descriptors to the hard limit (every stream is a socket).
void raise_open_file_limit();

}  // namespace moebench::cli
