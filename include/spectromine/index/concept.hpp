// spectromine/index/concept.hpp: what a radius-search index is, the point
// sets it is built over, and the one distance every index agrees on.
//
// DBSCAN (partition/dbscan.hpp) asks two questions of its points, "who lies
// within eps of point q?" and "are there at least MinPts of them?" (Ester et
// al. 1996). An index answers the first by calling a neighbor sink for each
// neighbor; the sink returns false to stop the query early, which answers the
// second in O(MinPts) instead of O(neighbours).
//
// Points: a feature_view, row-major n x dim float32 (e.g. standardized
// spectra: for those, squared Euclidean distance = 2 (1 - Pearson r), the
// metric of both papers; or PCA features). float32 halves memory and doubles
// the SIMD width of the hot products; decisions are not taken in float32.
//
// EXACTNESS CONTRACT (why every index gives the same DBSCAN labels):
//   A point j is a neighbor of q iff canonical_squared_distance(f, q, j) <=
//   eps^2, where the canonical distance is ONE function (below) evaluated in
//   double in a fixed order. Indexes may prune or pre-filter with anything
//   (float32 GEMM, projections, bounding boxes) but only with conservative,
//   rounding-bounded margins, and they decide membership with the canonical
//   distance. So every index reports exactly the same neighbor SET; only the
//   order of the sink calls differs. DBSCAN results depend only on sets.
//
// Required expressions of radius_searchable<I>, for `const I& i`, an indexed
// point id q in [0, i.size()), eps >= 0 and a sink `s`:
//   i.size()      -> index_t: number of indexed points (ids 0..size-1);
//   i.features()  -> feature_view: the points (for canonical distances);
//   i.radius_search(q, eps, s): calls s(j, d) -> bool for every LIVE point j
//       (q itself included when live) with canonical distance d <= eps, d
//       being that canonical distance (not squared); stops when s returns
//       false. Thread-safe for concurrent queries (no mutation).
// Optional refinements, detected by DBSCAN with `if constexpr`:
//   batch_radius_searchable: i.radius_search_batch(span<const index_t> qs,
//       eps, v) with v(k, j, d) -> bool for query qs[k]; returning false stops
//       query k only. Brute force turns a batch into one GEMM.
//   erasable_index: i.erase(id) removes a point from later answers (not
//       concurrently with queries); i.is_live(id). DBSCAN's cluster expansion
//       erases each core once it is reached, so a dense phase of m pixels
//       costs O(m) reported neighbours instead of O(m^2): the O(n)-memory,
//       no-neighbour-list design (scikit-learn issues #5275, #22531, #26726).
//   locality_ordered: i.locality_order() -> span<const index_t>, all ids in
//       an order where consecutive points are close (or empty): DBSCAN's
//       core-point pass queries in that order so verified rows stay in cache.
//
// Index POLICIES are values that build an index once per partition call:
//   index_policy<P>: p.build(feature_view, int threads) -> radius_searchable
//   and P::name (for summary.json).
#pragma once

#include <bit>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::index {

// A read-only row-major n x dim float32 matrix: point i is row i.
struct feature_view {
  const float* data = nullptr;
  index_t size = 0;    // number of points
  index_t dim = 0;     // coordinates per point
  index_t stride = 0;  // floats between consecutive rows (>= dim)

  constexpr const float* row_pointer(index_t i) const noexcept { return data + i * stride; }
  constexpr std::span<const float> row(index_t i) const noexcept {
    return {row_pointer(i), static_cast<std::size_t>(dim)};
  }
};

// An owning row-major feature matrix. Rows are padded to a multiple of 16
// floats (64 bytes) so that each row starts on a cache line and SIMD loops
// need no tail handling; padding is zero and takes no part in distances.
class feature_matrix {
 public:
  feature_matrix() = default;
  feature_matrix(index_t size, index_t dim) { resize(size, dim); }

  void resize(index_t size, index_t dim) {
    require(size >= 0, "feature_matrix", "size", "must be >= 0", size);
    require(dim > 0, "feature_matrix", "dim", "must be > 0", dim);
    size_ = size;
    dim_ = dim;
    stride_ = (dim + 15) / 16 * 16;
    storage_.assign(static_cast<std::size_t>(size * stride_), 0.0f);
  }

  index_t size() const noexcept { return size_; }
  index_t dim() const noexcept { return dim_; }
  index_t stride() const noexcept { return stride_; }
  float* row_pointer(index_t i) noexcept { return storage_.data() + i * stride_; }
  const float* row_pointer(index_t i) const noexcept { return storage_.data() + i * stride_; }
  std::span<float> row(index_t i) noexcept {
    return {row_pointer(i), static_cast<std::size_t>(dim_)};
  }
  feature_view view() const noexcept { return {storage_.data(), size_, dim_, stride_}; }
  operator feature_view() const noexcept { return view(); }

 private:
  std::vector<float> storage_;
  index_t size_ = 0, dim_ = 0, stride_ = 0;
};

// The canonical squared Euclidean distance between two rows: float32 inputs
// promoted to double, accumulated in 8 fixed lanes (lane = coordinate mod 8),
// the lanes then summed in a fixed order. Fixed order -> bitwise the same value
// wherever it is called; 8 lanes -> the compiler vectorizes it without
// reassociation. Kept out of line so that every caller runs the same machine
// code (no call-site-dependent FMA contraction).
[[gnu::noinline]] inline double canonical_squared_distance(const float* a, const float* b,
                                                           index_t dim) noexcept {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  index_t i = 0;
  for (; i + 8 <= dim; i += 8)
    for (int l = 0; l < 8; ++l) {
      const double d = static_cast<double>(a[i + l]) - static_cast<double>(b[i + l]);
      lane[l] += d * d;
    }
  for (int l = 0; i < dim; ++i, ++l) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    lane[l] += d * d;
  }
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

inline double canonical_squared_distance(feature_view f, index_t a, index_t b) noexcept {
  return canonical_squared_distance(f.row_pointer(a), f.row_pointer(b), f.dim);
}

// A cheap, rigorous REJECTION test: true only if the canonical squared
// distance is certainly > eps2. float32 differences and squares in 8 SIMD
// lanes; the float sum of d squared differences is within a relative
// (d + 2) u (u = 2^-24) of the exact one in any summation order, so with a
// margin of twice that (plus an absolute 1e-30 for underflow) a float sum
// above the threshold proves the double one is too. Indexes call it before
// canonical_squared_distance on candidates that passed their own filter: a
// near-miss candidate (a phase just beyond eps) then costs one float pass
// instead of a double one. Never decides "inside": that stays canonical.
inline bool certainly_outside(const float* a, const float* b, index_t dim, double eps2) noexcept {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  index_t i = 0;
  for (; i + 8 <= dim; i += 8)
    for (int l = 0; l < 8; ++l) {
      const float d = a[i + l] - b[i + l];
      lane[l] += d * d;
    }
  for (int l = 0; i < dim; ++i, ++l) {
    const float d = a[i] - b[i];
    lane[l] += d * d;
  }
  const double sum = static_cast<double>(((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                                         ((lane[4] + lane[5]) + (lane[6] + lane[7])));
  const double u = 1.0 / 16777216.0;
  // An overflowed float sum proves nothing: decide canonically then.
  return std::isfinite(sum) && sum > eps2 * (1.0 + 2.0 * static_cast<double>(dim + 2) * u) + 1e-30;
}

// eps -> the canonical squared threshold. One function so that "d <= eps" is
// decided identically everywhere.
inline double squared_radius(double eps) noexcept { return eps * eps; }

// Validates a radius for a query (finite, >= 0).
inline void validate_radius(double eps, std::string_view component) {
  require(std::isfinite(eps) && eps >= 0, component, "eps", "must be finite and >= 0", eps);
}

// Validates a feature view: shape, and every coordinate finite. A NaN would
// make "d <= eps" false for every pair (the point silently noise) and break
// the strict weak ordering a tree build sorts with, so it is refused here,
// once, at O(n d) -- a fraction of any index build. (The DBSCAN partitioner
// rejects non-finite pixels before building features.)
inline void validate_features(feature_view f, std::string_view component) {
  require(f.size >= 0, component, "features.size", "must be >= 0", f.size);
  require(f.dim > 0, component, "features.dim", "must be > 0", f.dim);
  require(f.stride >= f.dim, component, "features.stride", "must be >= dim", f.stride);
  require(f.data != nullptr || f.size == 0, component, "features.data",
          "must not be null for a non-empty point set", 0);
  for (index_t i = 0; i < f.size; ++i) {
    const float* r = f.row_pointer(i);
    // Non-finite = all exponent bits set; an integer OR that vectorizes.
    std::uint32_t bad = 0;
    for (index_t k = 0; k < f.dim; ++k)
      bad |= static_cast<std::uint32_t>((std::bit_cast<std::uint32_t>(r[k]) & 0x7f800000u) == 0x7f800000u);
    if (!bad) continue;
    for (index_t k = 0; k < f.dim; ++k)
      require(std::isfinite(r[k]), component,
              "features (row " + std::to_string(i) + ", column " + std::to_string(k) + ")",
              "must be finite", r[k]);
  }
}

// ------------------------------------------------------------------ concepts

// A neighbor sink: s(id, distance) -> bool; false stops the query.
template <class S>
concept neighbor_sink = std::invocable<S&, index_t, double> &&
                        std::convertible_to<std::invoke_result_t<S&, index_t, double>, bool>;

// A batch visitor: v(query_position, id, distance) -> bool; false stops that query.
template <class V>
concept batch_visitor =
    std::invocable<V&, std::size_t, index_t, double> &&
    std::convertible_to<std::invoke_result_t<V&, std::size_t, index_t, double>, bool>;

namespace detail {
struct sink_archetype {
  bool operator()(index_t, double) const noexcept { return true; }
};
struct batch_visitor_archetype {
  bool operator()(std::size_t, index_t, double) const noexcept { return true; }
};
}  // namespace detail

template <class I>
concept radius_searchable = requires(const I& i, index_t q, double eps,
                                     detail::sink_archetype& s) {
  { i.size() } -> std::convertible_to<index_t>;
  { i.features() } -> std::same_as<feature_view>;
  i.radius_search(q, eps, s);
};

template <class I>
concept batch_radius_searchable =
    radius_searchable<I> && requires(const I& i, std::span<const index_t> qs, double eps,
                                     detail::batch_visitor_archetype& v) {
      i.radius_search_batch(qs, eps, v);
    };

template <class I>
concept erasable_index = radius_searchable<I> && requires(I& i, const I& ci, index_t id) {
  i.erase(id);
  { ci.is_live(id) } -> std::convertible_to<bool>;
};

// Optional: i.locality_order() -> span of all ids in an order where
// consecutive ids are close (kd-tree: tree order), or an empty span. DBSCAN
// runs its core-point queries in that order for cache reuse of the verified
// rows; results never depend on it.
template <class I>
concept locality_ordered = radius_searchable<I> && requires(const I& i) {
  { i.locality_order() } -> std::convertible_to<std::span<const index_t>>;
};

template <class P>
concept index_policy = requires(const P& p, feature_view f, int threads) {
  { p.build(f, threads) } -> radius_searchable;
  { std::string_view(P::name) };
};

// static_assert twins.
template <class S>
constexpr bool check_neighbor_sink() {
  static_assert(neighbor_sink<S>,
                "spectromine: a neighbor sink must be callable as sink(index_t id, double "
                "distance) and return bool (false stops the query).");
  return neighbor_sink<S>;
}
template <class I>
constexpr bool check_radius_searchable() {
  static_assert(radius_searchable<I>,
                "spectromine: a radius-search index needs size(), features() returning "
                "index::feature_view, and radius_search(index_t query, double eps, sink) "
                "(see spectromine/index/concept.hpp).");
  return radius_searchable<I>;
}
template <class P>
constexpr bool check_index_policy() {
  static_assert(index_policy<P>,
                "spectromine: an index policy needs build(index::feature_view, int threads) "
                "returning a radius_searchable index, and a static `name` "
                "(see spectromine/index/concept.hpp).");
  return index_policy<P>;
}

}  // namespace spectromine::index
