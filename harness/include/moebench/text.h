#pragma once
// Small text utilities shared by every component.
#include <string>
#include <string_view>
#include <vector>

namespace moebench {

// Replaces every invalid UTF-8 sequence by U+FFFD, so that arbitrary program output can be
// stored in JSON. Valid input is returned unchanged.
std::string to_valid_utf8(std::string_view bytes);

// Keeps at most `max_bytes` of `s`, cut at a UTF-8 boundary, with a marker if cut.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

std::vector<std::string> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);

}  // namespace moebench
