// spectromine/analysis/compare.hpp: agreement between two label maps.
//
//   contingency(a, b)          the confusion matrix over the distinct labels
//   adjusted_rand_index(a, b)  Hubert & Arabie 1985, from the confusion matrix
//   best_matching(confusion)   one-to-one label matching maximizing agreement
//                              (Hungarian algorithm, O(n^3))
//   difference_histogram(a, b) Duan 2016's L3-vs-L2 check: histogram of the
//                              per-pixel difference a - matched(b)
//   compare_maps(a, b)         all of the above (what `spectromine compare` prints)
//
// Which pixels take part: by default only pixels labelled in BOTH maps
// (label != 0: unlabeled / no-sample pixels are not a class); with
// include_unlabeled, 0 is a class like any other. Sentinel labels (outlier,
// unexplained) are classes. Counting is exact integer arithmetic, so results
// do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"

namespace spectromine::analysis {

struct compare_options {
  bool include_unlabeled = false;  // treat label 0 as a class
  int threads = 0;
};

struct confusion_matrix {
  std::vector<label_t> labels_a;  // row labels, increasing
  std::vector<label_t> labels_b;  // column labels, increasing
  std::vector<std::int64_t> counts;  // row-major labels_a.size() x labels_b.size()
  std::int64_t total = 0;           // pixels compared

  std::int64_t operator()(std::size_t i, std::size_t j) const {
    return counts[i * labels_b.size() + j];
  }
};

namespace detail {

inline std::vector<label_t> distinct_labels(const_label_view v, bool with_zero, int threads) {
  // Sorted distinct labels; per-thread sets merged (order-independent).
  const int workers = resolve_threads(threads);
  std::vector<std::vector<label_t>> parts(static_cast<std::size_t>(workers));
  parallel_for(v.rows(), workers, 64, [&](index_t r0, index_t r1, int w) {
    std::vector<label_t> seen;
    label_t last = std::numeric_limits<label_t>::min();
    for (index_t r = r0; r < r1; ++r)
      for (label_t l : v.row(r))
        if (l != last) {
          last = l;
          seen.push_back(l);
          if (seen.size() > 4096) {
            std::sort(seen.begin(), seen.end());
            seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
          }
        }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    parts[static_cast<std::size_t>(w)] = std::move(seen);
  });
  std::vector<label_t> all;
  for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (!with_zero) all.erase(std::remove(all.begin(), all.end(), label_t{0}), all.end());
  return all;
}

inline double choose2(double n) { return n * (n - 1.0) / 2.0; }

}  // namespace detail

inline confusion_matrix contingency(const_label_view a, const_label_view b,
                                    const compare_options& options = {}) {
  require(a.shape() == b.shape(), "compare", "map shapes",
          "must be equal (first map is " + std::to_string(a.rows()) + " x " +
              std::to_string(a.cols()) + ")",
          std::to_string(b.rows()) + " x " + std::to_string(b.cols()));
  confusion_matrix m;
  m.labels_a = detail::distinct_labels(a, options.include_unlabeled, options.threads);
  m.labels_b = detail::distinct_labels(b, options.include_unlabeled, options.threads);
  const std::size_t na = m.labels_a.size(), nb = m.labels_b.size();
  require(na * nb <= (std::size_t{1} << 28), "compare", "label count",
          "product of the two maps' label counts must be <= 2^28", na * nb);
  m.counts.assign(na * nb, 0);
  if (na == 0 || nb == 0) return m;
  const int workers = resolve_threads(options.threads);
  std::vector<std::vector<std::int64_t>> parts(static_cast<std::size_t>(workers));
  const bool zero = options.include_unlabeled;
  parallel_for(a.rows(), workers, 64, [&](index_t r0, index_t r1, int w) {
    auto& cnt = parts[static_cast<std::size_t>(w)];
    cnt.assign(na * nb, 0);
    // Cache the last lookup: maps are spatially coherent.
    label_t la = 0, lb = 0;
    std::size_t ia = 0, ib = 0;
    bool va = false, vb = false;
    for (index_t r = r0; r < r1; ++r) {
      auto ra = a.row(r);
      auto rb = b.row(r);
      for (std::size_t c = 0; c < ra.size(); ++c) {
        const label_t x = ra[c], y = rb[c];
        if (!zero && (x == 0 || y == 0)) continue;
        if (!va || x != la) {
          la = x;
          va = true;
          ia = static_cast<std::size_t>(
              std::lower_bound(m.labels_a.begin(), m.labels_a.end(), x) - m.labels_a.begin());
        }
        if (!vb || y != lb) {
          lb = y;
          vb = true;
          ib = static_cast<std::size_t>(
              std::lower_bound(m.labels_b.begin(), m.labels_b.end(), y) - m.labels_b.begin());
        }
        ++cnt[ia * nb + ib];
      }
    }
  });
  for (auto& p : parts)
    for (std::size_t i = 0; i < p.size(); ++i) m.counts[i] += p[i];
  for (auto v : m.counts) m.total += v;
  // Drop labels that only occur opposite a skipped 0 (no compared pixel).
  std::vector<std::size_t> keep_a, keep_b;
  for (std::size_t i = 0; i < na; ++i) {
    std::int64_t s = 0;
    for (std::size_t j = 0; j < nb; ++j) s += m.counts[i * nb + j];
    if (s > 0) keep_a.push_back(i);
  }
  for (std::size_t j = 0; j < nb; ++j) {
    std::int64_t s = 0;
    for (std::size_t i = 0; i < na; ++i) s += m.counts[i * nb + j];
    if (s > 0) keep_b.push_back(j);
  }
  if (keep_a.size() != na || keep_b.size() != nb) {
    confusion_matrix t;
    t.total = m.total;
    for (auto i : keep_a) t.labels_a.push_back(m.labels_a[i]);
    for (auto j : keep_b) t.labels_b.push_back(m.labels_b[j]);
    for (auto i : keep_a)
      for (auto j : keep_b) t.counts.push_back(m.counts[i * nb + j]);
    return t;
  }
  return m;
}

// Adjusted Rand index from a confusion matrix: 1 = identical partitions,
// ~0 = chance agreement. Both partitions trivial (one class each) give 1.
inline double adjusted_rand_index(const confusion_matrix& m) {
  const std::size_t na = m.labels_a.size(), nb = m.labels_b.size();
  double sum_ij = 0, sum_a = 0, sum_b = 0;
  std::vector<double> col(nb, 0.0);
  for (std::size_t i = 0; i < na; ++i) {
    double row = 0;
    for (std::size_t j = 0; j < nb; ++j) {
      const double v = static_cast<double>(m(i, j));
      sum_ij += detail::choose2(v);
      row += v;
      col[j] += v;
    }
    sum_a += detail::choose2(row);
  }
  for (double v : col) sum_b += detail::choose2(v);
  const double total = detail::choose2(static_cast<double>(m.total));
  if (total == 0) return 1.0;
  const double expected = sum_a * sum_b / total;
  const double maximum = 0.5 * (sum_a + sum_b);
  if (maximum == expected) return 1.0;  // both partitions trivial
  return (sum_ij - expected) / (maximum - expected);
}

inline double adjusted_rand_index(const_label_view a, const_label_view b,
                                  const compare_options& options = {}) {
  return adjusted_rand_index(contingency(a, b, options));
}

// Maximum-weight one-to-one assignment on a rectangular weight matrix
// (rows x cols, row-major): returns for each row the matched column or -1.
// Hungarian algorithm with potentials (Kuhn-Munkres), O(n^2 m).
inline std::vector<index_t> hungarian_max(const std::vector<double>& weight, std::size_t rows,
                                          std::size_t cols) {
  const bool transpose = rows > cols;  // the algorithm wants rows <= cols
  const std::size_t n = transpose ? cols : rows, m = transpose ? rows : cols;
  auto cost = [&](std::size_t i, std::size_t j) {  // 1-based, minimise -weight
    return transpose ? -weight[(j - 1) * cols + (i - 1)] : -weight[(i - 1) * cols + (j - 1)];
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);
  std::vector<std::size_t> p(m + 1, 0), way(m + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    p[0] = i;
    std::size_t j0 = 0;
    std::vector<double> minv(m + 1, inf);
    std::vector<char> used(m + 1, 0);
    do {
      used[j0] = 1;
      const std::size_t i0 = p[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= m; ++j)
        if (!used[j]) {
          const double cur = cost(i0, j) - u[i0] - v[j];
          if (cur < minv[j]) minv[j] = cur, way[j] = j0;
          if (minv[j] < delta) delta = minv[j], j1 = j;
        }
      for (std::size_t j = 0; j <= m; ++j)
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<index_t> match(rows, -1);
  for (std::size_t j = 1; j <= m; ++j)
    if (p[j] != 0) {
      if (transpose)
        match[j - 1] = static_cast<index_t>(p[j] - 1);
      else
        match[p[j] - 1] = static_cast<index_t>(j - 1);
    }
  return match;
}

struct label_matching {
  // pairs (label in a, label in b), in increasing order of the a label; labels
  // left over (when the maps have different label counts) are not listed.
  std::vector<std::pair<label_t, label_t>> pairs;
  std::int64_t agreeing = 0;  // pixels on the matched pairs
  double accuracy = 0;        // agreeing / compared pixels
};

inline label_matching best_matching(const confusion_matrix& m) {
  const std::size_t na = m.labels_a.size(), nb = m.labels_b.size();
  label_matching out;
  if (na == 0 || nb == 0) return out;
  std::vector<double> w(m.counts.begin(), m.counts.end());
  const auto match = hungarian_max(w, na, nb);
  for (std::size_t i = 0; i < na; ++i)
    if (match[i] >= 0) {
      const auto j = static_cast<std::size_t>(match[i]);
      out.pairs.push_back({m.labels_a[i], m.labels_b[j]});
      out.agreeing += m(i, j);
    }
  out.accuracy = m.total > 0 ? static_cast<double>(out.agreeing) / static_cast<double>(m.total) : 1.0;
  return out;
}

// Histogram of a(p) - matched_b(p) over compared pixels, where matched_b maps
// each label of b to its matched label of a (labels of b without a match keep
// their own value). With match = false the raw difference a - b is used
// (Duan 2016 compared maps whose labels already corresponded).
inline std::map<std::int64_t, std::int64_t> difference_histogram(
    const_label_view a, const_label_view b, const label_matching* matching = nullptr,
    const compare_options& options = {}) {
  require(a.shape() == b.shape(), "compare", "map shapes", "must be equal", b.rows());
  std::map<label_t, label_t> to_a;
  if (matching)
    for (auto [la, lb] : matching->pairs) to_a[lb] = la;
  const int workers = resolve_threads(options.threads);
  std::vector<std::map<std::int64_t, std::int64_t>> parts(static_cast<std::size_t>(workers));
  parallel_for(a.rows(), workers, 64, [&](index_t r0, index_t r1, int w) {
    auto& h = parts[static_cast<std::size_t>(w)];
    for (index_t r = r0; r < r1; ++r) {
      auto ra = a.row(r);
      auto rb = b.row(r);
      for (std::size_t c = 0; c < ra.size(); ++c) {
        if (!options.include_unlabeled && (ra[c] == 0 || rb[c] == 0)) continue;
        label_t y = rb[c];
        if (matching) {
          auto it = to_a.find(y);
          if (it != to_a.end()) y = it->second;
        }
        ++h[static_cast<std::int64_t>(ra[c]) - y];
      }
    }
  });
  std::map<std::int64_t, std::int64_t> out;
  for (auto& p : parts)
    for (auto [k, v] : p) out[k] += v;
  return out;
}

struct map_comparison {
  confusion_matrix confusion;
  double ari = 0;
  label_matching matching;
  std::map<std::int64_t, std::int64_t> differences;  // after matching
};

inline map_comparison compare_maps(const_label_view a, const_label_view b,
                                   const compare_options& options = {}) {
  map_comparison out;
  out.confusion = contingency(a, b, options);
  out.ari = adjusted_rand_index(out.confusion);
  out.matching = best_matching(out.confusion);
  out.differences = difference_histogram(a, b, &out.matching, options);
  return out;
}

// The JSON `spectromine compare` prints.
inline nlohmann::json to_json(const map_comparison& c) {
  nlohmann::json j;
  j["ari"] = c.ari;
  j["pixels_compared"] = c.confusion.total;
  j["confusion"] = {{"labels_a", c.confusion.labels_a}, {"labels_b", c.confusion.labels_b}};
  nlohmann::json rows = nlohmann::json::array();
  const std::size_t nb = c.confusion.labels_b.size();
  for (std::size_t i = 0; i < c.confusion.labels_a.size(); ++i)
    rows.push_back(std::vector<std::int64_t>(c.confusion.counts.begin() + i * nb,
                                             c.confusion.counts.begin() + (i + 1) * nb));
  j["confusion"]["counts"] = rows;
  nlohmann::json pairs = nlohmann::json::array();
  for (auto [la, lb] : c.matching.pairs) pairs.push_back({{"a", la}, {"b", lb}});
  j["matching"] = {{"pairs", pairs}, {"agreeing_pixels", c.matching.agreeing},
                   {"accuracy", c.matching.accuracy}};
  nlohmann::json hist = nlohmann::json::array();
  for (auto [d, n] : c.differences) hist.push_back({{"difference", d}, {"pixels", n}});
  j["difference_histogram"] = hist;
  return j;
}

}  // namespace spectromine::analysis
