// The claims file a report renders (docs/reports.md, "Claims file").
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "moebench/enum_names.h"
#include "moebench/io.h"
#include "moebench/reports/reports.h"

namespace moebench {
namespace {
using namespace std::string_view_literals;
constexpr std::array verdict_names{
    std::pair{claim_verdict::pass, "PASS"sv},
    std::pair{claim_verdict::fail, "FAIL"sv},
    std::pair{claim_verdict::inconclusive, "INCONCLUSIVE"sv},
};

std::string optional_string(const nlohmann::json& j, const char* key, const std::string& source,
                            const std::string& field) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string())
    throw error("claims.bad_value", {source, 0, field + "." + key}, "expected a string");
  return it->get<std::string>();
}

std::optional<double> optional_number(const nlohmann::json& j, const char* key, const std::string& source,
                                      const std::string& field) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number())
    throw error("claims.bad_value", {source, 0, field + "." + key}, "expected a number");
  return it->get<double>();
}

}  // namespace

std::string_view to_string(claim_verdict v) noexcept { return detail::enum_to_string(verdict_names, v); }

claims_file parse_claims(std::string_view text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw error("claims.bad_json", {source}, fmt::format("not JSON: {}", e.what()));
  }
  if (!j.is_object() || !j.contains("claims"))
    throw error("claims.missing_field", {source, 0, "claims"}, "expected an object with a \"claims\" array");
  const auto& list = j["claims"];
  if (!list.is_array()) throw error("claims.bad_value", {source, 0, "claims"}, "expected an array");
  claims_file out;
  out.source = source;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string field = fmt::format("claims[{}]", i);
    const auto& c = list[i];
    if (!c.is_object()) throw error("claims.bad_value", {source, 0, field}, "expected an object");
    claim_result r;
    r.claim = optional_string(c, "claim", source, field);
    if (r.claim.empty())
      throw error("claims.missing_field", {source, 0, field + ".claim"}, "every claim needs its text");
    const std::string verdict = optional_string(c, "verdict", source, field);
    if (verdict.empty())
      throw error("claims.missing_field", {source, 0, field + ".verdict"}, "every claim needs a verdict");
    try {
      r.verdict = detail::enum_from_string(verdict_names, verdict, "claim_verdict");
    } catch (const error& e) {
      throw error("claims.bad_value", {source, 0, field + ".verdict"}, e.message());
    }
    r.text = optional_string(c, "text", source, field);
    r.run = optional_string(c, "run", source, field);
    r.target = optional_string(c, "target", source, field);
    r.reason = optional_string(c, "reason", source, field);
    r.needed = optional_string(c, "needed", source, field);
    if (const auto it = c.find("observed"); it != c.end() && !it->is_null()) {
      const std::string of = field + ".observed";
      if (!it->is_object()) throw error("claims.bad_value", {source, 0, of}, "expected an object");
      r.observed = optional_number(*it, "value", source, of);
      r.lo = optional_number(*it, "lo", source, of);
      r.hi = optional_number(*it, "hi", source, of);
      r.unit = optional_string(*it, "unit", source, of);
      r.kind = optional_string(*it, "kind", source, of);
      if (const auto n = optional_number(*it, "n", source, of)) r.n = static_cast<int64_t>(*n);
    }
    out.claims.push_back(std::move(r));
  }
  return out;
}

claims_file load_claims(const std::filesystem::path& path) { return parse_claims(read_file(path), path.string()); }

}  // namespace moebench
