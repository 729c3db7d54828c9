// spectromine/core/adapt_xtensor.hpp: xtensor containers as spectral cubes.
//
// A row-major xt::xtensor<T, 3> or xt::xarray<T> of shape (H, W, E) is viewed
// in place (no copy). Column-major or non-3-D containers are rejected with an
// invalid_argument naming the problem.
#pragma once

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "spectromine/core/cube_traits.hpp"

namespace spectromine {

namespace detail {
template <class E>
auto xtensor_cube_view(E& e) {
  using T = std::remove_reference_t<decltype(*e.data())>;
  require(e.dimension() == 3, "adapt_xtensor", "dimension", "must be 3 (H x W x E)",
          e.dimension());
  require(e.layout() == xt::layout_type::row_major, "adapt_xtensor", "layout",
          "must be row-major", static_cast<int>(e.layout()));
  const auto& s = e.shape();
  const auto& st = e.strides();
  image_shape shape{static_cast<index_t>(s[0]), static_cast<index_t>(s[1])};
  const auto bands = static_cast<index_t>(s[2]);
  require(bands <= 1 || st[2] == 1, "adapt_xtensor", "band stride", "must be 1", st[2]);
  return cube_view<T>(e.data(), shape, bands, static_cast<index_t>(s[1] * s[2]), bands);
}
}  // namespace detail

template <class T>
struct cube_traits<xt::xtensor<T, 3>> {
  static cube_view<const T> view(const xt::xtensor<T, 3>& c) { return detail::xtensor_cube_view(c); }
  static cube_view<T> mutable_view(xt::xtensor<T, 3>& c) { return detail::xtensor_cube_view(c); }
};

template <class T>
struct cube_traits<xt::xarray<T>> {
  static cube_view<const T> view(const xt::xarray<T>& c) { return detail::xtensor_cube_view(c); }
  static cube_view<T> mutable_view(xt::xarray<T>& c) { return detail::xtensor_cube_view(c); }
};

}  // namespace spectromine
