// `moebench model tokenize`: tokenize text with a GGUF file's tokenizer (and measure throughput).
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/model/gguf.h"
#include "moebench/text.h"
#include "moebench/tokenizer/tokenizer.h"

namespace moebench::cli {
namespace {

struct tokenize_args {
  std::string file;
  std::string text;
  std::string bench_file;
  bool ids_only = false;
  bool no_special = false;
  bool add_special = false;
};

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("tokenize.io", {path, 0, "--bench"}, "cannot open the text file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A token's bytes shown as a JSON string (escapes control characters; invalid UTF-8, from a
// token that holds part of a character, is shown with U+FFFD).
std::string shown(const std::string& bytes) { return nlohmann::json(to_valid_utf8(bytes)).dump(); }

}  // namespace

void add_model_tokenize_command(CLI::App& model_subcommand, context& /*ctx*/) {
  auto args = std::make_shared<tokenize_args>();
  auto* cmd = model_subcommand.add_subcommand(
      "tokenize", "Tokenize text with a GGUF file's tokenizer (byte-level BPE, as llama.cpp)");
  cmd->add_option("file", args->file, "GGUF file")->required();
  auto* text = cmd->add_option("--text", args->text, "Text to tokenize");
  auto* bench = cmd->add_option("--bench", args->bench_file,
                                "Measure throughput: tokenize this text file line by line and "
                                "print bytes, tokens, seconds and MB/s");
  text->excludes(bench);
  cmd->add_flag("--ids", args->ids_only, "Print only the token ids, on one line");
  cmd->add_flag("--no-special", args->no_special,
                "Do not parse control-token text such as <|im_end|> (user-defined tokens still are)");
  cmd->add_flag("--add-special", args->add_special, "Add BOS/EOS where the model asks for them");
  cmd->callback([args, text, bench] {
    if (text->count() == 0 && bench->count() == 0) {
      throw error("tokenize.usage", {"", 0, "--text"}, "give --text TEXT or --bench FILE");
    }
    const gguf::file f(args->file);
    const tokenizer::tokenizer tok = tokenizer::tokenizer::from_gguf(f);
    const tokenizer::encode_options opts{.add_special = args->add_special,
                                         .parse_special = !args->no_special};
    tokenizer::encoder enc(tok);
    if (bench->count() > 0) {
      const std::string data = read_text_file(args->bench_file);
      std::vector<tokenizer::token_id> ids;
      const int64_t start_ns = now_ns();
      std::size_t tokens = 0;
      std::size_t pos = 0;
      while (pos < data.size()) {
        auto nl = data.find('\n', pos);
        nl = nl == std::string::npos ? data.size() : nl + 1;
        ids.clear();
        enc.encode(std::string_view(data).substr(pos, nl - pos), opts, ids);
        tokens += ids.size();
        pos = nl;
      }
      const double seconds = static_cast<double>(now_ns() - start_ns) / 1e9;
      fmt::print("{{\"bytes\":{},\"tokens\":{},\"seconds\":{:.4f},\"mb_per_s\":{:.2f}}}\n", data.size(),
                 tokens, seconds, static_cast<double>(data.size()) / 1e6 / seconds);
      return;
    }
    const auto ids = enc.encode(args->text, opts);
    if (args->ids_only) {
      std::string line;
      for (auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
      fmt::print("{}\n", line);
      return;
    }
    for (auto id : ids) {
      const tokenizer::token_id one[] = {id};
      fmt::print("{}\t{}\n", id, shown(tok.decode(one, {.render_special = true})));
    }
  });
}

}  // namespace moebench::cli
