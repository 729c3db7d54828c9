// DBSCAN on scenes made from real reference spectra with physical noise:
// eps from the noise model separates the phases and keeps a 10 x 10 needle
// as its own cluster, with no parameter set by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "dbscan_scene.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/preprocess/standardize.hpp"
#include "spectromine/testing/dbscan_verifier.hpp"

namespace partition = spectromine::partition;
namespace sx = spectromine::index;
using spectromine::index_t;
using spectromine::label_t;

namespace {

const dbscan_scene::scene& needle_scene() {
  static const dbscan_scene::scene s = dbscan_scene::make_scene(SPECTROMINE_TEST_DATA_DIR, 100, 160, 10, 2024);
  return s;
}

// For each truth phase: the most frequent label and the fraction carrying it.
struct phase_match {
  label_t label;
  double purity;
};
std::map<label_t, phase_match> match(const spectromine::label_image& truth, const spectromine::label_image& labels) {
  std::map<label_t, std::map<label_t, index_t>> counts;
  for (index_t p = 0; p < truth.pixel_count(); ++p)
    if (truth[p] > 0) ++counts[truth[p]][labels[p]];
  std::map<label_t, phase_match> out;
  for (const auto& [phase, by_label] : counts) {
    index_t total = 0, best = 0;
    label_t best_label = 0;
    for (const auto& [l, n] : by_label) {
      total += n;
      if (n > best) best = n, best_label = l;
    }
    out[phase] = {best_label, static_cast<double>(best) / static_cast<double>(total)};
  }
  return out;
}

}  // namespace

TEST_CASE("auto eps: the first-order noise model agrees with a full count-level simulation") {
  const auto& s = needle_scene();
  const auto& spec = s.phases[0];
  const index_t bands = static_cast<index_t>(spec.size());
  spectromine::cube<double> one(spectromine::image_shape{1, 1}, bands);
  std::copy(spec.begin(), spec.end(), one.storage().begin());
  partition::dbscan_auto_eps_options o;
  o.sample_pixels = 1;
  o.draws_per_pixel = 20000;
  const auto lin = partition::dbscan_auto_eps(spectromine::cube_view<const double>(one.view()), {}, o);
  // Full simulation: counts drawn, ln taken, normalized, standardized.
  const index_t pairs = 20000;
  const auto copies = spectromine::noisy_copies(spectromine::scmos_noise{}, o.conditions,
                                                std::span<const double>(spec), 2 * pairs, {.seed = 5});
  std::vector<double> d;
  std::vector<double> z1(spec.size()), z2(spec.size());
  for (index_t k = 0; k < pairs; ++k) {
    REQUIRE(spectromine::standardize(std::span<const double>(copies.data() + 2 * k * bands, spec.size()), std::span<double>(z1)));
    REQUIRE(spectromine::standardize(std::span<const double>(copies.data() + (2 * k + 1) * bands, spec.size()), std::span<double>(z2)));
    double s2 = 0;
    for (std::size_t b = 0; b < spec.size(); ++b) s2 += (z1[b] - z2[b]) * (z1[b] - z2[b]);
    d.push_back(std::sqrt(s2));
  }
  std::sort(d.begin(), d.end());
  const double q999 = d[static_cast<std::size_t>(0.999 * static_cast<double>(pairs)) - 1];
  const double median = d[d.size() / 2];
  MESSAGE("auto eps " << lin.eps << " vs simulated " << q999 << "; median " << lin.median << " vs " << median);
  CHECK(lin.median == doctest::Approx(median).epsilon(0.02));
  CHECK(lin.eps == doctest::Approx(q999).epsilon(0.05));
  CHECK(lin.eps > lin.median);
}

TEST_CASE("needle scene (100 x 100, 10 x 10 needle, physical noise): eps auto separates every phase") {
  const auto& s = needle_scene();
  spectromine::label_image labels(s.truth.shape());
  partition::dbscan_options o;  // eps auto, MinPts auto: nothing set by hand
  o.threads = 2;
  const auto report = partition::dbscan<sx::kd_tree_policy>(o).partition(
      spectromine::cube_view<const float>(s.normalized.view()), s.mask.view(), labels.view());
  MESSAGE("report: " << report.parameters.dump());
  CHECK(report.parameters["eps_source"] == "auto");
  const auto m = match(s.truth, labels);
  REQUIRE(m.size() == 3);
  CHECK(m.at(1).label > 0);
  CHECK(m.at(2).label > 0);
  CHECK(m.at(3).label > 0);
  CHECK(m.at(1).label != m.at(2).label);
  CHECK(m.at(1).label != m.at(3).label);
  CHECK(m.at(2).label != m.at(3).label);
  CHECK(m.at(1).purity >= 0.99);
  CHECK(m.at(2).purity >= 0.99);
  CHECK(m.at(3).purity >= 0.95);  // the needle: >= 95 of its 100 pixels
  CHECK(report.clusters == 3);
  CHECK(report.parameters["noise_points"].get<index_t>() < 50);
  for (index_t p = 0; p < labels.pixel_count(); ++p)
    if (!s.mask[p]) CHECK(labels[p] == spectromine::labels::unlabeled);

  // Identical labels from brute force and one thread.
  spectromine::label_image other(s.truth.shape());
  o.threads = 1;
  partition::dbscan<sx::brute_force_policy>(o).partition(
      spectromine::cube_view<const float>(s.normalized.view()), s.mask.view(), other.view());
  CHECK(other == labels);

  // The labeling satisfies every DBSCAN invariant on the standardized spectra.
  const auto feat = partition::standardized_features(spectromine::cube_view<const float>(s.normalized.view()),
                                                     s.mask.view());
  std::vector<label_t> point_labels;
  for (index_t p : feat.pixel) point_labels.push_back(labels[p]);
  const auto v = spectromine::testing::verify_dbscan(feat.features.view(), report.parameters["eps"].get<double>(),
                                                     report.parameters["min_pts"].get<index_t>(), point_labels);
  CHECK_MESSAGE(v.ok, (v.violations.empty() ? std::string() : v.violations.front()));
}

TEST_CASE("needle scene on 10 PCA features (the scikit-learn comparison's features)") {
  const auto& s = needle_scene();
  spectromine::label_image labels(s.truth.shape());
  partition::dbscan_options o;
  o.components = 10;
  const auto report = partition::dbscan<sx::kd_tree_policy>(o).partition(
      spectromine::cube_view<const float>(s.normalized.view()), s.mask.view(), labels.view());
  MESSAGE("eps (10 features) " << report.parameters["eps"]);
  const auto m = match(s.truth, labels);
  CHECK(m.at(1).label != m.at(3).label);
  CHECK(m.at(2).label != m.at(3).label);
  CHECK(m.at(1).label != m.at(2).label);
  CHECK(m.at(3).purity >= 0.95);
  CHECK(m.at(1).purity >= 0.99);
  spectromine::label_image brute(s.truth.shape());
  partition::dbscan<sx::brute_force_policy>(o).partition(
      spectromine::cube_view<const float>(s.normalized.view()), s.mask.view(), brute.view());
  CHECK(brute == labels);
}
