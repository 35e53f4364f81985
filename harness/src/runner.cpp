#include "moebench/runner.h"

#include "moebench/enum_names.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;
constexpr std::array outcome_names{
    std::pair{outcome::ok, "ok"sv},
    std::pair{outcome::deadline_exceeded, "deadline_exceeded"sv},
    std::pair{outcome::unavailable, "unavailable"sv},
    std::pair{outcome::resource_exhausted, "resource_exhausted"sv},
    std::pair{outcome::invalid_response, "invalid_response"sv},
    std::pair{outcome::cancelled, "cancelled"sv},
    std::pair{outcome::internal, "internal"sv},
};
constexpr std::array finish_names{
    std::pair{finish_reason::stop, "stop"sv},
    std::pair{finish_reason::length, "length"sv},
    std::pair{finish_reason::eos, "eos"sv},
    std::pair{finish_reason::error, "error"sv},
};
constexpr std::array token_source_names{
    std::pair{token_count_source::none, "none"sv},
    std::pair{token_count_source::generator, "generator"sv},
    std::pair{token_count_source::usage, "usage"sv},
    std::pair{token_count_source::tokenizer, "tokenizer"sv},
    std::pair{token_count_source::chunks, "chunks"sv},
};
}  // namespace

std::string_view to_string(outcome o) noexcept { return detail::enum_to_string(outcome_names, o); }
outcome outcome_from_string(std::string_view s) {
  return detail::enum_from_string(outcome_names, s, "outcome");
}
std::string_view to_string(finish_reason f) noexcept {
  return detail::enum_to_string(finish_names, f);
}
finish_reason finish_reason_from_string(std::string_view s) {
  return detail::enum_from_string(finish_names, s, "finish_reason");
}
std::string_view to_string(token_count_source s) noexcept {
  return detail::enum_to_string(token_source_names, s);
}
token_count_source token_count_source_from_string(std::string_view s) {
  return detail::enum_from_string(token_source_names, s, "token_source");
}
}  // namespace moebench
