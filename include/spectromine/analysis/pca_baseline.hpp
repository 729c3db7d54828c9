// spectromine/analysis/pca_baseline.hpp: Duan 2016's PCA route, the baseline
// DBSCAN is compared against (Supplementary Fig. S1: "we preserved 98%
// accuracy of the original data and extracted two principal components. By
// linear combination fitting of the raw data using the two detected principal
// components, a third compound, which cannot be well represented by those two
// major components and their linear combinations, was identified").
//
// The paper does not say how the two components become two compounds; here
// (a documented choice):
//   1. PCA of the sample pixels (analysis/pca.hpp), `components` (2) kept;
//      the explained variance ratio is reported (the paper's 98%). Each
//      pixel's residual off the PCA plane, rms per band, sets the noise
//      level: tau = median + outlier_z x 1.4826 MAD (a robust outlier rule,
//      nothing tuned to the data set).
//   2. Candidate compounds: in the plane of the first two scores, the pixels
//      farthest along 16 directions; each candidate spectrum is the mean of
//      the `endmember_fraction` of pixels farthest along its direction.
//   3. The two compounds: the pair of candidates whose non-negative linear
//      combination (analysis/nnls.hpp) fits the most pixels within tau
//      (judged on a fixed subsample of at most 20,000 pixels; ties: first pair).
//   4. Every pixel is fitted onto the two compounds; pixels with residual
//      above tau form the third class (label 3: "a third compound, which
//      cannot be well represented by those two"), the others take label 1 or
//      2 by their larger weight (ties: 1).
// It satisfies partition::partitioner, so the `cluster` pipeline can run it
// (--method pca).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "spectromine/analysis/nnls.hpp"
#include "spectromine/analysis/pca.hpp"
#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/error.hpp"
#include "spectromine/partition/concept.hpp"

namespace spectromine::analysis {

struct pca_baseline_options {
  index_t components = 2;           // principal components kept (reported)
  double endmember_fraction = 0.05; // pixels at each end of PC1 averaged into an end-member
  double outlier_z = 5.0;           // robust z of the residual beyond which a pixel is "third"
  int threads = 0;
};

class pca_baseline {
 public:
  pca_baseline() = default;
  explicit pca_baseline(pca_baseline_options options) : options_(options) {}

  template <class T>
  partition::partition_report partition(cube_view<const T> spectra, mask_view mask,
                                        label_view labels) const {
    const auto& o = options_;
    require(o.components >= 1, "pca_baseline", "components", "must be >= 1", o.components);
    require(o.endmember_fraction > 0 && o.endmember_fraction < 0.5, "pca_baseline",
            "endmember_fraction", "must lie in (0, 0.5)", o.endmember_fraction);
    require(o.outlier_z > 0, "pca_baseline", "outlier_z", "must be > 0", o.outlier_z);
    require(labels.shape() == spectra.shape(), "pca_baseline", "label image shape",
            "must equal the cube's image shape", labels.rows());
    const bool has_mask = mask.data() != nullptr || mask.pixel_count() != 0;
    const index_t n = spectra.pixel_count(), bands = spectra.bands();
    pca_options po;
    po.components = std::min<index_t>(std::max<index_t>(o.components, 2), bands);
    po.threads = o.threads;
    const pca_model model = fit_pca(spectra, mask, po);
    require(model.samples >= 3, "pca_baseline", "sample pixels", "must be >= 3", model.samples);
    const index_t kc = model.component_count();
    cube<double> scores(spectra.shape(), kc);
    projection_options pr;
    pr.threads = o.threads;
    project(model, spectra, scores.view(), mask, pr);
    // Usable pixels and their residual off the PCA plane (components are orthonormal).
    std::vector<index_t> usable;
    std::vector<double> plane_res;
    for (index_t p = 0; p < n; ++p) {
      if (has_mask && mask[p] == 0) continue;
      const double* s = scores.view().pixel_pointer(p);
      if (!std::isfinite(s[0])) continue;
      const T* x = spectra.pixel_pointer(p);
      double d2 = 0;
      for (index_t b = 0; b < bands; ++b) {
        const double d = static_cast<double>(x[b]) - model.mean(b);
        d2 += d * d;
      }
      for (index_t j = 0; j < std::min<index_t>(kc, o.components); ++j) d2 -= s[j] * s[j];
      usable.push_back(p);
      plane_res.push_back(std::sqrt(std::max(0.0, d2) / static_cast<double>(bands)));
    }
    const index_t m = static_cast<index_t>(usable.size());
    auto median = [](std::vector<double> v) {
      const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
      std::nth_element(v.begin(), mid, v.end());
      return *mid;
    };
    const double med = median(plane_res);
    std::vector<double> dev(plane_res.size());
    for (std::size_t i = 0; i < plane_res.size(); ++i) dev[i] = std::abs(plane_res[i] - med);
    const double mad = 1.482602218505602 * median(dev);
    const double limit = med + o.outlier_z * mad;

    // Candidate compounds along 16 directions of the (PC1, PC2) plane.
    const index_t take = std::max<index_t>(1, static_cast<index_t>(std::floor(o.endmember_fraction * m)));
    std::vector<Eigen::VectorXd> cand;
    std::vector<index_t> cand_pixel;
    std::vector<std::pair<double, index_t>> proj(static_cast<std::size_t>(m));
    for (int dir = 0; dir < 16; ++dir) {
      const double th = dir * 3.14159265358979323846 / 8.0;
      const double cx = std::cos(th), cy = std::sin(th);
      for (index_t i = 0; i < m; ++i) {
        const double* s = scores.view().pixel_pointer(usable[static_cast<std::size_t>(i)]);
        proj[static_cast<std::size_t>(i)] = {-(cx * s[0] + cy * s[1]), i};  // ascending = farthest first
      }
      std::partial_sort(proj.begin(), proj.begin() + take, proj.end());
      const index_t top = usable[static_cast<std::size_t>(proj[0].second)];
      if (std::find(cand_pixel.begin(), cand_pixel.end(), top) != cand_pixel.end()) continue;
      Eigen::VectorXd e = Eigen::VectorXd::Zero(bands);
      for (index_t i = 0; i < take; ++i) {
        const T* x = spectra.pixel_pointer(usable[static_cast<std::size_t>(proj[static_cast<std::size_t>(i)].second)]);
        for (index_t b = 0; b < bands; ++b) e(b) += static_cast<double>(x[b]);
      }
      cand.push_back(e / static_cast<double>(take));
      cand_pixel.push_back(top);
    }
    require(cand.size() >= 2, "pca_baseline", "data", "must spread in at least two directions",
            cand.size());
    // The pair fitting the most pixels of a fixed subsample within tau.
    const index_t stride = std::max<index_t>(1, m / 20000);
    std::vector<index_t> sub;
    for (index_t i = 0; i < m; i += stride) sub.push_back(usable[static_cast<std::size_t>(i)]);
    std::size_t best_i = 0, best_j = 1;
    index_t best_count = -1;
    for (std::size_t i = 0; i < cand.size(); ++i)
      for (std::size_t j = i + 1; j < cand.size(); ++j) {
        Eigen::MatrixXd ab(bands, 2);
        ab.col(0) = cand[i];
        ab.col(1) = cand[j];
        if (std::abs(ab.col(0).normalized().dot(ab.col(1).normalized())) > 1 - 1e-12) continue;
        nnls_gram_solver solver(ab);
        nnls_gram_solver::workspace ws(2);
        index_t count = 0;
        for (index_t p : sub) {
          const T* x = spectra.pixel_pointer(p);
          double atb[2] = {0, 0}, btb = 0, coef[2];
          for (index_t b = 0; b < bands; ++b) {
            const double v = static_cast<double>(x[b]);
            atb[0] += ab(b, 0) * v;
            atb[1] += ab(b, 1) * v;
            btb += v * v;
          }
          const double rr = solver.solve(atb, btb, coef, ws);
          count += std::sqrt(rr / static_cast<double>(bands)) <= limit;
        }
        if (count > best_count) {
          best_count = count;
          best_i = i;
          best_j = j;
        }
      }
    Eigen::MatrixXd ends(bands, 2);
    ends.col(0) = cand[best_i];
    ends.col(1) = cand[best_j];
    unmix_options uo;
    uo.threads = o.threads;
    const unmix_result fit = unmix(spectra, mask, ends, uo);
    index_t counts[4] = {0, 0, 0, 0};
    for (index_t p = 0; p < n; ++p) labels[p] = labels::unlabeled;
    for (index_t p : usable) {
      label_t l;
      if (!(static_cast<double>(fit.residual[p]) <= limit)) {
        l = 3;
      } else {
        const float* c = fit.coefficients.view().pixel_pointer(p);
        l = c[0] >= c[1] ? 1 : 2;
      }
      labels[p] = l;
      ++counts[l];
    }
    partition::partition_report r;
    r.method = "pca";
    double explained = 0;
    for (index_t j = 0; j < std::min<index_t>(o.components, model.explained_variance_ratio.size()); ++j)
      explained += model.explained_variance_ratio(j);
    r.parameters = {{"components", o.components},
                    {"explained_variance_ratio", explained},
                    {"endmember_fraction", o.endmember_fraction},
                    {"endmember_pixels", take},
                    {"candidate_compounds", cand.size()},
                    {"outlier_z", o.outlier_z},
                    {"plane_residual_median", med},
                    {"plane_residual_mad", mad},
                    {"residual_limit", limit},
                    {"poorly_fitted_pixels", counts[3]}};
    r.clusters = 3;
    return r;
  }

  template <spectral_cube C>
  partition::partition_report partition(const C& cube, mask_view mask, label_view labels) const {
    return partition(view_of(cube), mask, labels);
  }

 private:
  pca_baseline_options options_{};
};

static_assert(partition::check_partitioner<pca_baseline, float>());

}  // namespace spectromine::analysis
