// spectromine/io/hdf5.hpp: cubes in HDF5 files (component spectromine::hdf5,
// the HDF5 C library; defines SPECTROMINE_HAS_HDF5).
//
// A cube is one 3-D numeric dataset (default "/data"), in either axis order:
// hwe (rows x cols x energies: read straight into the pixel-major cube) or
// ehw (energies x rows x cols: read a group of energies at a time and
// transposed). Reads select a hyperslab, so read_hdf5_cube_rows reads one
// band of rows (a tile) without the rest of the cube; HDF5 converts any
// integer or float type to the requested one. Energies may live in the same
// file (read_hdf5_vector, e.g. "/energy").
//
// The checks before allocating: the dataset exists, is numeric, has rank
// 3, is not empty, its size does not overflow or exceed memory, and a
// contiguous dataset's storage holds every byte its shape needs. HDF5's own error stack is
// silenced during each call and its message goes into the exception.
// The HDF5 library is usually built without thread safety: call these from
// one thread at a time.
//
// Untrusted files: libhdf5 1.10 itself can crash on a corrupt file while
// finding a dataset (fuzzing found SEGVs inside H5Dopen2), before any check
// of ours can run. vet_hdf5_cube / vet_hdf5_vector try the open and a small
// read in a child process first (POSIX fork) and turn a crash or a hang
// there into a format_error; io::cube_source_options::isolate_hdf5 makes
// the load.hpp entry points call them, and the spectromine CLI sets it.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/detail/common.hpp"
#include "spectromine/io/detail/survive_in_child.hpp"

namespace spectromine::io {

struct hdf5_write_options {
  axis_order axes = axis_order::hwe;
  // Rows per chunk (0 = contiguous layout unless compressed). Chunks of a
  // few rows make row-band reads of a compressed file cheap.
  index_t chunk_rows = 0;
  int deflate_level = 0;  // 0 = uncompressed, 1..9 = gzip level
  // When non-empty, also written as a 1-D float64 dataset at energy_dataset.
  std::vector<double> energy;
  std::string energy_dataset = "/energy";
};

namespace detail {

// Silences HDF5's automatic error printing for one scope and turns its error
// stack into text.
class hdf5_quiet {
 public:
  hdf5_quiet() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  hdf5_quiet(const hdf5_quiet&) = delete;
  hdf5_quiet& operator=(const hdf5_quiet&) = delete;
  ~hdf5_quiet() {
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, func_, data_);
  }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

inline std::string hdf5_error_text() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        auto& s = *static_cast<std::string*>(out);
        if (n < 3 && e->desc && *e->desc) s += (s.empty() ? "" : "; ") + std::string(e->desc);
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "HDF5 call failed" : text;
}

// An HDF5 identifier that closes itself.
class h5id {
 public:
  using closer = herr_t (*)(hid_t);
  h5id() = default;
  h5id(hid_t id, closer close) : id_(id), close_(close) {}
  h5id(const h5id&) = delete;
  h5id& operator=(const h5id&) = delete;
  h5id(h5id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  h5id& operator=(h5id&& o) noexcept {
    reset();
    id_ = std::exchange(o.id_, H5I_INVALID_HID);
    close_ = o.close_;
    return *this;
  }
  ~h5id() { reset(); }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  // Closes, reporting failure (a file close flushes: errors matter when writing).
  bool close() {
    const bool ok = id_ < 0 || !close_ || close_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }
  hid_t get() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  closer close_ = nullptr;
};

template <class T>
hid_t hdf5_native_type() {
  constexpr element_type t = element_type_of<T>();
  if constexpr (t == element_type::float32) return H5T_NATIVE_FLOAT;
  else if constexpr (t == element_type::float64) return H5T_NATIVE_DOUBLE;
  else if constexpr (t == element_type::int8) return H5T_NATIVE_INT8;
  else if constexpr (t == element_type::uint8 || t == element_type::boolean) return H5T_NATIVE_UINT8;
  else if constexpr (t == element_type::int16) return H5T_NATIVE_INT16;
  else if constexpr (t == element_type::uint16) return H5T_NATIVE_UINT16;
  else if constexpr (t == element_type::int32) return H5T_NATIVE_INT32;
  else if constexpr (t == element_type::uint32) return H5T_NATIVE_UINT32;
  else if constexpr (t == element_type::int64) return H5T_NATIVE_INT64;
  else return H5T_NATIVE_UINT64;
}

inline h5id open_hdf5_file(const std::filesystem::path& path) {
  check_input_file(path);
  const htri_t is = H5Fis_hdf5(path.c_str());
  if (is <= 0) {
    const std::string why = hdf5_error_text();
    throw format_error(path, is == 0 ? "not an HDF5 file (no HDF5 signature)"
                                     : "not a readable HDF5 file: " + why);
  }
  h5id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), &H5Fclose);
  if (!file.valid())
    throw format_error(path, "cannot open as HDF5 (truncated or corrupt?): " + hdf5_error_text());
  return file;
}

inline h5id open_hdf5_dataset(const std::filesystem::path& path, hid_t file, const std::string& dataset) {
  h5id d(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), &H5Dclose);
  if (!d.valid()) {
    H5Eclear2(H5E_DEFAULT);
    // The message does not list the file's datasets: iterating the groups of
    // a corrupt file crashes libhdf5 1.10 (a SEGV in H5G__node_iterate, found
    // by fuzzing: fuzz/corpus/hdf5/regression-libhdf5-group-iterate.h5), and
    // an error message is no reason to read more of an untrusted file.
    throw format_error(path, "no dataset '" + dataset +
                                 "' (list the file's datasets with `h5ls -r`; choose one with --dataset)");
  }
  return d;
}

inline element_type hdf5_element_type(const std::filesystem::path& path, hid_t dset,
                                      const std::string& dataset) {
  h5id type(H5Dget_type(dset), &H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  const std::size_t size = H5Tget_size(type.get());
  if (cls == H5T_FLOAT) {
    if (size == 4) return element_type::float32;
    if (size == 8) return element_type::float64;
  } else if (cls == H5T_INTEGER) {
    const bool sign = H5Tget_sign(type.get()) == H5T_SGN_2;
    switch (size) {
      case 1: return sign ? element_type::int8 : element_type::uint8;
      case 2: return sign ? element_type::int16 : element_type::uint16;
      case 4: return sign ? element_type::int32 : element_type::uint32;
      case 8: return sign ? element_type::int64 : element_type::uint64;
      default: break;
    }
  }
  const char* name = cls == H5T_STRING ? "string" : cls == H5T_COMPOUND ? "compound" : cls == H5T_ENUM ? "enum"
                     : cls == H5T_ARRAY ? "array" : cls == H5T_FLOAT ? "float" : cls == H5T_INTEGER ? "integer" : "non-numeric";
  throw format_error(path, "dataset '" + dataset + "' has type " + name + " of " + std::to_string(size) +
                               " bytes; expected float32/64 or 8..64-bit integers");
}

// The dims of a dataset of the expected rank.
inline std::vector<hsize_t> hdf5_dims(const std::filesystem::path& path, hid_t dset,
                                      const std::string& dataset, int rank, const char* what) {
  h5id space(H5Dget_space(dset), &H5Sclose);
  const int n = H5Sget_simple_extent_ndims(space.get());
  if (n < 0) throw format_error(path, "dataset '" + dataset + "': cannot read its shape: " + hdf5_error_text());
  std::vector<hsize_t> dims(static_cast<std::size_t>(n));
  if (n > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  if (n != rank) {
    std::string shape;
    for (auto d : dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    throw format_error(path, "dataset '" + dataset + "' has rank " + std::to_string(n) + " (" +
                                 (shape.empty() ? "scalar" : shape) + "); expected " + what);
  }
  return dims;
}

// An open cube dataset with its shape checked.
struct hdf5_cube_source {
  h5id file, dset;
  cube_info info;
  std::vector<hsize_t> dims;  // as stored
};

inline hdf5_cube_source open_hdf5_cube(const std::filesystem::path& path, const std::string& dataset,
                                       axis_order axes) {
  hdf5_cube_source s;
  s.file = open_hdf5_file(path);
  s.dset = open_hdf5_dataset(path, s.file.get(), dataset);
  s.info.path = path;
  s.info.format = "hdf5";
  s.info.dataset = dataset;
  s.info.axes = axes;
  s.info.dtype = hdf5_element_type(path, s.dset.get(), dataset);
  s.dims = hdf5_dims(path, s.dset.get(), dataset, 3,
                     axes == axis_order::hwe ? "3 (rows x cols x energies, --axes hwe)"
                                             : "3 (energies x rows x cols, --axes ehw)");
  const hsize_t H = axes == axis_order::hwe ? s.dims[0] : s.dims[1];
  const hsize_t W = axes == axis_order::hwe ? s.dims[1] : s.dims[2];
  const hsize_t E = axes == axis_order::hwe ? s.dims[2] : s.dims[0];
  const std::size_t bytes = checked_cube_bytes(path, H, W, E, size_of(s.info.dtype));
  if (bytes == 0)
    throw format_error(path, "dataset '" + dataset + "' is empty (" + std::to_string(s.dims[0]) + " x " +
                                 std::to_string(s.dims[1]) + " x " + std::to_string(s.dims[2]) + ")");
  h5id plist(H5Dget_create_plist(s.dset.get()), &H5Pclose);
  if (plist.valid() && H5Pget_layout(plist.get()) == H5D_CONTIGUOUS) {
    const hsize_t stored = H5Dget_storage_size(s.dset.get());
    if (stored < bytes)
      throw format_error(path, "dataset '" + dataset + "' is truncated or was never written: its storage holds " +
                                   std::to_string(stored) + " bytes, its shape needs " + std::to_string(bytes));
  }
  s.info.shape = image_shape{static_cast<index_t>(H), static_cast<index_t>(W)};
  s.info.bands = static_cast<index_t>(E);
  return s;
}

template <class T>
void hdf5_read_block(const std::filesystem::path& path, const hdf5_cube_source& s,
                     const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, T* out) {
  h5id filespace(H5Dget_space(s.dset.get()), &H5Sclose);
  h5id memspace(H5Screate_simple(3, count.data(), nullptr), &H5Sclose);
  if (!filespace.valid() || !memspace.valid() ||
      H5Sselect_hyperslab(filespace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0 ||
      H5Dread(s.dset.get(), hdf5_native_type<T>(), memspace.get(), filespace.get(), H5P_DEFAULT, out) < 0)
    throw format_error(path, "dataset '" + s.info.dataset + "': read failed (truncated or corrupt?): " +
                                 hdf5_error_text());
}

inline void check_dataset_name(const std::string& dataset, const char* component) {
  require(!dataset.empty(), component, "dataset", "must name a dataset (e.g. /data)", dataset);
}

}  // namespace detail

// What an HDF5 cube dataset holds (no data read).
inline cube_info probe_hdf5(const std::filesystem::path& path, const std::string& dataset = "/data",
                            axis_order axes = axis_order::hwe) {
  detail::check_dataset_name(dataset, "probe_hdf5");
  detail::hdf5_quiet quiet;
  return detail::open_hdf5_cube(path, dataset, axes).info;
}

// Rows [row0, row0 + rows) of the cube, as a rows x W x E pixel-major cube:
// a hyperslab read (ehw: a group of energies at a time, transposed).
template <class T>
cube<T> read_hdf5_cube_rows(const std::filesystem::path& path, const std::string& dataset, axis_order axes,
                            index_t row0, index_t rows) {
  detail::check_dataset_name(dataset, "read_hdf5_cube");
  detail::hdf5_quiet quiet;
  const auto s = detail::open_hdf5_cube(path, dataset, axes);
  const index_t W = s.info.shape.cols, E = s.info.bands;
  detail::check_row_band(path, row0, rows, s.info.shape.rows);
  const std::size_t plane = static_cast<std::size_t>(rows * W);
  detail::check_allocation(path, plane * static_cast<std::size_t>(E) * sizeof(T));
  cube<T> out(image_shape{rows, W}, E);
  if (plane == 0) return out;
  const auto h = [](index_t v) { return static_cast<hsize_t>(v); };
  if (axes == axis_order::hwe) {
    detail::hdf5_read_block(path, s, {h(row0), 0, 0}, {h(rows), h(W), h(E)}, out.data());
    return out;
  }
  const index_t G = detail::band_group(plane * sizeof(T), E);
  std::vector<T> planes(plane * static_cast<std::size_t>(G));
  for (index_t e0 = 0; e0 < E; e0 += G) {
    const index_t g = std::min(G, E - e0);
    detail::hdf5_read_block(path, s, {h(e0), h(row0), 0}, {h(g), h(rows), h(W)}, planes.data());
    detail::scatter_planes(planes, plane, g, e0, out.view());
  }
  return out;
}

template <class T>
cube<T> read_hdf5_cube(const std::filesystem::path& path, const std::string& dataset = "/data",
                       axis_order axes = axis_order::hwe) {
  const auto info = probe_hdf5(path, dataset, axes);
  return read_hdf5_cube_rows<T>(path, dataset, axes, 0, info.shape.rows);
}

// Throws format_error when opening the cube dataset and reading its first
// and last rows crashes libhdf5 (or hangs it) in a child process; returns
// when libhdf5 survives them, whether or not they succeeded (the caller's
// own read then reports any ordinary error). Rows in between are not tried:
// a corrupt chunk index deeper in a large cube can still crash the read.
inline void vet_hdf5_cube(const std::filesystem::path& path, const std::string& dataset, axis_order axes) {
  detail::survive_in_child(path, "opening HDF5 dataset '" + dataset + "'", [&] {
    const index_t rows = probe_hdf5(path, dataset, axes).shape.rows;
    if (rows == 0) return;
    (void)read_hdf5_cube_rows<float>(path, dataset, axes, 0, 1);
    (void)read_hdf5_cube_rows<float>(path, dataset, axes, rows - 1, 1);
  });
}

// A 1-D numeric dataset (e.g. the energies) as doubles.
inline std::vector<double> read_hdf5_vector(const std::filesystem::path& path, const std::string& dataset) {
  detail::check_dataset_name(dataset, "read_hdf5_vector");
  detail::hdf5_quiet quiet;
  auto file = detail::open_hdf5_file(path);
  auto dset = detail::open_hdf5_dataset(path, file.get(), dataset);
  detail::hdf5_element_type(path, dset.get(), dataset);
  const auto dims = detail::hdf5_dims(path, dset.get(), dataset, 1, "1 (a list of values)");
  if (dims[0] == 0) throw format_error(path, "dataset '" + dataset + "' is empty");
  detail::check_allocation(path, static_cast<std::size_t>(dims[0]) * sizeof(double));
  std::vector<double> v(static_cast<std::size_t>(dims[0]));
  if (H5Dread(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw format_error(path, "dataset '" + dataset + "': read failed: " + detail::hdf5_error_text());
  return v;
}

// As vet_hdf5_cube, for read_hdf5_vector.
inline void vet_hdf5_vector(const std::filesystem::path& path, const std::string& dataset) {
  detail::survive_in_child(path, "reading HDF5 dataset '" + dataset + "'",
                           [&] { (void)read_hdf5_vector(path, dataset); });
}

// Writes a cube as one 3-D dataset (axes as options.axes), creating
// intermediate groups; the file is replaced atomically.
template <class T>
void write_hdf5_cube(const std::filesystem::path& path, const std::string& dataset, cube_view<const T> cube,
                     const hdf5_write_options& options = {}) {
  detail::check_dataset_name(dataset, "write_hdf5_cube");
  require(!cube.empty(), "write_hdf5_cube", "cube", "must not be empty", cube.pixel_count() * cube.bands());
  require(options.deflate_level >= 0 && options.deflate_level <= 9, "write_hdf5_cube", "deflate_level",
          "must be in 0..9", options.deflate_level);
  require(options.chunk_rows >= 0, "write_hdf5_cube", "chunk_rows", "must be >= 0", options.chunk_rows);
  detail::hdf5_quiet quiet;
  const index_t H = cube.rows(), W = cube.cols(), E = cube.bands();
  const auto h = [](index_t v) { return static_cast<hsize_t>(v); };
  const bool hwe = options.axes == axis_order::hwe;
  const std::vector<hsize_t> dims = hwe ? std::vector<hsize_t>{h(H), h(W), h(E)} : std::vector<hsize_t>{h(E), h(H), h(W)};
  const auto fail = [&](const char* what) { return io_error(path, std::string(what) + ": " + detail::hdf5_error_text()); };

  atomic_file out(path);
  detail::h5id file(H5Fcreate(out.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), &H5Fclose);
  if (!file.valid()) throw fail("cannot create");
  detail::h5id lcpl(H5Pcreate(H5P_LINK_CREATE), &H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  detail::h5id dcpl(H5Pcreate(H5P_DATASET_CREATE), &H5Pclose);
  if (options.chunk_rows > 0 || options.deflate_level > 0) {
    const index_t rows = options.chunk_rows > 0 ? std::min(options.chunk_rows, H) : std::min<index_t>(H, 8);
    std::vector<hsize_t> chunk = hwe ? std::vector<hsize_t>{h(rows), h(W), h(E)} : std::vector<hsize_t>{1, h(rows), h(W)};
    H5Pset_chunk(dcpl.get(), 3, chunk.data());
    if (options.deflate_level > 0) {
      H5Pset_shuffle(dcpl.get());
      H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate_level));
    }
  }
  detail::h5id space(H5Screate_simple(3, dims.data(), nullptr), &H5Sclose);
  detail::h5id dset(H5Dcreate2(file.get(), dataset.c_str(), detail::hdf5_native_type<T>(), space.get(), lcpl.get(),
                               dcpl.get(), H5P_DEFAULT),
                    &H5Dclose);
  if (!dset.valid()) throw fail(("cannot create dataset '" + dataset + "'").c_str());

  auto write_block = [&](const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, const T* data) {
    detail::h5id filespace(H5Dget_space(dset.get()), &H5Sclose);
    detail::h5id memspace(H5Screate_simple(3, count.data(), nullptr), &H5Sclose);
    if (H5Sselect_hyperslab(filespace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0 ||
        H5Dwrite(dset.get(), detail::hdf5_native_type<T>(), memspace.get(), filespace.get(), H5P_DEFAULT, data) < 0)
      throw fail("write failed (disk full?)");
  };
  if (hwe) {
    if (cube.is_contiguous()) {
      write_block({0, 0, 0}, dims, cube.data());
    } else {
      std::vector<T> row(static_cast<std::size_t>(W * E));
      for (index_t r = 0; r < H; ++r) {
        for (index_t c = 0; c < W; ++c)
          std::copy_n(cube.pixel_pointer(r, c), E, row.data() + c * E);
        write_block({h(r), 0, 0}, {1, h(W), h(E)}, row.data());
      }
    }
  } else {
    const std::size_t plane = static_cast<std::size_t>(H * W);
    const index_t G = detail::band_group(plane * sizeof(T), E);
    std::vector<T> planes(plane * static_cast<std::size_t>(G));
    for (index_t e0 = 0; e0 < E; e0 += G) {
      const index_t g = std::min(G, E - e0);
      for (index_t r = 0; r < H; ++r)
        for (index_t c = 0; c < W; ++c) {
          const T* src = cube.pixel_pointer(r, c) + e0;
          const std::size_t p = static_cast<std::size_t>(r * W + c);
          for (index_t k = 0; k < g; ++k) planes[static_cast<std::size_t>(k) * plane + p] = src[k];
        }
      write_block({h(e0), 0, 0}, {h(g), h(H), h(W)}, planes.data());
    }
  }
  if (!options.energy.empty()) {
    const hsize_t n = options.energy.size();
    detail::h5id espace(H5Screate_simple(1, &n, nullptr), &H5Sclose);
    detail::h5id edset(H5Dcreate2(file.get(), options.energy_dataset.c_str(), H5T_NATIVE_DOUBLE, espace.get(),
                                  lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                       &H5Dclose);
    if (!edset.valid() ||
        H5Dwrite(edset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, options.energy.data()) < 0)
      throw fail(("cannot write dataset '" + options.energy_dataset + "'").c_str());
  }
  dset.reset();
  if (!file.close()) throw fail("write failed (disk full?)");
  out.commit();
}
template <class T>
void write_hdf5_cube(const std::filesystem::path& path, const std::string& dataset, cube_view<T> cube,
                     const hdf5_write_options& options = {})
  requires(!std::is_const_v<T>)
{
  write_hdf5_cube(path, dataset, cube_view<const T>(cube), options);
}
template <class T>
void write_hdf5_cube(const std::filesystem::path& path, const std::string& dataset, const cube<T>& c,
                     const hdf5_write_options& options = {}) {
  write_hdf5_cube(path, dataset, c.view(), options);
}

}  // namespace spectromine::io
