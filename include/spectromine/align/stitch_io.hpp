// spectromine/align/stitch_io.hpp: stitching fields stored in files, into
// an .npy written band by band.
//
// file_field reads a cube file's rows on demand (io::load_cube_rows: npy by
// offset reads; tiff/hdf5 when those components are built), so a mosaic far
// larger than memory is stitched with only the fields intersecting one
// output row band loaded at a time. write_stitched_npy opens the output with
// the header of the final shape and appends each band as it is produced,
// under an atomic temporary name (no partial file ever appears).
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "spectromine/align/stitch.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"

namespace spectromine::align {

// A field of view in a cube file (any format io::load_cube_rows reads).
class file_field {
 public:
  explicit file_field(std::filesystem::path path, io::cube_source_options options = {})
      : path_(std::move(path)), options_(std::move(options)) {
    const auto info = io::probe_cube(path_, options_);
    shape_ = info.shape;
    bands_ = info.bands;
  }
  image_shape shape() const noexcept { return shape_; }
  index_t bands() const noexcept { return bands_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  cube<float> read_rows(index_t row0, index_t rows) const {
    return io::load_cube_rows<float>(path_, row0, rows, options_);
  }

 private:
  std::filesystem::path path_;
  io::cube_source_options options_;
  image_shape shape_{};
  index_t bands_ = 0;
};

// One line of a field list.
struct field_entry {
  std::filesystem::path path;
  field_position position;
};

// Reads a field list: lines "path,row0,col0" ('#' comments and blank lines
// allowed; a first line "path,row0,col0" is a header). Relative paths are
// relative to the list's folder.
inline std::vector<field_entry> read_field_list(const std::filesystem::path& list) {
  std::error_code ec;
  if (!std::filesystem::exists(list, ec)) throw io_error(list, "no such file");
  std::ifstream in(list);
  if (!in) throw io_error(list, "cannot open for reading");
  std::vector<field_entry> fields;
  std::string line;
  index_t number = 0;
  auto trim = [](std::string s) {
    const auto a = s.find_first_not_of(" \t\r");
    const auto b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  };
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    // The path is everything before the last two commas (paths may hold commas).
    const auto c2 = line.rfind(',');
    const auto c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : line.rfind(',', c2 - 1);
    if (c1 == std::string::npos)
      throw format_error(list, "line " + std::to_string(number) +
                                   ": expected 'path,row0,col0', got '" + line + "'");
    const std::string path = trim(line.substr(0, c1));
    const std::string row = trim(line.substr(c1 + 1, c2 - c1 - 1));
    const std::string col = trim(line.substr(c2 + 1));
    auto parse = [&](const std::string& text, index_t& value) {
      double v = 0;
      if (!io::detail::parse_double(text, v) || !std::isfinite(v) || v != std::floor(v)) return false;
      value = static_cast<index_t>(v);
      return true;
    };
    field_entry e;
    if (!parse(row, e.position.row0) || !parse(col, e.position.col0)) {
      if (fields.empty() && io::detail::lower(path) == "path") continue;  // header
      throw format_error(list, "line " + std::to_string(number) +
                                   ": row0 and col0 must be whole numbers, got '" + row + "', '" +
                                   col + "'");
    }
    e.path = path;
    if (e.path.is_relative()) e.path = list.parent_path() / e.path;
    fields.push_back(std::move(e));
  }
  if (fields.empty()) throw format_error(list, "lists no field");
  return fields;
}

// Renders `plan` into an .npy file (float32, rows x cols x bands), band by
// band, atomically.
template <field_source S, progress_observer P = no_progress>
void write_stitched_npy(const std::filesystem::path& path, std::span<const S> fields,
                        const stitch_plan& plan, const stitch_options& options = {},
                        P&& progress = {}) {
  const std::vector<std::size_t> shape{static_cast<std::size_t>(plan.shape.rows),
                                       static_cast<std::size_t>(plan.shape.cols),
                                       static_cast<std::size_t>(plan.bands)};
  // io/npy.hpp's writer takes the data as a callback on the open file, which
  // is what streaming needs.
  io::detail::write_npy_file(path, io::detail::npy_preamble<float>(shape), [&](std::FILE* f) {
    render_stitch(
        fields, plan,
        [&](index_t, cube_view<const float> band) {
          // The band buffer is contiguous: one write per band.
          io::detail::write_all(path, f, band.data(),
                                static_cast<std::size_t>(band.pixel_count() * band.bands()));
        },
        options, progress);
  });
}

}  // namespace spectromine::align
