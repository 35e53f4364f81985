#pragma once
// Output of gates and claims: console text, JSON (the report's source of truth), GitHub-
// flavoured Markdown for CI summaries and JUnit XML with each comparison or claim a test case.
#include <string>
#include <string_view>

#include "moebench/decisions/claims.h"
#include "moebench/decisions/gate.h"

namespace moebench::decisions {

enum class decision_format { text, json, md, junit };
std::string_view to_string(decision_format f) noexcept;
// Error "cli.bad_value" naming --format for an unknown name.
decision_format decision_format_from_string(std::string_view s);

// JUnit: REGRESSION is a failure, INCONCLUSIVE a failure when the policy fails on it and a
// skipped case otherwise; PASS and IMPROVEMENT pass.
std::string render_gate(const gate_report& r, decision_format f);
// JUnit: FAIL is a failure, INCONCLUSIVE skipped, PASS passes. JSON is the judged-claims file
// that `moebench report --claims` renders.
std::string render_claims(const claims_report& r, decision_format f);

// Text escaped for XML attribute and element content (control characters dropped).
std::string xml_escape(std::string_view s);

}  // namespace moebench::decisions
