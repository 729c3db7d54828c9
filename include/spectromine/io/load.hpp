// spectromine/io/load.hpp: one entry point for cube files of any format.
//
// load_cube / load_cube_rows / probe_cube dispatch on the extension:
//   .npy            NumPy (always available)
//   .tif .tiff      multi-page TIFF, one page per energy (component spectromine::tiff)
//   .h5 .hdf5 .nxs  HDF5 dataset, options.dataset and options.axes (component spectromine::hdf5)
// A format whose component was not compiled in is an io_error naming the
// extension and the component. for_each_row_band streams a cube of any size
// through bounded memory (row bands), and cube_statistics summarizes values
// (finite values only; non-finite ones are counted), merging bands exactly
// as if the cube had been scanned whole (Chan et al. pairwise update).
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/detail/common.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#if defined(SPECTROMINE_HAS_TIFF)
#include "spectromine/io/tiff.hpp"
#endif
#if defined(SPECTROMINE_HAS_HDF5)
#include "spectromine/io/hdf5.hpp"
#endif

namespace spectromine::io {

struct cube_source_options {
  std::string dataset = "/data";       // HDF5 only
  axis_order axes = axis_order::hwe;   // HDF5 only (TIFF pages are always one per energy)
  // HDF5 only: before this process opens the file, open it in a child
  // process (vet_hdf5_cube, vet_hdf5_vector), so that a corrupt file which
  // crashes libhdf5 is a format_error here, not a crash. Costs one fork per
  // probe_cube / load_energy. Off by default: forking is the application's
  // call (the spectromine CLI turns it on for the files users hand it).
  bool isolate_hdf5 = false;
};

enum class cube_format { npy, tiff, hdf5 };

inline const char* to_string(cube_format f) noexcept {
  return f == cube_format::npy ? "npy" : f == cube_format::tiff ? "tiff" : "hdf5";
}

// "hwe" / "ehw" (case-insensitive) -> axis_order.
inline axis_order parse_axis_order(std::string_view text) {
  std::string t(text);
  for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (t == "hwe") return axis_order::hwe;
  if (t == "ehw") return axis_order::ehw;
  throw_invalid("io", "axes", "must be hwe (rows x cols x energies) or ehw (energies x rows x cols)",
                std::string(text));
}

// Whether this build reads (and writes) the format.
constexpr bool format_available(cube_format f) noexcept {
  switch (f) {
    case cube_format::npy: return true;
    case cube_format::tiff:
#if defined(SPECTROMINE_HAS_TIFF)
      return true;
#else
      return false;
#endif
    case cube_format::hdf5:
#if defined(SPECTROMINE_HAS_HDF5)
      return true;
#else
      return false;
#endif
  }
  return false;
}

// The format of a path, from its extension; an io_error for an unknown
// extension or a format this build lacks.
inline cube_format cube_format_of(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  cube_format f = cube_format::npy;
  const char* component = "";
  if (ext == ".npy") {
    f = cube_format::npy;
  } else if (ext == ".tif" || ext == ".tiff") {
    f = cube_format::tiff;
    component = "spectromine::tiff (libtiff)";
  } else if (ext == ".h5" || ext == ".hdf5" || ext == ".hdf" || ext == ".nxs") {
    f = cube_format::hdf5;
    component = "spectromine::hdf5 (the HDF5 C library)";
  } else {
    throw io_error(path, "unknown cube format '" + (ext.empty() ? std::string("(no extension)") : ext) +
                             "'; expected .npy, .tif/.tiff or .h5/.hdf5");
  }
  if (!format_available(f))
    throw io_error(path, "reading '" + ext + "' files needs the " + component +
                             " component, which this build of spectromine does not have");
  return f;
}

// What a cube file holds, from its header (no pixel data read).
inline cube_info probe_cube(const std::filesystem::path& path, const cube_source_options& options = {}) {
  switch (cube_format_of(path)) {
    case cube_format::npy: {
      const npy_header h = read_npy_cube_header(path);
      cube_info info;
      info.path = path;
      info.format = "npy";
      info.dtype = h.dtype;
      info.shape = image_shape{static_cast<index_t>(h.shape[0]), static_cast<index_t>(h.shape[1])};
      info.bands = static_cast<index_t>(h.shape[2]);
      info.axes = axis_order::hwe;
      return info;
    }
    case cube_format::tiff:
#if defined(SPECTROMINE_HAS_TIFF)
      return probe_tiff(path);
#else
      break;
#endif
    case cube_format::hdf5:
#if defined(SPECTROMINE_HAS_HDF5)
      if (options.isolate_hdf5) vet_hdf5_cube(path, options.dataset, options.axes);
      return probe_hdf5(path, options.dataset, options.axes);
#else
      break;
#endif
  }
  (void)options;
  throw io_error(path, "format not available in this build");
}

// Rows [row0, row0 + rows) of a cube file, pixel-major, converted to T.
template <class T = float>
cube<T> load_cube_rows(const std::filesystem::path& path, index_t row0, index_t rows,
                       const cube_source_options& options = {}) {
  switch (cube_format_of(path)) {
    case cube_format::npy: return read_npy_cube_rows<T>(path, row0, rows);
    case cube_format::tiff:
#if defined(SPECTROMINE_HAS_TIFF)
      return read_tiff_cube_rows<T>(path, row0, rows);
#else
      break;
#endif
    case cube_format::hdf5:
#if defined(SPECTROMINE_HAS_HDF5)
      return read_hdf5_cube_rows<T>(path, options.dataset, options.axes, row0, rows);
#else
      break;
#endif
  }
  (void)options;
  throw io_error(path, "format not available in this build");
}

// A whole cube file, pixel-major (H x W x E), converted to T.
template <class T = float>
cube<T> load_cube(const std::filesystem::path& path, const cube_source_options& options = {}) {
  const cube_info info = probe_cube(path, options);
  return load_cube_rows<T>(path, 0, info.shape.rows, options);
}

// The energies of a cube: a text list (one eV per line), or, for an HDF5
// cube, a dataset of the cube's file when `energy` starts with '/' and does
// not exist as a file (vetted first when options.isolate_hdf5). Validated:
// finite, strictly increasing, one per band.
inline energy_grid load_energy(const std::string& energy, const std::filesystem::path& cube_path,
                               index_t expected_bands, std::string_view component = "energy",
                               const cube_source_options& options = {}) {
  energy_grid e;
  std::error_code ec;
  if (!energy.empty() && energy.front() == '/' && !std::filesystem::exists(energy, ec) &&
      cube_format_of(cube_path) == cube_format::hdf5) {
#if defined(SPECTROMINE_HAS_HDF5)
    if (options.isolate_hdf5) vet_hdf5_vector(cube_path, energy);
    e = read_hdf5_vector(cube_path, energy);
#endif
    (void)options;
  } else {
    e = read_energy_list(energy);
  }
  if (expected_bands >= 0 && static_cast<index_t>(e.size()) != expected_bands)
    throw invalid_argument(std::string(component), "energy count",
                           std::string(component) + ": " + energy + " lists " + std::to_string(e.size()) +
                               " energies but the cube " + cube_path.string() + " has " +
                               std::to_string(expected_bands) + " bands");
  validate_energy_grid(e, component, expected_bands);
  return e;
}

// Streams a cube through bands of rows, each at most about max_bytes of T
// (at least one row): body(const cube<T>& band, index_t row0). Memory stays
// bounded whatever the cube's size.
template <class T = float, class Body, class Progress = no_progress>
void for_each_row_band(const std::filesystem::path& path, const cube_source_options& options,
                       std::size_t max_bytes, Body&& body, Progress&& progress = {}) {
  static_assert(check_progress_observer<Progress>());
  const cube_info info = probe_cube(path, options);
  const std::size_t row_bytes =
      std::max<std::size_t>(1, static_cast<std::size_t>(info.shape.cols * info.bands) * sizeof(T));
  const index_t rows_per_band = static_cast<index_t>(std::max<std::size_t>(1, max_bytes / row_bytes));
  for (index_t row0 = 0; row0 < info.shape.rows; row0 += rows_per_band) {
    const index_t rows = std::min(rows_per_band, info.shape.rows - row0);
    const cube<T> band = load_cube_rows<T>(path, row0, rows, options);
    body(band, row0);
    progress("reading", row0 + rows, info.shape.rows);
  }
}

// Count, range, mean and standard deviation of the finite values; count of
// the non-finite ones.
struct cube_statistics {
  index_t finite = 0;
  index_t non_finite = 0;
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double mean = std::numeric_limits<double>::quiet_NaN();
  double m2 = 0;  // sum of squared deviations from the mean

  // Population standard deviation (NaN when there is no finite value).
  double stddev() const noexcept {
    return finite > 0 ? std::sqrt(m2 / static_cast<double>(finite)) : std::numeric_limits<double>::quiet_NaN();
  }

  // Adds the statistics of another disjoint set of values.
  void merge(const cube_statistics& o) noexcept {
    non_finite += o.non_finite;
    if (o.finite == 0) return;
    if (finite == 0) {
      const index_t nf = non_finite;
      *this = o;
      non_finite = nf;
      return;
    }
    const double n = static_cast<double>(finite), m = static_cast<double>(o.finite);
    const double delta = o.mean - mean;
    mean += delta * m / (n + m);
    m2 += o.m2 + delta * delta * n * m / (n + m);
    finite += o.finite;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
};

namespace detail {
// Statistics of one row of a cube (two passes: exact mean, then deviations,
// so the variance does not cancel catastrophically).
template <class T>
cube_statistics row_statistics(cube_view<const T> c, index_t row) {
  cube_statistics s;
  double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
  index_t n = 0, bad = 0;
  for (index_t col = 0; col < c.cols(); ++col)
    for (T v : c.spectrum(row, col)) {
      const double x = static_cast<double>(v);
      if (!std::isfinite(x)) {
        ++bad;
        continue;
      }
      ++n;
      sum += x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  s.non_finite = bad;
  if (n == 0) return s;
  s.finite = n;
  s.mean = sum / static_cast<double>(n);
  s.min = lo;
  s.max = hi;
  double m2 = 0;
  for (index_t col = 0; col < c.cols(); ++col)
    for (T v : c.spectrum(row, col)) {
      const double x = static_cast<double>(v);
      if (std::isfinite(x)) m2 += (x - s.mean) * (x - s.mean);
    }
  s.m2 = m2;
  return s;
}
}  // namespace detail

// Adds every value of a cube view to `s`, one row at a time in order, so a
// cube streamed in bands of rows gives bit-identical numbers whatever the
// band size.
template <class T>
void accumulate_statistics(cube_statistics& s, cube_view<const T> c) {
  for (index_t r = 0; r < c.rows(); ++r) s.merge(detail::row_statistics(c, r));
}

// Statistics of every value of a cube view.
template <class T>
cube_statistics compute_statistics(cube_view<const T> c) {
  cube_statistics s;
  accumulate_statistics(s, c);
  return s;
}
template <class T>
cube_statistics compute_statistics(const cube<T>& c) {
  return compute_statistics(c.view());
}

}  // namespace spectromine::io
