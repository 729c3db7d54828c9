// spectromine/partition/dbscan.hpp: exact DBSCAN (Ester et al. 1996) on
// spectral images, the route of Duan et al. 2016 (docs/METHODS.md section 8).
//
// Definitions (eps, MinPts; distances are those of the index, by default the
// Euclidean distance between standardized spectra, d^2 = 2 (1 - Pearson r)):
//   core point    >= MinPts points within eps, ITSELF INCLUDED (the
//                 convention of Ester et al. and scikit-learn's min_samples);
//   clusters      connected components of the graph of cores, an edge when
//                 two cores are within eps;
//   border point  non-core with a core within eps: it joins ONE cluster, by
//                 the rule below; with DBSCAN* (Campello et al. 2013) borders
//                 are noise instead;
//   noise         the rest: labels::outlier. Duan 2016 keep these inside the
//                 sample as a real minority phase; the cluster pipeline later
//                 gives them their own positive label (summary.json
//                 "outlier_label").
//
// Determinism (same labels for every thread count and every index policy):
//  * the index contract (index/concept.hpp) makes every neighbor SET exact;
//  * clusters are numbered 1, 2, ... in increasing order of the smallest point
//    index of their cores (expansion is seeded in point order), before any
//    relabelling by size (analysis/summaries.hpp, docs/CLI.md);
//  * BORDER RULE: a border joins the cluster of its NEAREST core neighbor
//    (canonical distance), ties broken by the smaller point index. (Ester's
//    original lets the expansion order decide, which is not reproducible.)
//
// Algorithm, O(n) memory (no neighbor lists, unlike scikit-learn's O(n^2)
// worst case: scikit-learn issues #5275, #22531, #26726):
//  1. core flags, in parallel: each query stops at MinPts neighbors;
//     The first min(MinPts, 32) neighbors met are kept per point: for a
//     non-core that is its whole neighborhood (< MinPts), for a core a sparse
//     sample of its core-graph edges;
//  2. borders, in parallel, from the kept neighborhoods: the nearest core;
//  3. clusters: expansion from each unlabelled core in point order. Kept edges
//     are followed first (no index query: a sample of >= MinPts edges per
//     core often connects much of a phase); then, for exactness, every
//     reached core is queried ONCE against an index from which every reached
//     core has been erased. Batches of these queries start one query wide
//     and double while queries find little (then in parallel), dropping back
//     to one as soon as a query finds many new cores: the first query into a
//     dense phase then reaches (and erases) all of it, and the rest of the
//     phase queries an almost empty index. So a phase of m mutually close
//     pixels costs O(m) cheap queries instead of O(m^2) reported neighbors --
//     the difference between seconds and hours on a 10^5-pixel majority
//     phase. New cores are claimed by an atomic compare-exchange on the
//     label: each is reported once. Non-erasable indexes work too (filtering
//     by label), slower.
// Memory: labels (int32) + core flags (uint8) + kept neighbors (min(MinPts,
// 32) ids per point) + the reached list (<= n ids) + the index (brute force:
// n floats; trees: n K floats) + features. Never a neighbor list of unbounded
// length.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "spectromine/analysis/pca.hpp"
#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/partition/concept.hpp"
#include "spectromine/partition/detail/dbscan_auto_eps.hpp"
#include "spectromine/preprocess/standardize.hpp"

namespace spectromine::partition {

// ------------------------------------------------------------ point level

struct dbscan_run_options {
  bool star = false;  // DBSCAN*: borders become noise
  int threads = 0;    // 0 = all cores
};

struct dbscan_point_result {
  std::vector<label_t> labels;      // per point: 1..clusters, or labels::outlier
  std::vector<std::uint8_t> core;   // per point: 1 = core
  label_t clusters = 0;
  index_t cores = 0, borders = 0, noise = 0;
};

namespace detail {
// Calls index queries for a contiguous run of query ids, batched when the
// index can (one GEMM per batch for brute force).
template <index::radius_searchable I, class Visit>
void query_run(const I& idx, std::span<const index_t> queries, double eps, Visit&& visit) {
  if constexpr (index::batch_radius_searchable<I>) {
    idx.radius_search_batch(queries, eps, visit);
  } else {
    for (std::size_t k = 0; k < queries.size(); ++k)
      idx.radius_search(queries[k], eps, [&](index_t j, double d) { return visit(k, j, d); });
  }
}
}  // namespace detail

// DBSCAN over the points of an index (built once by the caller). The index is
// modified (points erased) when it is erasable: build a fresh one per run.
template <index::radius_searchable I, progress_observer P = no_progress>
dbscan_point_result dbscan_points(I& idx, double eps, index_t min_pts,
                                  const dbscan_run_options& options = {}, P&& progress = {}) {
  constexpr std::string_view component = "dbscan";
  require(std::isfinite(eps) && eps > 0, component, "eps", "must be finite and > 0", eps);
  require(min_pts >= 1, component, "min_pts", "must be >= 1", min_pts);
  const int threads = resolve_threads(options.threads);
  const index_t n = idx.size();
  dbscan_point_result out;
  out.labels.assign(static_cast<std::size_t>(n), 0);
  out.core.assign(static_cast<std::size_t>(n), 0);
  auto& labels = out.labels;
  auto& core = out.core;
  constexpr index_t batch = 64;

  // 1. Core flags; each query stops at MinPts. The neighbors met on the way
  // are kept, at most `cap` per point: a non-core point's list is then its
  // COMPLETE neighborhood (< MinPts), and a core's first `cap` neighbors are
  // a sparse subgraph of the core graph that step 3 expands without any
  // index query.
  const index_t cap = std::min<index_t>(min_pts, 32);
  std::vector<index_t> first(static_cast<std::size_t>(n * cap));
  std::vector<std::uint8_t> kept(static_cast<std::size_t>(n), 0);  // neighbors stored (<= cap)
  // Queries in the index's locality order when it has one (kd-tree: leaf by
  // leaf): consecutive queries then verify the same few feature rows, which
  // stay in cache -- the rows of a 10^5 x 178 matrix are otherwise fetched
  // from memory for every candidate. The order changes no result (per-point
  // outputs only).
  std::span<const index_t> order;
  if constexpr (index::locality_ordered<I>) order = idx.locality_order();
  require(order.empty() || static_cast<index_t>(order.size()) == n, component, "locality_order size",
          "must be 0 or the point count", order.size());
  progress(std::string_view("dbscan: core points"), index_t{0}, n);
  parallel_for(n, threads, 4 * batch, [&](index_t begin, index_t end, int worker) {
    std::vector<index_t> qs;
    std::vector<index_t> count;
    for (index_t q0 = begin; q0 < end; q0 += batch) {
      const index_t q1 = std::min(end, q0 + batch);
      qs.resize(static_cast<std::size_t>(q1 - q0));
      for (index_t k = q0; k < q1; ++k)
        qs[static_cast<std::size_t>(k - q0)] = order.empty() ? k : order[static_cast<std::size_t>(k)];
      count.assign(qs.size(), 0);
      detail::query_run(idx, std::span<const index_t>(qs), eps, [&](std::size_t k, index_t j, double) {
        const index_t c = count[k]++;
        if (c < cap) first[static_cast<std::size_t>(qs[k] * cap + c)] = j;
        return count[k] < min_pts;
      });
      for (std::size_t k = 0; k < qs.size(); ++k) {
        core[static_cast<std::size_t>(qs[k])] = count[k] >= min_pts ? 1 : 0;
        kept[static_cast<std::size_t>(qs[k])] = static_cast<std::uint8_t>(std::min(count[k], cap));
      }
      if (worker == 0) progress(std::string_view("dbscan: core points"), q1 * threads, n);
    }
  });
  progress(std::string_view("dbscan: core points"), n, n);
  auto stored = [&](index_t p) {
    return std::span<const index_t>(first.data() + p * cap, kept[static_cast<std::size_t>(p)]);
  };

  // 2. Borders: nearest core neighbor (ties: smaller index) of each non-core,
  // from its stored complete neighborhood (re-queried only when MinPts > 32).
  std::vector<std::vector<std::pair<index_t, index_t>>> anchors(static_cast<std::size_t>(threads));
  if (!options.star) {
    const index::feature_view fv = idx.features();
    parallel_for(n, threads, 4 * batch, [&](index_t begin, index_t end, int worker) {
      auto& mine = anchors[static_cast<std::size_t>(worker)];
      for (index_t p = begin; p < end; ++p) {
        if (core[static_cast<std::size_t>(p)]) continue;
        index_t best = -1;
        double best_d = std::numeric_limits<double>::infinity();
        auto consider = [&](index_t j, double d) {
          if (core[static_cast<std::size_t>(j)] && (d < best_d || (d == best_d && j < best))) {
            best = j;
            best_d = d;
          }
          return true;
        };
        if (kept[static_cast<std::size_t>(p)] < cap || min_pts <= cap) {
          for (index_t j : stored(p))
            consider(j, std::sqrt(index::canonical_squared_distance(fv, p, j)));
        } else {
          idx.radius_search(p, eps, consider);
        }
        if (best >= 0) mine.emplace_back(p, best);
      }
    });
  }

  // 3. Clusters: expansion from each unlabelled core, in point order. The
  // stored first neighbors are followed first (no index query); then every
  // reached core is queried once against the index of not-yet-reached cores
  // -- the exact completion. Queries run in batches whose WIDTH adapts: a
  // query that finds many new cores (the index is still dense around the
  // frontier) is best run alone, since it erases what its successors would
  // otherwise all verify again; once queries find little, the width doubles
  // up to frontier_batch and batches run in parallel. (A fixed width of 512
  // cost 512 x n verifications on the first batch of a 10^5-pixel phase.)
  // New cores are claimed by an atomic compare-exchange on their label, so
  // each is reported once: the per-batch lists hold <= n ids in total. Which
  // query claims a core does not matter: labels depend only on the
  // connected components.
  if constexpr (index::erasable_index<I>) {
    for (index_t p = 0; p < n; ++p)
      if (!core[static_cast<std::size_t>(p)]) idx.erase(p);
  }
  std::vector<index_t> to_query, follow;
  std::vector<std::vector<index_t>> found(static_cast<std::size_t>(threads));
  const index_t frontier_batch = 256 * static_cast<index_t>(threads);
  label_t cluster = 0;
  index_t reached = 0;
  auto reach = [&](index_t j) {
    labels[static_cast<std::size_t>(j)] = cluster;
    if constexpr (index::erasable_index<I>) idx.erase(j);
    follow.push_back(j);
    ++reached;
  };
  progress(std::string_view("dbscan: clusters"), index_t{0}, n);
  for (index_t seed = 0; seed < n; ++seed) {
    if (!core[static_cast<std::size_t>(seed)] || labels[static_cast<std::size_t>(seed)] != 0) continue;
    require(cluster < std::numeric_limits<label_t>::max(), component, "clusters",
            "must fit in int32 labels", cluster);
    ++cluster;
    to_query.clear();
    follow.clear();
    reach(seed);
    std::size_t queried = 0;
    index_t width = 1;
    for (;;) {
      // Follow stored edges (sequential, O(cap) per core).
      while (!follow.empty()) {
        const index_t p = follow.back();
        follow.pop_back();
        to_query.push_back(p);
        for (index_t j : stored(p))
          if (core[static_cast<std::size_t>(j)] && labels[static_cast<std::size_t>(j)] == 0) reach(j);
      }
      if (queried == to_query.size()) break;
      // Exact completion: query a batch of reached cores.
      const index_t count = std::min<index_t>(width, static_cast<index_t>(to_query.size() - queried));
      const std::span<const index_t> todo(to_query.data() + queried, static_cast<std::size_t>(count));
      queried += static_cast<std::size_t>(count);
      for (auto& f : found) f.clear();
      // Small batches run inline: thread start-up would cost more than the queries.
      const int use = count < 64 ? 1 : threads;
      const label_t id = cluster;
      parallel_for(count, use, 16, [&](index_t begin, index_t end, int worker) {
        auto& mine = found[static_cast<std::size_t>(worker)];
        for (index_t q0 = begin; q0 < end; q0 += batch) {
          const index_t q1 = std::min(end, q0 + batch);
          detail::query_run(idx, todo.subspan(static_cast<std::size_t>(q0), static_cast<std::size_t>(q1 - q0)),
                            eps, [&](std::size_t, index_t j, double) {
                              if (!core[static_cast<std::size_t>(j)]) return true;
                              std::atomic_ref<label_t> l(labels[static_cast<std::size_t>(j)]);
                              label_t expected = 0;
                              if (l.load(std::memory_order_relaxed) == 0 &&
                                  l.compare_exchange_strong(expected, id, std::memory_order_relaxed))
                                mine.push_back(j);
                              return true;
                            });
        }
      });
      index_t new_cores = 0;
      for (const auto& f : found) {
        new_cores += static_cast<index_t>(f.size());
        for (index_t j : f) {
          if constexpr (index::erasable_index<I>) idx.erase(j);
          follow.push_back(j);
          ++reached;
        }
      }
      width = new_cores > 4 * count ? 1 : std::min(2 * width, frontier_batch);
    }
    progress(std::string_view("dbscan: clusters"), reached, n);
  }
  out.clusters = cluster;

  // Borders take their anchor's cluster; the rest is noise.
  for (const auto& list : anchors)
    for (const auto& [p, a] : list) labels[static_cast<std::size_t>(p)] = labels[static_cast<std::size_t>(a)];
  for (index_t p = 0; p < n; ++p) {
    auto& l = labels[static_cast<std::size_t>(p)];
    if (core[static_cast<std::size_t>(p)]) {
      ++out.cores;
    } else if (l > 0) {
      ++out.borders;
    } else {
      l = labels::outlier;
      ++out.noise;
    }
  }
  progress(std::string_view("dbscan: clusters"), n, n);
  return out;
}

// Distance of each sampled point to its k-th nearest neighbor (itself
// counted, so k = MinPts gives the core-distance), sorted decreasing: the
// "k-distance plot" of Ester et al. for those who want to look at eps. The
// sample is `sample` points evenly spaced (all when sample >= n). Brute force,
// float32 products refined by the canonical distance for the k kept.
inline std::vector<double> dbscan_k_distances(index::feature_view f, index_t k, index_t sample = 2000,
                                              int threads = 0) {
  constexpr std::string_view component = "dbscan k-distance";
  index::validate_features(f, component);
  require(k >= 1 && k <= f.size, component, "k", "must be in 1..point count", k);
  require(sample >= 1, component, "sample", "must be >= 1", sample);
  const index_t m = std::min(sample, f.size);
  std::vector<double> out(static_cast<std::size_t>(m));
  // A few more than k by float32 estimate, then exact distances decide.
  const index_t keep = std::min<index_t>(f.size, k + 8);
  parallel_for(m, threads, 8, [&](index_t s0, index_t s1, int) {
    std::vector<std::pair<float, index_t>> heap;
    for (index_t s = s0; s < s1; ++s) {
      const index_t q = static_cast<index_t>((static_cast<double>(s) + 0.5) *
                                             static_cast<double>(f.size) / static_cast<double>(m));
      heap.clear();
      const float* a = f.row_pointer(q);
      for (index_t j = 0; j < f.size; ++j) {
        const float* b = f.row_pointer(j);
        float d = 0;
        for (index_t t = 0; t < f.dim; ++t) d += (a[t] - b[t]) * (a[t] - b[t]);
        if (static_cast<index_t>(heap.size()) < keep) {
          heap.emplace_back(d, j);
          std::push_heap(heap.begin(), heap.end());
        } else if (d < heap.front().first) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = {d, j};
          std::push_heap(heap.begin(), heap.end());
        }
      }
      std::vector<double> exact;
      exact.reserve(heap.size());
      for (const auto& [d, j] : heap) exact.push_back(index::canonical_squared_distance(f, q, j));
      std::nth_element(exact.begin(), exact.begin() + (k - 1), exact.end());
      out[static_cast<std::size_t>(s)] = std::sqrt(exact[static_cast<std::size_t>(k - 1)]);
    }
  });
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
}

// ------------------------------------------------------------ image level

// Standardized spectra of the usable sample pixels as features, and which
// pixel each row is. Pixels that cannot be standardized (NaN / Inf anywhere,
// or constant) are "rejected": counted and left unlabeled (no direction, no
// Pearson similarity; not a phase).
struct dbscan_features {
  index::feature_matrix features;
  std::vector<index_t> pixel;   // row -> pixel (row-major)
  index_t masked = 0;           // mask == 0
  index_t rejected = 0;         // in the mask but not standardizable
};

template <class T>
dbscan_features standardized_features(cube_view<const T> cube, mask_view mask, int threads = 0) {
  constexpr std::string_view component = "dbscan";
  const bool use_mask = mask.pixel_count() > 0;
  dbscan_features out;
  for (index_t p = 0; p < cube.pixel_count(); ++p) {
    if (use_mask && mask[p] == 0) {
      ++out.masked;
      continue;
    }
    out.pixel.push_back(p);
  }
  require(cube.bands() >= 2, component, "bands", "must be >= 2", cube.bands());
  out.features.resize(static_cast<index_t>(out.pixel.size()), cube.bands());
  std::vector<std::uint8_t> ok(out.pixel.size(), 0);
  parallel_for(static_cast<index_t>(out.pixel.size()), threads, 1024, [&](index_t b, index_t e, int) {
    std::vector<double> in(static_cast<std::size_t>(cube.bands()));
    for (index_t r = b; r < e; ++r) {
      const auto s = cube.spectrum(out.pixel[static_cast<std::size_t>(r)]);
      std::copy(s.begin(), s.end(), in.begin());
      ok[static_cast<std::size_t>(r)] =
          standardize(std::span<const double>(in), out.features.row(r)) ? 1 : 0;
    }
  });
  // Compact away rejected rows (in place, order kept).
  index_t w = 0;
  for (index_t r = 0; r < static_cast<index_t>(out.pixel.size()); ++r) {
    if (!ok[static_cast<std::size_t>(r)]) {
      ++out.rejected;
      continue;
    }
    if (w != r) {
      std::copy(out.features.row_pointer(r), out.features.row_pointer(r) + cube.bands(),
                out.features.row_pointer(w));
      out.pixel[static_cast<std::size_t>(w)] = out.pixel[static_cast<std::size_t>(r)];
    }
    ++w;
  }
  if (w != static_cast<index_t>(out.pixel.size())) {
    index::feature_matrix compact(w, cube.bands());
    for (index_t r = 0; r < w; ++r)
      std::copy(out.features.row_pointer(r), out.features.row_pointer(r) + cube.bands(),
                compact.row_pointer(r));
    out.features = std::move(compact);
    out.pixel.resize(static_cast<std::size_t>(w));
  }
  return out;
}

struct dbscan_options {
  // Radius in the feature space (Euclidean distance between standardized
  // spectra: sqrt(2 (1 - r))). Unset = auto: from the noise model
  // (dbscan_auto_eps, options below).
  std::optional<double> eps;
  // MinPts, the point itself included. 0 = auto: smallest_region.
  index_t min_pts = 0;
  // The smallest region (pixels) worth reporting as a phase. A region of m
  // pixels of one spectrum are mutual neighbors (eps covers noise pairs), so
  // each has m neighbors: its pixels are cores iff m >= MinPts. Default 23:
  // the P_num of the default window-core repair (5 x 5 window, >= 23 pixels),
  // below which the repair would not keep a region anyway.
  index_t smallest_region = 23;
  bool star = false;          // DBSCAN*: borders become noise
  index_t components = 0;     // 0: cluster standardized spectra; K > 0: their top-K PCA features
  int threads = 0;
  dbscan_auto_eps_options auto_eps{};
  // The NORMALIZED spectra auto eps takes its noise from (sigma depends on
  // the normalized absorbance, N on the spectrum's own norm). Empty: the
  // partitioned cube itself, which must then be normalized, not
  // standardized. The CLI partitions standardized spectra and points this at
  // its normalized cube (same shape; non-owning: must outlive partition()).
  cube_view<const float> noise_source{};

  void validate() const {
    constexpr std::string_view c = "dbscan";
    if (eps) require(std::isfinite(*eps) && *eps > 0, c, "eps", "must be finite and > 0", *eps);
    require(min_pts >= 0, c, "min_pts", "must be >= 1 (or 0 = auto)", min_pts);
    require(smallest_region >= 1, c, "smallest_region", "must be >= 1", smallest_region);
    require(components >= 0, c, "components", "must be >= 0 (0 = full spectra)", components);
    require(threads >= 0, c, "threads", "must be >= 0 (0 = all cores)", threads);
    if (!eps) auto_eps.validate();
  }
  index_t resolved_min_pts() const { return min_pts > 0 ? min_pts : smallest_region; }
};

// The partitioner: DBSCAN on a normalized cube with a chosen index policy.
template <index::index_policy Index = index::brute_force_policy>
class dbscan {
 public:
  explicit dbscan(dbscan_options options = {}, Index index = {})
      : options_(std::move(options)), index_(std::move(index)) {}

  const dbscan_options& options() const noexcept { return options_; }

  template <class T>
  partition_report partition(cube_view<const T> cube, mask_view mask, label_view labels) const {
    return partition(cube, mask, labels, no_progress{});
  }
  // A writable view is read only.
  template <class T>
    requires(!std::is_const_v<T>)
  partition_report partition(cube_view<T> cube, mask_view mask, label_view labels) const {
    return partition(cube_view<const T>(cube), mask, labels, no_progress{});
  }

  template <class T, progress_observer P>
  partition_report partition(cube_view<const T> cube, mask_view mask, label_view labels,
                             P&& progress) const {
    constexpr std::string_view component = "dbscan";
    using clock = std::chrono::steady_clock;
    options_.validate();
    require(labels.shape() == cube.shape(), component, "labels shape",
            "must equal the cube's image shape", labels.pixel_count());
    if (mask.pixel_count() > 0)
      require(mask.shape() == cube.shape(), component, "mask shape",
              "must equal the cube's image shape", mask.pixel_count());
    const int threads = resolve_threads(options_.threads);
    const auto t0 = clock::now();
    auto seconds = [](clock::time_point a, clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };

    dbscan_features feat = standardized_features(cube, mask, threads);
    nlohmann::json params;
    params["features"] = options_.components > 0 ? "pca of standardized spectra"
                                                 : "standardized spectra";
    params["distance"] = "euclidean between standardized spectra: sqrt(2 (1 - pearson r))";
    // K PCA features: analysis/pca.hpp on the standardized spectra (the
    // library's PCA, bit-identical for any thread count), scores in float.
    std::optional<Eigen::MatrixXd> basis;  // bands x K, orthonormal columns
    if (options_.components > 0 && feat.features.size() > 0) {
      const index_t k = options_.components;
      require(k <= cube.bands(), component, "components",
              "must be <= the band count " + std::to_string(cube.bands()), k);
      const index_t n = feat.features.size();
      const auto& fm = feat.features;
      const cube_view<const float> as_cube(fm.row_pointer(0), image_shape{1, n}, fm.dim(),
                                           n * fm.stride(), fm.stride());
      pca_options po;
      po.components = k;
      po.threads = threads;
      const pca_model model = fit_pca(as_cube, mask_view{}, po);
      index::feature_matrix projected(n, k);
      projection_options pj;
      pj.components = k;
      pj.threads = threads;
      project(model, as_cube,
              cube_view<float>(projected.row_pointer(0), image_shape{1, n}, k,
                               n * projected.stride(), projected.stride()),
              mask_view{}, pj);
      basis = model.components.topRows(k).transpose();
      feat.features = std::move(projected);
      params["components"] = k;
      params["explained_variance_ratio"] = std::vector<double>(
          model.explained_variance_ratio.data(), model.explained_variance_ratio.data() + k);
    } else {
      params["components"] = 0;
    }
    const auto t1 = clock::now();

    double eps = 0;
    if (options_.eps) {
      eps = *options_.eps;
      params["eps_source"] = "user";
    } else {
      const Eigen::MatrixXd* b = basis ? &*basis : nullptr;
      dbscan_auto_eps_result a;
      if (options_.noise_source.pixel_count() > 0) {
        require(options_.noise_source.shape() == cube.shape() &&
                    options_.noise_source.bands() == cube.bands(),
                component, "noise_source", "must have the cube's shape and bands",
                options_.noise_source.pixel_count());
        a = dbscan_auto_eps(options_.noise_source, mask, options_.auto_eps, b, threads);
      } else {
        a = dbscan_auto_eps(cube, mask, options_.auto_eps, b, threads);
      }
      eps = a.eps;
      params["eps_source"] = "auto";
      params["auto_eps"] = options_.auto_eps.to_json();
      params["auto_eps"]["median_noise_distance"] = a.median;
      params["auto_eps"]["pixels"] = a.pixels;
      params["auto_eps"]["samples"] = a.samples;
    }
    const index_t min_pts = options_.resolved_min_pts();
    params["eps"] = eps;
    params["min_pts"] = min_pts;
    params["min_pts_source"] = options_.min_pts > 0 ? "user" : "smallest_region";
    params["smallest_region"] = options_.smallest_region;
    params["star"] = options_.star;
    if constexpr (requires { index_.chosen_name(); })
      params["index"] = std::string(index_.chosen_name());
    else
      params["index"] = Index::name;
    const auto t2 = clock::now();

    for (index_t r = 0; r < labels.rows(); ++r)
      std::fill(labels.row(r).begin(), labels.row(r).end(), labels::unlabeled);
    partition_report report;
    report.method = "dbscan";
    dbscan_point_result result;
    if (feat.features.size() > 0) {
      auto idx = index_.build(feat.features.view(), threads);
      const auto t3 = clock::now();
      params["seconds_index"] = seconds(t2, t3);
      result = dbscan_points(idx, eps, min_pts, dbscan_run_options{options_.star, threads},
                             progress);
      params["seconds_dbscan"] = seconds(t3, clock::now());
    }
    for (std::size_t r = 0; r < feat.pixel.size(); ++r) labels[feat.pixel[r]] = result.labels[r];
    params["core_points"] = result.cores;
    params["border_points"] = result.borders;
    params["noise_points"] = result.noise;
    params["masked_pixels"] = feat.masked;
    params["rejected_pixels"] = feat.rejected;
    params["seconds_features"] = seconds(t0, t1);
    params["seconds_eps"] = seconds(t1, t2);
    report.parameters = std::move(params);
    report.clusters = result.clusters;
    return report;
  }

 private:
  dbscan_options options_;
  Index index_;
};

}  // namespace spectromine::partition
