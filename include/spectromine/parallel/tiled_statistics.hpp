// spectromine/parallel/tiled_statistics.hpp: the global statistics of the
// in-memory pipeline, computed by streaming passes over a cube on disk, each
// EQUAL (bit for bit) to its in-memory twin:
//
//   tiled_mean_finite_spectrum   == preprocess detail::mean_finite_spectrum
//                                   (e0 = find_e0 of the mean spectrum): the
//                                   same 4096-pixel block partials folded in
//                                   the same order (a band computes the blocks
//                                   that start in it; MPI ranks share them:
//                                   mpi_mean_finite_spectrum);
//   tiled_sample_mask            == sample_mask (preprocess/mask.hpp): the
//                                   edge-jump z of every pixel (mask.hpp's own
//                                   edge_jump_z) goes to a scratch file
//                                   (8 B/pixel, never the cube), then Otsu's
//                                   histogram (mask.hpp's otsu_histogram_bin,
//                                   otsu_threshold_from_histogram) and the
//                                   median of the lower class (an exact radix
//                                   select over the file) give the same cut;
//   tiled_relabel_by_size        == analysis::relabel_by_size (same order,
//                                   same ties), rewriting a label file;
//   tiled_cluster_means          == analysis::summarize's mean spectra and
//                                   counts (sums in pixel order per label and
//                                   energy, as summarize does).
// Memory: one band of the cube (two when tiling_options::prefetch reads the
// next band on a reader thread during the compute) plus per-pixel scratch of
// that band; the budget picks the band height (tiling_options).
// Passes that read the cube take a band_share: under MPI rank r of n does the
// bands b with b % n == r (pixel results go to positioned writes, so the
// output does not depend on the split).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <unordered_map>
#include <vector>

#include "spectromine/analysis/summaries.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/parallel/tile_source.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace spectromine::parallel {

// Which bands of a pass this process reads (MPI: rank of size).
struct band_share {
  int rank = 0, size = 1;
  bool mine(std::size_t band) const noexcept {
    return static_cast<int>(band % static_cast<std::size_t>(size)) == rank;
  }
};

namespace detail {

// Extra reader memory per band byte (cube_file_tile_source reads TIFF/HDF5
// into its own band first).
template <class Source>
std::size_t reader_factor(const Source& s) {
  if constexpr (requires { s.bytes_per_pixel_factor(); }) return s.bytes_per_pixel_factor();
  else return 0;
}

// Rows per band of a pass holding t.cube_buffers() float bands of the cube
// (plus the reader's own) and `extra_per_pixel` bytes per pixel and buffer.
template <class Source>
index_t cube_band_rows(const Source& s, const tiling_options& t, std::size_t extra_per_pixel) {
  const auto buffers = static_cast<std::size_t>(t.cube_buffers());
  const std::size_t px = static_cast<std::size_t>(s.bands()) * sizeof(float) * (buffers + reader_factor(s));
  return t.rows_for(static_cast<std::size_t>(s.cols()) * (px + buffers * extra_per_pixel), s.rows());
}

// Buffers of one band of the cube (and of a per-pixel side file) for
// double_buffered passes: slot 0 and, when prefetching, slot 1.
template <class Side>
struct cube_band_slots {
  std::array<cube<float>, 2> data;
  std::array<std::vector<Side>, 2> side;
  cube_band_slots(index_t rows, index_t cols, index_t bands, const tiling_options& t) {
    for (index_t i = 0; i < t.cube_buffers(); ++i)
      data[static_cast<std::size_t>(i)] = cube<float>(image_shape{rows, cols}, bands);
  }
  cube_view<float> view(int slot, index_t rows) {
    auto& c = data[static_cast<std::size_t>(slot)];
    return cube_view<float>(c.data(), image_shape{rows, c.shape().cols}, c.bands());
  }
};

}  // namespace detail

namespace detail {

// normalize.hpp's detail::mean_finite_spectrum sums the pixels in fixed
// blocks of 4096 (a sequential sum per block), then adds the block partials
// in block order. The streaming twin keeps exactly that: the blocks whose
// FIRST pixel lies in band k form "unit" k; a unit is read as the band's
// rows plus the rows its last block runs into (< 4096 / W + 2 extra rows),
// its block partials are computed in parallel (one block per task, as the
// in-memory code) and folded in unit order. Units are independent, so ranks
// may compute them (mean_partials_pass with a band_share) and one process
// folds them in order: bit for bit the in-memory mean for any band height,
// thread count or rank count.
inline constexpr index_t mean_block = ::spectromine::detail::mean_block_pixels;

struct mean_unit {
  index_t block0 = 0, block1 = 0;  // blocks [block0, block1)
  index_t pixel0 = 0, pixel1 = 0;  // their pixels
  index_t row0 = 0, row1 = 0;      // rows read: [row0, row1)
  index_t blocks() const noexcept { return block1 - block0; }
};

inline mean_unit mean_unit_of(const row_band& band, index_t W, index_t H) {
  mean_unit u;
  const index_t n = H * W;
  u.block0 = (band.row0 * W + mean_block - 1) / mean_block;
  u.block1 = (band.end() * W + mean_block - 1) / mean_block;
  u.pixel0 = u.block0 * mean_block;
  u.pixel1 = std::min(n, u.block1 * mean_block);
  if (u.block1 > u.block0) {
    u.row0 = u.pixel0 / W;
    u.row1 = (u.pixel1 + W - 1) / W;
  }
  return u;
}

// One unit's partials: counts[k] and sums[k * E + j] of block block0 + k.
struct mean_partials {
  std::vector<index_t> counts;
  std::vector<double> sums;
};

// Computes the units of the bands `share` owns, in band order, and calls
// fold(k, partials) for each (k = band index). Memory: t.cube_buffers()
// bands of the cube plus the extra rows of one block.
template <class Source, class Fold>
void mean_partials_pass(Source& source, const npy_image_file<std::uint8_t>* mask, const tiling_options& t,
                        band_share share, Fold&& fold) {
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  const index_t band_rows = cube_band_rows(source, t, 1);
  const auto bands = plan_row_bands(H, band_rows);
  std::vector<std::size_t> mine;
  std::vector<mean_unit> units;
  for (std::size_t b = 0; b < bands.size(); ++b) {
    const mean_unit u = mean_unit_of(bands[b], W, H);
    if (share.mine(b) && u.blocks() > 0) mine.push_back(b), units.push_back(u);
  }
  index_t tallest = 0;
  for (const auto& u : units) tallest = std::max(tallest, u.row1 - u.row0);
  if (units.empty()) return;
  cube_band_slots<std::uint8_t> buf(tallest, W, E, t);
  mean_partials part;
  detail::double_buffered(
      units.size(), t.prefetch,
      [&](std::size_t k, int slot) {
        const mean_unit& u = units[k];
        source.read_rows(u.row0, u.row1 - u.row0, buf.view(slot, u.row1 - u.row0));
        if (mask) {
          auto& m = buf.side[static_cast<std::size_t>(slot)];
          m.resize(static_cast<std::size_t>((u.row1 - u.row0) * W));
          mask->read_rows(u.row0, u.row1 - u.row0, m.data());
        }
      },
      [&](std::size_t k, int slot) {
        const mean_unit& u = units[k];
        const cube_view<float> d = buf.view(slot, u.row1 - u.row0);
        const auto& m = buf.side[static_cast<std::size_t>(slot)];
        const index_t first = u.row0 * W;  // pixel index of the buffer's first pixel
        part.counts.assign(static_cast<std::size_t>(u.blocks()), 0);
        part.sums.assign(static_cast<std::size_t>(u.blocks() * E), 0.0);
        parallel_for(u.blocks(), t.threads, 1, [&](index_t b0, index_t b1, int) {
          std::vector<double> tmp;
          // buffer pixel q is image pixel first + q
          auto keep = [&](index_t q) { return !mask || m[static_cast<std::size_t>(q)] != 0; };
          for (index_t b = b0; b < b1; ++b) {
            const index_t p0 = (u.block0 + b) * mean_block;
            const index_t p1 = std::min(u.pixel1, p0 + mean_block);
            part.counts[static_cast<std::size_t>(b)] = ::spectromine::detail::add_finite_spectra(
                cube_view<const float>(d), p0 - first, p1 - first, keep, part.sums.data() + b * E, tmp);
          }
        });
        fold(mine[k], std::as_const(part));
      });
}

// The in-memory fold: partials added in block order.
struct mean_accumulator {
  std::vector<double> mean;
  index_t total = 0;
  explicit mean_accumulator(index_t bands) : mean(static_cast<std::size_t>(bands), 0.0) {}
  void add(const mean_partials& p) {
    const auto E = mean.size();
    for (std::size_t b = 0; b < p.counts.size(); ++b) {
      total += p.counts[b];
      for (std::size_t j = 0; j < E; ++j) mean[j] += p.sums[b * E + j];
    }
  }
  std::vector<double> finish() {
    require(total > 0, "normalize_cube", "input", "has no finite unmasked pixel", total);
    for (auto& v : mean) v /= static_cast<double>(total);
    return std::move(mean);
  }
};

inline void check_mean_inputs(index_t H, index_t W, const npy_image_file<std::uint8_t>* mask,
                              const tiling_options& t) {
  t.validate();
  if (mask)
    require(mask->shape() == image_shape{H, W}, "tiled_mean_finite_spectrum", "mask shape",
            "must equal the cube's image shape", mask->shape().rows);
}

}  // namespace detail

// The mean spectrum of the finite pixels (of `mask`'s sample pixels when
// given), exactly as normalize_cube / sample_mask take it for find_e0.
template <class Source>
  requires tile_source<Source>
std::vector<double> tiled_mean_finite_spectrum(Source& source, const npy_image_file<std::uint8_t>* mask,
                                               const tiling_options& t) {
  detail::check_mean_inputs(source.rows(), source.cols(), mask, t);
  detail::mean_accumulator acc(source.bands());
  detail::mean_partials_pass(source, mask, t, band_share{},
                             [&](std::size_t, const detail::mean_partials& p) { acc.add(p); });
  return acc.finish();
}

// ---------------------------------------------------------------- the mask

// z file codes for pixels that are not candidates (sample_mask's states).
inline constexpr double z_masked_input = -1.0;
inline constexpr double z_nonfinite = -2.0;

// Pass 1 (reads the cube; shareable between ranks): the edge-jump
// significance z of every pixel (preprocess/mask.hpp steps 1-3) into
// `z_out` (H x W float64), or z_masked_input / z_nonfinite.
template <class Source>
  requires tile_source<Source>
void tiled_edge_jump_z(Source& source, std::span<const double> energy, const pre_edge_plan& plan,
                       const npy_image_file<std::uint8_t>* input_mask, const npy_image_file<double>& z_out,
                       const tiling_options& t, band_share share = {}) {
  t.validate();
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  validate_energy_grid(energy, "tiled_sample_mask", E);
  require(plan.bands() == E, "tiled_sample_mask", "plan bands", "must equal the cube's band count", plan.bands());
  require(z_out.shape() == image_shape{H, W}, "tiled_sample_mask", "z file shape",
          "must equal the cube's image shape", z_out.shape().rows);
  const index_t band_rows = detail::cube_band_rows(source, t, 9);
  detail::cube_band_slots<std::uint8_t> buf(std::min(band_rows, H), W, E, t);
  std::vector<double> z;
  const double gain = plan.step_noise_gain();
  const auto bands = plan_row_bands(H, band_rows);
  std::vector<std::size_t> mine;
  for (std::size_t b = 0; b < bands.size(); ++b)
    if (share.mine(b)) mine.push_back(b);
  auto read = [&](std::size_t k, int slot) {
    const auto& band = bands[mine[k]];
    source.read_rows(band.row0, band.rows, buf.view(slot, band.rows));
    if (input_mask) {
      auto& m = buf.side[static_cast<std::size_t>(slot)];
      m.resize(static_cast<std::size_t>(band.rows * W));
      input_mask->read_rows(band.row0, band.rows, m.data());
    }
  };
  detail::double_buffered(mine.size(), t.prefetch, read, [&](std::size_t k, int slot) {
    const auto& band = bands[mine[k]];
    const index_t n = band.rows * W;
    const cube_view<float> d = buf.view(slot, band.rows);
    const auto& m = buf.side[static_cast<std::size_t>(slot)];
    z.assign(static_cast<std::size_t>(n), 0.0);
    parallel_for(n, t.threads, 1024, [&](index_t begin, index_t end, int) {
      std::vector<double> scratch;
      for (index_t p = begin; p < end; ++p) {
        if (input_mask && m[static_cast<std::size_t>(p)] == 0) {
          z[p] = z_masked_input;
          continue;
        }
        const std::span<const float> s(d.pixel_pointer(p), static_cast<std::size_t>(E));
        bool finite = true;
        for (auto v : s) finite = finite && std::isfinite(static_cast<double>(v));
        if (!finite) {
          z[p] = z_nonfinite;
          continue;
        }
        z[p] = edge_jump_z(s, energy, plan, gain, scratch).z;  // sample_mask's own z (mask.hpp)
      }
    });
    z_out.write_rows(band.row0, band.rows, z.data());
  });
}

namespace detail {

// Calls f(const double* z, index_t n) for every band of the z file.
template <class F>
void for_each_z_band(const npy_image_file<double>& zf, const tiling_options& t, std::vector<double>& buf, F&& f) {
  const image_shape s = zf.shape();
  const index_t rows = t.rows_for(static_cast<std::size_t>(s.cols) * sizeof(double), s.rows);
  for (const auto& band : plan_row_bands(s.rows, rows)) {
    buf.resize(static_cast<std::size_t>(band.rows * s.cols));
    zf.read_rows(band.row0, band.rows, buf.data());
    f(buf.data(), band.rows * s.cols, band.row0 * s.cols);
  }
}

// The k-th smallest (0-based) of the z >= 0 values selected by `keep`: a
// radix select on the IEEE bits (order-preserving for non-negative doubles),
// 16 bits per pass, finished in memory once the bucket fits the budget.
template <class Keep>
double select_kth(const npy_image_file<double>& zf, Keep&& keep, index_t k, index_t count,
                  const tiling_options& t, std::vector<double>& buf) {
  std::uint64_t prefix = 0;
  int fixed = 0;  // leading bits already fixed
  auto matches = [&](double v) {
    return keep(v) && (fixed == 0 || (std::bit_cast<std::uint64_t>(v) >> (64 - fixed)) == (prefix >> (64 - fixed)));
  };
  for (;;) {
    if (fixed == 64) return std::bit_cast<double>(prefix);
    if (static_cast<std::size_t>(count) * sizeof(double) <= t.memory_budget / 2) {
      std::vector<double> values;
      values.reserve(static_cast<std::size_t>(count));
      for_each_z_band(zf, t, buf, [&](const double* z, index_t n, index_t) {
        for (index_t i = 0; i < n; ++i)
          if (matches(z[i])) values.push_back(z[i]);
      });
      const auto mid = values.begin() + static_cast<std::ptrdiff_t>(k);
      std::nth_element(values.begin(), mid, values.end());
      return *mid;
    }
    std::vector<index_t> hist(1u << 16, 0);
    const int shift = 64 - fixed - 16;
    for_each_z_band(zf, t, buf, [&](const double* z, index_t n, index_t) {
      for (index_t i = 0; i < n; ++i)
        if (matches(z[i])) ++hist[(std::bit_cast<std::uint64_t>(z[i]) >> shift) & 0xffffu];
    });
    std::size_t bucket = 0;
    while (k >= hist[bucket]) k -= hist[bucket++];
    count = hist[bucket];
    prefix |= static_cast<std::uint64_t>(bucket) << shift;
    fixed += 16;
  }
}

}  // namespace detail

// Pass 2 (reads only the z file): sample_mask's cut and counts, then the
// mask (1 = sample) written to `mask_out`. Returns the report sample_mask
// would (windows and gain from `plan`).
inline sample_mask_report tiled_mask_from_z(const npy_image_file<double>& zf, const pre_edge_plan& plan,
                                            const sample_mask_options& options,
                                            const npy_image_file<std::uint8_t>& mask_out,
                                            const tiling_options& t) {
  constexpr const char* c = "tiled_sample_mask";
  require(std::isfinite(options.floor) && options.floor >= 0, c, "floor", "must be finite and >= 0", options.floor);
  require(options.bins >= 2, c, "bins", "must be >= 2", options.bins);
  if (options.threshold)
    require(std::isfinite(*options.threshold) && *options.threshold >= 0, c, "threshold",
            "must be finite and >= 0", *options.threshold);
  require(mask_out.shape() == zf.shape(), c, "mask shape", "must equal the z image shape", mask_out.shape().rows);
  sample_mask_report rep;
  rep.pixels = zf.shape().pixels();
  rep.floor = options.floor;
  rep.windows = plan.windows;
  rep.step_noise_gain = plan.step_noise_gain();
  std::vector<double> buf;
  const auto candidate = [](double z) { return z >= 0; };  // state 0 (codes are negative)

  double cut = options.floor;
  if (options.threshold) {
    cut = *options.threshold;
    rep.overridden = true;
  } else if (options.use_otsu) {
    // Range of log10 z over candidates with z > 0; infinite z stand at
    // log10(max(max finite z, 1) x 10), as in sample_mask.
    double max_finite = 0, lo_f = std::numeric_limits<double>::infinity(), hi_f = -lo_f;
    index_t n_logs = 0;
    bool any_inf = false;
    detail::for_each_z_band(zf, t, buf, [&](const double* z, index_t n, index_t) {
      for (index_t i = 0; i < n; ++i) {
        if (!candidate(z[i]) || !(z[i] > 0)) continue;
        ++n_logs;
        if (!std::isfinite(z[i])) {
          any_inf = true;
          continue;
        }
        max_finite = std::max(max_finite, z[i]);
        const double l = std::log10(z[i]);
        lo_f = std::min(lo_f, l);
        hi_f = std::max(hi_f, l);
      }
    });
    const double log_inf = std::log10(std::max(max_finite, 1.0) * 10);
    const auto log_of = [&](double z) { return std::log10(std::isfinite(z) ? z : std::max(max_finite, 1.0) * 10); };
    if (n_logs >= 2) {
      const double lo = any_inf ? std::min(lo_f, log_inf) : lo_f;
      const double hi = any_inf ? std::max(hi_f, log_inf) : hi_f;
      double t_log = hi;
      if (hi > lo) {
        std::vector<double> hist(static_cast<std::size_t>(options.bins), 0.0);
        const double width = (hi - lo) / options.bins;
        detail::for_each_z_band(zf, t, buf, [&](const double* z, index_t n, index_t) {
          for (index_t i = 0; i < n; ++i) {
            if (!candidate(z[i]) || !(z[i] > 0)) continue;
            hist[otsu_histogram_bin(log_of(z[i]), lo, width, options.bins)] += 1.0;
          }
        });
        t_log = otsu_threshold_from_histogram(hist, lo, hi);
      }
      const double th = std::pow(10.0, t_log);
      rep.otsu_threshold = th;
      // Is the lower class noise? Its median z (element size/2) must be below the floor.
      index_t lower = 0;
      const auto in_lower = [&](double z) { return candidate(z) && z <= th; };
      detail::for_each_z_band(zf, t, buf, [&](const double* z, index_t n, index_t) {
        for (index_t i = 0; i < n; ++i) lower += in_lower(z[i]);
      });
      if (lower > 0) {
        const double median = detail::select_kth(zf, in_lower, lower / 2, lower, t, buf);
        if (median < options.floor && th > options.floor) {
          cut = th;
          rep.otsu_applied = true;
        }
      }
    }
  }
  rep.threshold = cut;
  std::vector<std::uint8_t> m;
  const image_shape s = zf.shape();
  detail::for_each_z_band(zf, t, buf, [&](const double* z, index_t n, index_t offset) {
    m.assign(static_cast<std::size_t>(n), 0);
    for (index_t i = 0; i < n; ++i) {
      if (z[i] == z_masked_input) ++rep.masked_input;
      else if (z[i] == z_nonfinite) ++rep.masked_nonfinite;
      else if (z[i] > cut) m[static_cast<std::size_t>(i)] = 1, ++rep.sample;
      else ++rep.masked_low_snr;
    }
    mask_out.write_rows(offset / s.cols, n / s.cols, m.data());
  });
  return rep;
}

// sample_mask over a cube on disk: z pass + threshold pass. `z_scratch` is a
// path for the z file (removed on return).
template <class Source>
  requires tile_source<Source>
sample_mask_report tiled_sample_mask(Source& source, std::span<const double> energy, const pre_edge_plan& plan,
                                     const sample_mask_options& options,
                                     const npy_image_file<std::uint8_t>* input_mask,
                                     const npy_image_file<std::uint8_t>& mask_out,
                                     const std::filesystem::path& z_scratch, const tiling_options& t) {
  io::atomic_file zfile(z_scratch);  // never committed
  const auto zf = npy_image_file<double>::create(zfile.temp_path(), image_shape{source.rows(), source.cols()});
  tiled_edge_jump_z(source, energy, plan, input_mask, zf, t);
  return tiled_mask_from_z(zf, plan, options, mask_out, t);
}

// ------------------------------------------------------ relabel and means

// Per-label pixel counts of a label file (labels >= labels::unexplained).
inline std::vector<std::pair<label_t, index_t>> tiled_label_counts(const npy_image_file<label_t>& labels,
                                                                    const tiling_options& t) {
  const image_shape s = labels.shape();
  std::vector<index_t> dense;  // label + 2
  std::unordered_map<label_t, index_t> sparse;
  std::vector<label_t> row;
  const index_t rows = t.rows_for(static_cast<std::size_t>(s.cols) * sizeof(label_t), s.rows);
  for (const auto& band : plan_row_bands(s.rows, rows)) {
    row.resize(static_cast<std::size_t>(band.rows * s.cols));
    labels.read_rows(band.row0, band.rows, row.data());
    for (label_t l : row) {
      require(l >= labels::unexplained, "tiled_relabel_by_size", "label", "must be >= -2", l);
      if (l < (label_t{1} << 24)) {
        const auto i = static_cast<std::size_t>(l + 2);
        if (i >= dense.size()) dense.resize(i + 1, 0);
        ++dense[i];
      } else {
        ++sparse[l];
      }
    }
  }
  std::vector<std::pair<label_t, index_t>> out;
  for (std::size_t i = 0; i < dense.size(); ++i)
    if (dense[i] > 0) out.push_back({static_cast<label_t>(i) - 2, dense[i]});
  for (auto [l, n] : sparse) out.push_back({l, n});
  std::sort(out.begin(), out.end());
  return out;
}

// analysis::relabel_by_size over a label file, rewritten in place.
inline analysis::relabel_result tiled_relabel_by_size(const npy_image_file<label_t>& labels,
                                                      const tiling_options& t) {
  analysis::relabel_result res;
  std::vector<std::pair<label_t, index_t>> clusters;
  for (auto [l, n] : tiled_label_counts(labels, t)) {
    if (l == labels::unlabeled) res.unlabeled = n;
    else clusters.push_back({l, n});
  }
  std::stable_sort(clusters.begin(), clusters.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  res.clusters = static_cast<label_t>(clusters.size());
  std::unordered_map<label_t, label_t> table{{0, 0}};
  bool identity = true;
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    const label_t now = static_cast<label_t>(i + 1);
    res.old_label.push_back(clusters[i].first);
    res.counts.push_back(clusters[i].second);
    if (clusters[i].first == labels::outlier) res.outlier_label = now;
    if (clusters[i].first == labels::unexplained) res.unexplained_label = now;
    table[clusters[i].first] = now;
    identity = identity && clusters[i].first == now;
  }
  if (identity) return res;
  const image_shape s = labels.shape();
  std::vector<label_t> row;
  const index_t rows = t.rows_for(static_cast<std::size_t>(s.cols) * sizeof(label_t), s.rows);
  for (const auto& band : plan_row_bands(s.rows, rows)) {
    row.resize(static_cast<std::size_t>(band.rows * s.cols));
    labels.read_rows(band.row0, band.rows, row.data());
    for (label_t& l : row) l = table.at(l);
    labels.write_rows(band.row0, band.rows, row.data());
  }
  return res;
}

// analysis::summarize's counts and mean spectra (labels 1..K) of the cube as
// the pipeline saw it: normalized with `normalize` (e0 set; unset = the cube
// as stored). Sums run over pixels in image order per label and energy.
template <class Source>
  requires tile_source<Source>
analysis::cluster_summaries tiled_cluster_means(Source& source, std::span<const double> energy,
                                                const std::optional<pre_edge_options>& normalize,
                                                const npy_image_file<label_t>& labels, label_t k,
                                                const tiling_options& t) {
  t.validate();
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  require(labels.shape() == image_shape{H, W}, "tiled_cluster_means", "label image shape",
          "must equal the cube's image shape", labels.shape().rows);
  if (normalize)
    require(normalize->e0.has_value(), "tiled_cluster_means", "e0", "must be set", "unset");
  analysis::cluster_summaries out;
  const auto kk = static_cast<std::size_t>(std::max<label_t>(k, 0)), nb = static_cast<std::size_t>(E);
  out.clusters.resize(kk);
  for (std::size_t c = 0; c < kk; ++c) out.clusters[c].label = static_cast<label_t>(c + 1);
  std::vector<double> acc(kk * nb, 0.0);
  const index_t band_rows = detail::cube_band_rows(source, t, 2 * sizeof(label_t) + 2);
  detail::cube_band_slots<label_t> buf(std::min(band_rows, H), W, E, t);
  std::array<bool, 2> any_labelled{};
  std::vector<label_t> use;
  pixel_mask m;
  const auto bands = plan_row_bands(H, band_rows);
  // The reader takes the band's labels, then the cube rows only when some
  // pixel of the band is labelled.
  auto read = [&](std::size_t bi, int slot) {
    const auto& band = bands[bi];
    auto& lab = buf.side[static_cast<std::size_t>(slot)];
    lab.resize(static_cast<std::size_t>(band.rows * W));
    labels.read_rows(band.row0, band.rows, lab.data());
    bool any = false;
    for (label_t l : lab) {
      require(l <= k, "tiled_cluster_means", "label", "must be <= the cluster count " + std::to_string(k), l);
      any = any || l > 0;
    }
    any_labelled[static_cast<std::size_t>(slot)] = any;
    if (any) source.read_rows(band.row0, band.rows, buf.view(slot, band.rows));
  };
  detail::double_buffered(bands.size(), t.prefetch, read, [&](std::size_t bi, int slot) {
    if (!any_labelled[static_cast<std::size_t>(slot)]) return;
    const auto& band = bands[bi];
    const index_t n = band.rows * W;
    const image_shape bs{band.rows, W};
    const cube_view<float> d = buf.view(slot, band.rows);
    const auto& lab = buf.side[static_cast<std::size_t>(slot)];
    if (normalize) {
      m = pixel_mask(bs, 0);
      for (index_t i = 0; i < n; ++i) m[i] = lab[static_cast<std::size_t>(i)] > 0;
      normalize_cube_options no;
      no.edge = *normalize;
      no.threads = t.threads;
      no.keep_edge_step = false;
      normalize_cube(cube_view<const float>(d), energy, no, d, mask_view(m.view()));
    }
    use.assign(static_cast<std::size_t>(n), 0);
    for (index_t i = 0; i < n; ++i) {
      const label_t l = lab[static_cast<std::size_t>(i)];
      if (l <= 0) continue;
      ++out.clusters[static_cast<std::size_t>(l - 1)].pixels;
      ++out.labelled_pixels;
      bool finite = true;
      for (index_t b = 0; b < E; ++b) finite &= std::isfinite(static_cast<double>(d.pixel_pointer(i)[b]));
      if (!finite) {
        ++out.nonfinite_pixels;
        continue;
      }
      use[static_cast<std::size_t>(i)] = l;
      ++out.clusters[static_cast<std::size_t>(l - 1)].spectrum_pixels;
    }
    parallel_for(E, t.threads, 16, [&](index_t b0, index_t b1, int) {
      for (index_t i = 0; i < n; ++i) {
        const label_t l = use[static_cast<std::size_t>(i)];
        if (l <= 0) continue;
        const float* x = d.pixel_pointer(i);
        double* a = acc.data() + static_cast<std::size_t>(l - 1) * nb;
        for (index_t b = b0; b < b1; ++b) a[b] += static_cast<double>(x[b]);
      }
    });
  });
  for (std::size_t c = 0; c < kk; ++c) {
    auto& s = out.clusters[c];
    s.fraction = out.labelled_pixels > 0
                     ? static_cast<double>(s.pixels) / static_cast<double>(out.labelled_pixels)
                     : 0.0;
    s.mean.assign(nb, std::numeric_limits<double>::quiet_NaN());
    if (s.spectrum_pixels == 0) continue;
    for (std::size_t b = 0; b < nb; ++b) s.mean[b] = acc[c * nb + b] / static_cast<double>(s.spectrum_pixels);
  }
  return out;
}

}  // namespace spectromine::parallel
