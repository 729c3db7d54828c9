// Every threaded stage of the pipeline on the demo cube (masked to its sample
// pixels) gives bit-identical results with 1, 2 and 3 threads (the
// parallel_for contract, core/parallel.hpp):
// normalize_cube, DBSCAN (brute force and kd-tree, auto eps), k-means, the
// window-core and fill repairs. Under ThreadSanitizer (scripts/test-sanitizers.sh
// runs this suite) the same runs check that no two workers race: this file is
// the cheap TSan coverage of the threaded paths (one translation unit instead
// of a TSan build of every suite; `--full` runs TSan on every suite).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/partition/kmeans.hpp"
#include "spectromine/preprocess/normalize.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/window_core.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;

namespace {

const std::string demo = std::string(SPECTROMINE_TEST_DATA_DIR) + "/demo/";

struct pipeline_result {
  std::vector<float> normalized;
  sm::label_image dbscan_brute, dbscan_kd, kmeans, repaired;
  sm::label_t clusters = 0;
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

pipeline_result run_pipeline(const sm::cube<float>& raw, const sm::energy_grid& energy,
                             sm::mask_view mask, int threads) {
  const auto in = sm::view_of(raw);
  const sm::image_shape shape = in.shape();
  pipeline_result r;
  sm::cube<float> norm(shape, in.bands());
  sm::normalize_cube_options no;
  no.threads = threads;
  sm::normalize_cube(in, energy, no, sm::mutable_view_of(norm), mask);
  const auto nv = sm::view_of(norm);
  for (sm::index_t p = 0; p < nv.pixel_count(); ++p)
    for (float x : nv.spectrum(p)) r.normalized.push_back(x);

  sp::dbscan_options d;
  d.threads = threads;
  r.dbscan_brute = sm::label_image(shape, 0);
  r.clusters = sp::dbscan<>(d).partition(nv, mask, r.dbscan_brute.view()).clusters;
  r.dbscan_kd = sm::label_image(shape, 0);
  sp::dbscan<sm::index::kd_tree_policy>(d).partition(nv, mask, r.dbscan_kd.view());

  sp::kmeans_options k;
  k.k = 4;
  k.seed = 7;
  k.threads = threads;
  r.kmeans = sm::label_image(shape, 0);
  sp::kmeans(k).partition(nv, mask, r.kmeans.view());

  r.repaired = r.dbscan_brute;
  sm::repair::window_core wc;
  wc.threads = threads;
  wc.apply(r.repaired.view(), mask);
  sm::repair::fill f;
  f.threads = threads;
  f.apply(r.repaired.view(), mask);
  return r;
}

}  // namespace

TEST_SUITE("threads") {

TEST_CASE("the threaded pipeline stages give identical results for 1, 2 and 3 threads") {
  const auto raw = sm::io::read_npy_cube<float>(demo + "cube.npy");
  const auto energy = sm::io::read_energy_list(demo + "energy.txt");
  // The sample mask: the demo's truth without its empty border (4 phases).
  const auto truth = sm::io::read_npy_labels(demo + "truth.npy");
  sm::pixel_mask sample(truth.shape(), 0);
  for (std::size_t p = 0; p < truth.storage().size(); ++p)
    sample.storage()[p] = truth.storage()[p] > 0 ? 1 : 0;
  const sm::mask_view mask(sample.view());
  const auto one = run_pipeline(raw, energy, mask, 1);
  // The runs below compare real clusterings, not empty label images.
  CAPTURE(one.clusters);
  CHECK(one.clusters >= 2);
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    const auto t = run_pipeline(raw, energy, mask, threads);
    CHECK(same_bits(t.normalized, one.normalized));
    CHECK(t.dbscan_brute.storage() == one.dbscan_brute.storage());
    CHECK(t.dbscan_kd.storage() == one.dbscan_kd.storage());
    CHECK(t.kmeans.storage() == one.kmeans.storage());
    CHECK(t.repaired.storage() == one.repaired.storage());
  }
  // Every index gives the same DBSCAN labels (index/concept.hpp's contract).
  CHECK(one.dbscan_kd.storage() == one.dbscan_brute.storage());
}

}  // TEST_SUITE("threads")
