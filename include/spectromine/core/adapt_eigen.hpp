// spectromine/core/adapt_eigen.hpp: row-major Eigen matrices (pixels x bands)
// as spectral cubes.
//
// An Eigen matrix has no image shape, so it is adapted through a small
// wrapper that carries one: eigen_cube{matrix_or_map, {rows, cols}}. Any
// row-major dense Eigen object with direct access (Matrix, Map, Ref) works,
// with no copy.
#pragma once

#include <Eigen/Core>

#include "spectromine/core/cube_traits.hpp"

namespace spectromine {

template <class Derived>
struct eigen_cube {
  static_assert(static_cast<bool>(Derived::IsRowMajor) || Derived::ColsAtCompileTime == 1,
                "spectromine::eigen_cube: the Eigen matrix must be row-major (one spectrum per "
                "row, pixels x bands).");
  Derived& matrix;
  image_shape shape;
};
template <class Derived>
eigen_cube(Derived&, image_shape) -> eigen_cube<Derived>;

template <class Derived>
struct cube_traits<eigen_cube<Derived>> {
  using scalar = typename Derived::Scalar;
  static cube_view<const scalar> view(const eigen_cube<Derived>& c) {
    check(c);
    return cube_view<const scalar>(c.matrix.data(), c.shape, c.matrix.cols(),
                                   c.shape.cols * c.matrix.outerStride(), c.matrix.outerStride());
  }
  static auto mutable_view(const eigen_cube<Derived>& c)
    requires(!std::is_const_v<Derived>)
  {
    check(c);
    return cube_view<scalar>(c.matrix.data(), c.shape, c.matrix.cols(),
                             c.shape.cols * c.matrix.outerStride(), c.matrix.outerStride());
  }

 private:
  static void check(const eigen_cube<Derived>& c) {
    require(c.matrix.rows() == c.shape.pixels(), "adapt_eigen", "rows",
            "must equal the image's pixel count", c.matrix.rows());
    require(c.matrix.innerStride() == 1, "adapt_eigen", "inner stride", "must be 1",
            c.matrix.innerStride());
  }
};

}  // namespace spectromine
