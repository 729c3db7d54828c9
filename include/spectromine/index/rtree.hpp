// spectromine/index/rtree.hpp: the Boost.Geometry R-tree as a radius-search
// index, for a compile-time dimension D (Boost.Geometry points have a static
// dimension).
//
// Same exactness argument as kd_tree.hpp: the R-tree holds the first D PCA
// coordinates y = P^T (x - mean) (or the features themselves when their
// dimension is <= D; then the unused coordinates are 0), a projected search of
// radius eps + slack finds every true neighbor, and the canonical full-space
// distance decides. Exact for every D; D only changes the candidate count.
// The tree is bulk-loaded (STR packing, Boost's range constructor); erase()
// removes the point from the tree, so expansion never revisits it.
// Use: D = 2..8 typically; kd_tree is usually faster for D >= 6 because it
// stores points in leaves contiguously. Kept as the reference structure the
// hand-written kd-tree is compared with (tests and benchmarks/dbscan).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <boost/geometry.hpp>
#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/point.hpp>
#include <boost/geometry/index/rtree.hpp>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/index/detail/projection.hpp"

namespace spectromine::index {

struct rtree_options {
  index_t pca_sample = 16384;  // points used to fit the projection
  void validate() const {
    require(pca_sample > 0, "rtree", "pca_sample", "must be > 0", pca_sample);
  }
};

template <std::size_t D>
class rtree {
  static_assert(D >= 1 && D <= 16,
                "spectromine::index::rtree<D>: D (the projected dimension) must be in 1..16; "
                "use kd_tree for a run-time dimension.");

 public:
  static constexpr const char* name = "rtree";
  using point_type = boost::geometry::model::point<float, D, boost::geometry::cs::cartesian>;
  using box_type = boost::geometry::model::box<point_type>;
  using value_type = std::pair<point_type, index_t>;
  using tree_type = boost::geometry::index::rtree<value_type, boost::geometry::index::rstar<16>>;

  explicit rtree(feature_view f, rtree_options options = {}, int threads = 0) : f_(f) {
    validate_features(f, "rtree");
    options.validate();
    proj_ = detail::fit_projection(f, static_cast<index_t>(D), options.pca_sample);
    const index_t k = proj_.basis.cols();
    const std::vector<float> y = detail::project_points(f, proj_, threads);
    points_.resize(static_cast<std::size_t>(f.size));
    std::vector<value_type> values;
    values.reserve(static_cast<std::size_t>(f.size));
    for (index_t i = 0; i < f.size; ++i) {
      float c[D] = {};
      double s = 0;
      for (index_t t = 0; t < std::min<index_t>(k, static_cast<index_t>(D)); ++t) {
        c[t] = y[static_cast<std::size_t>(i * k + t)];
        s += static_cast<double>(c[t]) * c[t];
      }
      max_norm_ = std::max(max_norm_, std::sqrt(s));
      point_type p;
      set_coords(p, c, std::make_index_sequence<D>{});
      points_[static_cast<std::size_t>(i)] = p;
      values.emplace_back(p, i);
    }
    tree_ = tree_type(values.begin(), values.end());  // packing (STR) bulk load
    live_.assign(static_cast<std::size_t>(f.size), 1);
  }

  index_t size() const noexcept { return f_.size; }
  feature_view features() const noexcept { return f_; }
  bool is_live(index_t id) const noexcept { return live_[static_cast<std::size_t>(id)] != 0; }

  void erase(index_t id) {
    auto& flag = live_[static_cast<std::size_t>(id)];
    if (!flag) return;
    flag = 0;
    tree_.remove(value_type(points_[static_cast<std::size_t>(id)], id));
  }

  template <neighbor_sink S>
  void radius_search(index_t q, double eps, S&& sink) const {
    namespace bgi = boost::geometry::index;
    validate_radius(eps, "rtree");
    const double eps2 = squared_radius(eps);
    const double r = detail::filter_radius(eps, max_norm_);
    const float rf = static_cast<float>(r * (1.0 + 1e-5));
    const float r2 = rf * rf;
    const point_type& center = points_[static_cast<std::size_t>(q)];
    point_type lo = center, hi = center;
    shift(lo, hi, rf, std::make_index_sequence<D>{});
    auto within = [&](const value_type& v) {
      return squared(v.first, center, std::make_index_sequence<D>{}) <= r2;
    };
    for (auto it = tree_.qbegin(bgi::intersects(box_type(lo, hi)) && bgi::satisfies(within));
         it != tree_.qend(); ++it) {
      const index_t j = it->second;
      if (certainly_outside(f_.row_pointer(q), f_.row_pointer(j), f_.dim, eps2)) continue;
      const double d2 = canonical_squared_distance(f_, q, j);
      if (d2 <= eps2 && !sink(j, std::sqrt(d2))) return;
    }
  }

 private:
  template <std::size_t... I>
  static void set_coords(point_type& p, const float* c, std::index_sequence<I...>) {
    (p.template set<I>(c[I]), ...);
  }
  template <std::size_t... I>
  static void shift(point_type& lo, point_type& hi, float r, std::index_sequence<I...>) {
    (lo.template set<I>(lo.template get<I>() - r), ...);
    (hi.template set<I>(hi.template get<I>() + r), ...);
  }
  template <std::size_t... I>
  static float squared(const point_type& a, const point_type& b, std::index_sequence<I...>) {
    float s = 0;
    ((s += (a.template get<I>() - b.template get<I>()) * (a.template get<I>() - b.template get<I>())), ...);
    return s;
  }

  feature_view f_;
  detail::projection proj_;
  double max_norm_ = 0;
  std::vector<point_type> points_;
  std::vector<std::uint8_t> live_;
  tree_type tree_;
};

template <std::size_t D>
struct rtree_policy {
  static constexpr const char* name = "rtree";
  rtree_options options{};
  rtree<D> build(feature_view f, int threads = 0) const { return rtree<D>(f, options, threads); }
};

static_assert(check_radius_searchable<rtree<3>>());
static_assert(erasable_index<rtree<3>>);
static_assert(check_index_policy<rtree_policy<3>>());

}  // namespace spectromine::index
