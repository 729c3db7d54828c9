// Every index policy against the naive O(n^2) oracle (dbscan_test_data.hpp)
// on scenes made from REAL reference spectra with physical noise, for several
// radii (the auto eps, below it: borders and noise; above it) and thread
// counts; on full standardized spectra and on 10 PCA features. Plus the
// random-data cases the real scenes do not reach (MinPts > 32: the border
// re-query path and sparse stored edges) and refusal of non-finite features.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "dbscan_scene.hpp"
#include "dbscan_test_data.hpp"
#include "spectromine/analysis/pca.hpp"
#include "spectromine/index/any.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/index/rtree.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/testing/dbscan_verifier.hpp"

using namespace dbscan_test;
namespace partition = spectromine::partition;

namespace {

// Runs every index policy and thread count on f and checks each against the
// oracle; returns the oracle's labels.
void check_all_policies(index::feature_view f, double eps, index_t min_pts, bool star,
                        const std::string& what) {
  const auto expect = naive_dbscan(f, eps, min_pts, star);
  CAPTURE(what);
  CAPTURE(eps);
  CAPTURE(min_pts);
  CAPTURE(star);
  // Every policy on one thread and on three (uneven chunks); the run-time
  // policy (the CLI's) on two.
  for (int threads : {1, 3}) {
    CAPTURE(threads);
    const auto a = run(index::brute_force_policy{}, f, eps, min_pts, star, threads);
    CHECK(a.labels == expect);
    CHECK(a.cores + a.borders + a.noise == f.size);
    CHECK(run(index::brute_force_policy{{16, 100}}, f, eps, min_pts, star, threads).labels == expect);
    CHECK(run(index::kd_tree_policy{}, f, eps, min_pts, star, threads).labels == expect);
    CHECK(run(index::kd_tree_policy{{3, 16, 500}}, f, eps, min_pts, star, threads).labels == expect);
    CHECK(run(index::rtree_policy<4>{}, f, eps, min_pts, star, threads).labels == expect);
  }
  for (const char* name : {"brute", "kdtree", "rtree"})
    CHECK(run(index::any_policy::from_name(name), f, eps, min_pts, star, 2).labels == expect);
}

const dbscan_scene::scene& small_scene() {
  // 48 x 48, 160 energies, a 6 x 6 chromite needle: ~1,460 sample pixels,
  // small enough for the O(n^2) oracle, large enough for the parallel
  // expansion batches (>= 64 queries).
  static const dbscan_scene::scene s = dbscan_scene::make_scene(SPECTROMINE_TEST_DATA_DIR, 48, 160, 6, 77);
  return s;
}

// Top-k PCA scores of the standardized spectra, as the partitioner computes
// them (analysis/pca.hpp).
index::feature_matrix pca_features(const index::feature_matrix& fm, index_t k) {
  const index_t n = fm.size();
  const spectromine::cube_view<const float> as_cube(fm.row_pointer(0), spectromine::image_shape{1, n}, fm.dim(),
                                                    n * fm.stride(), fm.stride());
  spectromine::pca_options po;
  po.components = k;
  const auto model = spectromine::fit_pca(as_cube, spectromine::mask_view{}, po);
  index::feature_matrix out(n, k);
  spectromine::projection_options pj;
  pj.components = k;
  spectromine::project(model, as_cube,
                       spectromine::cube_view<float>(out.row_pointer(0), spectromine::image_shape{1, n}, k,
                                                     n * out.stride(), out.stride()),
                       spectromine::mask_view{}, pj);
  return out;
}

}  // namespace

TEST_CASE("real-reference scene: every index equals the naive oracle (standardized spectra)") {
  const auto& s = small_scene();
  const auto feat = partition::standardized_features(spectromine::cube_view<const float>(s.normalized.view()),
                                                     s.mask.view());
  const auto fv = feat.features.view();
  REQUIRE(fv.size > 1000);
  const double auto_eps =
      partition::dbscan_auto_eps(spectromine::cube_view<const float>(s.normalized.view()), s.mask.view()).eps;
  // Below the auto eps the noise tail breaks the phases into cores, borders
  // and noise; above it the needle merges into the majority.
  const std::pair<double, index_t> cases[] = {{0.8 * auto_eps, 5}, {0.8 * auto_eps, 23}, {0.8 * auto_eps, 60},
                                              {auto_eps, 23},       {auto_eps, 60},       {1.6 * auto_eps, 23}};
  for (const auto& [eps, min_pts] : cases) check_all_policies(fv, eps, min_pts, false, "standardized spectra");
  check_all_policies(fv, 0.8 * auto_eps, 23, true, "standardized spectra, DBSCAN*");
  // The case above exercised every kind of point.
  auto idx = index::brute_force(fv);
  const auto r = partition::dbscan_points(idx, 0.8 * auto_eps, 23);
  CHECK(r.cores > 0);
  CHECK(r.borders > 0);
  CHECK(r.noise > 0);
}

TEST_CASE("real-reference scene: every index equals the naive oracle (10 PCA features)") {
  const auto& s = small_scene();
  const auto feat = partition::standardized_features(spectromine::cube_view<const float>(s.normalized.view()),
                                                     s.mask.view());
  const auto pf = pca_features(feat.features, 10);
  for (double eps : {0.035, 0.05, 0.08})
    check_all_policies(pf.view(), eps, 23, false, "10 PCA features");
}

TEST_CASE("random blobs, MinPts > 32: borders re-queried, stored edges sparse") {
  const auto f = blobs({150, 90, 45}, 60, 5, 0.1, 31);
  for (double eps : {0.2, 0.35})
    for (index_t min_pts : {33, 50})
      for (bool star : {false, true}) check_all_policies(f.view(), eps, min_pts, star, "blobs");
}

TEST_CASE("non-finite features are refused by every index with a clear message") {
  auto f = blobs({20}, 0, 4, 0.1, 3);
  f.row(7)[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(index::brute_force(f.view()), "brute_force: features (row 7, column 2) must be finite (got NaN)",
                       spectromine::invalid_argument);
  CHECK_THROWS_AS(index::kd_tree(f.view()), spectromine::invalid_argument);
  CHECK_THROWS_AS(index::rtree<3>(f.view()), spectromine::invalid_argument);
  f.row(7)[2] = 0.0f;
  f.row(19)[3] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(index::brute_force(f.view()), spectromine::invalid_argument);
  CHECK_THROWS_AS(index::kd_tree(f.view()), spectromine::invalid_argument);
  f.row(19)[3] = 1.0f;
  CHECK_NOTHROW(index::kd_tree(f.view()));
}
