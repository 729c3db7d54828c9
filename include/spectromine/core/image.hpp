// spectromine/core/image.hpp: 2-D per-pixel images: label images (int32
// labels with the sentinels of core/types.hpp) and pixel masks (1 = sample).
//
// image_view is non-owning and row-strided, so a tile of a larger label image
// is a view, not a copy (the tiled driver writes tiles in place).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

template <class T>
class image_view {
 public:
  using value_type = std::remove_const_t<T>;

  constexpr image_view() = default;
  constexpr image_view(T* data, image_shape shape) : image_view(data, shape, shape.cols) {}
  constexpr image_view(T* data, image_shape shape, index_t row_stride)
      : data_(data), shape_(shape), row_stride_(row_stride) {
    require(shape.rows >= 0 && shape.cols >= 0, "image_view", "shape", "must be non-negative",
            shape.rows * shape.cols);
    require(row_stride >= shape.cols || shape.rows <= 1, "image_view", "row_stride",
            "must be >= cols", row_stride);
  }
  constexpr operator image_view<const value_type>() const noexcept
    requires(!std::is_const_v<T>)
  {
    return image_view<const value_type>(data_, shape_, row_stride_);
  }

  constexpr image_shape shape() const noexcept { return shape_; }
  constexpr index_t rows() const noexcept { return shape_.rows; }
  constexpr index_t cols() const noexcept { return shape_.cols; }
  constexpr index_t pixel_count() const noexcept { return shape_.pixels(); }
  constexpr index_t row_stride() const noexcept { return row_stride_; }
  constexpr T* data() const noexcept { return data_; }
  constexpr bool is_contiguous() const noexcept {
    return row_stride_ == shape_.cols || shape_.rows <= 1;
  }

  constexpr T& operator()(index_t row, index_t col) const noexcept {
    assert(row >= 0 && row < shape_.rows && col >= 0 && col < shape_.cols);
    return data_[row * row_stride_ + col];
  }
  // Pixel p in row-major order.
  constexpr T& operator[](index_t pixel) const noexcept {
    return is_contiguous() ? data_[pixel] : (*this)(pixel / shape_.cols, pixel % shape_.cols);
  }
  constexpr std::span<T> row(index_t r) const noexcept {
    return {data_ + r * row_stride_, static_cast<std::size_t>(shape_.cols)};
  }
  constexpr image_view subview(index_t row0, index_t col0, index_t rows, index_t cols) const {
    require(row0 >= 0 && rows >= 0 && row0 + rows <= shape_.rows, "image_view", "rows",
            "must lie inside the image", row0 + rows);
    require(col0 >= 0 && cols >= 0 && col0 + cols <= shape_.cols, "image_view", "cols",
            "must lie inside the image", col0 + cols);
    return image_view(data_ + row0 * row_stride_ + col0, image_shape{rows, cols}, row_stride_);
  }

 private:
  T* data_ = nullptr;
  image_shape shape_{};
  index_t row_stride_ = 0;
};

template <class T>
class image {
 public:
  using value_type = T;

  image() = default;
  explicit image(image_shape shape, T fill = T{}) : shape_(shape) {
    require(shape.rows >= 0 && shape.cols >= 0, "image", "shape", "must be non-negative",
            shape.rows * shape.cols);
    data_.assign(static_cast<std::size_t>(shape.pixels()), fill);
  }
  image(image_shape shape, std::vector<T> data) : shape_(shape), data_(std::move(data)) {
    require(static_cast<index_t>(data_.size()) == shape.pixels(), "image", "data size",
            "must equal rows * cols", data_.size());
  }

  image_shape shape() const noexcept { return shape_; }
  index_t rows() const noexcept { return shape_.rows; }
  index_t cols() const noexcept { return shape_.cols; }
  index_t pixel_count() const noexcept { return shape_.pixels(); }
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  std::vector<T>& storage() noexcept { return data_; }
  const std::vector<T>& storage() const noexcept { return data_; }

  T& operator()(index_t row, index_t col) noexcept { return data_[idx(row, col)]; }
  const T& operator()(index_t row, index_t col) const noexcept { return data_[idx(row, col)]; }
  T& operator[](index_t pixel) noexcept { return data_[static_cast<std::size_t>(pixel)]; }
  const T& operator[](index_t pixel) const noexcept {
    return data_[static_cast<std::size_t>(pixel)];
  }

  image_view<T> view() noexcept { return {data_.data(), shape_}; }
  image_view<const T> view() const noexcept { return {data_.data(), shape_}; }
  friend bool operator==(const image&, const image&) = default;

 private:
  std::size_t idx(index_t row, index_t col) const noexcept {
    assert(row >= 0 && row < shape_.rows && col >= 0 && col < shape_.cols);
    return static_cast<std::size_t>(row * shape_.cols + col);
  }
  image_shape shape_{};
  std::vector<T> data_;
};

// A label image: int32 labels; 0 = unlabeled, 1..K clusters, negative = sentinels.
using label_image = image<label_t>;
using label_view = image_view<label_t>;
using const_label_view = image_view<const label_t>;

// A pixel mask: 1 = sample (take part), 0 = no sample (never a phase).
using pixel_mask = image<std::uint8_t>;
using mask_view = image_view<const std::uint8_t>;

// Largest positive label in an image (0 when there is no cluster).
template <class T>
label_t max_label(image_view<T> labels) {
  label_t best = 0;
  for (index_t r = 0; r < labels.rows(); ++r)
    for (label_t l : labels.row(r)) best = std::max(best, l);
  return best;
}

}  // namespace spectromine
