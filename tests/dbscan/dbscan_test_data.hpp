// Shared helpers of the dbscan suite: seeded random point sets and the
// naive reference DBSCAN (O(n^2) memory, Ester et al. 1996 expansion) with
// the library's documented conventions (numbering by smallest core index,
// border -> nearest core, ties by smaller index).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/random.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/partition/dbscan.hpp"

namespace dbscan_test {

using spectromine::index_t;
using spectromine::label_t;
namespace index = spectromine::index;

// Gaussian blobs (sizes given) of spread `sigma` around random centers in
// [-1, 1]^dim, plus `background` uniform points; rows shuffled.
inline index::feature_matrix blobs(std::vector<index_t> sizes, index_t background, index_t dim,
                                   double sigma, std::uint64_t seed) {
  auto engine = spectromine::make_engine(seed, 7);
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  boost::random::uniform_real_distribution<double> uniform(-1.0, 1.0);
  index_t n = background;
  for (auto s : sizes) n += s;
  index::feature_matrix f(n, dim);
  std::vector<index_t> order(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  for (index_t i = n - 1; i > 0; --i) {  // Fisher-Yates with our engine
    const auto j = static_cast<index_t>(engine() % static_cast<std::uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  index_t next = 0;
  for (auto s : sizes) {
    std::vector<double> c(static_cast<std::size_t>(dim));
    for (auto& x : c) x = uniform(engine);
    for (index_t k = 0; k < s; ++k) {
      auto r = f.row(order[static_cast<std::size_t>(next++)]);
      for (index_t t = 0; t < dim; ++t) r[t] = static_cast<float>(c[t] + sigma * normal(engine));
    }
  }
  for (index_t k = 0; k < background; ++k) {
    auto r = f.row(order[static_cast<std::size_t>(next++)]);
    for (index_t t = 0; t < dim; ++t) r[t] = static_cast<float>(uniform(engine));
  }
  return f;
}

// Naive reference: all-pairs neighbor matrix, then textbook expansion.
inline std::vector<label_t> naive_dbscan(index::feature_view f, double eps, index_t min_pts,
                                         bool star = false) {
  const index_t n = f.size;
  const double eps2 = eps * eps;
  std::vector<std::vector<index_t>> nb(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j)
      if (index::canonical_squared_distance(f, i, j) <= eps2) nb[static_cast<std::size_t>(i)].push_back(j);
  std::vector<bool> core(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i)
    core[static_cast<std::size_t>(i)] = static_cast<index_t>(nb[static_cast<std::size_t>(i)].size()) >= min_pts;
  std::vector<label_t> label(static_cast<std::size_t>(n), 0);
  label_t next = 0;
  for (index_t s = 0; s < n; ++s) {
    if (!core[static_cast<std::size_t>(s)] || label[static_cast<std::size_t>(s)]) continue;
    ++next;
    std::deque<index_t> q{s};
    label[static_cast<std::size_t>(s)] = next;
    while (!q.empty()) {
      const index_t p = q.front();
      q.pop_front();
      for (index_t j : nb[static_cast<std::size_t>(p)])
        if (core[static_cast<std::size_t>(j)] && !label[static_cast<std::size_t>(j)]) {
          label[static_cast<std::size_t>(j)] = next;
          q.push_back(j);
        }
    }
  }
  for (index_t i = 0; i < n; ++i) {
    if (core[static_cast<std::size_t>(i)]) continue;
    index_t best = -1;
    double bd = std::numeric_limits<double>::infinity();
    if (!star)
      for (index_t j : nb[static_cast<std::size_t>(i)]) {
        if (!core[static_cast<std::size_t>(j)]) continue;
        const double d = std::sqrt(index::canonical_squared_distance(f, i, j));
        if (d < bd || (d == bd && j < best)) bd = d, best = j;
      }
    label[static_cast<std::size_t>(i)] = best >= 0 ? label[static_cast<std::size_t>(best)] : spectromine::labels::outlier;
  }
  return label;
}

// DBSCAN of f through the given index policy (built with `threads`).
template <class Policy>
spectromine::partition::dbscan_point_result run(const Policy& policy, index::feature_view f,
                                                double eps, index_t min_pts, bool star,
                                                int threads) {
  auto idx = policy.build(f, threads);
  return spectromine::partition::dbscan_points(idx, eps, min_pts, {star, threads});
}

}  // namespace dbscan_test
