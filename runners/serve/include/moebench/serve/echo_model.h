#pragma once
// `--model echo`: a deterministic fake model for load-testing clients. It "generates" the
// prompt's own whitespace-delimited pieces in order, cycling, one piece per token, at a set
// rate; it honours max_tokens and stop sequences and reports usage. Sampling parameters are
// accepted and ignored: the output depends on the prompt and max_tokens only.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moebench/serve/model_backend.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace moebench::serve {

struct echo_options {
  std::string id = "echo";
  double tokens_per_s = 0;  // per generation; 0 = every token at once
  int64_t max_tokens = 256; // cap on top of each request's max_tokens
};

// The pieces the echo model emits for a prompt (its "tokenization").
std::vector<std::string> echo_pieces(std::string_view prompt);

// Timers run on `ioc`, which must outlive the backend's generations.
std::unique_ptr<model_backend> make_echo_backend(const echo_options& options, boost::asio::io_context& ioc);

}  // namespace moebench::serve
