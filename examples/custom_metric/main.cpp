// A custom distance plugged into DBSCAN (docs/researcher_guide.md).
//
// DBSCAN asks its index "who lies within eps of q?" (index/concept.hpp), so a
// new distance enters through an index policy. Here: an edge-weighted
// Euclidean distance between standardized spectra, counting bands near the
// absorption edge (where Fe phases differ most) twice. Weights have mean 1,
// so for white noise the expected squared noise distance is unchanged and
// the library's noise-calibrated eps (dbscan_options::eps unset) still holds:
// nothing is tuned by hand.
//   example_custom_metric CUBE ENERGY.txt [TRUTH.npy]
#include <spectromine/analysis/compare.hpp>
#include <spectromine/index/concept.hpp>
#include <spectromine/io/load.hpp>
#include <spectromine/io/npy.hpp>
#include <spectromine/metric/concept.hpp>
#include <spectromine/partition/dbscan.hpp>
#include <spectromine/preprocess/mask.hpp>
#include <spectromine/preprocess/normalize.hpp>
#include <spectromine/repair/concept.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

namespace sm = spectromine;

// [metric]
// A distance metric: copyable, pure, m(a, b) -> double, plus traits.
struct edge_weighted_distance {
  static constexpr bool is_squared = false;
  static constexpr bool triangle_inequality = true;   // a weighted L2 norm
  static constexpr bool decomposes_per_band = false;  // (could: sum of w_i d_i^2)
  static constexpr bool needs_standardized = true;
  static constexpr std::string_view name = "edge_weighted_euclidean";
  std::shared_ptr<const std::vector<double>> weight;  // one per band, mean 1

  edge_weighted_distance(const sm::energy_grid& energy, double e0) {
    std::vector<double> w(energy.size());
    double sum = 0;
    for (std::size_t i = 0; i < w.size(); ++i)
      sum += w[i] = (energy[i] > e0 - 10 && energy[i] < e0 + 30) ? 2.0 : 1.0;
    for (double& x : w) x *= double(w.size()) / sum;  // mean 1: noise distance unchanged
    weight = std::make_shared<const std::vector<double>>(std::move(w));
  }
  double operator()(std::span<const float> a, std::span<const float> b) const {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = double(a[i]) - double(b[i]);
      s += (*weight)[i] * d * d;
    }
    return std::sqrt(s);
  }
};
static_assert(sm::check_distance_metric<edge_weighted_distance, float>());
// [metric]

// [index]
// The simplest exact index for ANY metric: a scan. DBSCAN detects
// the optional refinements (batching, erasure) and works without them.
template <class M>
class metric_scan {
 public:
  metric_scan(sm::index::feature_view f, M m) : f_(f), m_(std::move(m)) {}
  sm::index_t size() const { return f_.size; }
  sm::index::feature_view features() const { return f_; }
  template <sm::index::neighbor_sink S>
  void radius_search(sm::index_t q, double eps, S&& sink) const {
    for (sm::index_t j = 0; j < f_.size; ++j) {
      double d = m_(f_.row(q), f_.row(j));
      if constexpr (sm::metric_traits<M>::is_squared) d = std::sqrt(d);
      if (d <= eps && !sink(j, d)) return;
    }
  }

 private:
  sm::index::feature_view f_;
  M m_;
};

template <class M>
struct metric_scan_policy {
  static constexpr const char* name = "metric_scan";
  M metric;
  metric_scan<M> build(sm::index::feature_view f, int /*threads*/) const { return {f, metric}; }
};
static_assert(sm::index::index_policy<metric_scan_policy<edge_weighted_distance>>);
// [index]

// [repair]
// A label repair: a const apply(label_view, mask_view) -> repair_report.
// This one unlabels isolated pixels (no 4-neighbour with the same label).
struct drop_isolated {
  sm::repair::repair_report apply(sm::label_view labels, sm::mask_view /*mask*/) const {
    sm::repair::repair_report report{"drop_isolated", nlohmann::json::object(), 0, 0};
    const sm::index_t rows = labels.rows(), cols = labels.cols();
    sm::label_image before(labels.shape());  // decide on the input, not on partial output
    for (sm::index_t r = 0; r < rows; ++r)
      std::copy(labels.row(r).begin(), labels.row(r).end(), &before(r, 0));
    for (sm::index_t r = 0; r < rows; ++r)
      for (sm::index_t c = 0; c < cols; ++c) {
        const sm::label_t l = before(r, c);
        if (l <= 0) continue;
        const bool alone = (r == 0 || before(r - 1, c) != l) &&
                           (r + 1 == rows || before(r + 1, c) != l) &&
                           (c == 0 || before(r, c - 1) != l) &&
                           (c + 1 == cols || before(r, c + 1) != l);
        if (alone) labels(r, c) = sm::labels::unlabeled, ++report.removed;
      }
    return report;
  }
};
static_assert(sm::repair::check_label_repair<drop_isolated>());
// [repair]

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: example_custom_metric CUBE ENERGY.txt [TRUTH.npy]\n");
    return 2;
  }
  try {
    auto cube = sm::io::load_cube<float>(argv[1]);
    const auto energy = sm::io::load_energy(argv[2], argv[1], cube.bands());
    // Sample mask and edge normalization, as the cluster command does.
    auto masked = sm::sample_mask(cube.view(), energy);
    sm::normalize_cube_options n;
    n.edge.e0 = masked.report.windows.e0;
    auto norm = sm::normalize_cube(cube.view(), energy, n, cube.view(), sm::mask_view(masked.mask.view()));

    // [dbscan]
    sm::partition::dbscan_options options;  // eps unset: from the noise model
    const metric_scan_policy<edge_weighted_distance> policy{
        edge_weighted_distance(energy, norm.windows.e0)};
    const sm::partition::dbscan<metric_scan_policy<edge_weighted_distance>> dbscan(options, policy);
    sm::label_image labels(cube.shape());
    const auto report = dbscan.partition(sm::cube_view<const float>(cube.view()),
                                         sm::mask_view(norm.valid.view()), labels.view());
    // [dbscan]
    const auto repaired = drop_isolated{}.apply(labels.view(), sm::mask_view(norm.valid.view()));
    std::printf("%s: %td isolated pixels unlabeled\n", repaired.method.c_str(), repaired.removed);
    std::printf("%s with %s: %d clusters, eps %.4f (%s)\n", report.method.c_str(),
                std::string(edge_weighted_distance::name).c_str(), int(report.clusters),
                report.parameters["eps"].get<double>(),
                report.parameters["eps_source"].get<std::string>().c_str());
    if (report.clusters < 2) return 1;  // the demo has 4 phases
    if (argc == 4) {
      const auto truth = sm::io::read_npy_labels(argv[3]);
      const double ari = sm::analysis::adjusted_rand_index(truth.view(), labels.view());
      std::printf("adjusted Rand index vs truth: %.4f\n", ari);
      if (!(ari > 0.5)) return 1;
    }
  } catch (const sm::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
