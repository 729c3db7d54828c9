// spectromine/testing/dbscan_verifier.hpp: checks that a labeling IS a
// DBSCAN result, whatever produced it (any library, any index, any border
// tie rule), by its defining invariants rather than by comparing labels
// (after ArborX's verifier, src/cluster/ in ArborX):
//   1. every point has a decision: a positive cluster label or
//      labels::outlier (never 0 / another sentinel);
//   2. a core point (>= MinPts points within eps, itself included) is never
//      noise;
//   3. two cores within eps share a label;
//   4. the cores of one label are eps-connected (no two clusters merged), and
//      every label has a core;
//   5. a border (labelled non-core) is within eps of a core of its own label;
//      with DBSCAN* there are no borders: every labelled point is a core;
//   6. (DBSCAN) a noise point is within eps of no core.
// O(n^2) distance evaluations and O(n) memory: meant for tests and for
// checking other implementations on samples, not for production sizes.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/index/concept.hpp"

namespace spectromine::testing {

struct dbscan_verifier_options {
  bool star = false;           // verify DBSCAN* (borders are noise)
  index_t max_messages = 10;   // violations described in full
};

struct dbscan_verification {
  bool ok = true;
  index_t violation_count = 0;
  std::vector<std::string> violations;  // the first max_messages, readable
  // Which invariants failed (numbers as in the header comment).
  bool undecided = false, core_is_noise = false, cores_split = false, cluster_disconnected = false,
       border_orphan = false, noise_touches_core = false;
  explicit operator bool() const noexcept { return ok; }
};

// `within(i, j) -> bool`: whether points i != j are within eps of each other.
template <class Within>
  requires std::predicate<Within&, index_t, index_t>
dbscan_verification verify_dbscan_within(index_t n, Within&& within, index_t min_pts,
                                         std::span<const label_t> labels,
                                         const dbscan_verifier_options& options = {}) {
  require(static_cast<index_t>(labels.size()) == n, "verify_dbscan", "labels size",
          "must equal the point count " + std::to_string(n), labels.size());
  require(min_pts >= 1, "verify_dbscan", "min_pts", "must be >= 1", min_pts);
  dbscan_verification v;
  auto fail = [&](bool& flag, const std::string& what) {
    flag = true;
    v.ok = false;
    if (v.violation_count++ < options.max_messages) v.violations.push_back(what);
  };
  auto near = [&](index_t i, index_t j) { return i == j || within(i, j); };
  auto L = [&](index_t i) { return labels[static_cast<std::size_t>(i)]; };

  for (index_t i = 0; i < n; ++i)
    if (!(L(i) > 0 || L(i) == labels::outlier))
      fail(v.undecided, "point " + std::to_string(i) + " has label " + std::to_string(L(i)) +
                            " (neither a cluster nor labels::outlier)");

  std::vector<index_t> count(static_cast<std::size_t>(n), 1);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i + 1; j < n; ++j)
      if (near(i, j)) ++count[static_cast<std::size_t>(i)], ++count[static_cast<std::size_t>(j)];
  auto is_core = [&](index_t i) { return count[static_cast<std::size_t>(i)] >= min_pts; };

  std::vector<index_t> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), index_t{0});
  auto find = [&](index_t x) {
    while (parent[static_cast<std::size_t>(x)] != x)
      x = parent[static_cast<std::size_t>(x)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
    return x;
  };
  std::vector<std::uint8_t> border_ok(static_cast<std::size_t>(n), 0), touches_core(static_cast<std::size_t>(n), 0);
  for (index_t i = 0; i < n; ++i) {
    if (is_core(i) && L(i) <= 0)
      fail(v.core_is_noise, "core point " + std::to_string(i) + " (" +
                                std::to_string(count[static_cast<std::size_t>(i)]) +
                                " neighbors) is labelled " + std::to_string(L(i)));
    for (index_t j = i + 1; j < n; ++j) {
      if (!near(i, j)) continue;
      const bool ci = is_core(i), cj = is_core(j);
      if (ci && cj) {
        if (L(i) != L(j))
          fail(v.cores_split, "cores " + std::to_string(i) + " and " + std::to_string(j) +
                                  " are within eps but labelled " + std::to_string(L(i)) +
                                  " and " + std::to_string(L(j)));
        parent[static_cast<std::size_t>(find(i))] = find(j);
      }
      if (cj) {
        touches_core[static_cast<std::size_t>(i)] = 1;
        if (L(j) == L(i)) border_ok[static_cast<std::size_t>(i)] = 1;
      }
      if (ci) {
        touches_core[static_cast<std::size_t>(j)] = 1;
        if (L(i) == L(j)) border_ok[static_cast<std::size_t>(j)] = 1;
      }
    }
  }
  // 4: one core component per label, and a core in every label.
  std::vector<index_t> first_root_of_label;  // indexed by label (grown on demand)
  std::vector<std::uint8_t> has_core;
  for (index_t i = 0; i < n; ++i) {
    if (L(i) <= 0) continue;
    const auto l = static_cast<std::size_t>(L(i));
    if (l >= has_core.size()) has_core.resize(l + 1, 0), first_root_of_label.resize(l + 1, -1);
    if (!is_core(i)) continue;
    has_core[l] = 1;
    const index_t r = find(i);
    if (first_root_of_label[l] < 0) first_root_of_label[l] = r;
    else if (first_root_of_label[l] != r)
      fail(v.cluster_disconnected, "cluster " + std::to_string(l) +
                                       " holds cores of two eps-components (e.g. point " +
                                       std::to_string(i) + ")");
  }
  for (std::size_t l = 1; l < has_core.size(); ++l)
    if (first_root_of_label[l] == -1 && std::any_of(labels.begin(), labels.end(), [&](label_t x) {
          return static_cast<std::size_t>(std::max<label_t>(x, 0)) == l;
        }))
      fail(v.cluster_disconnected, "cluster " + std::to_string(l) + " has no core point");
  // 5, 6: borders and noise.
  for (index_t i = 0; i < n; ++i) {
    if (is_core(i)) continue;
    if (L(i) > 0) {
      if (options.star)
        fail(v.border_orphan, "DBSCAN*: non-core point " + std::to_string(i) + " is labelled " +
                                  std::to_string(L(i)) + " (borders must be noise)");
      else if (!border_ok[static_cast<std::size_t>(i)])
        fail(v.border_orphan, "border point " + std::to_string(i) + " (label " +
                                  std::to_string(L(i)) + ") touches no core of its cluster");
    } else if (L(i) == labels::outlier && !options.star && touches_core[static_cast<std::size_t>(i)]) {
      fail(v.noise_touches_core,
           "noise point " + std::to_string(i) + " is within eps of a core point");
    }
  }
  return v;
}

// `distance(i, j) -> double`: the (non-squared) distance between points i and j.
template <class Distance>
  requires std::invocable<Distance&, index_t, index_t>
dbscan_verification verify_dbscan(index_t n, Distance&& distance, double eps, index_t min_pts,
                                  std::span<const label_t> labels,
                                  const dbscan_verifier_options& options = {}) {
  return verify_dbscan_within(
      n, [&](index_t i, index_t j) { return static_cast<double>(distance(i, j)) <= eps; }, min_pts,
      labels, options);
}

// Convenience: points are rows of a feature matrix, distance = the canonical
// Euclidean distance every index uses (index/concept.hpp).
inline dbscan_verification verify_dbscan(index::feature_view f, double eps, index_t min_pts,
                                         std::span<const label_t> labels,
                                         const dbscan_verifier_options& options = {}) {
  const double eps2 = index::squared_radius(eps);
  return verify_dbscan_within(
      f.size,
      [&](index_t i, index_t j) { return index::canonical_squared_distance(f, i, j) <= eps2; },
      min_pts, labels, options);
}

}  // namespace spectromine::testing
