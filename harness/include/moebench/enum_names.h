#pragma once
// One table per closed enum maps values to their stable external names (JSON, CLI).
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "moebench/error.h"

namespace moebench::detail {

template <class E, std::size_t N>
std::string_view enum_to_string(const std::array<std::pair<E, std::string_view>, N>& table,
                                E value) noexcept {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
E enum_from_string(const std::array<std::pair<E, std::string_view>, N>& table,
                   std::string_view name, const char* what) {
  for (const auto& [v, n] : table)
    if (n == name) return v;
  std::string known;
  for (const auto& [v, n] : table) known += (known.empty() ? "" : ", ") + std::string(n);
  throw error(std::string(what) + ".unknown",
              "unknown " + std::string(what) + " '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace moebench::detail
