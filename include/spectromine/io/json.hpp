// spectromine/io/json.hpp: JSON documents in and out (summary.json), via
// nlohmann::json. Written through atomic_file; invalid UTF-8 in strings
// (e.g. a file name in a legacy encoding) is replaced, never a failure.
// Non-finite doubles become null (JSON has no NaN).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"

namespace spectromine::io {

// The text written by write_json (indent < 0: one line). Works for
// nlohmann::json (keys sorted) and nlohmann::ordered_json (keys in insertion
// order, for documents meant to be read by people).
template <class Json = nlohmann::json>
  requires nlohmann::detail::is_basic_json<Json>::value
std::string to_json_text(const Json& document, int indent = 2) {
  return document.dump(indent, ' ', false, Json::error_handler_t::replace);
}

template <class Json = nlohmann::json>
  requires nlohmann::detail::is_basic_json<Json>::value
void write_json(const std::filesystem::path& path, const Json& document, int indent = 2) {
  write_text_file(path, to_json_text(document, indent) + "\n");
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw io_error(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw io_error(path, "is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path, "cannot open for reading");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw format_error(path, std::string("not valid JSON: ") + e.what());
  }
}

}  // namespace spectromine::io
