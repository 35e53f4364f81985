#include "moebench/suite_registry.h"

#include <cmath>

#include <fmt/core.h>

#include "moebench/error.h"
#include "moebench/io.h"

namespace moebench {
namespace fs = std::filesystem;

suite_args::suite_args(std::span<const suite_option> declared) : declared_(declared.begin(), declared.end()) {}

const suite_option& suite_args::option(std::string_view flag) const {
  for (const auto& o : declared_)
    if (o.flag == flag) return o;
  MOEBENCH_CHECK(false, fmt::format("option {} is not declared by this suite", flag));
  std::abort();
}

bool suite_args::declares(std::string_view flag) const noexcept {
  for (const auto& o : declared_)
    if (o.flag == flag) return true;
  return false;
}

suite_args& suite_args::set(std::string_view flag, std::vector<std::string> values) {
  if (!declares(flag))
    throw error("cli.not_for_suite", {"", 0, std::string(flag)}, "not an option of this suite");
  const suite_option& o = option(flag);
  switch (o.k) {
    case suite_option::kind::value:
      MOEBENCH_CHECK(values.size() == 1, "a value option takes one value");
      break;
    case suite_option::kind::repeated: break;
    case suite_option::kind::flag:
      MOEBENCH_CHECK(values.empty(), "a switch takes no value");
      break;
  }
  given_[std::string(flag)] = std::move(values);
  return *this;
}

bool suite_args::given(std::string_view flag) const {
  option(flag);
  return given_.contains(flag);
}

std::string suite_args::text(std::string_view flag) const {
  const suite_option& o = option(flag);
  const auto it = given_.find(flag);
  if (it == given_.end() || it->second.empty()) return o.default_value;
  return it->second.back();
}

std::vector<std::string> suite_args::texts(std::string_view flag) const {
  option(flag);
  const auto it = given_.find(flag);
  return it == given_.end() ? std::vector<std::string>{} : it->second;
}

namespace {

template <typename T, typename Parse>
T parse_whole(const std::string& text, std::string_view flag, const char* what, Parse parse) {
  std::size_t used = 0;
  T v{};
  try {
    v = parse(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size())
    throw error("cli.bad_value", {"", 0, std::string(flag)}, fmt::format("expected {}, got '{}'", what, text));
  return v;
}

}  // namespace

int64_t suite_args::integer(std::string_view flag) const {
  return parse_whole<int64_t>(text(flag), flag, "an integer",
                              [](const std::string& s, std::size_t* used) { return std::stoll(s, used); });
}

uint64_t suite_args::unsigned_integer(std::string_view flag) const {
  const std::string t = text(flag);
  if (!t.empty() && t.front() == '-')
    throw error("cli.bad_value", {"", 0, std::string(flag)}, fmt::format("expected an unsigned integer, got '{}'", t));
  return parse_whole<uint64_t>(t, flag, "an unsigned integer",
                               [](const std::string& s, std::size_t* used) { return std::stoull(s, used); });
}

std::optional<uint64_t> suite_args::optional_unsigned(std::string_view flag) const {
  if (!given(flag)) return std::nullopt;
  return unsigned_integer(flag);
}

double suite_args::number(std::string_view flag) const {
  const double v = parse_whole<double>(text(flag), flag, "a number",
                                       [](const std::string& s, std::size_t* used) { return std::stod(s, used); });
  if (!std::isfinite(v))
    throw error("cli.bad_value", {"", 0, std::string(flag)}, fmt::format("expected a finite number, got '{}'", text(flag)));
  return v;
}

bool suite_args::on(std::string_view flag) const {
  MOEBENCH_CHECK(option(flag).k == suite_option::kind::flag, "on() reads a switch");
  return given_.contains(flag);
}

const suite_definition* find_suite(std::span<const suite_definition> suites, std::string_view name) {
  for (const auto& s : suites)
    if (s.name == name) return &s;
  return nullptr;
}

std::string suite_names(std::span<const suite_definition> suites) {
  std::string out;
  for (const auto& s : suites) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

const suite_definition& suite_of_run(std::span<const suite_definition> suites, const fs::path& dir,
                                     nlohmann::json* run_json) {
  const fs::path file = dir / "run.json";
  if (!fs::exists(file)) throw error("run.not_a_run", {file.string()}, "no run.json: not a run directory");
  nlohmann::json j;
  std::string name;
  try {
    j = nlohmann::json::parse(read_file(file));
    name = j.at("settings_requested").at("suite").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw error("run.bad_run_json", {file.string(), 0, "settings_requested.suite"}, e.what());
  }
  const suite_definition* s = find_suite(suites, name);
  if (s == nullptr)
    throw error("cli.unknown_suite", {file.string(), 0, "settings_requested.suite"},
                "the run belongs to suite '" + name + "', which this moebench does not have (available: " +
                    suite_names(suites) + ")");
  if (run_json != nullptr) *run_json = std::move(j);
  return *s;
}

}  // namespace moebench
