// spectromine/metric/concept.hpp: what a distance between two spectra is,
// and what an index may assume about it.
//
// A distance metric M over spectra of element type T:
//   m(a, b) -> convertible to double, for std::span<const T> a, b of equal
//   length (one value per energy band). Smaller = more similar. Pure: no
//   allocation, no state change, safe to call from many threads.
// metric_traits<M> (read from static constexpr members of M by default;
// specialize it for a type you cannot edit):
//   is_squared          the value is a squared distance (compare it with a
//                       squared radius; sqrt() gives a length)
//   triangle_inequality d(a,c) <= d(a,b) + d(b,c) holds, so metric trees
//                       (ball tree, VP tree) may prune with it
//   decomposes_per_band d(a, b) = from_sum(sum_i band_term(a_i, b_i, i)) with
//                       from_sum increasing: a kd-tree may prune one band at
//                       a time (requires decomposable_metric below)
//   needs_standardized  inputs must already be standardized (mean 0, norm 1;
//                       preprocess/standardize.hpp)
//   name                for reports
// Which metric is which (see docs/noise_and_metrics.md):
//                              squared  triangle  decomposes  standardized in
//   squared_euclidean_distance   yes      no        yes          no
//   euclidean_distance           no       yes       yes          no
//   pearson_distance (1 - r)     yes(*)   no        no           no
//   standardized_pearson         yes(*)   no        yes          yes
//   spectral_angle_distance      no       yes       no           no
//   chi_square_distance          yes      no        yes          no
//   (*) 1 - r = |z_a - z_b|^2 / 2 for standardized z: half a squared distance.
#pragma once

#include <concepts>
#include <span>
#include <string_view>

#include "spectromine/core/types.hpp"

namespace spectromine {

template <class M>
struct metric_traits {
  static constexpr bool is_squared = M::is_squared;
  static constexpr bool triangle_inequality = M::triangle_inequality;
  static constexpr bool decomposes_per_band = M::decomposes_per_band;
  static constexpr bool needs_standardized = M::needs_standardized;
  static constexpr std::string_view name = M::name;
};

template <class M, class T>
concept distance_metric =
    std::copy_constructible<M> && requires(const M& m, std::span<const T> a, std::span<const T> b) {
      { m(a, b) } -> std::convertible_to<double>;
      { metric_traits<M>::is_squared } -> std::convertible_to<bool>;
      { metric_traits<M>::triangle_inequality } -> std::convertible_to<bool>;
      { metric_traits<M>::decomposes_per_band } -> std::convertible_to<bool>;
      { metric_traits<M>::needs_standardized } -> std::convertible_to<bool>;
    };

// The architecture notes call it distance_for; same concept.
template <class M, class T>
concept distance_for = distance_metric<M, T>;

// A metric a kd-tree can use: per-band terms summed, then a monotone map.
//   m.band_term(x, y, band) -> double  (>= 0)
//   m.from_sum(sum) -> double          distance from the summed terms (increasing)
//   m.to_sum(distance) -> double       its inverse: a radius as a bound on the sum
template <class M, class T>
concept decomposable_metric =
    distance_metric<M, T> && metric_traits<M>::decomposes_per_band &&
    requires(const M& m, T x, T y, index_t band, double v) {
      { m.band_term(x, y, band) } -> std::convertible_to<double>;
      { m.from_sum(v) } -> std::convertible_to<double>;
      { m.to_sum(v) } -> std::convertible_to<double>;
    };

template <class M, class T>
constexpr bool check_distance_metric() {
  static_assert(distance_metric<M, T>,
                "spectromine: a distance metric must be copyable, callable as "
                "m(std::span<const T>, std::span<const T>) -> double, and declare "
                "is_squared, triangle_inequality, decomposes_per_band and needs_standardized "
                "(static constexpr bool members, or a metric_traits<M> specialization).");
  return distance_metric<M, T>;
}

template <class M, class T>
constexpr bool check_decomposable_metric() {
  static_assert(decomposable_metric<M, T>,
                "spectromine: this index needs a metric that decomposes per band "
                "(metric_traits<M>::decomposes_per_band, with band_term(x, y, band), "
                "from_sum(sum) and to_sum(distance)); pearson_distance and "
                "spectral_angle_distance do not - standardize the spectra and use "
                "standardized_pearson_distance or squared_euclidean_distance instead.");
  return decomposable_metric<M, T>;
}

}  // namespace spectromine
