// spectromine/partition/agglomerative.hpp: average-linkage (UPGMA)
// agglomerative clustering cut at a distance, in O(n^2) time.
//
// Ito 2024 reduce the Voronoi site candidates by hierarchical clustering of
// the symmetric percent-point matrix cut at 3.719 (docs/METHODS.md section
// 4.3); their code is O(n^3). Here: the nearest-neighbour chain algorithm
// (Murtagh 1983; Muellner 2011, "Modern hierarchical, agglomerative
// clustering algorithms", section 3). Average linkage is reducible
// (d(i u j, k) >= min(d(i, k), d(j, k))), so NN-chain produces exactly the
// dendrogram of the greedy "merge the closest pair" algorithm; it needs
// O(n) work per merge instead of a search of the whole matrix.
//
// The cut: two clusters merge while their average-linkage distance is
// <= cut (the flat clusters of scipy's fcluster(..., t=cut,
// criterion="distance") on an average-linkage tree). Shortcut: when a
// reciprocal nearest-neighbour pair is farther apart than the cut, both are
// final -- every other cluster is already farther from them, and averages of
// distances above the cut stay above it -- so they leave the active set and
// the work above the cut is skipped.
//
// Input: a dense symmetric n x n dissimilarity matrix (row-major; the
// diagonal is ignored), which is overwritten (Lance-Williams updates happen in
// place: 8 n^2 bytes for double, nothing else of that order). NaN entries
// are rejected.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::partition {

struct agglomerative_options {
  double cut = 3.7190164854556804;  // merge while distance <= cut (Ito 2024: Phi^-1(1 - 1e-4))
  void validate() const {
    require(!std::isnan(cut), "agglomerative", "cut", "must not be NaN", cut);
  }
};

// One merge of the dendrogram below the cut: the clusters represented by
// items a and b (their lowest member ids at the time) joined at `distance`,
// giving a cluster of `size` items.
struct merge_step {
  index_t a = 0, b = 0;
  double distance = 0;
  index_t size = 0;
};

struct flat_clustering {
  std::vector<index_t> cluster_of;          // item -> cluster 0..K-1 (ordered by lowest member)
  std::vector<std::vector<index_t>> members;  // cluster -> its items, ascending
  std::vector<merge_step> merges;           // in the order NN-chain performed them
  index_t clusters() const noexcept { return static_cast<index_t>(members.size()); }
};

// Average linkage on `matrix` (n x n, overwritten), cut at options.cut.
template <class T>
flat_clustering average_linkage(std::span<T> matrix, index_t n,
                                const agglomerative_options& options = {}) {
  static_assert(std::is_floating_point_v<T>, "average_linkage: the matrix must hold float or double");
  constexpr std::string_view component = "agglomerative";
  options.validate();
  require(n >= 0, component, "n", "must be >= 0", n);
  require(static_cast<index_t>(matrix.size()) == n * n, component, "matrix size",
          "must be n * n = " + std::to_string(n * n), matrix.size());
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j)
      if (i != j)
        require(!std::isnan(matrix[static_cast<std::size_t>(i * n + j)]), component,
                "matrix(" + std::to_string(i) + ", " + std::to_string(j) + ")",
                "must not be NaN", matrix[static_cast<std::size_t>(i * n + j)]);

  const T cut = static_cast<T>(options.cut);
  auto D = [&](index_t i, index_t j) -> T& { return matrix[static_cast<std::size_t>(i * n + j)]; };
  std::vector<char> active(static_cast<std::size_t>(n), 1);
  std::vector<index_t> size(static_cast<std::size_t>(n), 1);
  std::vector<index_t> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), index_t{0});
  flat_clustering result;
  std::vector<index_t> chain;
  chain.reserve(static_cast<std::size_t>(n));
  index_t next_start = 0;  // lowest possibly active item (to start a new chain)
  index_t remaining = n;
  while (remaining > 0) {
    if (chain.empty()) {
      while (!active[static_cast<std::size_t>(next_start)]) ++next_start;
      chain.push_back(next_start);
    }
    const index_t a = chain.back();
    const index_t prev = chain.size() >= 2 ? chain[chain.size() - 2] : -1;
    // Nearest active neighbour of a; ties prefer the previous chain element
    // (so the chain ends in a reciprocal pair), then the lowest index.
    index_t b = -1;
    T best = std::numeric_limits<T>::infinity();
    for (index_t k = 0; k < n; ++k) {
      if (k == a || !active[static_cast<std::size_t>(k)]) continue;
      const T d = D(a, k);
      if (d < best || b < 0) {
        best = d;
        b = k;
      }
    }
    if (prev >= 0 && D(a, prev) == best) b = prev;
    if (b < 0) {  // a is the last active cluster
      active[static_cast<std::size_t>(a)] = 0;
      --remaining;
      chain.clear();
      continue;
    }
    if (b != prev) {
      chain.push_back(b);
      continue;
    }
    // Reciprocal nearest neighbours (a, b).
    chain.pop_back();
    chain.pop_back();
    if (best > cut) {  // both final (see the header comment)
      active[static_cast<std::size_t>(a)] = 0;
      active[static_cast<std::size_t>(b)] = 0;
      remaining -= 2;
      continue;
    }
    const index_t keep = std::min(a, b), gone = std::max(a, b);
    const index_t na = size[static_cast<std::size_t>(keep)], nb = size[static_cast<std::size_t>(gone)];
    const T wa = static_cast<T>(na) / static_cast<T>(na + nb);
    const T wb = static_cast<T>(nb) / static_cast<T>(na + nb);
    active[static_cast<std::size_t>(gone)] = 0;
    for (index_t k = 0; k < n; ++k) {
      if (k == keep || !active[static_cast<std::size_t>(k)]) continue;
      const T d = wa * D(keep, k) + wb * D(gone, k);
      D(keep, k) = d;
      D(k, keep) = d;
    }
    size[static_cast<std::size_t>(keep)] = na + nb;
    parent[static_cast<std::size_t>(gone)] = keep;
    result.merges.push_back({keep, gone, static_cast<double>(best), na + nb});
    --remaining;
  }
  // Flat clusters: follow parents (a merged item points at a lower id).
  result.cluster_of.assign(static_cast<std::size_t>(n), -1);
  for (index_t i = 0; i < n; ++i) {
    index_t r = i;
    while (parent[static_cast<std::size_t>(r)] != r) r = parent[static_cast<std::size_t>(r)];
    if (r == i) {
      result.cluster_of[static_cast<std::size_t>(i)] = result.clusters();
      result.members.emplace_back();
    } else {
      result.cluster_of[static_cast<std::size_t>(i)] = result.cluster_of[static_cast<std::size_t>(r)];
    }
    result.members[static_cast<std::size_t>(result.cluster_of[static_cast<std::size_t>(i)])]
        .push_back(i);
  }
  return result;
}

}  // namespace spectromine::partition
