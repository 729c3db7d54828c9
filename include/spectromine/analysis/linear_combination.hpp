// spectromine/analysis/linear_combination.hpp: which clusters are not phases
// of their own (Ito 2024, Results: of 57 clusters, experts merged clusters
// distorted by sample thickness and removed clusters whose spectrum is a
// linear combination of two others, leaving 5 components). Both checks are
// made automatic here, judged against the noise of the cluster means
// (analysis/summaries.hpp: sample std / sqrt(n) per band).
//
// Linear combination. For cluster i and every pair (j, k) of candidate
// clusters (the `candidates` largest, default 64, other than i), fit
// m_i ~ a m_j + b m_k with a, b >= 0 (2-variable NNLS, noise-weighted by
// sigma_i). The best pair's residual is then judged with the full noise
// sigma^2 = sigma_i^2 + a^2 sigma_j^2 + b^2 sigma_k^2:
//   chi2 = sum_b r_b^2 / sigma_b^2,  dof = bands - 2.
// Flagged when chi2 <= the `confidence` quantile of chi2(dof) (consistent with
// noise), both weight fractions a/(a+b), b/(a+b) >= min_weight (a true
// mixture, not a copy of one cluster), and no single candidate explains m_i
// within the noise (else it is a duplicate: reported as duplicate_of).
//
// Thickness distortion (flattened white line). Too thick a sample, or
// pinholes / harmonics, compress strong absorption non-linearly: the
// distorted spectrum is a concave, monotone function of the true one, with
// the same edge and feature positions and a compressed peak. For cluster i
// and each candidate j, fit m_i ~ c0 + c1 m_j + c2 m_j^2 (noise-weighted with
// sigma_i^2 + sigma_j^2). Flagged "thickness-distorted version of j" when
//   - the quadratic fit is within the noise (chi2 <= quantile, dof = bands - 3),
//   - the linear fit (c2 = 0) is not (the difference is not a mere rescaling),
//   - c2 < 0 by more than z_curvature standard errors (concave compression),
//   - c1 > 0 (monotone), and max(m_i) < max(m_j) (the peak is lower).
// Among several j the smallest quadratic chi2 wins.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <Eigen/Dense>
#include <boost/math/distributions/chi_squared.hpp>

#include "spectromine/analysis/summaries.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"

namespace spectromine::analysis {

struct lc_options {
  int candidates = 64;        // the largest clusters are the possible components
  double confidence = 0.99;   // chi2 quantile for "explained within the noise"
  double min_weight = 0.05;   // smallest weight fraction of a true mixture
  double z_curvature = 3.0;   // thickness: c2 must be < -z_curvature * stderr(c2)
  int threads = 0;
};

struct lc_finding {
  label_t label = 0;
  // linear combination
  bool combination = false;
  label_t component_a = 0, component_b = 0;
  double weight_a = 0, weight_b = 0;
  double chi2 = std::numeric_limits<double>::quiet_NaN();
  double chi2_limit = std::numeric_limits<double>::quiet_NaN();
  double dof = 0;
  label_t duplicate_of = 0;   // a single candidate explains it within the noise
  // thickness distortion
  bool thickness_distorted = false;
  label_t distorted_from = 0;
  double curvature = 0, curvature_stderr = 0;
  double thickness_chi2 = std::numeric_limits<double>::quiet_NaN();
  double linear_chi2 = std::numeric_limits<double>::quiet_NaN();
  double peak_ratio = std::numeric_limits<double>::quiet_NaN();  // max(m_i) / max(m_j)
};

namespace detail {

inline bool usable(const cluster_summary& c) {
  if (c.spectrum_pixels < 2 || c.mean.empty()) return false;
  for (std::size_t b = 0; b < c.mean.size(); ++b)
    if (!std::isfinite(c.mean[b]) || !std::isfinite(c.noise_of_mean[b])) return false;
  return true;
}

inline double chi2_quantile(double dof, double p) {
  boost::math::chi_squared dist(dof);
  return boost::math::quantile(dist, p);
}

}  // namespace detail

// One finding per cluster of `s` (same order).
inline std::vector<lc_finding> find_linear_combinations(const cluster_summaries& s,
                                                        const lc_options& options = {}) {
  require(options.candidates >= 2, "linear_combination", "candidates", "must be >= 2",
          options.candidates);
  require(options.confidence > 0 && options.confidence < 1, "linear_combination", "confidence",
          "must lie in (0, 1)", options.confidence);
  require(options.min_weight >= 0 && options.min_weight < 0.5, "linear_combination",
          "min_weight", "must lie in [0, 0.5)", options.min_weight);
  const std::size_t k = s.clusters.size();
  std::vector<lc_finding> out(k);
  for (std::size_t i = 0; i < k; ++i) out[i].label = s.clusters[i].label;
  if (k == 0) return out;
  const std::size_t bands = s.clusters.front().mean.size();
  // Candidates: usable clusters, largest first (ties: lower label).
  std::vector<std::size_t> cand;
  for (std::size_t i = 0; i < k; ++i)
    if (detail::usable(s.clusters[i])) cand.push_back(i);
  std::stable_sort(cand.begin(), cand.end(), [&](std::size_t a, std::size_t b) {
    return s.clusters[a].pixels > s.clusters[b].pixels;
  });
  if (cand.size() > static_cast<std::size_t>(options.candidates))
    cand.resize(static_cast<std::size_t>(options.candidates));
  if (bands < 4) return out;
  const double dof2 = static_cast<double>(bands) - 2, dof3 = static_cast<double>(bands) - 3;
  const double lim1 = detail::chi2_quantile(static_cast<double>(bands) - 1, options.confidence);
  const double lim2 = detail::chi2_quantile(dof2, options.confidence);
  const double lim3 = detail::chi2_quantile(dof3, options.confidence);

  parallel_for(static_cast<index_t>(k), options.threads, 1, [&](index_t b0, index_t b1, int) {
    for (index_t ii = b0; ii < b1; ++ii) {
      const std::size_t i = static_cast<std::size_t>(ii);
      const auto& ci = s.clusters[i];
      if (!detail::usable(ci)) continue;
      lc_finding& f = out[i];
      std::vector<double> w(bands);  // 1 / sigma_i^2
      for (std::size_t b = 0; b < bands; ++b) {
        const double sg = ci.noise_of_mean[b];
        w[b] = sg > 0 ? 1.0 / (sg * sg) : 0.0;
      }
      // Weighted inner products with the candidates.
      const std::size_t m = cand.size();
      std::vector<double> g(m * m), r(m);
      double yy = 0;
      for (std::size_t b = 0; b < bands; ++b) yy += w[b] * ci.mean[b] * ci.mean[b];
      for (std::size_t a = 0; a < m; ++a) {
        const auto& ma = s.clusters[cand[a]].mean;
        double ra = 0;
        for (std::size_t b = 0; b < bands; ++b) ra += w[b] * ma[b] * ci.mean[b];
        r[a] = ra;
        for (std::size_t c = 0; c <= a; ++c) {
          const auto& mc = s.clusters[cand[c]].mean;
          double v = 0;
          for (std::size_t b = 0; b < bands; ++b) v += w[b] * ma[b] * mc[b];
          g[a * m + c] = g[c * m + a] = v;
        }
      }
      // Full-noise chi2 of m_i - sum_t x_t m_t.
      auto full_chi2 = [&](std::initializer_list<std::pair<std::size_t, double>> terms) {
        double chi = 0;
        for (std::size_t b = 0; b < bands; ++b) {
          double res = ci.mean[b], var = ci.noise_of_mean[b] * ci.noise_of_mean[b];
          for (auto [t, x] : terms) {
            const auto& ct = s.clusters[cand[t]];
            res -= x * ct.mean[b];
            var += x * x * ct.noise_of_mean[b] * ct.noise_of_mean[b];
          }
          chi += var > 0 ? res * res / var : 0.0;
        }
        return chi;
      };
      // Single candidates (duplicates).
      for (std::size_t a = 0; a < m; ++a) {
        if (cand[a] == i || g[a * m + a] <= 0) continue;
        const double x = std::max(0.0, r[a] / g[a * m + a]);
        if (full_chi2({{a, x}}) <= lim1) {
          f.duplicate_of = s.clusters[cand[a]].label;
          break;
        }
      }
      // Pairs: closed-form 2-variable NNLS on the weighted normal equations.
      double best = std::numeric_limits<double>::infinity();
      std::size_t ba = 0, bb = 0;
      double xa = 0, xb = 0;
      for (std::size_t a = 0; a < m; ++a) {
        if (cand[a] == i) continue;
        for (std::size_t c = a + 1; c < m; ++c) {
          if (cand[c] == i) continue;
          const double gaa = g[a * m + a], gcc = g[c * m + c], gac = g[a * m + c];
          const double det = gaa * gcc - gac * gac;
          double x1 = -1, x2 = -1;
          if (det > 1e-12 * gaa * gcc) {
            x1 = (gcc * r[a] - gac * r[c]) / det;
            x2 = (gaa * r[c] - gac * r[a]) / det;
          }
          if (x1 < 0 || x2 < 0) continue;  // the constrained optimum is a single: not a mixture
          const double rss = yy - 2 * (x1 * r[a] + x2 * r[c]) +
                             (x1 * x1 * gaa + 2 * x1 * x2 * gac + x2 * x2 * gcc);
          if (rss < best) {
            best = rss;
            ba = a;
            bb = c;
            xa = x1;
            xb = x2;
          }
        }
      }
      if (std::isfinite(best)) {
        f.component_a = s.clusters[cand[ba]].label;
        f.component_b = s.clusters[cand[bb]].label;
        f.weight_a = xa;
        f.weight_b = xb;
        f.dof = dof2;
        f.chi2 = full_chi2({{ba, xa}, {bb, xb}});
        f.chi2_limit = lim2;
        const double sum = xa + xb;
        f.combination = f.chi2 <= lim2 && sum > 0 && xa / sum >= options.min_weight &&
                        xb / sum >= options.min_weight && f.duplicate_of == 0;
      }
      // Thickness: quadratic vs linear map from a candidate's mean.
      const double peak_i = *std::max_element(ci.mean.begin(), ci.mean.end());
      for (std::size_t a = 0; a < m; ++a) {
        if (cand[a] == i) continue;
        const auto& cj = s.clusters[cand[a]];
        const double peak_j = *std::max_element(cj.mean.begin(), cj.mean.end());
        Eigen::MatrixXd design(static_cast<index_t>(bands), 3);
        Eigen::VectorXd y(static_cast<index_t>(bands));
        for (std::size_t b = 0; b < bands; ++b) {
          const double var = ci.noise_of_mean[b] * ci.noise_of_mean[b] +
                             cj.noise_of_mean[b] * cj.noise_of_mean[b];
          const double sw = var > 0 ? 1.0 / std::sqrt(var) : 0.0;
          const double xj = cj.mean[b];
          design(static_cast<index_t>(b), 0) = sw;
          design(static_cast<index_t>(b), 1) = sw * xj;
          design(static_cast<index_t>(b), 2) = sw * xj * xj;
          y(static_cast<index_t>(b)) = sw * ci.mean[b];
        }
        const Eigen::Matrix3d normal = design.transpose() * design;
        Eigen::LDLT<Eigen::Matrix3d> ldlt(normal);
        if (ldlt.info() != Eigen::Success) continue;
        const Eigen::Vector3d coef = ldlt.solve(design.transpose() * y);
        const double chi_q = (design * coef - y).squaredNorm();
        const Eigen::Matrix2d n2 = normal.topLeftCorner<2, 2>();
        const Eigen::Vector2d lin = n2.ldlt().solve(design.leftCols<2>().transpose() * y);
        const double chi_l = (design.leftCols<2>() * lin - y).squaredNorm();
        const double var_c2 = ldlt.solve(Eigen::Vector3d::UnitZ())(2);
        const double se = var_c2 > 0 ? std::sqrt(var_c2) : std::numeric_limits<double>::infinity();
        const bool hit = chi_q <= lim3 && chi_l > lim2 && coef(2) < -options.z_curvature * se &&
                         coef(1) > 0 && peak_i < peak_j;
        if (hit && (!f.thickness_distorted || chi_q < f.thickness_chi2)) {
          f.thickness_distorted = true;
          f.distorted_from = cj.label;
          f.curvature = coef(2);
          f.curvature_stderr = se;
          f.thickness_chi2 = chi_q;
          f.linear_chi2 = chi_l;
          f.peak_ratio = peak_j != 0 ? peak_i / peak_j : std::numeric_limits<double>::quiet_NaN();
        }
      }
    }
  });
  return out;
}

}  // namespace spectromine::analysis
