// spectromine/analysis/summaries.hpp: what each cluster of a phase map is.
//
//   relabel_by_size(labels)     clusters renumbered 1..K by decreasing pixel
//                               count (ties: lower old label first); the
//                               sentinels labels::outlier (DBSCAN noise, Duan
//                               2016's minority phase) and labels::unexplained
//                               (beyond every Voronoi site) become positive
//                               labels of their own, ranked by size like any
//                               cluster and reported as outlier_label /
//                               unexplained_label; emptied labels disappear.
//   summarize(cube, labels)     per cluster 1..K: pixel count, fraction of
//                               the labelled pixels, mean spectrum, noise of
//                               the mean (sample std / sqrt(n) per band), and
//                               the first principal component spectrum.
//
// PC1, as Ito 2024's published code (Extract_spectra): the leading eigenvector
// of the UNcentred second-moment matrix sum_p x_p x_p^T of the cluster's
// pixels (their code: svd(X X^T), first column) -- the dominant spectral shape,
// robust to amplitude spread. Found by power iteration started at the mean
// (the ratio of the two leading eigenvalues is tiny for a real cluster, so a
// few iterations converge), sign-aligned with the mean, then scaled:
// pc1_scaling::project_mean (default: the least-squares amplitude of the mean
// on it, so it overlays the mean), ::last_band (the published code: divided
// by its last value, ~1 for a normalized spectrum), or ::unit.
//
// Pixels whose spectrum has a non-finite value count in `pixels` but are left
// out of the spectra (reported per cluster as spectrum_pixels). Sums run over
// pixels in a fixed order, split across threads by band, so results are
// identical for any thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <vector>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"

namespace spectromine::analysis {

struct relabel_result {
  label_t clusters = 0;              // K: labels are now 1..K
  std::vector<label_t> old_label;    // old_label[k - 1]: what label k was before
  std::vector<index_t> counts;       // counts[k - 1]: pixels of label k
  label_t outlier_label = 0;         // new label of the former outliers (0 = none)
  label_t unexplained_label = 0;     // new label of the former unexplained pixels (0 = none)
  index_t unlabeled = 0;             // pixels left at 0

  // Phases in the map: every label but the outlier and unexplained classes.
  // (For voronoi this counts the sites that kept pixels, not the sites.)
  [[nodiscard]] label_t phases() const {
    return clusters - (outlier_label > 0 ? 1 : 0) - (unexplained_label > 0 ? 1 : 0);
  }
};

namespace detail {

// Per-label pixel counts over an image; labels must be >= labels::unexplained.
inline std::vector<std::pair<label_t, index_t>> label_counts(const_label_view labels,
                                                             int threads) {
  const int workers = resolve_threads(threads);
  constexpr label_t lowest = labels::unexplained;
  std::vector<label_t> lo(static_cast<std::size_t>(workers), 0), hi(lo);
  parallel_for(labels.rows(), workers, 64, [&](index_t r0, index_t r1, int w) {
    label_t a = 0, b = 0;
    for (index_t r = r0; r < r1; ++r)
      for (label_t l : labels.row(r)) {
        a = std::min(a, l);
        b = std::max(b, l);
      }
    lo[static_cast<std::size_t>(w)] = a;
    hi[static_cast<std::size_t>(w)] = b;
  });
  const label_t min_l = *std::min_element(lo.begin(), lo.end());
  const label_t max_l = *std::max_element(hi.begin(), hi.end());
  require(min_l >= lowest, "summaries", "label",
          "must be >= -2 (0 = unlabeled, -1 = outlier, -2 = unexplained)", min_l);
  std::vector<std::pair<label_t, index_t>> out;
  if (max_l <= (label_t{1} << 24)) {
    const std::size_t n = static_cast<std::size_t>(max_l - lowest + 1);
    std::vector<std::vector<index_t>> parts(static_cast<std::size_t>(workers));
    parallel_for(labels.rows(), workers, 64, [&](index_t r0, index_t r1, int w) {
      auto& h = parts[static_cast<std::size_t>(w)];
      h.assign(n, 0);
      for (index_t r = r0; r < r1; ++r)
        for (label_t l : labels.row(r)) ++h[static_cast<std::size_t>(l - lowest)];
    });
    std::vector<index_t> h(n, 0);
    for (auto& p : parts)
      for (std::size_t i = 0; i < p.size(); ++i) h[i] += p[i];
    for (std::size_t i = 0; i < n; ++i)
      if (h[i] > 0) out.push_back({static_cast<label_t>(static_cast<label_t>(i) + lowest), h[i]});
  } else {
    std::vector<std::unordered_map<label_t, index_t>> parts(static_cast<std::size_t>(workers));
    parallel_for(labels.rows(), workers, 64, [&](index_t r0, index_t r1, int w) {
      auto& h = parts[static_cast<std::size_t>(w)];
      for (index_t r = r0; r < r1; ++r)
        for (label_t l : labels.row(r)) ++h[l];
    });
    std::unordered_map<label_t, index_t> h;
    for (auto& p : parts)
      for (auto [l, n] : p) h[l] += n;
    out.assign(h.begin(), h.end());
    std::sort(out.begin(), out.end());
  }
  return out;
}

}  // namespace detail

// See the header comment. Rewrites `labels` in place.
inline relabel_result relabel_by_size(label_view labels, int threads = 0) {
  relabel_result res;
  auto counts = detail::label_counts(labels, threads);
  std::vector<std::pair<label_t, index_t>> clusters;
  for (auto [l, n] : counts) {
    if (l == labels::unlabeled)
      res.unlabeled = n;
    else
      clusters.push_back({l, n});
  }
  std::stable_sort(clusters.begin(), clusters.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  require(clusters.size() < static_cast<std::size_t>(std::numeric_limits<label_t>::max()),
          "summaries", "cluster count", "must fit in int32", clusters.size());
  res.clusters = static_cast<label_t>(clusters.size());
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    res.old_label.push_back(clusters[i].first);
    res.counts.push_back(clusters[i].second);
    const label_t now = static_cast<label_t>(i + 1);
    if (clusters[i].first == labels::outlier) res.outlier_label = now;
    if (clusters[i].first == labels::unexplained) res.unexplained_label = now;
  }
  // Old -> new table (dense when the label range is small, else a hash map).
  const label_t max_old = clusters.empty() ? 0
                                           : std::max<label_t>(0, *std::max_element(
                                                                      res.old_label.begin(),
                                                                      res.old_label.end()));
  bool identity = true;
  for (std::size_t i = 0; i < clusters.size(); ++i)
    identity = identity && res.old_label[i] == static_cast<label_t>(i + 1);
  if (identity) return res;
  if (max_old <= (label_t{1} << 24)) {
    std::vector<label_t> table(static_cast<std::size_t>(max_old) + 3, 0);  // offset 2
    for (std::size_t i = 0; i < clusters.size(); ++i)
      table[static_cast<std::size_t>(res.old_label[i] + 2)] = static_cast<label_t>(i + 1);
    parallel_for(labels.rows(), threads, 64, [&](index_t r0, index_t r1, int) {
      for (index_t r = r0; r < r1; ++r)
        for (label_t& l : labels.row(r)) l = table[static_cast<std::size_t>(l + 2)];
    });
  } else {
    std::unordered_map<label_t, label_t> table;
    for (std::size_t i = 0; i < clusters.size(); ++i)
      table[res.old_label[i]] = static_cast<label_t>(i + 1);
    table[0] = 0;
    parallel_for(labels.rows(), threads, 64, [&](index_t r0, index_t r1, int) {
      for (index_t r = r0; r < r1; ++r)
        for (label_t& l : labels.row(r)) l = table.at(l);
    });
  }
  return res;
}

enum class pc1_scaling { project_mean, last_band, unit };

inline const char* to_string(pc1_scaling s) {
  switch (s) {
    case pc1_scaling::project_mean: return "project_mean";
    case pc1_scaling::last_band: return "last_band";
    default: return "unit";
  }
}

struct summary_options {
  bool pc1 = true;                 // compute the first-principal-component spectra
  pc1_scaling scaling = pc1_scaling::project_mean;
  int max_iterations = 500;        // power iterations
  double tolerance = 1e-12;        // on the change of the unit PC1 vector (2-norm)
  int threads = 0;
};

struct cluster_summary {
  label_t label = 0;
  index_t pixels = 0;            // pixels with this label
  index_t spectrum_pixels = 0;   // of which all-finite spectra (used for the spectra)
  double fraction = 0;           // pixels / all labelled (> 0) pixels
  std::vector<double> mean;
  std::vector<double> noise_of_mean;  // sample std / sqrt(n); NaN when n < 2
  std::vector<double> pc1;            // empty when options.pc1 is false
  int pc1_iterations = 0;
};

struct cluster_summaries {
  std::vector<cluster_summary> clusters;  // clusters[k - 1] is label k
  index_t labelled_pixels = 0;            // pixels with label > 0
  index_t nonfinite_pixels = 0;           // labelled pixels with a non-finite value
};

// Summaries of clusters 1..max_label(labels); labels <= 0 are ignored (run
// relabel_by_size first to turn sentinels into clusters).
template <class T>
cluster_summaries summarize(cube_view<const T> cube, const_label_view labels,
                            const summary_options& options = {}) {
  require(cube.shape() == labels.shape(), "summaries", "label image shape",
          "must equal the cube's image shape " + std::to_string(cube.rows()) + " x " +
              std::to_string(cube.cols()),
          std::to_string(labels.rows()) + " x " + std::to_string(labels.cols()));
  require(options.max_iterations >= 1, "summaries", "max_iterations", "must be >= 1",
          options.max_iterations);
  require(options.tolerance > 0, "summaries", "tolerance", "must be > 0", options.tolerance);
  const index_t n = cube.pixel_count(), bands = cube.bands();
  const label_t k = max_label(labels);
  const std::size_t kk = static_cast<std::size_t>(k), nb = static_cast<std::size_t>(bands);
  const int workers = resolve_threads(options.threads);
  cluster_summaries out;
  out.clusters.resize(kk);
  for (label_t l = 1; l <= k; ++l) out.clusters[static_cast<std::size_t>(l - 1)].label = l;
  if (k == 0) return out;

  // Per pixel: the label used for spectra (0 = skip) -- non-finite spectra skipped.
  std::vector<label_t> use(static_cast<std::size_t>(n), 0);
  std::vector<index_t> nonfinite(static_cast<std::size_t>(workers), 0);
  parallel_for(n, workers, 4096, [&](index_t b, index_t e, int w) {
    for (index_t p = b; p < e; ++p) {
      const label_t l = labels[p];
      if (l <= 0) continue;
      const auto s = cube.spectrum(p);
      bool finite = true;
      for (T v : s) finite &= std::isfinite(static_cast<double>(v));
      if (finite)
        use[static_cast<std::size_t>(p)] = l;
      else
        ++nonfinite[static_cast<std::size_t>(w)];
    }
  });
  for (index_t v : nonfinite) out.nonfinite_pixels += v;
  for (index_t p = 0; p < n; ++p) {
    const label_t l = labels[p];
    if (l > 0) {
      ++out.clusters[static_cast<std::size_t>(l - 1)].pixels;
      ++out.labelled_pixels;
    }
    if (use[static_cast<std::size_t>(p)] > 0)
      ++out.clusters[static_cast<std::size_t>(use[static_cast<std::size_t>(p)] - 1)]
            .spectrum_pixels;
  }
  for (auto& c : out.clusters)
    c.fraction = out.labelled_pixels > 0
                     ? static_cast<double>(c.pixels) / static_cast<double>(out.labelled_pixels)
                     : 0.0;

  // acc[l][b] += f(p, b) over pixels in order; threads split the bands.
  std::vector<double> acc(kk * nb);
  auto accumulate_by_band = [&](auto&& value) {
    std::fill(acc.begin(), acc.end(), 0.0);
    parallel_for(bands, workers, 16, [&](index_t b0, index_t b1, int) {
      for (index_t p = 0; p < n; ++p) {
        const label_t l = use[static_cast<std::size_t>(p)];
        if (l <= 0) continue;
        const T* x = cube.pixel_pointer(p);
        double* a = acc.data() + static_cast<std::size_t>(l - 1) * nb;
        for (index_t b = b0; b < b1; ++b) a[b] += value(p, l, x, b);
      }
    });
  };
  accumulate_by_band([](index_t, label_t, const T* x, index_t b) { return static_cast<double>(x[b]); });
  for (std::size_t c = 0; c < kk; ++c) {
    auto& s = out.clusters[c];
    s.mean.assign(nb, std::numeric_limits<double>::quiet_NaN());
    if (s.spectrum_pixels == 0) continue;
    for (std::size_t b = 0; b < nb; ++b)
      s.mean[b] = acc[c * nb + b] / static_cast<double>(s.spectrum_pixels);
  }
  accumulate_by_band([&](index_t, label_t l, const T* x, index_t b) {
    const double d = static_cast<double>(x[b]) -
                     out.clusters[static_cast<std::size_t>(l - 1)].mean[static_cast<std::size_t>(b)];
    return d * d;
  });
  for (std::size_t c = 0; c < kk; ++c) {
    auto& s = out.clusters[c];
    s.noise_of_mean.assign(nb, std::numeric_limits<double>::quiet_NaN());
    const double m = static_cast<double>(s.spectrum_pixels);
    if (s.spectrum_pixels < 2) continue;
    for (std::size_t b = 0; b < nb; ++b)
      s.noise_of_mean[b] = std::sqrt(acc[c * nb + b] / (m - 1.0)) / std::sqrt(m);
  }
  if (!options.pc1) return out;

  // Power iteration for every cluster at once: d_p = x_p . v_l (per pixel),
  // then w_l = sum_p d_p x_p (by band). Converged clusters stop updating.
  std::vector<double> v(kk * nb, 0.0), dots(static_cast<std::size_t>(n), 0.0);
  std::vector<char> done(kk, 0);
  for (std::size_t c = 0; c < kk; ++c) {
    const auto& s = out.clusters[c];
    if (s.spectrum_pixels == 0) {
      done[c] = 1;
      continue;
    }
    double norm = 0;
    for (double x : s.mean) norm += x * x;
    norm = std::sqrt(norm);
    for (std::size_t b = 0; b < nb; ++b)
      v[c * nb + b] = norm > 0 ? s.mean[b] / norm : 1.0 / std::sqrt(static_cast<double>(nb));
  }
  for (int it = 1; it <= options.max_iterations; ++it) {
    if (std::all_of(done.begin(), done.end(), [](char d) { return d != 0; })) break;
    parallel_for(n, workers, 4096, [&](index_t b, index_t e, int) {
      for (index_t p = b; p < e; ++p) {
        const label_t l = use[static_cast<std::size_t>(p)];
        if (l <= 0 || done[static_cast<std::size_t>(l - 1)]) continue;
        const T* x = cube.pixel_pointer(p);
        const double* vl = v.data() + static_cast<std::size_t>(l - 1) * nb;
        double d = 0;
        for (index_t i = 0; i < bands; ++i) d += static_cast<double>(x[i]) * vl[i];
        dots[static_cast<std::size_t>(p)] = d;
      }
    });
    accumulate_by_band([&](index_t p, label_t l, const T* x, index_t b) {
      return done[static_cast<std::size_t>(l - 1)] ? 0.0
                                                   : dots[static_cast<std::size_t>(p)] *
                                                         static_cast<double>(x[b]);
    });
    for (std::size_t c = 0; c < kk; ++c) {
      if (done[c]) continue;
      double norm = 0;
      for (std::size_t b = 0; b < nb; ++b) norm += acc[c * nb + b] * acc[c * nb + b];
      norm = std::sqrt(norm);
      out.clusters[c].pc1_iterations = it;
      if (norm == 0) {  // all-zero cluster: PC1 is undefined, keep the start
        done[c] = 1;
        continue;
      }
      double change = 0;
      for (std::size_t b = 0; b < nb; ++b) {
        const double nv = acc[c * nb + b] / norm;
        change += (nv - v[c * nb + b]) * (nv - v[c * nb + b]);
        v[c * nb + b] = nv;
      }
      if (std::sqrt(change) < options.tolerance) done[c] = 1;
    }
  }
  for (std::size_t c = 0; c < kk; ++c) {
    auto& s = out.clusters[c];
    if (s.spectrum_pixels == 0) continue;
    std::vector<double> u(v.begin() + static_cast<std::ptrdiff_t>(c * nb),
                          v.begin() + static_cast<std::ptrdiff_t>((c + 1) * nb));
    double along = 0;
    for (std::size_t b = 0; b < nb; ++b) along += u[b] * s.mean[b];
    if (along < 0) {
      for (double& x : u) x = -x;
      along = -along;
    }
    double scale = 1.0;
    if (options.scaling == pc1_scaling::project_mean) scale = along;
    if (options.scaling == pc1_scaling::last_band && nb > 0 && u.back() != 0) scale = 1.0 / u.back();
    for (double& x : u) x *= scale;
    s.pc1 = std::move(u);
  }
  return out;
}

template <spectral_cube C>
cluster_summaries summarize(const C& cube, const_label_view labels,
                            const summary_options& options = {}) {
  return summarize(view_of(cube), labels, options);
}

}  // namespace spectromine::analysis
