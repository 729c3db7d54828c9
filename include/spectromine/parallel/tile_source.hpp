// spectromine/parallel/tile_source.hpp: a spectral cube on disk, read as row
// bands (tiles) into one reusable buffer, and 2-D images (labels, masks)
// read and written band by band.
//
// Why row bands: an H x W x E C-order .npy stores a band of rows as one
// contiguous byte range, and so do TIFF strips and HDF5 hyperslabs along the
// first axis, so a band is one positioned read. Why pread into a reusable
// buffer rather than mmap: mapped pages count in the resident set until the
// kernel evicts them, so a memory budget could not be kept; a buffer sized
// once from the budget keeps peak memory independent of the cube size.
//
// The tile_source concept (what the tiled pipeline needs from a cube):
//   s.rows(), s.cols(), s.bands()          image shape and energies
//   s.read_rows(row0, rows, cube_view<float> out)   rows [row0, row0+rows)
// npy_tile_source implements it for float32/float64 little-endian .npy
// cubes (H x W x E, C order); cube_file_tile_source for any cube file the
// library reads (npy, multi-page TIFF by strips/tiles of every page, HDF5 by
// hyperslabs, hwe or ehw) through io::load_cube_rows, the readers' own
// row-band functions (no second implementation of any format).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"

namespace spectromine::parallel {

template <class S>
concept tile_source = requires(S& s, const S& cs, index_t i, cube_view<float> out) {
  { cs.rows() } -> std::convertible_to<index_t>;
  { cs.cols() } -> std::convertible_to<index_t>;
  { cs.bands() } -> std::convertible_to<index_t>;
  s.read_rows(i, i, out);
};

template <class S>
constexpr bool check_tile_source() {
  static_assert(tile_source<S>,
                "spectromine: a tile source needs rows(), cols(), bands() and "
                "read_rows(row0, rows, cube_view<float>) (see spectromine/parallel/tile_source.hpp).");
  return tile_source<S>;
}

// A row band [row0, row0 + rows) of the image, with a halo of extra rows
// around it (clipped at the image edges).
struct row_band {
  index_t row0 = 0, rows = 0;   // the rows this band owns (its output)
  index_t halo0 = 0, halo1 = 0; // rows read: [halo0, halo1)
  index_t end() const noexcept { return row0 + rows; }
};

// Bands of `band_rows` rows covering `image_rows`, each with `halo` rows on
// either side (clipped).
inline std::vector<row_band> plan_row_bands(index_t image_rows, index_t band_rows, index_t halo = 0) {
  require(band_rows >= 1, "tiled", "band rows", "must be >= 1", band_rows);
  require(halo >= 0, "tiled", "halo", "must be >= 0", halo);
  std::vector<row_band> out;
  for (index_t r = 0; r < image_rows; r += band_rows) {
    row_band b;
    b.row0 = r;
    b.rows = std::min(band_rows, image_rows - r);
    b.halo0 = std::max<index_t>(0, r - halo);
    b.halo1 = std::min(image_rows, b.end() + halo);
    out.push_back(b);
  }
  return out;
}

// How the image is cut.
struct tiling_options {
  index_t band_rows = 0;                          // 0 = derived from memory_budget
  std::size_t memory_budget = 256u * 1024u * 1024u;  // bytes for the band buffers (all of them)
  int threads = 0;                                // 0 = all cores
  // Read the next band of the cube on a reader thread while this one is
  // computed (double buffering: the budget then holds two cube bands, so a
  // band is half as tall). The reader only copies bytes: no result depends on it.
  bool prefetch = true;
  index_t cube_buffers() const noexcept { return prefetch ? 2 : 1; }

  void validate() const {
    require(band_rows >= 0, "tiled", "band_rows", "must be >= 0 (0 = from the memory budget)", band_rows);
    require(memory_budget >= 64 * 1024, "tiled", "memory_budget", "must be >= 64K", memory_budget);
    require(threads >= 0, "tiled", "threads", "must be >= 0 (0 = all cores)", threads);
  }
  // Rows per band when one image row costs `bytes_per_row`.
  index_t rows_for(std::size_t bytes_per_row, index_t image_rows) const {
    if (band_rows > 0) return band_rows;
    const auto r = static_cast<index_t>(memory_budget / std::max<std::size_t>(1, bytes_per_row));
    return std::clamp<index_t>(r, 1, std::max<index_t>(1, image_rows));
  }
};

namespace detail {

// Runs work(k, slot) for k = 0..count-1 after read(k, slot) filled buffer
// `slot` (0 or 1). With `overlap`, read(k + 1, 1 - slot) runs on a reader
// thread while work(k, slot) runs, so disk (or page-cache copy) time hides
// behind compute; the two never touch the same slot at once. An exception
// from either is rethrown here once the reader has finished (the buffers
// outlive every read: the future is joined before they can go away).
// Returns the seconds the caller spent waiting for reads (what overlap did
// not hide).
template <class Read, class Work>
double double_buffered(std::size_t count, bool overlap, Read&& read, Work&& work) {
  using clock = std::chrono::steady_clock;
  double waited = 0;
  auto timed = [&](auto&& f) {
    const auto t0 = clock::now();
    f();
    waited += std::chrono::duration<double>(clock::now() - t0).count();
  };
  if (count == 0) return waited;
  if (!overlap) {
    for (std::size_t k = 0; k < count; ++k) {
      timed([&] { read(k, 0); });
      work(k, 0);
    }
    return waited;
  }
  timed([&] { read(0, 0); });
  for (std::size_t k = 0; k < count; ++k) {
    const int slot = static_cast<int>(k % 2);
    std::future<void> next;  // joined by get() or, on an exception from work, by its destructor
    if (k + 1 < count) next = std::async(std::launch::async, [&read, k, slot] { read(k + 1, 1 - slot); });
    work(k, slot);
    if (next.valid()) timed([&] { next.get(); });
  }
  return waited;
}

// A file descriptor with positioned full reads/writes (no shared offset, so
// threads or ranks may use one file at different offsets).
class raw_file {
 public:
  raw_file() = default;
  raw_file(const std::filesystem::path& path, int flags) : path_(path) {
    fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd_ < 0) throw io_error(path, std::string("cannot open: ") + std::strerror(errno));
  }
  raw_file(const raw_file&) = delete;
  raw_file& operator=(const raw_file&) = delete;
  raw_file(raw_file&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
  raw_file& operator=(raw_file&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  ~raw_file() { close(); }

  void read_at(void* buffer, std::size_t bytes, std::uint64_t offset) const {
    auto* p = static_cast<char*>(buffer);
    while (bytes > 0) {
      const ssize_t n = ::pread(fd_, p, bytes, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw io_error(path_, "read failed or file truncated");
      p += n;
      bytes -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
  }
  void write_at(const void* buffer, std::size_t bytes, std::uint64_t offset) const {
    const auto* p = static_cast<const char*>(buffer);
    while (bytes > 0) {
      const ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw io_error(path_, std::string("write failed: ") + std::strerror(errno));
      p += n;
      bytes -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
  }
  void sync() const {
    if (::fsync(fd_) != 0) throw io_error(path_, "fsync failed");
  }
  // A hint (larger kernel read-ahead for passes that read the file in
  // order); failure is harmless, so it is ignored.
  void advise_sequential() const noexcept {
#if defined(POSIX_FADV_SEQUENTIAL)
    (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  }

 private:
  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  std::filesystem::path path_;
};

inline bool little_endian_host() noexcept {
  const std::uint16_t one = 1;
  unsigned char b = 0;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

}  // namespace detail

// A float32/float64 .npy cube read by row bands through one reusable buffer.
class npy_tile_source {
 public:
  explicit npy_tile_source(const std::filesystem::path& path)
      : header_(io::read_npy_cube_header(path)), file_(path, O_RDONLY), path_(path) {
    if (header_.fortran_order) throw format_error(path, "tiled reads need a C-order cube");
    if (header_.byte_swapped) throw format_error(path, "tiled reads need native byte order");
    if (header_.dtype != io::element_type::float32 && header_.dtype != io::element_type::float64)
      throw format_error(path, "tiled reads need a float32 or float64 cube (got " + header_.descr + ")");
    file_.advise_sequential();
  }
  index_t rows() const noexcept { return static_cast<index_t>(header_.shape[0]); }
  index_t cols() const noexcept { return static_cast<index_t>(header_.shape[1]); }
  index_t bands() const noexcept { return static_cast<index_t>(header_.shape[2]); }
  std::size_t element_size() const noexcept { return header_.element_size(); }

  // Rows [row0, row0 + n) into `out` (n x cols x bands, contiguous spectra).
  void read_rows(index_t row0, index_t n, cube_view<float> out) {
    require(row0 >= 0 && n >= 0 && row0 + n <= rows(), "npy_tile_source", "rows",
            "must lie inside the cube", row0 + n);
    require(out.rows() == n && out.cols() == cols() && out.bands() == bands() && out.is_contiguous(),
            "npy_tile_source", "out", "must be a contiguous rows x cols x bands view", out.rows());
    const std::size_t count = static_cast<std::size_t>(n * cols() * bands());
    const std::uint64_t offset = header_.data_offset + static_cast<std::uint64_t>(row0) *
                                                          static_cast<std::uint64_t>(cols() * bands()) *
                                                          element_size();
    if (header_.dtype == io::element_type::float32) {
      file_.read_at(out.data(), count * sizeof(float), offset);
      return;
    }
    // float64: converted through a fixed 4 MiB buffer (never a second band
    // in double, which the memory budget does not hold).
    constexpr std::size_t chunk = std::size_t{1} << 19;
    buffer_.resize(std::min(count, chunk));
    for (std::size_t done = 0; done < count;) {
      const std::size_t m = std::min(chunk, count - done);
      file_.read_at(buffer_.data(), m * sizeof(double), offset + done * sizeof(double));
      for (std::size_t i = 0; i < m; ++i) out.data()[done + i] = static_cast<float>(buffer_[i]);
      done += m;
    }
  }

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  io::npy_header header_;
  detail::raw_file file_;
  std::filesystem::path path_;
  std::vector<double> buffer_;
};

static_assert(check_tile_source<npy_tile_source>());

// Any cube file the library reads, by row bands. .npy goes through
// npy_tile_source (positioned reads into the caller's buffer); TIFF and HDF5
// through io::load_cube_rows (strips/tiles of every page; a hyperslab, or for
// --axes ehw groups of energy planes transposed), which allocates one band
// (plus its plane buffer) per call: budget about twice a band for them
// (bytes_per_pixel_factor()).
class cube_file_tile_source {
 public:
  explicit cube_file_tile_source(const std::filesystem::path& path, const io::cube_source_options& options = {})
      : path_(path), options_(options), format_(io::cube_format_of(path)) {
    if (format_ == io::cube_format::npy) {
      npy_.emplace(path);
      info_.shape = {npy_->rows(), npy_->cols()};
      info_.bands = npy_->bands();
    } else {
      info_ = io::probe_cube(path, options);
    }
  }
  index_t rows() const noexcept { return info_.shape.rows; }
  index_t cols() const noexcept { return info_.shape.cols; }
  index_t bands() const noexcept { return info_.bands; }
  io::cube_format format() const noexcept { return format_; }
  // Bytes of reader memory per band byte beyond the caller's buffer.
  std::size_t bytes_per_pixel_factor() const noexcept { return format_ == io::cube_format::npy ? 0 : 2; }
  const std::filesystem::path& path() const noexcept { return path_; }

  void read_rows(index_t row0, index_t n, cube_view<float> out) {
    if (npy_) return npy_->read_rows(row0, n, out);
    require(row0 >= 0 && n >= 0 && row0 + n <= rows(), "cube_file_tile_source", "rows",
            "must lie inside the cube", row0 + n);
    require(out.rows() == n && out.cols() == cols() && out.bands() == bands() && out.is_contiguous(),
            "cube_file_tile_source", "out", "must be a contiguous rows x cols x bands view", out.rows());
    const cube<float> band = io::load_cube_rows<float>(path_, row0, n, options_);
    std::copy(band.data(), band.data() + n * cols() * bands(), out.data());
  }

 private:
  std::filesystem::path path_;
  io::cube_source_options options_;
  io::cube_format format_;
  io::cube_info info_;
  std::optional<npy_tile_source> npy_;
};

static_assert(check_tile_source<cube_file_tile_source>());

// A 2-D C-order .npy image of T (int32 labels, uint8 masks) accessed by row
// bands with positioned reads/writes. create() writes the header and sizes
// the file; rows are then written in any order (by any rank).
template <class T>
class npy_image_file {
 public:
  static npy_image_file create(const std::filesystem::path& path, image_shape shape) {
    const std::string pre = io::detail::npy_preamble<T>(
        {static_cast<std::size_t>(shape.rows), static_cast<std::size_t>(shape.cols)});
    {
      detail::raw_file f(path, O_WRONLY | O_CREAT | O_TRUNC);
      f.write_at(pre.data(), pre.size(), 0);
      // Size the file (sparse) so bands may be written in any order.
      const std::size_t total = pre.size() + static_cast<std::size_t>(shape.pixels()) * sizeof(T);
      if (total > pre.size()) {
        const char zero = 0;
        f.write_at(&zero, 1, total - 1);
      }
    }
    return npy_image_file(path, shape, pre.size(), O_RDWR);
  }
  static npy_image_file open(const std::filesystem::path& path, bool writable = false) {
    const io::npy_header h = io::read_npy_header(path);
    if (h.rank() != 2 || h.fortran_order || h.byte_swapped || h.descr != io::detail::npy_descr_of<T>())
      throw format_error(path, std::string("expected a C-order 2-D ") + io::detail::npy_descr_of<T>() +
                                   " array (got " + h.descr + ")");
    return npy_image_file(path, {static_cast<index_t>(h.shape[0]), static_cast<index_t>(h.shape[1])},
                          h.data_offset, writable ? O_RDWR : O_RDONLY);
  }

  image_shape shape() const noexcept { return shape_; }
  void read_rows(index_t row0, index_t n, T* out) const {
    file_.read_at(out, static_cast<std::size_t>(n * shape_.cols) * sizeof(T), offset(row0));
  }
  void write_rows(index_t row0, index_t n, const T* in) const {
    file_.write_at(in, static_cast<std::size_t>(n * shape_.cols) * sizeof(T), offset(row0));
  }
  void sync() const { file_.sync(); }

 private:
  npy_image_file(const std::filesystem::path& path, image_shape shape, std::size_t data_offset, int flags)
      : file_(path, flags), shape_(shape), data_offset_(data_offset) {}
  std::uint64_t offset(index_t row0) const noexcept {
    return data_offset_ + static_cast<std::uint64_t>(row0 * shape_.cols) * sizeof(T);
  }
  detail::raw_file file_;
  image_shape shape_;
  std::size_t data_offset_ = 0;
};

}  // namespace spectromine::parallel
