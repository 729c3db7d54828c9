#include <doctest/doctest.h>

#include <Eigen/Core>
#include <vector>

#include "spectromine/core/adapt_eigen.hpp"
#include "spectromine/core/adapt_xtensor.hpp"
#include "spectromine/core/concepts.hpp"

using namespace spectromine;

struct not_a_cube {};

static_assert(spectral_cube<cube<float>>);
static_assert(spectral_cube<cube_view<const double>>);
static_assert(mutable_spectral_cube<cube<float>>);
static_assert(!mutable_spectral_cube<cube_view<const float>>);
static_assert(!spectral_cube<not_a_cube>);
static_assert(!spectral_cube<std::vector<float>>);
static_assert(spectral_cube<xt::xtensor<float, 3>>);
static_assert(std::is_same_v<cube_value_t<xt::xtensor<double, 3>>, double>);
static_assert(progress_observer<no_progress>);

template <spectral_cube C>
double sum_of(const C& c) {
  auto v = view_of(c);
  double s = 0;
  for (index_t p = 0; p < v.pixel_count(); ++p)
    for (auto x : v.spectrum(p)) s += x;
  return s;
}

TEST_CASE("xtensor containers are viewed in place") {
  xt::xtensor<float, 3> t = xt::zeros<float>({2, 3, 4});
  t(1, 2, 3) = 5.0f;
  auto v = view_of(t);
  CHECK(v.rows() == 2);
  CHECK(v.cols() == 3);
  CHECK(v.bands() == 4);
  CHECK(v.data() == t.data());
  CHECK(v(1, 2, 3) == 5.0f);
  CHECK(sum_of(t) == doctest::Approx(5.0));
  xt::xarray<double> a = xt::ones<double>({2, 2, 2});
  CHECK(sum_of(a) == doctest::Approx(8.0));
  xt::xarray<double> flat = xt::ones<double>({4, 2});
  CHECK_THROWS_AS(view_of(flat), invalid_argument);
}

TEST_CASE("row-major Eigen matrices and maps are viewed in place with an image shape") {
  using rm = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  rm m = rm::Zero(6, 5);
  m(4, 2) = 3.0f;
  eigen_cube ec{m, image_shape{2, 3}};
  auto v = view_of(ec);
  CHECK(v.data() == m.data());
  CHECK(v(1, 1, 2) == 3.0f);
  CHECK(sum_of(ec) == doctest::Approx(3.0));
  auto w = mutable_view_of(ec);
  w(0, 0, 0) = 1.0f;
  CHECK(m(0, 0) == 1.0f);

  std::vector<double> buffer(12, 0.5);
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> map(
      buffer.data(), 4, 3);
  eigen_cube mc{map, image_shape{2, 2}};
  CHECK(sum_of(mc) == doctest::Approx(6.0));
  eigen_cube wrong{map, image_shape{3, 2}};
  CHECK_THROWS_AS(view_of(wrong), invalid_argument);
}
