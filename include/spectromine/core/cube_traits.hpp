// spectromine/core/cube_traits.hpp: how any container becomes a spectral cube.
//
// Every algorithm takes `spectral_cube auto const&` and works on the
// cube_view that cube_traits<C>::view(c) returns, so user containers are
// accepted without copies. To adapt your own type, specialize
//
//   template <> struct spectromine::cube_traits<my_cube> {
//     static cube_view<const float> view(const my_cube& c);   // required
//     static cube_view<float> mutable_view(my_cube& c);       // optional
//   };
//
// Adapters shipped: cube_view, cube (here); xtensor containers
// (core/adapt_xtensor.hpp); row-major Eigen matrices of pixels x bands with an
// image shape (core/adapt_eigen.hpp).
#pragma once

#include <type_traits>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/cube_view.hpp"

namespace spectromine {

// Primary template: not a cube. Specializations provide view() (and optionally mutable_view()).
template <class C>
struct cube_traits {};

template <class T>
struct cube_traits<cube_view<T>> {
  static cube_view<const std::remove_const_t<T>> view(const cube_view<T>& c) noexcept { return c; }
  static cube_view<T> mutable_view(const cube_view<T>& c) noexcept
    requires(!std::is_const_v<T>)
  {
    return c;
  }
};

template <class T>
struct cube_traits<cube<T>> {
  static cube_view<const T> view(const cube<T>& c) noexcept { return c.view(); }
  static cube_view<T> mutable_view(cube<T>& c) noexcept { return c.view(); }
};

namespace detail {
template <class V>
struct is_const_cube_view : std::false_type {};
template <class T>
struct is_const_cube_view<cube_view<const T>> : std::true_type {};
}  // namespace detail

}  // namespace spectromine
