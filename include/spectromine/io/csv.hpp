// spectromine/io/csv.hpp: tables of spectra as CSV (spectra.csv, SITES.csv).
//
// Layout (docs/CLI.md): first column energy, then one column per spectrum;
// header `energy,<name>,...` (cluster numbers 1,2,... or site names). Values
// are written with the shortest text that reads back to the same double
// (std::to_chars), so a round trip is exact. Names holding a comma, a quote
// or a line break are quoted as RFC 4180 says. Written through atomic_file.
#pragma once

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "spectromine/core/energy.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"

namespace spectromine::io {

struct spectra_table {
  std::vector<double> energy;                // eV, strictly increasing
  std::vector<std::string> names;            // one per column
  std::vector<std::vector<double>> columns;  // columns[k][i] = spectrum k at energy[i]
};

namespace detail {

inline std::string csv_quote(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

inline void append_double(std::string& out, double v) {
  char buf[64];
  if (std::isnan(v)) {
    out += "nan";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "inf" : "-inf";
    return;
  }
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, ptr);
}

// Splits one CSV record (RFC 4180 quoting; no embedded line breaks).
inline bool csv_split(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  std::size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return false;  // unterminated quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') return false;
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
    }
    fields.push_back(field);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

inline bool parse_csv_double(std::string_view token, double& value) {
  token = trim(token);
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, value);
  return ec == std::errc() && ptr == end;
}

}  // namespace detail

// Writes energy + one column per spectrum. Throws invalid_argument when the
// names and columns disagree in number or a column's length differs from
// the energy count.
inline void write_spectra_csv(const std::filesystem::path& path, std::span<const double> energy,
                              const std::vector<std::string>& names,
                              const std::vector<std::vector<double>>& columns) {
  require(names.size() == columns.size(), "write_spectra_csv", "names",
          "must name every column (" + std::to_string(columns.size()) + " columns)", names.size());
  for (std::size_t k = 0; k < columns.size(); ++k)
    require(columns[k].size() == energy.size(), "write_spectra_csv",
            "column " + std::to_string(k) + " length",
            "must equal the energy count " + std::to_string(energy.size()), columns[k].size());
  std::string text = "energy";
  for (const auto& n : names) {
    text += ',';
    text += detail::csv_quote(n);
  }
  text += '\n';
  for (std::size_t i = 0; i < energy.size(); ++i) {
    detail::append_double(text, energy[i]);
    for (const auto& col : columns) {
      text += ',';
      detail::append_double(text, col[i]);
    }
    text += '\n';
  }
  write_text_file(path, text);
}

// The same with cluster numbers 1..K as names.
inline void write_spectra_csv(const std::filesystem::path& path, std::span<const double> energy,
                              const std::vector<std::vector<double>>& columns) {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < columns.size(); ++k) names.push_back(std::to_string(k + 1));
  write_spectra_csv(path, energy, names, columns);
}

// Reads a table written by write_spectra_csv (or by hand / NumPy / pandas):
// a header row whose first field is the energy column, then numeric rows of
// equal length; energies finite and strictly increasing. Values may be nan.
inline spectra_table read_spectra_csv(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw io_error(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw io_error(path, "is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path, "cannot open for reading");
  spectra_table t;
  std::string line;
  std::vector<std::string> fields;
  int lineno = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string_view view = detail::trim(line);
    if (view.empty() || view.front() == '#') continue;
    if (!detail::csv_split(view, fields))
      throw format_error(path, "line " + std::to_string(lineno) + ": unterminated quote");
    if (!header) {
      if (fields.size() < 2)
        throw format_error(path, "line " + std::to_string(lineno) +
                                     ": header needs an energy column and at least one spectrum");
      for (std::size_t k = 1; k < fields.size(); ++k)
        t.names.emplace_back(detail::trim(fields[k]));
      t.columns.resize(t.names.size());
      header = true;
      continue;
    }
    if (fields.size() != t.names.size() + 1)
      throw format_error(path, "line " + std::to_string(lineno) + ": has " +
                                   std::to_string(fields.size()) + " fields, the header has " +
                                   std::to_string(t.names.size() + 1));
    double e = 0;
    if (!detail::parse_csv_double(fields[0], e) || !std::isfinite(e))
      throw format_error(path, "line " + std::to_string(lineno) + ": energy \"" + fields[0] +
                                   "\" is not a finite number");
    if (!t.energy.empty() && e <= t.energy.back())
      throw format_error(path, "line " + std::to_string(lineno) + ": energy " + fields[0] +
                                   " is not greater than the previous one; energies must be "
                                   "strictly increasing");
    t.energy.push_back(e);
    for (std::size_t k = 1; k < fields.size(); ++k) {
      double v = 0;
      if (!detail::parse_csv_double(fields[k], v))
        throw format_error(path, "line " + std::to_string(lineno) + ", column " +
                                     std::to_string(k + 1) + ": \"" + fields[k] +
                                     "\" is not a number");
      t.columns[k - 1].push_back(v);
    }
  }
  if (!header) throw format_error(path, "empty: no header row");
  if (t.energy.empty()) throw format_error(path, "no data rows after the header");
  return t;
}

}  // namespace spectromine::io
