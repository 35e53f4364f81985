#include "llama_oracle.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace moebench::tokenizer::testing {
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<fs::path> oracle_dir() {
  // MOEBENCH_ORACLE_DIR (scripts/test exports it), else tests/oracle of the source tree.
  fs::path dir;
  if (const char* o = std::getenv("MOEBENCH_ORACLE_DIR"); o != nullptr && *o != 0) {
    dir = o;
  } else if (const char* src = std::getenv("MOEBENCH_SOURCE_DIR"); src != nullptr && *src != 0) {
    dir = fs::path(src) / "tests" / "oracle";
  } else {
    dir = fs::path(MOEBENCH_TEST_SOURCE_DIR) / "tests" / "oracle";
  }
  if (!fs::exists(dir / "node_modules" / "node-llama-cpp" / "llama" / "gitRelease.bundle")) return std::nullopt;
  return dir;
}

std::optional<fs::path> llama_models_dir() {
  const auto oracle = oracle_dir();
  if (!oracle) return std::nullopt;
  const fs::path bundle = *oracle / "node_modules" / "node-llama-cpp" / "llama" / "gitRelease.bundle";
  const fs::path dir = fs::absolute("llama_cpp_src");
  const fs::path models = dir / "models";
  if (fs::exists(models)) return models;
  // Tests run in parallel processes: extract into a private directory, then rename it into
  // place; the loser of a race discards its copy.
  const fs::path tmp = fs::absolute("llama_cpp_src.tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);
  const std::string cmd = "git clone --quiet --no-checkout '" + bundle.string() + "' '" + tmp.string() +
                          "' && git -C '" + tmp.string() + "' checkout --quiet HEAD -- models";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  std::error_code ec;
  fs::rename(tmp, dir, ec);
  if (ec) fs::remove_all(tmp);
  if (!fs::exists(models)) throw std::runtime_error("could not extract " + models.string());
  return models;
}

oracle_ids llama_tokenize(const fs::path& model, const std::vector<std::string>& cases) {
  const auto oracle = oracle_dir();
  if (!oracle) throw std::runtime_error("oracle not installed (run ./scripts/oracle-setup)");
  static int counter = 0;
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const fs::path in = fs::absolute("oracle_cases_" + tag + ".json");
  const fs::path out = fs::absolute("oracle_ids_" + tag + ".json");
  {
    std::ofstream f(in, std::ios::binary);
    f << nlohmann::json(cases).dump();
  }
  const std::string cmd = "node '" + (*oracle / "llama_tokenize.mjs").string() + "' --model '" +
                          model.string() + "' --input '" + in.string() + "' --both --output '" +
                          out.string() + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  const auto j = nlohmann::json::parse(read_file(out));
  oracle_ids ids;
  ids.plain = j.at("plain").get<std::vector<std::vector<int>>>();
  ids.special = j.at("special").get<std::vector<std::vector<int>>>();
  return ids;
}

}  // namespace moebench::tokenizer::testing
