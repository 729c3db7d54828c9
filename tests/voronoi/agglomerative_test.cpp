// agglomerative: NN-chain average linkage cut at a distance equals the naive
// O(n^3) greedy UPGMA (merge the globally closest pair, distances recomputed
// from scratch as means over members), which is what scipy's
// linkage(method="average") + fcluster(t, "distance") compute.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/random.hpp"
#include "spectromine/partition/agglomerative.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;

namespace {

// Naive greedy UPGMA; returns cluster id per item (ids by lowest member).
std::vector<sm::index_t> naive_upgma(const std::vector<double>& d, sm::index_t n, double cut) {
  std::vector<std::vector<sm::index_t>> clusters;
  for (sm::index_t i = 0; i < n; ++i) clusters.push_back({i});
  auto avg = [&](const auto& a, const auto& b) {
    double s = 0;
    for (auto i : a)
      for (auto j : b) s += d[static_cast<std::size_t>(i * n + j)];
    return s / static_cast<double>(a.size() * b.size());
  };
  for (;;) {
    double best = std::numeric_limits<double>::infinity();
    std::size_t bi = 0, bj = 0;
    for (std::size_t i = 0; i < clusters.size(); ++i)
      for (std::size_t j = i + 1; j < clusters.size(); ++j) {
        const double v = avg(clusters[i], clusters[j]);
        if (v < best) {
          best = v;
          bi = i;
          bj = j;
        }
      }
    if (clusters.size() < 2 || best > cut) break;
    clusters[bi].insert(clusters[bi].end(), clusters[bj].begin(), clusters[bj].end());
    clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  std::vector<sm::index_t> lowest(clusters.size());
  for (std::size_t c = 0; c < clusters.size(); ++c)
    lowest[c] = *std::min_element(clusters[c].begin(), clusters[c].end());
  std::vector<std::size_t> order(clusters.size());
  for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return lowest[a] < lowest[b]; });
  std::vector<sm::index_t> out(static_cast<std::size_t>(n));
  for (std::size_t r = 0; r < order.size(); ++r)
    for (auto i : clusters[order[r]]) out[static_cast<std::size_t>(i)] = static_cast<sm::index_t>(r);
  return out;
}

// Points in a few Gaussian blobs in 3-D: Euclidean distances (no ties).
std::vector<double> blob_distances(sm::index_t n, std::uint64_t seed) {
  auto eng = sm::make_engine(seed);
  boost::random::normal_distribution<double> g(0.0, 1.0);
  boost::random::uniform_real_distribution<double> u(0.0, 10.0);
  std::vector<std::array<double, 3>> centres(5), pts(static_cast<std::size_t>(n));
  for (auto& c : centres) c = {u(eng), u(eng), u(eng)};
  for (sm::index_t i = 0; i < n; ++i) {
    const auto& c = centres[static_cast<std::size_t>(i) % centres.size()];
    const double spread = 0.3 + 0.2 * static_cast<double>(i % 3);
    pts[static_cast<std::size_t>(i)] = {c[0] + spread * g(eng), c[1] + spread * g(eng), c[2] + spread * g(eng)};
  }
  std::vector<double> d(static_cast<std::size_t>(n * n));
  for (sm::index_t i = 0; i < n; ++i)
    for (sm::index_t j = 0; j < n; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) {
        const double t = pts[static_cast<std::size_t>(i)][k] - pts[static_cast<std::size_t>(j)][k];
        s += t * t;
      }
      d[static_cast<std::size_t>(i * n + j)] = std::sqrt(s);
    }
  return d;
}

}  // namespace

TEST_CASE("agglomerative: NN-chain average linkage equals naive UPGMA at every cut") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const sm::index_t n = 90;
    const auto d = blob_distances(n, seed);
    for (double cut : {0.0, 0.4, 0.8, 1.5, 3.0, 6.0, 100.0}) {
      CAPTURE(seed);
      CAPTURE(cut);
      auto work = d;
      const auto flat = sp::average_linkage(std::span<double>(work), n, sp::agglomerative_options{cut});
      const auto expect = naive_upgma(d, n, cut);
      CHECK(flat.cluster_of == expect);
      sm::index_t total = 0;
      for (const auto& m : flat.members) total += static_cast<sm::index_t>(m.size());
      CHECK(total == n);
      for (const auto& step : flat.merges) CHECK(step.distance <= cut);
      if (cut >= 100.0) CHECK(flat.clusters() == 1);
      if (cut == 0.0) CHECK(flat.clusters() == n);
    }
  }
}

TEST_CASE("agglomerative: float matrices, tiny inputs, bad input") {
  const sm::index_t n = 40;
  const auto d = blob_distances(n, 9);
  std::vector<float> f(d.begin(), d.end());
  const auto flat = sp::average_linkage(std::span<float>(f), n, sp::agglomerative_options{1.0});
  CHECK(flat.cluster_of == naive_upgma(d, n, 1.0));
  std::vector<double> empty;
  CHECK(sp::average_linkage(std::span<double>(empty), 0).clusters() == 0);
  std::vector<double> one{0.0};
  CHECK(sp::average_linkage(std::span<double>(one), 1).clusters() == 1);
  std::vector<double> bad(4, 1.0);
  bad[1] = std::nan("");
  CHECK_THROWS_WITH_AS(sp::average_linkage(std::span<double>(bad), 2),
                       doctest::Contains("agglomerative: matrix(0, 1) must not be NaN"),
                       sm::invalid_argument);
  std::vector<double> wrong(5, 1.0);
  CHECK_THROWS_AS(sp::average_linkage(std::span<double>(wrong), 2), sm::invalid_argument);
}
