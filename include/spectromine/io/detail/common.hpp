// spectromine/io/detail/common.hpp: private helpers shared by the cube
// readers and writers: input-file checks, overflow-checked sizes, the
// allocation guard, element types, and the axis order / cube_info vocabulary
// that load.hpp, hdf5.hpp and tiff.hpp share.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace spectromine::io {

// How a 3-D source orders its axes: "hwe" = rows x cols x energies (pixel
// major, the in-memory cube_view layout); "ehw" = energies x rows x cols (one
// image per energy, what many beamlines write). Readers transpose ehw.
enum class axis_order { hwe, ehw };

inline const char* to_string(axis_order a) noexcept { return a == axis_order::hwe ? "hwe" : "ehw"; }

// The element types the readers understand. Files of any of them convert to
// the requested value type (float, double, ...).
enum class element_type { float32, float64, int8, uint8, int16, uint16, int32, uint32, int64, uint64, boolean };

inline const char* to_string(element_type t) noexcept {
  switch (t) {
    case element_type::float32: return "float32";
    case element_type::float64: return "float64";
    case element_type::int8: return "int8";
    case element_type::uint8: return "uint8";
    case element_type::int16: return "int16";
    case element_type::uint16: return "uint16";
    case element_type::int32: return "int32";
    case element_type::uint32: return "uint32";
    case element_type::int64: return "int64";
    case element_type::uint64: return "uint64";
    case element_type::boolean: return "bool";
  }
  return "?";
}

inline std::size_t size_of(element_type t) noexcept {
  switch (t) {
    case element_type::int8: case element_type::uint8: case element_type::boolean: return 1;
    case element_type::int16: case element_type::uint16: return 2;
    case element_type::float32: case element_type::int32: case element_type::uint32: return 4;
    case element_type::float64: case element_type::int64: case element_type::uint64: return 8;
  }
  return 0;
}

inline bool is_integer(element_type t) noexcept {
  return t != element_type::float32 && t != element_type::float64;
}

// What a cube file holds, read from its header only (no data read).
struct cube_info {
  std::filesystem::path path;
  std::string format;          // "npy", "tiff", "hdf5"
  element_type dtype = element_type::float32;
  image_shape shape{};         // rows x cols
  index_t bands = 0;           // energies
  axis_order axes = axis_order::hwe;  // order in the file
  std::string dataset;         // HDF5 only
  index_t pixel_count() const noexcept { return shape.pixels(); }
};

namespace detail {

template <class T>
constexpr bool always_false = false;

// The element_type of a C++ arithmetic type.
template <class T>
constexpr element_type element_type_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>) return element_type::float32;
  else if constexpr (std::is_same_v<U, double>) return element_type::float64;
  else if constexpr (std::is_same_v<U, bool>) return element_type::boolean;
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 1) return element_type::int8;
  else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 1) return element_type::uint8;
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 2) return element_type::int16;
  else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 2) return element_type::uint16;
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 4) return element_type::int32;
  else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 4) return element_type::uint32;
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 8) return element_type::int64;
  else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 8) return element_type::uint64;
  else static_assert(always_false<T>, "spectromine::io: element type must be float, double, bool or a fixed-size integer");
}

// Calls f(tag) with a value of the C++ type matching `t` (for conversions
// written once as templates: one switch per call, never per element).
template <class F>
decltype(auto) visit_element_type(element_type t, F&& f) {
  switch (t) {
    case element_type::float32: return f(float{});
    case element_type::float64: return f(double{});
    case element_type::int8: return f(std::int8_t{});
    case element_type::uint8: return f(std::uint8_t{});
    case element_type::int16: return f(std::int16_t{});
    case element_type::uint16: return f(std::uint16_t{});
    case element_type::int32: return f(std::int32_t{});
    case element_type::uint32: return f(std::uint32_t{});
    case element_type::int64: return f(std::int64_t{});
    case element_type::uint64: return f(std::uint64_t{});
    case element_type::boolean: return f(std::uint8_t{});  // numpy bools are one byte 0/1
  }
  return f(float{});
}

// An input path must exist and be a regular file (not a folder).
inline std::uintmax_t check_input_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw io_error(path, "no such file");
  if (std::filesystem::is_directory(status)) throw io_error(path, "is a folder, not a file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw io_error(path, "cannot read: " + ec.message());
  return size;
}

// a * b, or false when it overflows std::size_t.
inline bool checked_multiply(std::size_t a, std::size_t b, std::size_t& out) noexcept {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
  out = a * b;
  return true;
}

// Physical memory of this machine in bytes (0 when unknown).
inline std::uint64_t physical_memory_bytes() noexcept {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
#endif
  return 0;
}

inline std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.1f %s", bytes, units[u]);
  return text;
}

// The shape a file declares, checked before anything is allocated: every
// extent >= 0, the element count and the byte count fit in size_t and in
// index_t, and the bytes fit in this machine's memory. A corrupt header
// (shape 1e12 x 1e12 x 1000) gives a clear format_error, never bad_alloc.
inline std::size_t checked_cube_bytes(const std::filesystem::path& path, std::uint64_t rows,
                                      std::uint64_t cols, std::uint64_t bands,
                                      std::size_t element_size) {
  std::size_t n = 0, bytes = 0;
  const auto describe = [&] {
    return std::to_string(rows) + " x " + std::to_string(cols) + " x " + std::to_string(bands);
  };
  if (!checked_multiply(rows, cols, n) || !checked_multiply(n, bands, n) ||
      !checked_multiply(n, element_size, bytes) ||
      n > static_cast<std::size_t>(std::numeric_limits<index_t>::max()))
    throw format_error(path, "declared shape " + describe() + " overflows (corrupt header?)");
  return bytes;
}

// Refuses an allocation larger than the machine's physical memory with a
// message saying what to do instead.
inline void check_allocation(const std::filesystem::path& path, std::size_t bytes) {
  const std::uint64_t memory = physical_memory_bytes();
  if (memory != 0 && bytes > memory)
    throw io_error(path, "needs " + human_bytes(static_cast<double>(bytes)) +
                             " in memory, more than this machine's " +
                             human_bytes(static_cast<double>(memory)) +
                             " (corrupt header? otherwise read it by row bands, e.g. --tile)");
}

// Checks a row band [row0, row0 + rows) against a cube of `total` rows.
inline void check_row_band(const std::filesystem::path& path, index_t row0, index_t rows,
                           index_t total) {
  if (row0 < 0 || rows < 0 || row0 > total || rows > total - row0)
    throw invalid_argument("io", "rows",
                           path.string() + ": rows [" + std::to_string(row0) + ", " +
                               std::to_string(row0 + rows) + ") must lie inside the cube's " +
                               std::to_string(total) + " rows");
}

// A FILE* that closes itself.
class c_file {
 public:
  c_file() = default;
  c_file(const std::filesystem::path& path, const char* mode) : f_(std::fopen(path.c_str(), mode)) {}
  c_file(const c_file&) = delete;
  c_file& operator=(const c_file&) = delete;
  ~c_file() {
    if (f_) std::fclose(f_);
  }
  explicit operator bool() const noexcept { return f_ != nullptr; }
  std::FILE* get() const noexcept { return f_; }
  // Closes and reports whether every buffered write reached the file.
  bool close() noexcept {
    if (!f_) return false;
    const bool ok = std::ferror(f_) == 0;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    return ok && closed;
  }

 private:
  std::FILE* f_ = nullptr;
};

inline bool seek(std::FILE* f, std::uint64_t offset) noexcept {
#if defined(_WIN32)
  return _fseeki64(f, static_cast<long long>(offset), SEEK_SET) == 0;
#else
  return ::fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0;
#endif
}

// Converts n elements of type From to To (a plain loop the compiler
// vectorizes; the type switch happened once, outside).
template <class From, class To>
inline void convert_elements(const From* in, To* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<To>(in[i]);
}

template <class T>
inline T byteswap_value(T v) noexcept {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  std::memcpy(&v, b, sizeof(T));
  return v;
}

// Planes of a group of bands -> pixel-major cube: each pixel receives its
// run of `group` consecutive bands in one contiguous write.
template <class T>
void scatter_planes(const std::vector<T>& planes, std::size_t plane_size, index_t group,
                    index_t band0, cube_view<T> out) {
  const index_t E = out.bands();
  T* base = out.data();
  for (std::size_t p = 0; p < plane_size; ++p) {
    T* dst = base + static_cast<index_t>(p) * E + band0;
    for (index_t g = 0; g < group; ++g) dst[g] = planes[static_cast<std::size_t>(g) * plane_size + p];
  }
}

// How many bands to transpose at once: up to 16 (one 64-byte run per pixel
// for float), within about 64 MB of plane buffers.
inline index_t band_group(std::size_t plane_bytes, index_t bands) {
  const std::size_t budget = std::size_t(64) << 20;
  const std::size_t g = plane_bytes == 0 ? 16 : std::clamp<std::size_t>(budget / plane_bytes, 1, 16);
  return std::min<index_t>(static_cast<index_t>(g), std::max<index_t>(bands, 1));
}

}  // namespace detail
}  // namespace spectromine::io
