// spectromine/parallel/tiled_dbscan.hpp: exact DBSCAN (Duan 2016 route,
// docs/METHODS.md section 8) over a cube larger than memory, equal label for
// label to the in-memory partition::dbscan of the CLI pipeline.
//
// DBSCAN neighbourhoods live in spectral space, not image space: a pixel's
// neighbours can be anywhere in the image, so row bands with halos do not
// help (docs/scaling.md). Instead the sample pixels are cut into BLOCKS of
// whole image rows (two blocks in memory at a time) and every block pair
// (i <= j) is compared by brute force:
//
//   pass A  per band: read -> normalize (fixed e0) -> standardize ->
//           standardized_features (exactly the in-memory CLI route,
//           examples/spectromine/commands/cluster.hpp + partition/dbscan.hpp):
//           the point count of every image row (-> global point ids: points
//           are the usable sample pixels in row-major order, as in memory) and
//           a scratch validity file (0 no sample, 1 point, 2 sample pixel that
//           dbscan rejects: not standardizable);
//   eps     given, or --eps auto: the in-memory dbscan_auto_eps chooses <= 128
//           evenly spaced sample pixels by rank; one streaming pass collects
//           exactly those normalized spectra and runs the same function on
//           them (same pixels, same seeded streams -> the same eps bit for
//           bit);
//   pass 1  core flags: neighbour counts (the point itself included) over
//           block pairs; a pair is skipped once all its points have reached
//           MinPts (counts of cores need not be exact; non-cores never
//           saturate, so their counts are exact);
//   pass 2  links: a global union-find over core-core pairs within eps
//           (lock-free, a larger root is linked under a smaller one, so every
//           root is its component's smallest core) and, for each non-core,
//           its nearest core (canonical distance, ties to the smaller index):
//           the BORDER RULE of partition/dbscan.hpp. A non-core stops being
//           compared once all its (count - 1) neighbours were met; a core
//           pair is skipped when both already share a root; a block pair is
//           skipped (not even read) when neither side has such work;
//   labels  clusters numbered by their smallest core (= the in-memory
//           expansion order), borders take their core's cluster (DBSCAN*:
//           noise), noise = labels::outlier, rejected / masked = 0; then the
//           optional tiled repair (parallel/tiled.hpp).
// Distances: a float32 GEMM between blocks filters pairs with the
// rounding-error margin of index/brute_force.hpp; membership is decided by
// index::canonical_squared_distance on the same float features as in memory,
// so every neighbour set, core flag, component and border choice is the
// in-memory one. Block boundaries, pair order and thread count change no
// result (counts are integers, components are sets, the border rule is a
// total order).
//
// Memory: two feature blocks + one band of read buffers (from the budget),
// plus PER-POINT state held for the whole run: 8 B per point (int32 count,
// int32 union-find parent) and, from pass 2 on, 12 B per non-core point
// (nearest core id and distance); both are counted against
// tiling.memory_budget (a clear error names it when even the state does not
// fit). Cost: two sweeps of at most n^2 / 2 distance evaluations (fewer
// thanks to the skips) and up to (n/B)^2 / 2 block loads per sweep, each
// re-read from the source and re-normalized: O(n^2 / B) I/O.
// Not supported out of core: --components K (the in-memory PCA's reduction
// order is not reproduced from a stream: refused with an error).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/index/detail/gemm_filter.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/parallel/tile_source.hpp"
#include "spectromine/parallel/tiled.hpp"
#include "spectromine/parallel/tiled_statistics.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/preprocess/normalize.hpp"
#include "spectromine/preprocess/standardize.hpp"

namespace spectromine::parallel {

struct tiled_dbscan_options {
  // Normalization, as tiled_voronoi_options: set = normalize with these
  // windows (e0 unset = find_e0 of the mean spectrum, one more pass); unset =
  // the cube is already normalized.
  std::optional<pre_edge_options> normalize;
  // Sample mask (2-D uint8 .npy, 1 = sample); empty = every pixel.
  std::filesystem::path sample_mask;
  // eps (unset = auto from the noise model), min_pts / smallest_region,
  // star, auto_eps. components must be 0; threads and noise_source are not
  // used (threads come from tiling, the noise source is the normalized band).
  partition::dbscan_options dbscan;
  // Spatial repair of the labels (none by default, as the CLI's dbscan).
  std::optional<tiled_repair_options> repair;
  tiling_options tiling;
};

struct tiled_dbscan_report {
  index_t pixels = 0;    // image pixels
  index_t valid = 0;     // sample pixels normalized and standardized (the CLI's mask)
  index_t points = 0;    // clustered points (valid and accepted by dbscan's features)
  index_t rejected = 0;  // valid but not standardizable as features
  std::optional<double> e0;
  bool e0_from_mean = false;
  double eps = 0;
  index_t min_pts = 0;
  label_t clusters = 0;
  index_t cores = 0, borders = 0, noise = 0;
  index_t band_rows = 0;                   // rows per band of the streaming passes
  index_t block_rows = 0, blocks = 0;      // pass 1 blocks (pass 2 may use fewer rows)
  index_t link_block_rows = 0;             // pass 2 rows per block
  index_t block_loads = 0;                 // blocks read (both passes)
  index_t pairs_skipped = 0;               // block pairs never compared
  std::size_t state_bytes = 0;             // per-point state, peak
  std::vector<index_t> label_counts;       // [0] unlabeled, [1..clusters]; outliers in outlier_count
  index_t outlier_count = 0;
  nlohmann::json parameters;               // as partition::dbscan's report (+ tiling)
  tiled_repair_report repair;
};

namespace detail {

// Rows of features with their squared norms (float, as brute_force) and global
// point ids (ids empty = first + row).
struct point_rows {
  index::feature_matrix f;
  std::vector<float> norms;
  std::vector<index_t> ids;
  index_t first = 0;
  double max_norm2 = 0;
  index_t size() const noexcept { return f.size(); }
  index_t id(index_t k) const noexcept {
    return ids.empty() ? first + k : ids[static_cast<std::size_t>(k)];
  }
  void compute_norms() { max_norm2 = index::detail::row_squared_norms(f.view(), norms); }
};

// Copies the rows `local` of `from` into `out` (ids kept).
inline void pack_rows(const point_rows& from, std::span<const index_t> local, point_rows& out) {
  const index_t dim = from.f.dim();
  out.f.resize(static_cast<index_t>(local.size()), dim);
  out.norms.resize(local.size());
  out.ids.resize(local.size());
  out.max_norm2 = from.max_norm2;  // a bound is enough for the margin
  for (std::size_t k = 0; k < local.size(); ++k) {
    const index_t r = local[k];
    std::copy(from.f.row_pointer(r), from.f.row_pointer(r) + dim, out.f.row_pointer(static_cast<index_t>(k)));
    out.norms[k] = from.norms[static_cast<std::size_t>(r)];
    out.ids[k] = from.id(r);
  }
}

// The rows 0..size-1 not in `sorted` (ascending), into `out`.
inline void other_rows(std::span<const index_t> sorted, index_t size, std::vector<index_t>& out) {
  out.clear();
  std::size_t k = 0;
  for (index_t r = 0; r < size; ++r) {
    if (k < sorted.size() && sorted[k] == r) ++k;
    else out.push_back(r);
  }
}

// For every pair (q in Q, c in C) with want(q, c) and canonical squared
// distance <= eps2: hit(worker, q, c, d2). Workers own disjoint ranges of Q.
// float32 GEMM + the brute-force index's rounding margin
// (index/detail/gemm_filter.hpp) as a conservative filter; canonical
// distance decides.
template <class Want, class Hit>
void scan_pairs(const point_rows& Q, const point_rows& C, double eps2, int threads, Want&& want, Hit&& hit) {
  if (Q.size() == 0 || C.size() == 0) return;
  using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using col_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  using mapped = Eigen::Map<const row_matrix, 0, Eigen::OuterStride<>>;
  const index_t dim = Q.f.dim();
  const float filter2 = index::detail::gemm_filter_threshold(
      eps2, index::detail::gemm_distance_margin(dim, std::max(Q.max_norm2, C.max_norm2)));
  constexpr index_t qb = 64, cb = 1024;
  parallel_for(Q.size(), threads, qb, [&](index_t begin, index_t end, int worker) {
    col_matrix dots;
    for (index_t q0 = begin; q0 < end; q0 += qb) {
      const index_t bq = std::min(qb, end - q0);
      mapped qm(Q.f.row_pointer(q0), bq, dim, Eigen::OuterStride<>(Q.f.stride()));
      for (index_t c0 = 0; c0 < C.size(); c0 += cb) {
        const index_t bc = std::min(cb, C.size() - c0);
        mapped cm(C.f.row_pointer(c0), bc, dim, Eigen::OuterStride<>(C.f.stride()));
        dots.resize(bc, bq);
        dots.noalias() = cm * qm.transpose();
        for (index_t k = 0; k < bq; ++k) {
          const index_t q = q0 + k;
          const float nq = Q.norms[static_cast<std::size_t>(q)];
          const float* col = dots.col(k).data();
          for (index_t t = 0; t < bc; ++t) {
            const float approx = nq + C.norms[static_cast<std::size_t>(c0 + t)] - 2.0f * col[t];
            if (approx > filter2) continue;
            const index_t c = c0 + t;
            if (!want(q, c)) continue;
            const double d2 = index::canonical_squared_distance(Q.f.row_pointer(q), C.f.row_pointer(c), dim);
            if (!(d2 <= eps2)) continue;
            hit(worker, q, c, d2);
          }
        }
      }
    }
  });
}

// Reads row bands of the source and turns them into dbscan's features
// exactly as the in-memory CLI route: normalize -> standardize_cube ->
// partition::standardized_features.
template <class Source>
class feature_reader {
 public:
  feature_reader(Source& source, std::span<const double> energy, const std::optional<pre_edge_options>& edge,
                 const npy_image_file<std::uint8_t>* sample, index_t max_rows, int threads)
      : source_(source), energy_(energy), edge_(edge), sample_(sample), threads_(threads),
        data_(image_shape{max_rows, source.cols()}, source.bands()),
        z_(image_shape{max_rows, source.cols()}, source.bands()),
        sample_buf_(image_shape{max_rows, source.cols()}, 1) {}

  // Rows [row0, row0 + rows): features (band-local pixel indices), and
  // valid() / normalized() of that band until the next call.
  partition::dbscan_features read(index_t row0, index_t rows) {
    const index_t W = source_.cols(), E = source_.bands();
    require(rows <= data_.rows(), "tiled_dbscan", "band rows", "must fit the reader's buffers", rows);
    const image_shape bs{rows, W};
    cube_view<float> d(data_.data(), bs, E), zv(z_.data(), bs, E);
    source_.read_rows(row0, rows, d);
    const mask_view sample_view(sample_buf_.data(), bs);
    if (sample_) sample_->read_rows(row0, rows, sample_buf_.data());
    if (edge_) {
      normalize_cube_options n;
      n.edge = *edge_;
      n.threads = threads_;
      n.keep_edge_step = false;
      auto rep = normalize_cube(cube_view<const float>(d), energy_, n, d, sample_ ? sample_view : mask_view());
      valid_ = std::move(rep.valid);
    } else {
      valid_ = pixel_mask(bs, 1);
      if (sample_) std::copy(sample_buf_.data(), sample_buf_.data() + bs.pixels(), valid_.data());
    }
    auto srep = standardize_cube(cube_view<const float>(d), zv, mask_view(valid_.view()), threads_);
    valid_ = std::move(srep.valid);
    normalized_ = cube_view<const float>(data_.data(), bs, E);
    return partition::standardized_features(cube_view<const float>(zv), mask_view(valid_.view()), threads_);
  }
  const pixel_mask& valid() const noexcept { return valid_; }
  cube_view<const float> normalized() const noexcept { return normalized_; }

 private:
  Source& source_;
  std::span<const double> energy_;
  std::optional<pre_edge_options> edge_;
  const npy_image_file<std::uint8_t>* sample_;
  int threads_;
  cube<float> data_, z_;
  pixel_mask sample_buf_;
  pixel_mask valid_;
  cube_view<const float> normalized_{};
};

// Lock-free union-find on int32 parents: a root is only ever linked under a
// SMALLER root (compare-exchange), so parent[x] <= x always and every root is
// the smallest member of its set, whatever the order of the unions.
inline std::int32_t uf_find(std::vector<std::int32_t>& parent, std::int32_t x) {
  for (;;) {
    std::atomic_ref<std::int32_t> px(parent[static_cast<std::size_t>(x)]);
    std::int32_t p = px.load(std::memory_order_acquire);
    if (p == x) return x;
    const std::int32_t gp = std::atomic_ref<std::int32_t>(parent[static_cast<std::size_t>(p)]).load(std::memory_order_acquire);
    if (gp != p) px.compare_exchange_weak(p, gp, std::memory_order_acq_rel);  // path halving
    x = gp;
  }
}
inline void uf_unite(std::vector<std::int32_t>& parent, std::int32_t a, std::int32_t b) {
  for (;;) {
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a == b) return;
    if (a < b) std::swap(a, b);  // a: the larger root, linked under b
    std::int32_t expected = a;
    if (std::atomic_ref<std::int32_t>(parent[static_cast<std::size_t>(a)])
            .compare_exchange_strong(expected, b, std::memory_order_acq_rel))
      return;
  }
}

// Two block slots; block `pinned` stays while the other slot cycles.
template <class Source>
struct block_cache {
  feature_reader<Source>& reader;
  const std::vector<row_band>& blocks;
  const std::vector<index_t>& row_first;  // global id of each row's first point (H + 1)
  point_rows slot[2];
  index_t held[2] = {-1, -1};
  index_t loads = 0;

  const point_rows& get(index_t b, index_t pinned) {
    for (int s = 0; s < 2; ++s)
      if (held[s] == b) return slot[s];
    const int s = held[0] == pinned && pinned >= 0 ? 1 : 0;
    const row_band& band = blocks[static_cast<std::size_t>(b)];
    partition::dbscan_features feat = reader.read(band.row0, band.rows);
    const index_t first = row_first[static_cast<std::size_t>(band.row0)];
    const index_t expect = row_first[static_cast<std::size_t>(band.end())] - first;
    require(feat.features.size() == expect, "tiled_dbscan", "source",
            "must not change during the run (point count of a block differs between passes)",
            feat.features.size());
    slot[s].f = std::move(feat.features);
    slot[s].ids.clear();
    slot[s].first = first;
    slot[s].compute_norms();
    held[s] = b;
    ++loads;
    return slot[s];
  }
};

inline std::size_t checked_state(std::size_t bytes, const tiling_options& t, std::string_view what) {
  require(bytes < t.memory_budget, "tiled_dbscan", "memory budget (--memory-budget)",
          "must exceed the per-point state: " + std::string(what) + " = " + std::to_string(bytes) + " bytes",
          t.memory_budget);
  return bytes;
}

// Rows per block when `state` bytes are taken: two feature blocks, a packed
// copy, one read band (input + standardized float, the reader's own band for
// TIFF/HDF5) and ids/norms per pixel.
inline index_t dbscan_block_rows(const tiling_options& t, std::size_t state, index_t H, index_t W, index_t E,
                                 std::size_t reader_factor, const std::string& budget_name) {
  if (t.band_rows > 0) return t.band_rows;
  const std::size_t stride = static_cast<std::size_t>((E + 15) / 16 * 16);
  const std::size_t per_row = static_cast<std::size_t>(W) *
                              (3 * stride * 4 + static_cast<std::size_t>(E) * (8 + 4 * reader_factor) + 48);
  const std::size_t rest = t.memory_budget - state;
  require(rest >= per_row, "tiled_dbscan", budget_name,
          "must hold the per-point state (" + std::to_string(state) + " bytes) plus one image row of blocks (" +
              std::to_string(per_row) + " bytes)",
          t.memory_budget);
  return std::clamp<index_t>(static_cast<index_t>(rest / per_row), 1, std::max<index_t>(1, H));
}

}  // namespace detail

// DBSCAN of the cube `source` (normalized -> standardized spectra of the
// usable sample pixels), written as an int32 H x W label image to
// `labels_out` atomically: 1..clusters numbered by smallest core point (as
// partition::dbscan, before any relabelling), labels::outlier for noise, 0
// for masked / rejected pixels (then repaired when options.repair is set).
// `mask_out` (optional) receives the validity mask (1 = normalized and
// standardized pixel: the CLI's mask). Scratch files live next to labels_out.
template <class Source>
  requires tile_source<Source>
tiled_dbscan_report tiled_dbscan(Source& source, std::span<const double> energy,
                                 const tiled_dbscan_options& options, const std::filesystem::path& labels_out,
                                 const std::filesystem::path& mask_out = {}) {
  constexpr std::string_view component = "tiled_dbscan";
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  options.tiling.validate();
  options.dbscan.validate();
  require(options.dbscan.components == 0, component, "components (--components)",
          "has no out-of-core path: the in-memory PCA's sums cannot be reproduced bit for bit from "
          "a stream (use full spectra, or drop --tile/--memory-budget)",
          options.dbscan.components);
  validate_energy_grid(energy, component, E);
  require(E >= 2, component, "bands", "must be >= 2", E);
  const int threads = resolve_threads(options.tiling.threads);
  const image_shape shape{H, W};
  const auto sample = detail::open_sample_mask(options.sample_mask, shape, component);
  const npy_image_file<std::uint8_t>* sample_ptr = sample ? &*sample : nullptr;

  tiled_dbscan_report report;
  report.pixels = H * W;
  std::optional<pre_edge_options> edge = options.normalize;
  if (edge && !edge->e0) {
    edge->e0 = find_e0(energy, tiled_mean_finite_spectrum(source, sample_ptr, options.tiling));
    report.e0_from_mean = true;
  }
  if (edge) report.e0 = edge->e0;

  io::atomic_file labels_file(labels_out);
  io::atomic_file raw_file(labels_out.string() + ".raw");
  io::atomic_file valid_tmp(mask_out.empty() ? std::filesystem::path(labels_out.string() + ".mask") : mask_out);
  auto valid_file = npy_image_file<std::uint8_t>::create(valid_tmp.temp_path(), shape);

  // Pass A: points per row, validity codes.
  const std::size_t stride = static_cast<std::size_t>((E + 15) / 16 * 16);
  report.band_rows = detail::cube_band_rows(source, options.tiling, static_cast<std::size_t>(E) * 4 + stride * 4 + 32);
  const auto bands = plan_row_bands(H, report.band_rows);
  std::vector<index_t> row_first(static_cast<std::size_t>(H) + 1, 0);
  nlohmann::json params;
  params["features"] = "standardized spectra";
  params["distance"] = "euclidean between standardized spectra: sqrt(2 (1 - pearson r))";
  params["components"] = 0;
  {
    index_t max_rows = report.band_rows;
    detail::feature_reader<Source> reader(source, energy, edge, sample_ptr, std::min(max_rows, H), threads);
    std::vector<std::uint8_t> codes;
    for (const auto& band : bands) {
      const auto feat = reader.read(band.row0, band.rows);
      const auto& valid = reader.valid();
      codes.assign(valid.storage().begin(), valid.storage().end());
      for (auto& c : codes) c = c ? 2 : 0;
      std::vector<index_t> per_row(static_cast<std::size_t>(band.rows), 0);
      for (const index_t p : feat.pixel) {
        codes[static_cast<std::size_t>(p)] = 1;
        ++per_row[static_cast<std::size_t>(p / W)];
      }
      for (index_t r = 0; r < band.rows; ++r)
        row_first[static_cast<std::size_t>(band.row0 + r + 1)] =
            row_first[static_cast<std::size_t>(band.row0 + r)] + per_row[static_cast<std::size_t>(r)];
      for (const auto c : codes) report.valid += c != 0;
      report.rejected += feat.rejected;
      valid_file.write_rows(band.row0, band.rows, codes.data());
    }
    report.points = row_first.back();

    // eps: given, or the in-memory auto eps from the same pixels.
    if (options.dbscan.eps) {
      report.eps = *options.dbscan.eps;
      params["eps_source"] = "user";
    } else {
      const auto& ao = options.dbscan.auto_eps;
      ao.validate();
      partition::detail::auto_eps_pixel_picker pick;  // the in-memory choice, fed as a stream
      pick.in_sample = report.valid;
      require(pick.in_sample > 0, "dbscan auto eps", "sample pixels", "must not be empty (mask has no pixel)", 0);
      pick.m = std::min<index_t>(ao.sample_pixels, pick.in_sample);
      std::vector<float> chosen;
      std::vector<std::uint8_t> row_codes;
      for (const auto& band : bands) {
        if (pick.done()) break;
        row_codes.resize(static_cast<std::size_t>(band.rows * W));
        valid_file.read_rows(band.row0, band.rows, row_codes.data());
        // Skip bands whose sample pixels cannot hold the next pick.
        index_t band_sample = 0;
        for (const auto c : row_codes) band_sample += c != 0;
        if (band_sample == 0) continue;
        if (pick.skip(band_sample)) continue;
        (void)reader.read(band.row0, band.rows);
        const auto nv = reader.normalized();
        for (index_t i = 0; i < band.rows * W && !pick.done(); ++i) {
          if (row_codes[static_cast<std::size_t>(i)] == 0) continue;
          const auto spec = nv.spectrum(i);
          if (pick.offer(spec)) chosen.insert(chosen.end(), spec.begin(), spec.end());
        }
      }
      require(!chosen.empty(), "dbscan auto eps", "sample pixels",
              "must include at least one finite, non-constant spectrum", 0);
      const auto m_used = static_cast<index_t>(chosen.size()) / E;
      const cube_view<const float> picked(chosen.data(), image_shape{1, m_used}, E);
      const auto a = partition::dbscan_auto_eps(picked, mask_view{}, ao, nullptr, threads);
      report.eps = a.eps;
      params["eps_source"] = "auto";
      params["auto_eps"] = ao.to_json();
      params["auto_eps"]["median_noise_distance"] = a.median;
      params["auto_eps"]["pixels"] = a.pixels;
      params["auto_eps"]["samples"] = a.samples;
    }
  }
  const index_t n = report.points;
  require(n < std::numeric_limits<std::int32_t>::max(), component, "points",
          "must be < 2^31 (int32 union-find)", n);
  const index_t min_pts = options.dbscan.resolved_min_pts();
  const bool star = options.dbscan.star;
  report.min_pts = min_pts;
  params["eps"] = report.eps;
  params["min_pts"] = min_pts;
  params["min_pts_source"] = options.dbscan.min_pts > 0 ? "user" : "smallest_region";
  params["smallest_region"] = options.dbscan.smallest_region;
  params["star"] = star;
  params["index"] = "tiled brute force (block pairs, float32 GEMM filter, canonical distance)";
  const double eps2 = index::squared_radius(report.eps);
  const auto min32 = static_cast<std::int32_t>(std::min<index_t>(min_pts, std::numeric_limits<std::int32_t>::max()));

  // Per-point state: count (pass 1; then the remaining neighbours of a
  // non-core) and parent (cores: union-find; non-cores: their slot).
  std::size_t state = detail::checked_state(static_cast<std::size_t>(n) * 8, options.tiling,
                                            "8 bytes per point (" + std::to_string(n) + " points)");
  report.state_bytes = state;
  std::vector<std::int32_t> count(static_cast<std::size_t>(n), 0), parent;
  const std::string budget_name = "memory budget (--memory-budget)";
  report.block_rows = detail::dbscan_block_rows(options.tiling, state, H, W, E, detail::reader_factor(source),
                                                budget_name);
  auto blocks = plan_row_bands(H, report.block_rows);
  report.blocks = static_cast<index_t>(blocks.size());
  auto block_points = [&](index_t b) {
    const auto& bd = blocks[static_cast<std::size_t>(b)];
    return std::pair<index_t, index_t>(row_first[static_cast<std::size_t>(bd.row0)],
                                       row_first[static_cast<std::size_t>(bd.end())]);
  };
  auto load = [](std::int32_t& v) { return std::atomic_ref<std::int32_t>(v).load(std::memory_order_relaxed); };
  auto bump = [](std::int32_t& v) { std::atomic_ref<std::int32_t>(v).fetch_add(1, std::memory_order_relaxed); };
  auto cnt = [&](index_t id) -> std::int32_t& { return count[static_cast<std::size_t>(id)]; };

  std::vector<label_t> band_labels;
  {
    detail::feature_reader<Source> reader(source, energy, edge, sample_ptr, std::min(report.block_rows, H), threads);
    // ------------------------------------------------ pass 1: core flags
    {
      detail::block_cache<Source> cache{reader, blocks, row_first, {}, {-1, -1}, 0};
      detail::point_rows qpack, cpack;
      std::vector<index_t> ui, uj, rest;
      auto unsaturated = [&](index_t b, std::vector<index_t>& out) {
        const auto [p0, p1] = block_points(b);
        out.clear();
        for (index_t p = p0; p < p1; ++p)
          if (load(cnt(p)) < min32) out.push_back(p - p0);
      };
      const index_t nb = report.blocks;
      for (index_t bi = 0; bi < nb; ++bi) {
        if (block_points(bi).first == block_points(bi).second) continue;
        // the diagonal: each point counts its own neighbours in its block (itself included)
        unsaturated(bi, ui);
        if (!ui.empty()) {
          const auto& B = cache.get(bi, bi);
          const bool all = static_cast<index_t>(ui.size()) == B.size();
          if (!all) detail::pack_rows(B, ui, qpack);
          const auto& Q = all ? B : qpack;
          detail::scan_pairs(Q, B, eps2, threads, [&](index_t q, index_t) { return load(cnt(Q.id(q))) < min32; },
                             [&](int, index_t q, index_t, double) { bump(cnt(Q.id(q))); });
        } else {
          ++report.pairs_skipped;
        }
        for (index_t bj = nb - 1; bj > bi; --bj) {  // descending: the next row's block stays loaded
          if (block_points(bj).first == block_points(bj).second) continue;
          unsaturated(bi, ui);
          unsaturated(bj, uj);
          if (ui.empty() && uj.empty()) {
            ++report.pairs_skipped;
            continue;
          }
          const auto& Bi = cache.get(bi, bi);
          const auto& Bj = cache.get(bj, bi);
          // A: unsaturated rows of i against all of j (both sides counted)
          if (!ui.empty()) {
            const bool all = static_cast<index_t>(ui.size()) == Bi.size();
            if (!all) detail::pack_rows(Bi, ui, qpack);
            const auto& Q = all ? Bi : qpack;
            detail::scan_pairs(
                Q, Bj, eps2, threads,
                [&](index_t q, index_t c) { return load(cnt(Q.id(q))) < min32 || load(cnt(Bj.id(c))) < min32; },
                [&](int, index_t q, index_t c, double) {
                  bump(cnt(Q.id(q)));
                  bump(cnt(Bj.id(c)));
                });
          }
          // B: unsaturated rows of j against the rest of i (j side only)
          if (!uj.empty() && ui.size() < static_cast<std::size_t>(Bi.size())) {
            detail::other_rows(ui, Bi.size(), rest);
            detail::pack_rows(Bj, uj, qpack);
            detail::pack_rows(Bi, rest, cpack);
            detail::scan_pairs(qpack, cpack, eps2, threads,
                               [&](index_t q, index_t) { return load(cnt(qpack.id(q))) < min32; },
                               [&](int, index_t q, index_t, double) { bump(cnt(qpack.id(q))); });
          }
        }
      }
      report.block_loads += cache.loads;
    }

    // ------------------------------------------------ pass 2: links and borders
    // Counts are read and decremented concurrently (a diagonal block's rows
    // are both queries and candidates): relaxed atomics, as in pass 1.
    auto is_core = [&](index_t p) { return load(cnt(p)) >= min32; };
    index_t noncores = 0;
    for (index_t p = 0; p < n; ++p) noncores += !is_core(p);
    state = detail::checked_state(static_cast<std::size_t>(n) * 8 + static_cast<std::size_t>(noncores) * 12,
                                  options.tiling,
                                  "8 bytes per point + 12 per non-core (" + std::to_string(n) + " points, " +
                                      std::to_string(noncores) + " non-cores)");
    report.state_bytes = state;
    parent.resize(static_cast<std::size_t>(n));
    std::vector<std::int32_t> best(static_cast<std::size_t>(noncores), -1);
    std::vector<double> best_d(static_cast<std::size_t>(noncores), std::numeric_limits<double>::infinity());
    {
      std::int32_t slot = 0;
      for (index_t p = 0; p < n; ++p) {
        auto& c = count[static_cast<std::size_t>(p)];
        if (c >= min32) {
          parent[static_cast<std::size_t>(p)] = static_cast<std::int32_t>(p);
        } else {
          parent[static_cast<std::size_t>(p)] = slot++;
          c = star ? 0 : c - 1;  // neighbours still to meet (itself excluded); DBSCAN*: none wanted
        }
      }
    }
    auto remaining = [&](index_t p) -> std::int32_t& { return count[static_cast<std::size_t>(p)]; };
    auto consider = [&](index_t p, index_t core_id, double d2) {  // the border rule, p a non-core
      const auto s = static_cast<std::size_t>(parent[static_cast<std::size_t>(p)]);
      const double d = std::sqrt(d2);  // compared as the in-memory rule does: canonical distance
      if (d < best_d[s] || (d == best_d[s] && core_id < best[s])) {
        best_d[s] = d;
        best[s] = static_cast<std::int32_t>(core_id);
      }
    };
    auto met = [&](index_t p) {
      const std::int32_t before = std::atomic_ref<std::int32_t>(remaining(p)).fetch_sub(1, std::memory_order_relaxed);
      require(before > 0, component, "source", "must not change during the run (a non-core met too many neighbours)", p);
    };
    report.link_block_rows = detail::dbscan_block_rows(options.tiling, state, H, W, E, detail::reader_factor(source),
                                                       budget_name);
    if (report.link_block_rows != report.block_rows) blocks = plan_row_bands(H, report.link_block_rows);
    const auto nb = static_cast<index_t>(blocks.size());
    detail::block_cache<Source> cache{reader, blocks, row_first, {}, {-1, -1}, 0};
    detail::point_rows qpack, cpack;
    struct other_side {
      index_t c, p;
      double d2;
    };
    std::vector<std::vector<other_side>> lists(static_cast<std::size_t>(threads));
    // Rows of block b with work: non-cores with neighbours still to meet, and
    // the cores when `cores` (some core link may still be missing).
    auto work_rows = [&](index_t b, bool cores, std::vector<index_t>& out) {
      const auto [p0, p1] = block_points(b);
      out.clear();
      for (index_t p = p0; p < p1; ++p)
        if (is_core(p) ? cores : remaining(p) > 0) out.push_back(p - p0);
    };
    // Whether the cores of blocks a and b (b < 0: only a) are not all one set.
    auto split_cores = [&](index_t a, index_t b) {
      std::int32_t root = -1;
      for (index_t blk : {a, b}) {
        if (blk < 0) continue;
        const auto [p0, p1] = block_points(blk);
        for (index_t p = p0; p < p1; ++p) {
          if (!is_core(p)) continue;
          const std::int32_t r = detail::uf_find(parent, static_cast<std::int32_t>(p));
          if (root < 0) root = r;
          else if (r != root) return true;
        }
      }
      return false;
    };
    // Q's rows (owned) against C: cores link, non-cores meet neighbours and
    // weigh cores; C-side non-core updates go to per-worker lists applied after.
    auto link = [&](const detail::point_rows& Q, const detail::point_rows& C, bool diagonal) {
      for (auto& l : lists) l.clear();
      detail::scan_pairs(
          Q, C, eps2, threads,
          [&](index_t q, index_t c) {
            const index_t p = Q.id(q), o = C.id(c);
            if (p == o) return false;
            if (is_core(p)) {
              if (is_core(o)) return detail::uf_find(parent, static_cast<std::int32_t>(p)) !=
                                     detail::uf_find(parent, static_cast<std::int32_t>(o));
              return !diagonal && remaining(o) > 0;
            }
            return true;
          },
          [&](int worker, index_t q, index_t c, double d2) {
            const index_t p = Q.id(q), o = C.id(c);
            const bool pc = is_core(p), oc = is_core(o);
            if (pc && oc) {
              detail::uf_unite(parent, static_cast<std::int32_t>(p), static_cast<std::int32_t>(o));
              return;
            }
            if (!pc) {
              met(p);
              if (oc) consider(p, o, d2);
            }
            if (!diagonal && !oc) lists[static_cast<std::size_t>(worker)].push_back({o, p, d2});
          });
      for (const auto& l : lists)
        for (const auto& [o, p, d2] : l) {
          met(o);
          if (is_core(p)) consider(o, p, d2);
        }
    };
    std::vector<index_t> ri, rj, rest;
    for (index_t bi = 0; bi < nb; ++bi) {
      if (block_points(bi).first == block_points(bi).second) continue;
      work_rows(bi, split_cores(bi, -1), ri);
      if (!ri.empty()) {
        const auto& B = cache.get(bi, bi);
        detail::pack_rows(B, ri, qpack);
        link(qpack, B, true);
      } else {
        ++report.pairs_skipped;
      }
      for (index_t bj = nb - 1; bj > bi; --bj) {
        if (block_points(bj).first == block_points(bj).second) continue;
        const bool split = split_cores(bi, bj);
        work_rows(bi, split, ri);
        work_rows(bj, split, rj);
        if (ri.empty() && rj.empty()) {
          ++report.pairs_skipped;
          continue;
        }
        const auto& Bi = cache.get(bi, bi);
        const auto& Bj = cache.get(bj, bi);
        // A: work rows of i against all of j; B: work rows of j against the rest of i.
        if (!ri.empty()) {
          detail::pack_rows(Bi, ri, qpack);
          link(qpack, Bj, false);
        }
        if (!rj.empty() && ri.size() < static_cast<std::size_t>(Bi.size())) {
          detail::other_rows(ri, Bi.size(), rest);
          detail::pack_rows(Bj, rj, qpack);
          detail::pack_rows(Bi, rest, cpack);
          link(qpack, cpack, false);
        }
      }
    }
    report.block_loads += cache.loads;
    for (index_t p = 0; p < n; ++p)
      require(is_core(p) || remaining(p) == 0, component, "source",
              "must not change during the run (a non-core missed neighbours)", p);

    // ------------------------------------------------ labels
    // Cores in point order: a root (its component's smallest core) opens the
    // next cluster, parent = -cluster; any other core points at its root.
    label_t clusters = 0;
    for (index_t p = 0; p < n; ++p) {
      if (!is_core(p)) continue;
      auto& pp = parent[static_cast<std::size_t>(p)];
      if (pp == p) {
        require(clusters < std::numeric_limits<label_t>::max(), component, "clusters", "must fit in int32 labels",
                clusters);
        pp = -(++clusters);
      } else {
        const std::int32_t up = parent[static_cast<std::size_t>(pp)];
        pp = up < 0 ? pp : up;
      }
    }
    report.clusters = clusters;
    auto core_label = [&](index_t p) -> label_t {
      const std::int32_t v = parent[static_cast<std::size_t>(p)];
      return v < 0 ? -v : -parent[static_cast<std::size_t>(v)];
    };
    auto raw = npy_image_file<label_t>::create(raw_file.temp_path(), shape);
    std::vector<std::uint8_t> codes;
    index_t next = 0;
    for (const auto& band : bands) {
      codes.resize(static_cast<std::size_t>(band.rows * W));
      band_labels.assign(codes.size(), labels::unlabeled);
      valid_file.read_rows(band.row0, band.rows, codes.data());
      for (std::size_t i = 0; i < codes.size(); ++i) {
        if (codes[i] != 1) continue;
        const index_t p = next++;
        label_t l = labels::outlier;
        if (is_core(p)) {
          l = core_label(p);
          ++report.cores;
        } else {
          const std::int32_t b = best[static_cast<std::size_t>(parent[static_cast<std::size_t>(p)])];
          if (!star && b >= 0) {
            l = core_label(b);
            ++report.borders;
          } else {
            ++report.noise;
          }
        }
        band_labels[i] = l;
      }
      raw.write_rows(band.row0, band.rows, band_labels.data());
    }
    require(next == n, component, "source", "must not change during the run (point count)", next);
    params["core_points"] = report.cores;
    params["border_points"] = report.borders;
    params["noise_points"] = report.noise;
    params["masked_pixels"] = report.pixels - report.valid;
    params["rejected_pixels"] = report.rejected;
    // the validity file becomes the CLI's mask (1 = normalized and standardized)
    for (const auto& band : bands) {
      codes.resize(static_cast<std::size_t>(band.rows * W));
      valid_file.read_rows(band.row0, band.rows, codes.data());
      for (auto& c : codes) c = c != 0;
      valid_file.write_rows(band.row0, band.rows, codes.data());
    }
    // the per-point state is released here, before the repair
    std::vector<std::int32_t>().swap(count);
    std::vector<std::int32_t>().swap(parent);
    auto final_labels = npy_image_file<label_t>::create(labels_file.temp_path(), shape);
    tiled_repair_options ro;
    if (options.repair) ro = *options.repair;
    else ro.window_core = ro.fill = false;
    report.repair = tiled_repair(raw, &valid_file, final_labels, labels_out.string() + ".cored", ro, options.tiling);
    report.label_counts = detail::count_labels(final_labels, clusters, &report.outlier_count);  // after repair
    final_labels.sync();
  }
  params["tiling"] = {{"block_rows", report.block_rows},   {"link_block_rows", report.link_block_rows},
                      {"blocks", report.blocks},           {"block_loads", report.block_loads},
                      {"pairs_skipped", report.pairs_skipped}, {"state_bytes", report.state_bytes}};
  report.parameters = std::move(params);
  labels_file.commit();
  if (!mask_out.empty()) {
    valid_file.sync();
    valid_tmp.commit();
  }
  return report;
}

}  // namespace spectromine::parallel
