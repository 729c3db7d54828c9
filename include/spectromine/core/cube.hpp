// spectromine/core/cube.hpp: an owning spectral cube (rows x cols x bands,
// C order, pixel-major), the in-memory form readers return.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "spectromine/core/cube_view.hpp"

namespace spectromine {

template <class T>
class cube {
 public:
  using value_type = T;

  cube() = default;
  cube(image_shape shape, index_t bands, T fill = T{}) : shape_(shape), bands_(bands) {
    require(shape.rows >= 0 && shape.cols >= 0, "cube", "shape", "must be non-negative",
            shape.rows * shape.cols);
    require(bands >= 0, "cube", "bands", "must be non-negative", bands);
    require(shape.rows == 0 || shape.cols == 0 || bands == 0 ||
                shape.rows <= std::numeric_limits<index_t>::max() / shape.cols / bands,
            "cube", "size", "must fit in memory addressing", shape.rows);
    data_.assign(static_cast<std::size_t>(shape.pixels() * bands), fill);
  }

  image_shape shape() const noexcept { return shape_; }
  index_t rows() const noexcept { return shape_.rows; }
  index_t cols() const noexcept { return shape_.cols; }
  index_t bands() const noexcept { return bands_; }
  index_t pixel_count() const noexcept { return shape_.pixels(); }
  bool empty() const noexcept { return data_.empty(); }

  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  std::vector<T>& storage() noexcept { return data_; }
  const std::vector<T>& storage() const noexcept { return data_; }

  cube_view<T> view() noexcept { return {data_.data(), shape_, bands_}; }
  cube_view<const T> view() const noexcept { return {data_.data(), shape_, bands_}; }

  std::span<T> spectrum(index_t pixel) noexcept { return view().spectrum(pixel); }
  std::span<const T> spectrum(index_t pixel) const noexcept { return view().spectrum(pixel); }
  T& operator()(index_t row, index_t col, index_t band) noexcept {
    return data_[static_cast<std::size_t>((row * shape_.cols + col) * bands_ + band)];
  }
  const T& operator()(index_t row, index_t col, index_t band) const noexcept {
    return data_[static_cast<std::size_t>((row * shape_.cols + col) * bands_ + band)];
  }

 private:
  image_shape shape_{};
  index_t bands_ = 0;
  std::vector<T> data_;
};

}  // namespace spectromine
