// spectromine/io/npy.hpp: NumPy .npy files (format versions 1, 2 and 3).
//
// Reads C-order arrays of float32/float64, signed and unsigned 8/16/32/64-bit
// integers and bool, little- or big-endian (big-endian data is byte-swapped),
// and converts them to the requested C++ type. Cubes are H x W x E (pixel
// major, the cube_view layout), so a cube whose dtype matches is one fread
// straight into its storage; a row band [row0, row0 + rows) is one seek and
// one fread, which is how tiles of a cube larger than memory are read.
//
// Every header is checked before anything is allocated: a truncated file, a
// shape that overflows or exceeds the bytes in the file, an unsupported dtype
// or a Fortran-order array is a format_error naming the file and the problem.
// Writers emit version 1 headers (version 2 when the header needs > 64 KiB),
// padded to 64 bytes as NumPy does, through io::atomic_file.
#pragma once

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/detail/common.hpp"

namespace spectromine::io {

// What an .npy header says.
struct npy_header {
  element_type dtype = element_type::float32;
  std::vector<std::size_t> shape;   // C order
  bool fortran_order = false;
  bool byte_swapped = false;        // data endianness differs from this machine's
  std::size_t data_offset = 0;      // bytes before the first element
  std::string descr;                // as written, e.g. "<f4"

  std::size_t element_size() const noexcept { return size_of(dtype); }
  std::size_t element_count() const noexcept {
    std::size_t n = 1;
    for (auto d : shape) n *= d;  // validated not to overflow by read_npy_header
    return n;
  }
  std::size_t rank() const noexcept { return shape.size(); }
};

// A whole array of any rank, converted to T.
template <class T>
struct npy_array {
  std::vector<std::size_t> shape;
  std::vector<T> data;
};

namespace detail {

inline std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// A minimal parser for the Python dict literal of an .npy header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (64, 64, 100), }
class npy_dict_parser {
 public:
  npy_dict_parser(const std::filesystem::path& path, std::string_view text)
      : path_(path), s_(text) {}

  void parse(npy_header& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() == '[')
          fail("structured (record) dtypes are not supported; save a plain numeric array");
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        h.shape = parse_tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the header");
      }
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_ws();
      if (peek() != '}') fail("expected ',' or '}' in the header");
    }
    if (!have_descr || !have_order || !have_shape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error(path_, "not a valid .npy header: " + what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++i_;
    const auto end = s_.find(q, i_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("fortran_order must be True or False");
  }
  std::vector<std::size_t> parse_tuple() {
    std::vector<std::size_t> dims;
    expect('(');
    for (;;) {
      skip_ws();
      if (peek() == ')') {
        ++i_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        fail("shape must be a tuple of non-negative integers");
      std::size_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const std::size_t digit = static_cast<std::size_t>(peek() - '0');
        if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10)
          fail("a shape extent overflows");
        v = v * 10 + digit;
        ++i_;
      }
      if (peek() == 'L') ++i_;  // Python 2 long
      dims.push_back(v);
      if (dims.size() > 32) fail("shape has more than 32 dimensions");
      skip_ws();
      if (peek() == ',') {
        ++i_;
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
  }

  const std::filesystem::path& path_;
  std::string_view s_;
  std::size_t i_ = 0;
};

inline void parse_npy_descr(const std::filesystem::path& path, npy_header& h) {
  const std::string& d = h.descr;
  if (d.size() < 2) throw format_error(path, "unsupported .npy dtype '" + d + "'");
  const char order = d[0];
  const char kind = d[1];
  int size = 0;
  for (std::size_t i = 2; i < d.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(d[i])) || size > 1000)
      throw format_error(path, "unsupported .npy dtype '" + d + "'");
    size = size * 10 + (d[i] - '0');
  }
  bool ok = true;
  if (kind == 'f' && size == 4) h.dtype = element_type::float32;
  else if (kind == 'f' && size == 8) h.dtype = element_type::float64;
  else if (kind == 'i' && size == 1) h.dtype = element_type::int8;
  else if (kind == 'u' && size == 1) h.dtype = element_type::uint8;
  else if (kind == 'b' && size == 1) h.dtype = element_type::boolean;
  else if (kind == 'i' && size == 2) h.dtype = element_type::int16;
  else if (kind == 'u' && size == 2) h.dtype = element_type::uint16;
  else if (kind == 'i' && size == 4) h.dtype = element_type::int32;
  else if (kind == 'u' && size == 4) h.dtype = element_type::uint32;
  else if (kind == 'i' && size == 8) h.dtype = element_type::int64;
  else if (kind == 'u' && size == 8) h.dtype = element_type::uint64;
  else ok = false;
  if (!ok)
    throw format_error(path, "unsupported .npy dtype '" + d +
                                 "' (supported: float32, float64, int8..int64, uint8..uint64, bool)");
  const bool little_host = std::endian::native == std::endian::little;
  switch (order) {
    case '<': h.byte_swapped = !little_host && size > 1; break;
    case '>': h.byte_swapped = little_host && size > 1; break;
    case '|': case '=': h.byte_swapped = false; break;
    default: throw format_error(path, "unsupported .npy byte order in dtype '" + d + "'");
  }
}

// Reads `count` elements starting at element `first` of the file's data into
// out[0..count), converting the file's dtype to T (and swapping bytes when
// the file is big-endian). One fread when no conversion is needed.
template <class T>
void read_npy_elements(const std::filesystem::path& path, std::FILE* f, const npy_header& h,
                       std::size_t first, std::size_t count, T* out) {
  const std::size_t esize = h.element_size();
  if (!seek(f, h.data_offset + first * esize))
    throw io_error(path, "cannot seek to the data");
  if (count == 0) return;
  const auto short_read = [&] {
    return format_error(path, "truncated: the data ends before the " + std::to_string(count) +
                                  " elements the header declares");
  };
  if (h.dtype == element_type_of<T>() && !h.byte_swapped && h.dtype != element_type::boolean) {
    if (std::fread(out, esize, count, f) != count) throw short_read();
    return;
  }
  visit_element_type(h.dtype, [&](auto tag) {
    using From = decltype(tag);
    constexpr std::size_t chunk = (1u << 20) / sizeof(From);  // 1 MiB of file data at a time
    std::vector<From> buffer(std::min(count, chunk));
    for (std::size_t done = 0; done < count;) {
      const std::size_t n = std::min(chunk, count - done);
      if (std::fread(buffer.data(), sizeof(From), n, f) != n) throw short_read();
      if (h.byte_swapped)
        for (std::size_t i = 0; i < n; ++i) buffer[i] = byteswap_value(buffer[i]);
      if (h.dtype == element_type::boolean)
        for (std::size_t i = 0; i < n; ++i) buffer[i] = buffer[i] != 0;
      convert_elements(buffer.data(), out + done, n);
      done += n;
    }
  });
}

template <class T>
constexpr const char* npy_descr_of() {
  constexpr bool little = std::endian::native == std::endian::little;
  constexpr element_type t = element_type_of<T>();
  if constexpr (t == element_type::float32) return little ? "<f4" : ">f4";
  else if constexpr (t == element_type::float64) return little ? "<f8" : ">f8";
  else if constexpr (t == element_type::int8) return "|i1";
  else if constexpr (t == element_type::uint8) return "|u1";
  else if constexpr (t == element_type::boolean) return "|b1";
  else if constexpr (t == element_type::int16) return little ? "<i2" : ">i2";
  else if constexpr (t == element_type::uint16) return little ? "<u2" : ">u2";
  else if constexpr (t == element_type::int32) return little ? "<i4" : ">i4";
  else if constexpr (t == element_type::uint32) return little ? "<u4" : ">u4";
  else if constexpr (t == element_type::int64) return little ? "<i8" : ">i8";
  else return little ? "<u8" : ">u8";
}

// The bytes before the data: magic, version, header length, dict, padding
// to a multiple of 64 (NumPy's alignment), ending in '\n'.
template <class T>
std::string npy_preamble(const std::vector<std::size_t>& shape) {
  std::string dict = std::string("{'descr': '") + npy_descr_of<T>() +
                     "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  for (int version = 1; version <= 2; ++version) {
    const std::size_t fixed = version == 1 ? 10 : 12;  // magic(6) + version(2) + length(2|4)
    std::size_t total = fixed + dict.size() + 1;
    total = (total + 63) / 64 * 64;
    const std::size_t header_len = total - fixed;
    if (version == 1 && header_len > 65535) continue;
    std::string out("\x93NUMPY", 6);
    out += static_cast<char>(version);
    out += '\0';
    for (std::size_t b = 0; b < (version == 1 ? 2u : 4u); ++b)
      out += static_cast<char>((header_len >> (8 * b)) & 0xff);
    out += dict;
    out.append(header_len - dict.size() - 1, ' ');
    out += '\n';
    return out;
  }
  return {};
}

// Writes preamble + data produced by `body(FILE*)` atomically.
template <class Body>
void write_npy_file(const std::filesystem::path& path, const std::string& preamble, Body&& body) {
  atomic_file out(path);
  c_file f(out.temp_path(), "wb");
  if (!f) throw io_error(path, "cannot open for writing");
  if (std::fwrite(preamble.data(), 1, preamble.size(), f.get()) != preamble.size())
    throw io_error(path, "write failed (disk full?)");
  body(f.get());
  if (!f.close()) throw io_error(path, "write failed (disk full?)");
  out.commit();
}

template <class T>
void write_all(const std::filesystem::path& path, std::FILE* f, const T* data, std::size_t n) {
  if (n != 0 && std::fwrite(data, sizeof(T), n, f) != n)
    throw io_error(path, "write failed (disk full?)");
}

inline void require_rank(const std::filesystem::path& path, const npy_header& h, std::size_t rank,
                         const char* what) {
  if (h.rank() != rank)
    throw format_error(path, std::string("expected ") + what + " (a " + std::to_string(rank) +
                                 "-D array), got shape " + shape_string(h.shape));
}

}  // namespace detail

// Reads and validates the header only: magic, version, dict, dtype, and that
// the file holds every byte the shape declares.
inline npy_header read_npy_header(const std::filesystem::path& path) {
  const std::uintmax_t file_size = detail::check_input_file(path);
  detail::c_file f(path, "rb");
  if (!f) throw io_error(path, "cannot open for reading");
  unsigned char pre[12] = {};
  const std::size_t got = std::fread(pre, 1, 10, f.get());
  if (got < 10 || std::memcmp(pre, "\x93NUMPY", 6) != 0)
    throw format_error(path, got < 10 ? "too short to be an .npy file"
                                      : "not an .npy file (missing the \\x93NUMPY magic)");
  const int major = pre[6];
  std::size_t header_len = 0, fixed = 10;
  if (major == 1) {
    header_len = pre[8] | (std::size_t(pre[9]) << 8);
  } else if (major == 2 || major == 3) {
    if (std::fread(pre + 10, 1, 2, f.get()) != 2) throw format_error(path, "truncated header");
    header_len = pre[8] | (std::size_t(pre[9]) << 8) | (std::size_t(pre[10]) << 16) |
                 (std::size_t(pre[11]) << 24);
    fixed = 12;
  } else {
    throw format_error(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > file_size - fixed || header_len > (std::size_t(1) << 24))
    throw format_error(path, "truncated or corrupt: header length " + std::to_string(header_len) +
                                 " exceeds the file");
  std::string dict(header_len, '\0');
  if (std::fread(dict.data(), 1, header_len, f.get()) != header_len)
    throw format_error(path, "truncated header");

  npy_header h;
  detail::npy_dict_parser(path, dict).parse(h);
  detail::parse_npy_descr(path, h);
  h.data_offset = fixed + header_len;
  std::size_t n = 1, bytes = 0;
  for (auto d : h.shape)
    if (!detail::checked_multiply(n, d, n))
      throw format_error(path, "declared shape " + detail::shape_string(h.shape) +
                                   " overflows (corrupt header?)");
  if (!detail::checked_multiply(n, h.element_size(), bytes) ||
      n > static_cast<std::size_t>(std::numeric_limits<index_t>::max()))
    throw format_error(path, "declared shape " + detail::shape_string(h.shape) +
                                 " overflows (corrupt header?)");
  const std::uintmax_t available = file_size - h.data_offset;
  if (bytes > available)
    throw format_error(path, "truncated: header declares shape " + detail::shape_string(h.shape) +
                                 " " + to_string(h.dtype) + " = " + std::to_string(bytes) +
                                 " bytes of data, the file holds " + std::to_string(available));
  if (h.fortran_order && h.rank() > 1)
    throw format_error(path, "Fortran-order arrays are not supported; save a C-order array "
                             "(numpy.ascontiguousarray)");
  return h;
}

// Any array, converted to T.
template <class T>
npy_array<T> read_npy(const std::filesystem::path& path) {
  const npy_header h = read_npy_header(path);
  detail::check_allocation(path, h.element_count() * sizeof(T));
  npy_array<T> a;
  a.shape = h.shape;
  a.data.resize(h.element_count());
  detail::c_file f(path, "rb");
  if (!f) throw io_error(path, "cannot open for reading");
  detail::read_npy_elements(path, f.get(), h, 0, a.data.size(), a.data.data());
  return a;
}

// The header of a cube file: a 3-D array H x W x E (numeric dtype).
inline npy_header read_npy_cube_header(const std::filesystem::path& path) {
  npy_header h = read_npy_header(path);
  detail::require_rank(path, h, 3, "a cube rows x cols x energies");
  if (h.element_count() == 0)
    throw format_error(path, "the cube is empty (shape " + detail::shape_string(h.shape) + ")");
  return h;
}

// Rows [row0, row0 + rows) of an H x W x E cube, as a rows x W x E cube:
// one seek and one read (a tile of a cube larger than memory).
template <class T>
cube<T> read_npy_cube_rows(const std::filesystem::path& path, index_t row0, index_t rows) {
  const npy_header h = read_npy_cube_header(path);
  const auto H = static_cast<index_t>(h.shape[0]), W = static_cast<index_t>(h.shape[1]),
             E = static_cast<index_t>(h.shape[2]);
  detail::check_row_band(path, row0, rows, H);
  const std::size_t per_row = static_cast<std::size_t>(W) * static_cast<std::size_t>(E);
  detail::check_allocation(path, per_row * static_cast<std::size_t>(rows) * sizeof(T));
  cube<T> c(image_shape{rows, W}, E);
  detail::c_file f(path, "rb");
  if (!f) throw io_error(path, "cannot open for reading");
  detail::read_npy_elements(path, f.get(), h, per_row * static_cast<std::size_t>(row0),
                            per_row * static_cast<std::size_t>(rows), c.data());
  return c;
}

// A whole H x W x E cube, converted to T.
template <class T>
cube<T> read_npy_cube(const std::filesystem::path& path) {
  const npy_header h = read_npy_cube_header(path);
  return read_npy_cube_rows<T>(path, 0, static_cast<index_t>(h.shape[0]));
}

// A label image: a 2-D integer array H x W (int32 as written by
// write_npy_labels; other integer types are accepted when every value fits).
inline label_image read_npy_labels(const std::filesystem::path& path) {
  const npy_header h = read_npy_header(path);
  detail::require_rank(path, h, 2, "a label image rows x cols");
  if (!is_integer(h.dtype))
    throw format_error(path, std::string("labels must have an integer dtype, got ") +
                                 to_string(h.dtype));
  const image_shape shape{static_cast<index_t>(h.shape[0]), static_cast<index_t>(h.shape[1])};
  if (h.dtype == element_type::int32 || size_of(h.dtype) < 4 || h.dtype == element_type::boolean) {
    label_image labels(shape);
    detail::c_file f(path, "rb");
    if (!f) throw io_error(path, "cannot open for reading");
    detail::read_npy_elements(path, f.get(), h, 0, h.element_count(), labels.data());
    return labels;
  }
  auto wide = read_npy<std::int64_t>(path);
  if (h.dtype == element_type::uint64) {  // values >= 2^63 wrapped negative in int64
    auto raw = read_npy<std::uint64_t>(path);
    for (auto v : raw.data)
      if (v > static_cast<std::uint64_t>(std::numeric_limits<label_t>::max()))
        throw format_error(path, "label " + std::to_string(v) + " does not fit in int32");
  }
  std::vector<label_t> data(wide.data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::int64_t v = wide.data[i];
    if (v < std::numeric_limits<label_t>::min() || v > std::numeric_limits<label_t>::max())
      throw format_error(path, "label " + std::to_string(v) + " does not fit in int32");
    data[i] = static_cast<label_t>(v);
  }
  return label_image(shape, std::move(data));
}

// A pixel mask: a 2-D array H x W, bool or integer (nonzero = sample), or
// float holding only 0 and 1.
inline pixel_mask read_npy_mask(const std::filesystem::path& path) {
  const npy_header h = read_npy_header(path);
  detail::require_rank(path, h, 2, "a mask rows x cols");
  const image_shape shape{static_cast<index_t>(h.shape[0]), static_cast<index_t>(h.shape[1])};
  auto values = read_npy<double>(path);
  std::vector<std::uint8_t> data(values.data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double v = values.data[i];
    if (!is_integer(h.dtype) && v != 0.0 && v != 1.0)
      throw format_error(path, "a floating-point mask must hold only 0 and 1 (element " +
                                   std::to_string(i) + " is " + std::to_string(v) + ")");
    data[i] = v != 0.0 ? 1 : 0;
  }
  return pixel_mask(shape, std::move(data));
}

// Any array: data.size() must equal the product of shape.
template <class T>
void write_npy(const std::filesystem::path& path, std::span<const T> data,
               std::vector<std::size_t> shape) {
  std::size_t n = 1;
  for (auto d : shape)
    if (!detail::checked_multiply(n, d, n))
      throw invalid_argument("write_npy", "shape", "write_npy: shape " + detail::shape_string(shape) + " overflows");
  require(n == data.size(), "write_npy", "data size", "must equal the product of the shape " + detail::shape_string(shape), data.size());
  detail::write_npy_file(path, detail::npy_preamble<T>(shape),
                         [&](std::FILE* f) { detail::write_all(path, f, data.data(), data.size()); });
}

template <class T>
void write_npy(const std::filesystem::path& path, const std::vector<T>& data,
               std::vector<std::size_t> shape) {
  write_npy(path, std::span<const T>(data), std::move(shape));
}

// A cube view (any strides) as an H x W x E C-order array.
template <class T>
void write_npy_cube(const std::filesystem::path& path, cube_view<const T> cube) {
  const std::vector<std::size_t> shape{static_cast<std::size_t>(cube.rows()),
                                       static_cast<std::size_t>(cube.cols()),
                                       static_cast<std::size_t>(cube.bands())};
  detail::write_npy_file(path, detail::npy_preamble<T>(shape), [&](std::FILE* f) {
    const auto per_row = static_cast<std::size_t>(cube.cols() * cube.bands());
    if (cube.is_contiguous()) {
      detail::write_all(path, f, cube.data(), per_row * static_cast<std::size_t>(cube.rows()));
      return;
    }
    for (index_t r = 0; r < cube.rows(); ++r) {
      if (cube.pixel_stride() == cube.bands()) {
        if (cube.cols() > 0) detail::write_all(path, f, cube.pixel_pointer(r, 0), per_row);
      } else {
        for (index_t c = 0; c < cube.cols(); ++c)
          detail::write_all(path, f, cube.pixel_pointer(r, c), static_cast<std::size_t>(cube.bands()));
      }
    }
  });
}
template <class T>
void write_npy_cube(const std::filesystem::path& path, cube_view<T> cube)
  requires(!std::is_const_v<T>)
{
  write_npy_cube(path, cube_view<const T>(cube));
}
template <class T>
void write_npy_cube(const std::filesystem::path& path, const cube<T>& c) {
  write_npy_cube(path, c.view());
}

namespace detail {
template <class T>
void write_npy_image(const std::filesystem::path& path, image_view<const T> img) {
  const std::vector<std::size_t> shape{static_cast<std::size_t>(img.rows()),
                                       static_cast<std::size_t>(img.cols())};
  write_npy_file(path, npy_preamble<T>(shape), [&](std::FILE* f) {
    if (img.is_contiguous()) {
      write_all(path, f, img.data(), static_cast<std::size_t>(img.pixel_count()));
      return;
    }
    for (index_t r = 0; r < img.rows(); ++r)
      write_all(path, f, img.row(r).data(), static_cast<std::size_t>(img.cols()));
  });
}
}  // namespace detail

// A label image as an int32 H x W array (the labels.npy of docs/CLI.md).
inline void write_npy_labels(const std::filesystem::path& path, const_label_view labels) {
  detail::write_npy_image<label_t>(path, labels);
}

// A pixel mask as a uint8 H x W array (1 = sample).
inline void write_npy_mask(const std::filesystem::path& path, mask_view mask) {
  detail::write_npy_image<std::uint8_t>(path, mask);
}

// Any 2-D image (e.g. a float map) as an H x W array.
template <class T>
void write_npy_image(const std::filesystem::path& path, image_view<const T> img) {
  detail::write_npy_image<T>(path, img);
}

}  // namespace spectromine::io
