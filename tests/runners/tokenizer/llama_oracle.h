#pragma once
// Access to the llama.cpp reference files for tokenizer tests. The files come from the npm
// package node-llama-cpp installed by scripts/oracle-setup (never from the repository): its git
// bundle of llama.cpp's source holds models/ggml-vocab-*.gguf with .inp/.out test vectors, and
// its prebuilt library is driven by tests/oracle/llama_tokenize.mjs.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moebench::tokenizer::testing {

// tests/oracle of the source tree (MOEBENCH_SOURCE_DIR), or nullopt when node-llama-cpp is not
// installed there.
std::optional<std::filesystem::path> oracle_dir();

// The models/ directory of llama.cpp's source, extracted from the bundle into the test's
// working directory on first use; nullopt when the oracle is not installed.
std::optional<std::filesystem::path> llama_models_dir();

// Runs llama_tokenize.mjs on `cases` with `model`; returns the ids for each case with
// parse_special false (`plain`) and true (`special`). Throws std::runtime_error on failure.
struct oracle_ids {
  std::vector<std::vector<int>> plain;
  std::vector<std::vector<int>> special;
};
oracle_ids llama_tokenize(const std::filesystem::path& model, const std::vector<std::string>& cases);

// Reads a whole file.
std::string read_file(const std::filesystem::path& p);

}  // namespace moebench::tokenizer::testing
