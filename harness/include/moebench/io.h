#pragma once
// File input and output shared by every component: JSONL (plain or gzip) with line numbers,
// atomic writes, content hashes.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "moebench/error.h"

namespace moebench {

// Whole file contents; gzip input (detected by its magic bytes) is decompressed.
// Throws error "io.read" naming the file.
std::string read_file(const std::filesystem::path& path);
// Whole file contents exactly as stored (no decompression): for hashing files.
std::string read_file_bytes(const std::filesystem::path& path);

// Calls `fn(record, line)` for every non-blank line of a .jsonl or .jsonl.gz file, in order.
// A line that is not valid JSON or not an object is error "jsonl.bad_json" naming file:line.
void for_each_jsonl(const std::filesystem::path& path,
                    const std::function<void(const nlohmann::json&, int64_t line)>& fn);
// The same over text already in memory; `name` is used in error messages.
void for_each_jsonl_text(std::string_view text, const std::string& name,
                         const std::function<void(const nlohmann::json&, int64_t line)>& fn);

// Required field access with errors naming file:line:field ("jsonl.missing_field",
// "jsonl.bad_type").
const nlohmann::json& require_field(const nlohmann::json& object, const std::string& field,
                                    const input_location& where);
std::string require_string(const nlohmann::json& object, const std::string& field,
                           const input_location& where);

// Writes `content` to `path` atomically: a temporary file in the same directory, fsync, rename,
// fsync of the directory. Readers see the old file or the new one, never a half-written one.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view data);

}  // namespace moebench
