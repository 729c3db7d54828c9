// Every index policy against the naive all-pairs answer: the same neighbor
// sets (exact), early stop, erasure, batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "dbscan_test_data.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/index/rtree.hpp"

using namespace dbscan_test;

namespace {

std::vector<index_t> naive_neighbors(index::feature_view f, index_t q, double eps,
                                     const std::vector<std::uint8_t>* live = nullptr) {
  std::vector<index_t> out;
  for (index_t j = 0; j < f.size; ++j)
    if ((!live || (*live)[static_cast<std::size_t>(j)]) &&
        index::canonical_squared_distance(f, q, j) <= eps * eps)
      out.push_back(j);
  return out;
}

template <class I>
std::vector<index_t> neighbors(const I& idx, index_t q, double eps) {
  std::vector<index_t> out;
  idx.radius_search(q, eps, [&](index_t j, double d) {
    CHECK(d <= eps);
    out.push_back(j);
    return true;
  });
  std::sort(out.begin(), out.end());
  CHECK(std::adjacent_find(out.begin(), out.end()) == out.end());  // no duplicates
  return out;
}

// Checks an index against the naive answer for queries, radii, after erasures.
template <class Index>
void check_index(Index idx, index::feature_view f, std::vector<double> radii) {
  std::vector<std::uint8_t> live(static_cast<std::size_t>(f.size), 1);
  for (int round = 0; round < 2; ++round) {
    for (double eps : radii)
      for (index_t q = 0; q < f.size; q += 7) {
        auto expect = naive_neighbors(f, q, eps, &live);
        REQUIRE(neighbors(idx, q, eps) == expect);
      }
    // Erase every third point (and q's own entries), then query again.
    for (index_t j = 0; j < f.size; j += 3) {
      idx.erase(j);
      live[static_cast<std::size_t>(j)] = 0;
      CHECK_FALSE(idx.is_live(j));
    }
    CHECK(idx.is_live(1));
  }
}

}  // namespace

TEST_CASE("indexes return exactly the naive neighbor sets (random blobs, 12-d)") {
  const auto f = blobs({150, 90, 40}, 120, 12, 0.05, 11);
  const auto fv = f.view();
  const std::vector<double> radii{0.0, 0.12, 0.25, 0.6, 3.0};
  SUBCASE("brute force") { check_index(index::brute_force(fv), fv, radii); }
  SUBCASE("brute force, tiny blocks (repacking, many GEMMs)") {
    check_index(index::brute_force(fv, {3, 5}), fv, radii);
  }
  SUBCASE("kd-tree, 3 projected dims (filter + exact check)") {
    check_index(index::kd_tree(fv, {3, 4, 1000}), fv, radii);
  }
  SUBCASE("kd-tree, no projection (K >= dim)") { check_index(index::kd_tree(fv, {16, 8, 1000}), fv, radii); }
  SUBCASE("rtree<2> on a projection") { check_index(index::rtree<2>(fv), fv, radii); }
  SUBCASE("rtree<8>") { check_index(index::rtree<8>(fv), fv, radii); }
}

TEST_CASE("indexes on low-dimensional data with duplicates (ties at distance 0 and at eps)") {
  // Integer grid points: many exact ties, distances exactly at eps = 1.
  index::feature_matrix f(200, 2);
  for (index_t i = 0; i < 200; ++i) {
    f.row(i)[0] = static_cast<float>(i % 10);
    f.row(i)[1] = static_cast<float>((i / 10) % 7);
  }
  const std::vector<double> radii{0.0, 1.0, std::sqrt(2.0), 2.5};
  check_index(index::brute_force(f.view()), f.view(), radii);
  check_index(index::kd_tree(f.view(), {2, 4, 100}), f.view(), radii);
  check_index(index::rtree<2>(f.view()), f.view(), radii);
  check_index(index::kd_tree(f.view(), {1, 4, 100}), f.view(), radii);  // projection to 1-d
}

TEST_CASE("queries stop when the sink says so") {
  const auto f = blobs({300}, 0, 8, 0.02, 3);
  auto check_stop = [&](const auto& idx) {
    int calls = 0;
    idx.radius_search(0, 10.0, [&](index_t, double) { return ++calls < 5; });
    CHECK(calls == 5);
  };
  check_stop(index::brute_force(f.view()));
  check_stop(index::kd_tree(f.view()));
  check_stop(index::rtree<3>(f.view()));
}

TEST_CASE("brute force batches equal single queries, and stop per query") {
  const auto f = blobs({100, 100}, 50, 20, 0.1, 5);
  index::brute_force idx(f.view(), {8, 32});
  std::vector<index_t> qs;
  for (index_t q = 0; q < f.size(); q += 3) qs.push_back(q);
  std::vector<std::vector<index_t>> got(qs.size());
  std::vector<int> calls(qs.size(), 0);
  idx.radius_search_batch(std::span<const index_t>(qs), 0.5, [&](std::size_t k, index_t j, double) {
    got[k].push_back(j);
    return ++calls[k] < 1000;
  });
  for (std::size_t k = 0; k < qs.size(); ++k) {
    std::sort(got[k].begin(), got[k].end());
    CHECK(got[k] == naive_neighbors(f.view(), qs[k], 0.5));
  }
  std::vector<int> stopped(qs.size(), 0);
  idx.radius_search_batch(std::span<const index_t>(qs), 0.5, [&](std::size_t k, index_t, double) {
    return ++stopped[k] < 2;
  });
  for (std::size_t k = 0; k < qs.size(); ++k) CHECK(stopped[k] == std::min<int>(2, static_cast<int>(got[k].size())));
}

TEST_CASE("bad input is refused with a clear message") {
  const auto f = blobs({10}, 0, 4, 0.1, 1);
  index::brute_force idx(f.view());
  CHECK_THROWS_WITH_AS(idx.radius_search(0, -0.5, [](index_t, double) { return true; }),
                       "brute_force: eps must be finite and >= 0 (got -0.5)",
                       spectromine::invalid_argument);
  CHECK_THROWS_AS(index::kd_tree(f.view(), {0, 4, 10}), spectromine::invalid_argument);
  index::feature_view bad{nullptr, 5, 4, 4};
  CHECK_THROWS_AS(index::brute_force{bad}, spectromine::invalid_argument);
}
