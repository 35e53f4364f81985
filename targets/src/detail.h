#pragma once
// Parsing helpers shared by the targets and model-config readers.
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "moebench/targets/targets.h"

namespace moebench::targets::detail {

nlohmann::json parse_root(std::string_view text, const std::string& file);
std::map<std::string, std::string> parse_sources(const nlohmann::json& root, const std::string& file);
sourced_figure parse_figure(const nlohmann::json& j, const std::map<std::string, std::string>& sources,
                            const std::string& file, const std::string& path);
std::string required_string(const nlohmann::json& j, const char* key, const std::string& file,
                            const std::string& path);

}  // namespace moebench::targets::detail
