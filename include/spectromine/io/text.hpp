// spectromine/io/text.hpp: energy lists and reference spectra as text.
//
// Energy list: one energy (eV) per line, '#' comments and blank lines
// allowed; strictly increasing and finite.
// Reference spectrum: whitespace-separated columns, '#' comment lines; the
// first two columns are (energy eV, mu). XDI files are read the same way,
// and their "# Column.N: name" header picks the energy column and the mu
// column (mutrans, mufluor, mu, ...) when there are more than two.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "spectromine/core/energy.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"

namespace spectromine::io {

struct reference_spectrum {
  std::string name;             // file stem
  std::vector<double> energy;   // eV, strictly increasing
  std::vector<double> mu;       // absorption, same length
};

namespace detail {

inline std::ifstream open_text(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw io_error(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw io_error(path, "is a folder, not a file");
  std::ifstream in(path);
  if (!in) throw io_error(path, "cannot open for reading");
  return in;
}

inline bool parse_double(std::string_view token, double& value) {
  // from_chars does not accept a leading '+', which some instruments write.
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, value);
  return ec == std::errc() && ptr == end;
}

inline std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (std::isspace(static_cast<unsigned char>(line[i])) || line[i] == ','))
      ++i;
    std::size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j])) && line[j] != ',')
      ++j;
    if (j > i) tokens.push_back(line.substr(i, j - i));
    i = j;
  }
  return tokens;
}

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace detail

// Reads an energy list; throws format_error naming the file and line.
inline energy_grid read_energy_list(const std::filesystem::path& path) {
  auto in = detail::open_text(path);
  energy_grid energies;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    auto tokens = detail::split_ws(line);
    if (tokens.empty() || tokens.front().front() == '#') continue;
    double e = 0;
    if (tokens.size() != 1 || !detail::parse_double(tokens.front(), e))
      throw format_error(path, "line " + std::to_string(lineno) +
                                   ": expected one energy (eV) per line, got \"" + line + "\"");
    if (!std::isfinite(e))
      throw format_error(path, "line " + std::to_string(lineno) + ": energy is not finite");
    if (!energies.empty() && e <= energies.back())
      throw format_error(path, "line " + std::to_string(lineno) + ": energy " + line +
                                   " is not greater than the previous one; energies must be "
                                   "strictly increasing");
    energies.push_back(e);
  }
  if (energies.empty()) throw format_error(path, "no energies found");
  return energies;
}

// Writes one energy per line (full precision), atomically.
inline void write_energy_list(const std::filesystem::path& path, std::span<const double> energies) {
  atomic_file out(path);
  {
    std::ofstream f(out.temp_path());
    if (!f) throw io_error(path, "cannot open for writing");
    f.precision(17);
    for (double e : energies) f << e << '\n';
    if (!f.flush()) throw io_error(path, "write failed");
  }
  out.commit();
}

// Reads a two-column or XDI reference spectrum.
inline reference_spectrum read_reference_spectrum(const std::filesystem::path& path) {
  auto in = detail::open_text(path);
  std::map<int, std::string> xdi_columns;  // 1-based column index -> lower-case name
  std::vector<std::vector<double>> rows;
  std::string line;
  std::size_t ncols = 0;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    auto tokens = detail::split_ws(line);
    if (tokens.empty()) continue;
    if (tokens.front().front() == '#') {
      // XDI: "# Column.1: energy eV"
      auto pos = line.find("Column.");
      if (pos != std::string::npos) {
        auto colon = line.find(':', pos);
        int idx = 0;
        auto num = std::string_view(line).substr(pos + 7, colon == std::string::npos
                                                              ? 0
                                                              : colon - pos - 7);
        if (colon != std::string::npos &&
            std::from_chars(num.data(), num.data() + num.size(), idx).ec == std::errc()) {
          auto names = detail::split_ws(std::string_view(line).substr(colon + 1));
          if (!names.empty()) xdi_columns[idx] = detail::lower(std::string(names.front()));
        }
      }
      continue;
    }
    std::vector<double> row;
    row.reserve(tokens.size());
    for (auto t : tokens) {
      double v = 0;
      if (!detail::parse_double(t, v))
        throw format_error(path, "line " + std::to_string(lineno) + ": \"" + std::string(t) +
                                     "\" is not a number");
      row.push_back(v);
    }
    if (ncols == 0) ncols = row.size();
    if (row.size() != ncols)
      throw format_error(path, "line " + std::to_string(lineno) + ": has " +
                                   std::to_string(row.size()) + " columns, earlier lines have " +
                                   std::to_string(ncols));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw format_error(path, "no data lines found");
  if (ncols < 2)
    throw format_error(path, "needs two columns (energy eV, mu), found " + std::to_string(ncols));

  std::size_t ecol = 0, mcol = 1;
  if (ncols > 2 && !xdi_columns.empty()) {
    auto find = [&](std::initializer_list<const char*> names) -> int {
      for (const char* n : names)
        for (auto& [i, name] : xdi_columns)
          if (name == n) return i - 1;
      return -1;
    };
    int e = find({"energy"});
    int m = find({"mutrans", "mufluor", "mu", "xmu", "normtrans", "norm"});
    if (e >= 0) ecol = static_cast<std::size_t>(e);
    if (m >= 0) mcol = static_cast<std::size_t>(m);
    if (ecol >= ncols || mcol >= ncols)
      throw format_error(path, "XDI column header names a column beyond the data");
  }

  reference_spectrum spectrum;
  spectrum.name = path.stem().string();
  spectrum.energy.reserve(rows.size());
  spectrum.mu.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double e = rows[i][ecol], m = rows[i][mcol];
    if (!std::isfinite(e) || !std::isfinite(m))
      throw format_error(path, "data row " + std::to_string(i + 1) + " has a non-finite value");
    if (!spectrum.energy.empty() && e <= spectrum.energy.back())
      throw format_error(path, "data row " + std::to_string(i + 1) + ": energy " +
                                   std::to_string(e) +
                                   " is not greater than the previous one; energies must be "
                                   "strictly increasing");
    spectrum.energy.push_back(e);
    spectrum.mu.push_back(m);
  }
  if (spectrum.energy.size() < 2) throw format_error(path, "needs at least two data rows");
  return spectrum;
}

// Reads every regular file of a folder (sorted by name, hidden files skipped)
// as a reference spectrum.
inline std::vector<reference_spectrum> read_reference_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw io_error(dir, "is not a folder");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.')
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw io_error(dir, "holds no reference spectra");
  std::vector<reference_spectrum> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(read_reference_spectrum(f));
  return out;
}

}  // namespace spectromine::io
