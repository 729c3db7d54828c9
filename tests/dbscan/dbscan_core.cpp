// DBSCAN core against the naive reference; invariance to threads and index;
// the verifier, including that it rejects planted wrong labelings.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dbscan_test_data.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/index/rtree.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/testing/dbscan_verifier.hpp"

using namespace dbscan_test;
namespace partition = spectromine::partition;
namespace testing_ = spectromine::testing;
using spectromine::labels::outlier;

TEST_CASE("dbscan equals the naive reference for every index, thread count, eps, MinPts") {
  // Blobs of varied size and spread, plus background: cores, borders, noise
  // and small clusters all occur.
  const auto f = blobs({120, 60, 25, 8}, 80, 6, 0.08, 21);
  const auto fv = f.view();
  int with_borders = 0;
  for (double eps : {0.15, 0.3, 0.6})
    for (index_t min_pts : {1, 4, 10})
      for (bool star : {false, true}) {
        const auto expect = naive_dbscan(fv, eps, min_pts, star);
        for (int threads : {1, 2, 3}) {
          auto a = run(index::brute_force_policy{{16, 64}}, fv, eps, min_pts, star, threads);
          CHECK(a.labels == expect);
          CHECK(run(index::kd_tree_policy{{3, 8, 1000}}, fv, eps, min_pts, star, threads).labels == expect);
          CHECK(run(index::kd_tree_policy{{6, 8, 1000}}, fv, eps, min_pts, star, threads).labels == expect);
          CHECK(run(index::rtree_policy<2>{}, fv, eps, min_pts, star, threads).labels == expect);
          CHECK(a.cores + a.borders + a.noise == fv.size);
          with_borders += a.borders > 0;
          const auto v = testing_::verify_dbscan(fv, eps, min_pts, a.labels, {star});
          CHECK_MESSAGE(v.ok, (v.violations.empty() ? std::string() : v.violations.front()));
        }
      }
  CHECK(with_borders > 0);  // the border rule was exercised
}

TEST_CASE("clusters are numbered by their smallest point index; MinPts = 1 makes every point a core") {
  index::feature_matrix f(6, 1);
  const float xs[6] = {10, 0, 10.5f, 0.5f, 20, 1};
  for (index_t i = 0; i < 6; ++i) f.row(i)[0] = xs[i];
  auto idx = index::brute_force(f.view());
  auto r = partition::dbscan_points(idx, 0.6, 1);
  CHECK(r.labels == std::vector<label_t>{1, 2, 1, 2, 3, 2});
  CHECK(r.clusters == 3);
  auto idx2 = index::kd_tree(f.view());
  auto r2 = partition::dbscan_points(idx2, 0.6, 3);  // {0, .5, 1}: core .5 only; 10,10.5 noise
  CHECK(r2.labels == std::vector<label_t>{outlier, 1, outlier, 1, outlier, 1});
  CHECK(r2.cores == 1);
  CHECK(r2.borders == 2);
}

TEST_CASE("border rule: nearest core wins, ties go to the smaller index") {
  // eps = 1, MinPts = 4. Two clusters of 4 points on a line; a single border
  // between them.
  auto make = [](std::vector<float> xs) {
    index::feature_matrix f(static_cast<index_t>(xs.size()), 1);
    for (index_t i = 0; i < f.size(); ++i) f.row(i)[0] = xs[static_cast<std::size_t>(i)];
    return f;
  };
  SUBCASE("tie at distance exactly 1: the core with the smaller index") {
    for (bool b_first : {true, false}) {
      std::vector<float> xs = b_first ? std::vector<float>{2.0f, 2.05f, 2.1f, 2.15f, 0.0f, -0.05f, -0.1f, -0.15f}
                                      : std::vector<float>{0.0f, -0.05f, -0.1f, -0.15f, 2.0f, 2.05f, 2.1f, 2.15f};
      xs.push_back(1.0f);
      const auto f = make(xs);
      auto idx = index::brute_force(f.view());
      const auto r = partition::dbscan_points(idx, 1.0, 4);
      REQUIRE(r.clusters == 2);
      CHECK(r.borders == 1);
      CHECK(r.core[8] == 0);
      CHECK(r.labels[8] == r.labels[0]);  // core id 0 beats core id 4
      CHECK(r.labels == naive_dbscan(f.view(), 1.0, 4));
    }
  }
  SUBCASE("nearer core wins even with a larger index") {
    const auto f = make({2.0f, 2.05f, 2.1f, 2.15f, 0.02f, -0.05f, -0.1f, -0.15f, 1.0f});
    auto idx = index::kd_tree(f.view());
    const auto r = partition::dbscan_points(idx, 1.0, 4);
    REQUIRE(r.clusters == 2);
    CHECK(r.borders == 1);
    CHECK(r.labels[8] == r.labels[4]);  // 0.98 away, versus 1.0 to the core at 2.0
    CHECK(r.labels[8] == 2);
  }
}

TEST_CASE("the verifier rejects planted wrong labelings, one invariant at a time") {
  const auto f = blobs({60, 40}, 40, 3, 0.05, 8);
  const auto fv = f.view();
  const index_t min_pts = 5;
  // The first radius giving clusters, borders and noise at once.
  double eps = 0;
  partition::dbscan_point_result r;
  for (double e = 0.05; e < 1.0 && !(r.clusters >= 2 && r.borders >= 1 && r.noise >= 1); e *= 1.1) {
    auto idx = index::brute_force(fv);
    r = partition::dbscan_points(idx, e, min_pts);
    eps = e;
  }
  REQUIRE(testing_::verify_dbscan(fv, eps, min_pts, r.labels).ok);
  REQUIRE(r.clusters >= 2);
  REQUIRE(r.borders >= 1);
  REQUIRE(r.noise >= 1);
  auto first = [&](auto pred) {
    for (index_t i = 0; i < fv.size; ++i)
      if (pred(i)) return i;
    FAIL("no such point");
    return index_t{-1};
  };
  const auto L = r.labels;
  auto core = [&](index_t i) { return r.core[static_cast<std::size_t>(i)] != 0; };

  SUBCASE("undecided point") {
    auto bad = L;
    bad[0] = 0;
    auto v = testing_::verify_dbscan(fv, eps, min_pts, bad);
    CHECK_FALSE(v.ok);
    CHECK(v.undecided);
  }
  SUBCASE("core labelled noise") {
    auto bad = L;
    bad[static_cast<std::size_t>(first(core))] = outlier;
    auto v = testing_::verify_dbscan(fv, eps, min_pts, bad);
    CHECK_FALSE(v.ok);
    CHECK(v.core_is_noise);
  }
  SUBCASE("two cores within eps split") {
    auto bad = L;
    bad[static_cast<std::size_t>(first(core))] = r.clusters + 1;
    auto v = testing_::verify_dbscan(fv, eps, min_pts, bad);
    CHECK_FALSE(v.ok);
    CHECK(v.cores_split);
  }
  SUBCASE("two clusters merged") {
    auto bad = L;
    for (auto& l : bad)
      if (l == 2) l = 1;
    auto v = testing_::verify_dbscan(fv, eps, min_pts, bad);
    CHECK_FALSE(v.ok);
    CHECK(v.cluster_disconnected);
    CHECK_FALSE(v.cores_split);
  }
  SUBCASE("border given a cluster it does not touch") {
    auto bad = L;
    const index_t b = first([&](index_t i) { return !core(i) && L[static_cast<std::size_t>(i)] > 0; });
    bad[static_cast<std::size_t>(b)] = L[static_cast<std::size_t>(b)] == 1 ? 2 : 1;
    auto v = testing_::verify_dbscan(fv, eps, min_pts, bad);
    CHECK_FALSE(v.ok);
    CHECK(v.border_orphan);
  }
  SUBCASE("border turned into noise") {
    auto bad = L;
    const index_t b = first([&](index_t i) { return !core(i) && L[static_cast<std::size_t>(i)] > 0; });
    bad[static_cast<std::size_t>(b)] = outlier;
    auto v = testing_::verify_dbscan(fv, eps, min_pts, bad);
    CHECK_FALSE(v.ok);
    CHECK(v.noise_touches_core);
  }
  SUBCASE("DBSCAN* rejects labelled borders, accepts its own result") {
    auto idx2 = index::brute_force(fv);
    const auto s = partition::dbscan_points(idx2, eps, min_pts, {true, 1});
    CHECK(testing_::verify_dbscan(fv, eps, min_pts, s.labels, {true}).ok);
    auto v = testing_::verify_dbscan(fv, eps, min_pts, L, {true});
    CHECK_FALSE(v.ok);
    CHECK(v.border_orphan);
  }
}

TEST_CASE("dbscan_points refuses bad parameters") {
  const auto f = blobs({10}, 0, 3, 0.1, 2);
  auto idx = index::brute_force(f.view());
  CHECK_THROWS_WITH_AS(partition::dbscan_points(idx, -0.5, 3), "dbscan: eps must be finite and > 0 (got -0.5)",
                       spectromine::invalid_argument);
  CHECK_THROWS_WITH_AS(partition::dbscan_points(idx, 0.5, 0), "dbscan: min_pts must be >= 1 (got 0)",
                       spectromine::invalid_argument);
  CHECK_THROWS_AS(partition::dbscan_points(idx, std::numeric_limits<double>::quiet_NaN(), 3),
                  spectromine::invalid_argument);
}

TEST_CASE("k-distances equal the naive k-th neighbor distance") {
  const auto f = blobs({50, 30}, 20, 5, 0.1, 4);
  const auto fv = f.view();
  for (index_t k : {1, 4, 9}) {
    auto got = partition::dbscan_k_distances(fv, k, 1000, 2);
    std::vector<double> expect;
    for (index_t q = 0; q < fv.size; ++q) {
      std::vector<double> d;
      for (index_t j = 0; j < fv.size; ++j) d.push_back(std::sqrt(index::canonical_squared_distance(fv, q, j)));
      std::sort(d.begin(), d.end());
      expect.push_back(d[static_cast<std::size_t>(k - 1)]);
    }
    std::sort(expect.begin(), expect.end(), std::greater<>());
    CHECK(got == expect);
  }
}

TEST_CASE("the dbscan partitioner: mask, rejected pixels, labels equal the point-level run") {
  // 6 x 7 image, 12 bands: two spectra families + a constant and a NaN pixel.
  using spectromine::cube;
  using spectromine::image_shape;
  const image_shape shape{6, 7};
  cube<float> c(shape, 12);
  auto engine = spectromine::make_engine(99, 0);
  boost::random::normal_distribution<double> normal(0.0, 0.01);
  for (index_t p = 0; p < shape.pixels(); ++p)
    for (index_t b = 0; b < 12; ++b) {
      const double base = (p % 7 < 3) ? std::sin(0.5 * static_cast<double>(b)) : static_cast<double>(b) / 12.0;
      c.storage()[static_cast<std::size_t>(p * 12 + b)] = static_cast<float>(base + normal(engine));
    }
  for (index_t b = 0; b < 12; ++b) c(0, 1, b) = 0.5f;                      // constant: rejected
  c(0, 2, 5) = std::numeric_limits<float>::quiet_NaN();                    // NaN: rejected
  spectromine::pixel_mask mask(shape, 1);
  mask(5, 6) = 0;
  mask(3, 3) = 0;
  spectromine::label_image labels(shape, 77);
  partition::dbscan_options o;
  o.eps = 0.3;
  o.min_pts = 4;
  o.threads = 2;
  const auto report = partition::dbscan<index::kd_tree_policy>(o).partition(
      c.view(), mask.view(), labels.view());
  CHECK(report.method == "dbscan");
  CHECK(report.clusters == 2);
  CHECK(labels(5, 6) == spectromine::labels::unlabeled);
  CHECK(labels(3, 3) == spectromine::labels::unlabeled);
  CHECK(labels(0, 1) == spectromine::labels::unlabeled);
  CHECK(labels(0, 2) == spectromine::labels::unlabeled);
  CHECK(report.parameters["rejected_pixels"] == 2);
  CHECK(report.parameters["masked_pixels"] == 2);
  CHECK(report.parameters["eps_source"] == "user");
  CHECK(report.parameters["index"] == "kdtree");
  CHECK(labels(1, 0) != labels(1, 5));
  CHECK(labels(1, 0) > 0);
  // Same labels from the point level on the same standardized features.
  const auto feat = partition::standardized_features(spectromine::cube_view<const float>(c.view()), mask.view());
  auto idx = index::brute_force(feat.features.view());
  const auto r = partition::dbscan_points(idx, 0.3, 4);
  for (std::size_t k = 0; k < feat.pixel.size(); ++k) CHECK(labels[feat.pixel[k]] == r.labels[k]);
  // Bad shapes are refused.
  spectromine::label_image wrong(image_shape{2, 2});
  CHECK_THROWS_AS(partition::dbscan<>(o).partition(spectromine::cube_view<const float>(c.view()), mask.view(), wrong.view()),
                  spectromine::invalid_argument);
  o.eps = -1.0;
  CHECK_THROWS_WITH_AS(partition::dbscan<>(o).partition(spectromine::cube_view<const float>(c.view()), mask.view(), labels.view()),
                       "dbscan: eps must be finite and > 0 (got -1)", spectromine::invalid_argument);
}
