// spectromine/io/tiff.hpp: multi-page TIFF cubes and label maps (component
// spectromine::tiff, libtiff; defines SPECTROMINE_HAS_TIFF).
//
// A cube is one H x W page per energy (what beamline software and
// tifffile/ImageJ stacks write). Pages must agree in size and sample type;
// samples are one per pixel: float32/float64, 8/16/32-bit unsigned or signed
// integers, stripped or tiled, any compression libtiff decodes. Reading
// converts to the requested type and transposes the band-major pages into
// the pixel-major cube_view layout, a group of pages at a time (each pixel's
// run of the group is written contiguously, so the transposition streams).
// read_tiff_cube_rows reads only the strips (or tiles) that cover one band of
// rows of every page: a tile of a cube larger than memory.
//
// Writers emit one page per band (float32 for float cubes, uint16 for
// uint16 cubes, any supported type in general), classic TIFF up to ~4 GB and
// BigTIFF beyond (or always, with tiff_write_options::bigtiff), through
// io::atomic_file. libtiff messages are captured into the exceptions, never
// printed.
#pragma once

#include <tiffio.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/detail/common.hpp"

namespace spectromine::io {

enum class tiff_compression { none, deflate, lzw };

struct tiff_write_options {
  // Write BigTIFF (64-bit offsets) even when classic TIFF would do; files of
  // more than ~4 GB are always BigTIFF.
  bool bigtiff = false;
  tiff_compression compression = tiff_compression::none;
};

// Sample type of a label map TIFF.
enum class tiff_label_format { int32, uint16, float32 };

namespace detail {

#if defined(TIFFLIB_VERSION) && TIFFLIB_VERSION >= 20221213
#define SPECTROMINE_TIFF_OPEN_EXT 1
#endif

// Collects libtiff's messages for one file (libtiff >= 4.5: per-file
// handlers; older: a process-wide handler writing into a thread_local).
struct tiff_messages {
  std::string error;
};

inline thread_local tiff_messages* current_tiff_messages = nullptr;

inline void format_tiff_message(std::string& out, const char* module, const char* fmt, va_list ap) {
  char text[512];
  std::vsnprintf(text, sizeof text, fmt, ap);
  out = (module && *module) ? std::string(module) + ": " + text : std::string(text);
}

#if defined(SPECTROMINE_TIFF_OPEN_EXT)
inline int tiff_error_ext(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  format_tiff_message(static_cast<tiff_messages*>(user)->error, module, fmt, ap);
  return 1;
}
inline int tiff_warning_ext(TIFF*, void*, const char*, const char*, va_list) { return 1; }
#else
inline void tiff_error_global(const char* module, const char* fmt, va_list ap) {
  if (current_tiff_messages) format_tiff_message(current_tiff_messages->error, module, fmt, ap);
}
inline void tiff_warning_global(const char*, const char*, va_list) {}
#endif

// An open TIFF that closes itself and remembers libtiff's last error.
class tiff_file {
 public:
  tiff_file(const std::filesystem::path& path, const char* mode) : messages_(new tiff_messages) {
#if defined(SPECTROMINE_TIFF_OPEN_EXT)
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(opts, &tiff_error_ext, messages_);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, &tiff_warning_ext, messages_);
    tif_ = TIFFOpenExt(path.c_str(), mode, opts);
    TIFFOpenOptionsFree(opts);
#else
    TIFFSetErrorHandler(&tiff_error_global);
    TIFFSetWarningHandler(&tiff_warning_global);
    current_tiff_messages = messages_;
    tif_ = TIFFOpen(path.c_str(), mode);
#endif
  }
  tiff_file(const tiff_file&) = delete;
  tiff_file& operator=(const tiff_file&) = delete;
  ~tiff_file() {
    if (tif_) TIFFClose(tif_);
#if !defined(SPECTROMINE_TIFF_OPEN_EXT)
    if (current_tiff_messages == messages_) current_tiff_messages = nullptr;
#endif
    delete messages_;
  }
  TIFF* get() const noexcept { return tif_; }
  explicit operator bool() const noexcept { return tif_ != nullptr; }
  std::string error() const { return messages_->error.empty() ? "libtiff failed" : messages_->error; }
  bool has_error() const noexcept { return !messages_->error.empty(); }
  void clear_error() { messages_->error.clear(); }
  // Closes, returning false when the final flush failed.
  bool close() {
    if (!tif_) return false;
    const bool ok = TIFFFlush(tif_) == 1;
    TIFFClose(tif_);
    tif_ = nullptr;
    return ok;
  }

 private:
  TIFF* tif_ = nullptr;
  tiff_messages* messages_;  // heap: its address is handed to libtiff
};

// Everything needed to read the pages of a cube, from one walk over the
// directories.
struct tiff_layout {
  std::vector<std::uint64_t> page_offsets;  // IFD offset of each page
  std::uint32_t width = 0, height = 0;
  element_type dtype = element_type::uint8;
  bool tiled = false;
  std::uint32_t rows_per_strip = 0, tile_width = 0, tile_height = 0;
};

inline element_type tiff_dtype(const std::filesystem::path& path, std::uint16_t format,
                               std::uint16_t bits, std::uint32_t page) {
  const auto fail = [&](const std::string& what) {
    return format_error(path, "page " + std::to_string(page) + ": unsupported sample type (" +
                                  what + "); supported: float32/64, 8/16/32-bit integers");
  };
  if (format == SAMPLEFORMAT_IEEEFP) {
    if (bits == 32) return element_type::float32;
    if (bits == 64) return element_type::float64;
    throw fail(std::to_string(bits) + "-bit float");
  }
  if (format == SAMPLEFORMAT_UINT || format == SAMPLEFORMAT_VOID) {
    if (bits == 8) return element_type::uint8;
    if (bits == 16) return element_type::uint16;
    if (bits == 32) return element_type::uint32;
    throw fail(std::to_string(bits) + "-bit unsigned");
  }
  if (format == SAMPLEFORMAT_INT) {
    if (bits == 8) return element_type::int8;
    if (bits == 16) return element_type::int16;
    if (bits == 32) return element_type::int32;
    throw fail(std::to_string(bits) + "-bit signed");
  }
  throw fail("complex or unknown sample format " + std::to_string(format));
}

// Walks every directory, checking that all pages agree and that the data
// the tags declare can exist: an uncompressed page must lie inside the file
// (so a corrupt or truncated file fails before anything large is allocated).
inline tiff_layout scan_tiff(const std::filesystem::path& path, tiff_file& tf,
                             std::uintmax_t file_size) {
  TIFF* tif = tf.get();
  tiff_layout layout;
  std::uint32_t page = 0;
  tf.clear_error();
  do {
    std::uint32_t w = 0, h = 0;
    std::uint16_t bits = 1, format = SAMPLEFORMAT_UINT, spp = 1, compression = COMPRESSION_NONE;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    const std::string where = "page " + std::to_string(page) + ": ";
    if (w == 0 || h == 0) throw format_error(path, where + "the image is empty (0 pixels)");
    if (spp != 1)
      throw format_error(path, where + std::to_string(spp) +
                                   " samples per pixel (RGB?); a cube page must be one grey "
                                   "sample per pixel");
    const element_type dtype = tiff_dtype(path, format, bits, page);
    const bool tiled = TIFFIsTiled(tif) != 0;
    if (page == 0) {
      layout.width = w;
      layout.height = h;
      layout.dtype = dtype;
      layout.tiled = tiled;
    } else {
      if (w != layout.width || h != layout.height)
        throw format_error(path, where + std::to_string(h) + " x " + std::to_string(w) +
                                     " pixels, page 0 has " + std::to_string(layout.height) + " x " +
                                     std::to_string(layout.width) + "; every page must be the same size");
      if (dtype != layout.dtype)
        throw format_error(path, where + "sample type " + to_string(dtype) + " differs from page 0's " +
                                     to_string(layout.dtype));
      if (tiled != layout.tiled)
        throw format_error(path, where + "mixes tiled and stripped pages");
    }
    if (tiled) {
      std::uint32_t tw = 0, th = 0;
      TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
      TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
      if (tw == 0 || th == 0) throw format_error(path, where + "tile size is 0");
      if (page == 0) {
        layout.tile_width = tw;
        layout.tile_height = th;
      } else if (tw != layout.tile_width || th != layout.tile_height) {
        throw format_error(path, where + "tile size differs from page 0's");
      }
    } else {
      std::uint32_t rps = 0;
      TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
      rps = std::clamp<std::uint32_t>(rps, 1, h);
      if (page == 0) layout.rows_per_strip = rps;
      else if (rps != layout.rows_per_strip)
        throw format_error(path, where + "rows per strip differ from page 0's");
    }
    if (!TIFFIsCODECConfigured(static_cast<std::uint16_t>(compression)))
      throw format_error(path, where + "compression scheme " + std::to_string(compression) +
                                   " is not supported by this libtiff");
    {
      // Every strip/tile must lie inside the file, whatever the compression
      // (found by fuzzing: a compressed strip claiming bytes beyond the end of
      // the file made the reader allocate and decode before failing); an
      // uncompressed page must also hold its share of bytes.
      const std::uint32_t n = TIFFNumberOfStrips(tif);  // tiles too, for tiled images
      std::uint64_t* offsets = nullptr;
      std::uint64_t* counts = nullptr;
      if (!TIFFGetField(tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &offsets) ||
          !TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &counts) ||
          !offsets || !counts)
        throw format_error(path, where + "missing strip offsets: " + tf.error());
      std::uint64_t total = 0;
      for (std::uint32_t s = 0; s < n; ++s) {
        if (offsets[s] > file_size || counts[s] > file_size - offsets[s])
          throw format_error(path, where + "truncated: strip " + std::to_string(s) +
                                       " lies beyond the end of the file (" +
                                       std::to_string(file_size) + " bytes)");
        total += counts[s];
      }
      const std::uint64_t need = std::uint64_t(w) * h * (bits / 8);
      if (compression == COMPRESSION_NONE && !tiled && total < need)
        throw format_error(path, where + "truncated: strips hold " + std::to_string(total) +
                                     " bytes, the " + std::to_string(h) + " x " + std::to_string(w) +
                                     " page needs " + std::to_string(need));
      // LZW (12-bit codes), deflate (1,032:1 at most), PackBits and the fax
      // and JPEG codecs never expand data 4,096-fold, so such a page declaring
      // more is corrupt: refuse it before allocating (found by fuzzing: a few
      // hundred bytes declaring a 12 GB page). ZSTD and LZMA can legitimately
      // exceed it on constant data and are left to check_allocation
      // (io/detail/common.hpp: no more than the machine's memory).
      constexpr std::uint64_t max_expansion = 4096;
      const bool bounded_codec = compression != COMPRESSION_NONE &&
                                 compression != COMPRESSION_ZSTD && compression != COMPRESSION_LZMA;
      if (bounded_codec && need / max_expansion > total)
        throw format_error(path, where + "corrupt: compressed strips of " + std::to_string(total) +
                                     " bytes cannot hold the " + std::to_string(h) + " x " +
                                     std::to_string(w) + " page");
    }
    layout.page_offsets.push_back(TIFFCurrentDirOffset(tif));
    ++page;
    if (page > 10'000'000) throw format_error(path, "more than 10 million pages (a directory loop?)");
  } while (TIFFReadDirectory(tif) == 1);
  // TIFFReadDirectory returns 0 both at the end of the chain and on a
  // corrupt directory; only the latter leaves a message.
  if (tf.has_error())
    throw format_error(path, "corrupt directory after page " + std::to_string(page - 1) + ": " + tf.error());
  return layout;
}

inline void open_for_read(const std::filesystem::path& path, tiff_file& tf) {
  if (!tf) throw format_error(path, "not a readable TIFF: " + tf.error());
}

// Rows [row0, row0 + rows) of the current page, converted to T, into
// plane (rows x width, packed).
template <class T>
void read_tiff_plane_rows(const std::filesystem::path& path, tiff_file& tf, const tiff_layout& L,
                          std::uint32_t page, std::uint32_t row0, std::uint32_t rows, T* plane,
                          std::vector<unsigned char>& buffer) {
  TIFF* tif = tf.get();
  const std::size_t W = L.width;
  visit_element_type(L.dtype, [&](auto tag) {
    using From = decltype(tag);
    const auto fail = [&](const char* what, std::uint32_t index) {
      return format_error(path, "page " + std::to_string(page) + ": cannot read " + what + " " +
                                    std::to_string(index) + " (truncated or corrupt): " + tf.error());
    };
    if (!L.tiled) {
      const std::uint32_t rps = L.rows_per_strip;
      buffer.resize(static_cast<std::size_t>(TIFFStripSize(tif)));
      for (std::uint32_t s = row0 / rps; rows > 0 && s <= (row0 + rows - 1) / rps; ++s) {
        const std::uint32_t first = s * rps;
        const std::uint32_t n = std::min(rps, L.height - first);
        const tmsize_t got = TIFFReadEncodedStrip(tif, s, buffer.data(), static_cast<tmsize_t>(buffer.size()));
        if (got < static_cast<tmsize_t>(n * W * sizeof(From))) throw fail("strip", s);
        const From* src = reinterpret_cast<const From*>(buffer.data());
        for (std::uint32_t r = std::max(first, row0); r < std::min(first + n, row0 + rows); ++r)
          convert_elements(src + (r - first) * W, plane + (r - row0) * W, W);
      }
    } else {
      const std::uint32_t tw = L.tile_width, th = L.tile_height;
      buffer.resize(static_cast<std::size_t>(TIFFTileSize(tif)));
      if (buffer.size() < std::size_t(tw) * th * sizeof(From)) throw fail("tile size", 0);
      for (std::uint32_t ty = row0 / th * th; rows > 0 && ty < row0 + rows; ty += th)
        for (std::uint32_t tx = 0; tx < L.width; tx += tw) {
          const std::uint32_t t = TIFFComputeTile(tif, tx, ty, 0, 0);
          if (TIFFReadEncodedTile(tif, t, buffer.data(), static_cast<tmsize_t>(buffer.size())) < 0)
            throw fail("tile", t);
          const From* src = reinterpret_cast<const From*>(buffer.data());
          const std::uint32_t cols = std::min(tw, L.width - tx);
          for (std::uint32_t r = std::max(ty, row0); r < std::min({ty + th, row0 + rows, L.height}); ++r)
            convert_elements(src + std::size_t(r - ty) * tw, plane + (r - row0) * W + tx, cols);
        }
    }
  });
}

inline void tiff_set_directory(const std::filesystem::path& path, tiff_file& tf, std::uint64_t offset,
                               std::size_t page) {
  if (!TIFFSetSubDirectory(tf.get(), offset))
    throw format_error(path, "cannot read page " + std::to_string(page) + ": " + tf.error());
}

}  // namespace detail

// What a TIFF cube holds (a walk over its directories, no pixel data read).
inline cube_info probe_tiff(const std::filesystem::path& path) {
  const auto file_size = detail::check_input_file(path);
  detail::tiff_file tf(path, "r");
  detail::open_for_read(path, tf);
  const auto L = detail::scan_tiff(path, tf, file_size);
  cube_info info;
  info.path = path;
  info.format = "tiff";
  info.dtype = L.dtype;
  info.shape = image_shape{static_cast<index_t>(L.height), static_cast<index_t>(L.width)};
  info.bands = static_cast<index_t>(L.page_offsets.size());
  info.axes = axis_order::ehw;
  return info;
}

// Rows [row0, row0 + rows) of every page, as a rows x W x pages cube.
template <class T>
cube<T> read_tiff_cube_rows(const std::filesystem::path& path, index_t row0, index_t rows) {
  const auto file_size = detail::check_input_file(path);
  detail::tiff_file tf(path, "r");
  detail::open_for_read(path, tf);
  const auto L = detail::scan_tiff(path, tf, file_size);
  const auto E = static_cast<index_t>(L.page_offsets.size());
  detail::checked_cube_bytes(path, L.height, L.width, static_cast<std::uint64_t>(E), size_of(L.dtype));
  detail::check_row_band(path, row0, rows, static_cast<index_t>(L.height));
  const std::size_t plane = static_cast<std::size_t>(rows) * L.width;
  detail::check_allocation(path, plane * static_cast<std::size_t>(E) * sizeof(T));
  cube<T> out(image_shape{rows, static_cast<index_t>(L.width)}, E);
  if (plane == 0) return out;
  const index_t G = detail::band_group(plane * sizeof(T), E);
  std::vector<T> planes(plane * static_cast<std::size_t>(G));
  std::vector<unsigned char> buffer;
  for (index_t e0 = 0; e0 < E; e0 += G) {
    const index_t g = std::min(G, E - e0);
    for (index_t k = 0; k < g; ++k) {
      const auto page = static_cast<std::size_t>(e0 + k);
      detail::tiff_set_directory(path, tf, L.page_offsets[page], page);
      detail::read_tiff_plane_rows(path, tf, L, static_cast<std::uint32_t>(page),
                                   static_cast<std::uint32_t>(row0), static_cast<std::uint32_t>(rows),
                                   planes.data() + static_cast<std::size_t>(k) * plane, buffer);
    }
    detail::scatter_planes(planes, plane, g, e0, out.view());
  }
  return out;
}

// A whole cube: H x W x pages.
template <class T>
cube<T> read_tiff_cube(const std::filesystem::path& path) {
  const auto info = probe_tiff(path);
  return read_tiff_cube_rows<T>(path, 0, info.shape.rows);
}

namespace detail {

template <class T>
void set_tiff_page_tags(TIFF* tif, std::uint32_t width, std::uint32_t height, tiff_compression compression,
                        std::uint16_t page, std::uint16_t pages) {
  constexpr element_type t = element_type_of<T>();
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t{1});
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(sizeof(T) * 8));
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT,
               std::is_floating_point_v<T> ? SAMPLEFORMAT_IEEEFP
               : (std::is_signed_v<T> ? SAMPLEFORMAT_INT : SAMPLEFORMAT_UINT));
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION,
               compression == tiff_compression::deflate ? COMPRESSION_ADOBE_DEFLATE
               : compression == tiff_compression::lzw   ? COMPRESSION_LZW
                                                        : COMPRESSION_NONE);
  if (compression != tiff_compression::none)
    TIFFSetField(tif, TIFFTAG_PREDICTOR, std::is_floating_point_v<T> ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
  // Strips of ~64 KiB: small enough that a row band reads little extra.
  const std::uint32_t row_bytes = std::max<std::uint32_t>(1, width * static_cast<std::uint32_t>(sizeof(T)));
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, std::clamp<std::uint32_t>((64u << 10) / row_bytes, 1, height));
  if (pages > 1) {
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(tif, TIFFTAG_PAGENUMBER, page, pages);
  }
  (void)t;
}

// Writes `pages` pages; plane_of(first_page, count, buffer) fills count
// planes (height x width each, packed) into buffer.
template <class T, class PlaneFn>
void write_tiff_pages(const std::filesystem::path& path, std::uint32_t width, std::uint32_t height,
                      index_t pages, const tiff_write_options& options, PlaneFn&& plane_of) {
  const std::size_t plane = std::size_t(width) * height;
  const std::size_t total = checked_cube_bytes(path, height, width, static_cast<std::uint64_t>(pages), sizeof(T));
  // Classic TIFF offsets are 32-bit; leave room for the directories.
  const bool big = options.bigtiff || total + (std::size_t(pages) * 512) >= (std::size_t(1) << 32) - (std::size_t(1) << 20);
  atomic_file out(path);
  tiff_file tf(out.temp_path(), big ? "w8" : "w");
  if (!tf) throw io_error(path, "cannot open for writing: " + tf.error());
  const index_t G = band_group(plane * sizeof(T), pages);
  std::vector<T> planes(plane * static_cast<std::size_t>(G));
  for (index_t e0 = 0; e0 < pages; e0 += G) {
    const index_t g = std::min(G, pages - e0);
    plane_of(e0, g, planes.data());
    for (index_t k = 0; k < g; ++k) {
      set_tiff_page_tags<T>(tf.get(), width, height, options.compression,
                            static_cast<std::uint16_t>(std::min<index_t>(e0 + k, 65535)),
                            static_cast<std::uint16_t>(std::min<index_t>(pages, 65535)));
      T* p = planes.data() + static_cast<std::size_t>(k) * plane;
      for (std::uint32_t r = 0; r < height; ++r)
        if (TIFFWriteScanline(tf.get(), p + std::size_t(r) * width, r, 0) != 1)
          throw io_error(path, "write failed (disk full?): " + tf.error());
      if (TIFFWriteDirectory(tf.get()) != 1) throw io_error(path, "write failed: " + tf.error());
    }
  }
  if (!tf.close()) throw io_error(path, "write failed (disk full?)");
  out.commit();
}

}  // namespace detail

// One page per band. T = float writes float32 pages, std::uint16_t uint16
// pages (any of float, double, 8/16/32-bit integers is accepted).
template <class T>
void write_tiff_cube(const std::filesystem::path& path, cube_view<const T> cube,
                     const tiff_write_options& options = {}) {
  require(!cube.empty(), "write_tiff_cube", "cube", "must not be empty", cube.pixel_count() * cube.bands());
  require(cube.rows() <= std::numeric_limits<std::uint32_t>::max() &&
              cube.cols() <= std::numeric_limits<std::uint32_t>::max(),
          "write_tiff_cube", "shape", "must fit TIFF's 32-bit image size", cube.rows());
  const std::size_t plane = static_cast<std::size_t>(cube.pixel_count());
  detail::write_tiff_pages<T>(
      path, static_cast<std::uint32_t>(cube.cols()), static_cast<std::uint32_t>(cube.rows()), cube.bands(),
      options, [&](index_t e0, index_t g, T* planes) {
        // Transpose a group of bands: read each pixel's contiguous run once.
        for (index_t r = 0; r < cube.rows(); ++r)
          for (index_t c = 0; c < cube.cols(); ++c) {
            const T* src = cube.pixel_pointer(r, c) + e0;
            const std::size_t p = static_cast<std::size_t>(r * cube.cols() + c);
            for (index_t k = 0; k < g; ++k) planes[static_cast<std::size_t>(k) * plane + p] = src[k];
          }
      });
}
template <class T>
void write_tiff_cube(const std::filesystem::path& path, cube_view<T> cube, const tiff_write_options& options = {})
  requires(!std::is_const_v<T>)
{
  write_tiff_cube(path, cube_view<const T>(cube), options);
}
template <class T>
void write_tiff_cube(const std::filesystem::path& path, const cube<T>& c, const tiff_write_options& options = {}) {
  write_tiff_cube(path, c.view(), options);
}

// A single-page label map (labels.tif): int32 by default; uint16 requires
// labels in 0..65535, float32 labels within +-2^24 (exact).
inline void write_tiff_labels(const std::filesystem::path& path, const_label_view labels,
                              tiff_label_format format = tiff_label_format::int32,
                              const tiff_write_options& options = {}) {
  require(labels.pixel_count() > 0, "write_tiff_labels", "labels", "must not be empty", labels.pixel_count());
  const auto w = static_cast<std::uint32_t>(labels.cols()), h = static_cast<std::uint32_t>(labels.rows());
  auto write_as = [&](auto tag) {
    using T = decltype(tag);
    detail::write_tiff_pages<T>(path, w, h, 1, options, [&](index_t, index_t, T* plane) {
      for (index_t r = 0; r < labels.rows(); ++r)
        for (index_t c = 0; c < labels.cols(); ++c) plane[r * labels.cols() + c] = static_cast<T>(labels(r, c));
    });
  };
  const label_t lo_ok = format == tiff_label_format::uint16 ? 0 : -(1 << 24);
  const label_t hi_ok = format == tiff_label_format::uint16 ? 65535 : (1 << 24);
  if (format != tiff_label_format::int32)
    for (index_t r = 0; r < labels.rows(); ++r)
      for (label_t l : labels.row(r))
        require(l >= lo_ok && l <= hi_ok, "write_tiff_labels", "label",
                format == tiff_label_format::uint16 ? "must be in 0..65535 for a uint16 TIFF"
                                                    : "must be within +-2^24 for a float32 TIFF",
                l);
  switch (format) {
    case tiff_label_format::int32: write_as(std::int32_t{}); break;
    case tiff_label_format::uint16: write_as(std::uint16_t{}); break;
    case tiff_label_format::float32: write_as(float{}); break;
  }
}

// The first page of a TIFF as a label map (integer pages; float pages whose
// values are whole numbers).
inline label_image read_tiff_labels(const std::filesystem::path& path) {
  auto c = read_tiff_cube<double>(path);
  label_image labels(c.shape());
  for (index_t p = 0; p < c.pixel_count(); ++p) {
    const double v = c.storage()[static_cast<std::size_t>(p * c.bands())];
    if (!(v == std::floor(v)) || v < std::numeric_limits<label_t>::min() || v > std::numeric_limits<label_t>::max())
      throw format_error(path, "pixel " + std::to_string(p) + " holds " + std::to_string(v) +
                                   ", not an int32 label");
    labels[p] = static_cast<label_t>(v);
  }
  return labels;
}

}  // namespace spectromine::io
