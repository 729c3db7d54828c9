// spectromine/core/cube_view.hpp: a non-owning view of a spectral cube.
//
// Layout: pixel-major ("hwe"): each pixel's spectrum is contiguous (band
// stride 1), which is the layout every hot kernel reads (dot products of
// spectra). Pixels may be strided, so a view can be a rectangular tile of a
// larger in-memory cube, or spectra padded to a SIMD width, without a copy.
// Band-major sources (HDF5 "ehw", one TIFF page per energy) are transposed
// into this layout tile by tile by the readers.
#pragma once

#include <cassert>
#include <span>
#include <type_traits>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

namespace detail {
struct unchecked_t {};  // skips validation in conversions of already valid views
}  // namespace detail

template <class T>
class cube_view {
  static_assert(std::is_arithmetic_v<std::remove_const_t<T>>,
                "spectromine::cube_view<T>: T must be an arithmetic type (float, double, ...)");

 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;

  constexpr cube_view() = default;

  // A contiguous rows x cols x bands cube (C order, shape H x W x E).
  constexpr cube_view(T* data, image_shape shape, index_t bands)
      : cube_view(data, shape, bands, shape.cols * bands, bands) {}

  // A strided cube: pixel (r, c) starts at data + r * row_stride + c * pixel_stride.
  constexpr cube_view(T* data, image_shape shape, index_t bands, index_t row_stride,
                      index_t pixel_stride)
      : data_(data),
        shape_(shape),
        bands_(bands),
        row_stride_(row_stride),
        pixel_stride_(pixel_stride) {
    require(shape.rows >= 0 && shape.cols >= 0, "cube_view", "shape", "must be non-negative",
            shape.rows * shape.cols);
    require(bands >= 0, "cube_view", "bands", "must be non-negative", bands);
    require(pixel_stride >= bands, "cube_view", "pixel_stride", "must be >= bands", pixel_stride);
    require(row_stride >= shape.cols * pixel_stride || shape.rows <= 1, "cube_view", "row_stride",
            "must be >= cols * pixel_stride", row_stride);
    require(data != nullptr || shape.pixels() * bands == 0, "cube_view", "data",
            "must not be null for a non-empty cube", 0);
  }

  // A conversion to the read-only view.
  constexpr operator cube_view<const value_type>() const noexcept
    requires(!std::is_const_v<T>)
  {
    return cube_view<const value_type>(data_, shape_, bands_, row_stride_, pixel_stride_,
                                       detail::unchecked_t{});
  }

  constexpr image_shape shape() const noexcept { return shape_; }
  constexpr index_t rows() const noexcept { return shape_.rows; }
  constexpr index_t cols() const noexcept { return shape_.cols; }
  constexpr index_t bands() const noexcept { return bands_; }
  constexpr index_t pixel_count() const noexcept { return shape_.pixels(); }
  constexpr bool empty() const noexcept { return pixel_count() == 0 || bands_ == 0; }
  constexpr index_t row_stride() const noexcept { return row_stride_; }
  constexpr index_t pixel_stride() const noexcept { return pixel_stride_; }
  constexpr T* data() const noexcept { return data_; }

  // True when pixels are packed with no gap (a plain C-order H x W x E array).
  constexpr bool is_contiguous() const noexcept {
    return pixel_stride_ == bands_ && (row_stride_ == shape_.cols * bands_ || shape_.rows <= 1);
  }

  constexpr T* pixel_pointer(index_t row, index_t col) const noexcept {
    assert(row >= 0 && row < shape_.rows && col >= 0 && col < shape_.cols);
    return data_ + row * row_stride_ + col * pixel_stride_;
  }
  // Pixel p in row-major order (p = row * cols + col).
  constexpr T* pixel_pointer(index_t pixel) const noexcept {
    assert(pixel >= 0 && pixel < pixel_count());
    if (is_contiguous()) return data_ + pixel * bands_;
    return pixel_pointer(pixel / shape_.cols, pixel % shape_.cols);
  }

  constexpr std::span<T> spectrum(index_t pixel) const noexcept {
    return {pixel_pointer(pixel), static_cast<std::size_t>(bands_)};
  }
  constexpr std::span<T> spectrum(index_t row, index_t col) const noexcept {
    return {pixel_pointer(row, col), static_cast<std::size_t>(bands_)};
  }
  constexpr T& operator()(index_t row, index_t col, index_t band) const noexcept {
    assert(band >= 0 && band < bands_);
    return pixel_pointer(row, col)[band];
  }

  // The rectangular tile [row0, row0 + rows) x [col0, col0 + cols), no copy.
  constexpr cube_view subview(index_t row0, index_t col0, index_t rows, index_t cols) const {
    require(row0 >= 0 && rows >= 0 && row0 + rows <= shape_.rows, "cube_view", "rows",
            "must lie inside the cube", row0 + rows);
    require(col0 >= 0 && cols >= 0 && col0 + cols <= shape_.cols, "cube_view", "cols",
            "must lie inside the cube", col0 + cols);
    T* origin = (rows * cols == 0) ? data_ : pixel_pointer(row0, col0);
    return cube_view(origin, image_shape{rows, cols}, bands_, row_stride_, pixel_stride_,
                     detail::unchecked_t{});
  }

 private:
  template <class>
  friend class cube_view;
  constexpr cube_view(T* data, image_shape shape, index_t bands, index_t row_stride,
                      index_t pixel_stride, detail::unchecked_t) noexcept
      : data_(data),
        shape_(shape),
        bands_(bands),
        row_stride_(row_stride),
        pixel_stride_(pixel_stride) {}

  T* data_ = nullptr;
  image_shape shape_{};
  index_t bands_ = 0;
  index_t row_stride_ = 0;
  index_t pixel_stride_ = 0;
};

}  // namespace spectromine
