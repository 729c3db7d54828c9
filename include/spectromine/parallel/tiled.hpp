// spectromine/parallel/tiled.hpp: the Voronoi pipeline (Ito 2024;
// METHODS.md sections 5-6) over a cube larger than memory, by row bands.
//
//   per band (cube rows read by pread into one buffer):
//     normalize (fixed e0) -> standardize -> nearest-site label
//     -> raw labels + validity mask written band by band to scratch .npy files
//   repair over the label image on disk, exactly equal to the in-memory
//   repair::compose(window_core{K, P}, fill{majority}):
//     pass 1  per band, with K/2 halo rows: window-core marks (local, exact)
//             and a union-find of same-label 8-connected components inside
//             the band; components touching the band's first/last row are
//             entered into a compact global table (at most 2 x cols entries
//             per band) with their "holds a core" bit;
//     merge   components of adjacent bands that touch across the band border
//             (same label, 8-adjacent) are unioned in that table: the
//             connected-component step is NOT local, this makes it exact;
//     pass 2  per band: a component survives iff it (or, for a border
//             component, its global class) holds a core; others -> 0;
//     fill    per band, with a halo h: a pixel filled in fill round t depends
//             only on the labels within Chebyshev radius t, so a band pixel
//             whose round t (BFS distance to the labelled pixels through
//             unlabeled sample pixels, inside the window) is <= its distance
//             to the window's cut edge is exact. If any band pixel is not
//             provably exact, the band is redone with a doubled halo (at
//             worst the whole image: memory then grows to 4 bytes x pixels,
//             only for fills that travel farther than the band; reported as
//             fill_max_halo).
// Exactness is proved in tests/parallel against the in-memory pipeline for
// band heights 1..H, including bands thinner than K.
//
// Global statistics (e0 from the mean spectrum, the automatic sample mask,
// relabel by size, per-cluster means) come from streaming passes equal to
// their in-memory twins: parallel/tiled_statistics.hpp.
//
// Threads: each stage uses the library's parallel kernels (normalize,
// standardize, nearest_site, window-core marking, fill) on all cores; the
// union-find is sequential per band. Results do not depend on thread count.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/parallel/tile_source.hpp"
#include "spectromine/parallel/tiled_statistics.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/sites.hpp"
#include "spectromine/preprocess/normalize.hpp"
#include "spectromine/preprocess/standardize.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/window_counts.hpp"

namespace spectromine::parallel {

struct tiled_repair_options {
  bool window_core = true;  // Ito 2024 window-core hysteresis
  int k_size = 5, p_num = 23;
  bool fill = true;         // then grow the survivors back (repair::fill)
  repair::fill_rule rule = repair::fill_rule::majority;
  bool spread_sentinels = false;

  nlohmann::json parameters() const {
    return {{"window_core", window_core}, {"k_size", k_size}, {"p_num", p_num}, {"fill", fill},
            {"rule", repair::to_string(rule)}, {"spread_sentinels", spread_sentinels}};
  }
};

struct tiled_repair_report {
  index_t removed = 0, filled = 0;
  index_t bands = 0;
  index_t border_components = 0;  // entries of the global equivalence table
  index_t fill_max_halo = 0;      // largest fill halo needed (rows)
  index_t fill_retries = 0;       // bands redone with a larger halo
};

namespace detail {

struct union_find {
  std::vector<std::uint32_t> parent;
  void reset(std::size_t n) {
    parent.resize(n);
    std::iota(parent.begin(), parent.end(), 0u);
  }
  std::uint32_t find(std::uint32_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }
  void unite(std::uint32_t a, std::uint32_t b) {
    a = find(a), b = find(b);
    if (a == b) return;
    if (a < b) std::swap(a, b);
    parent[a] = b;  // smaller root wins: deterministic
  }
};

// One band's window-core analysis: marks, components, border roots.
struct band_components {
  index_t cols = 0, rows = 0;
  std::vector<label_t> labels;     // band rows only (no halo)
  std::vector<std::uint8_t> mask;  // band rows only; empty = all sample
  std::vector<std::uint8_t> marked;
  union_find uf;
  std::vector<std::uint32_t> border_roots;  // sorted distinct roots on the first/last row

  bool in(index_t i) const { return labels[static_cast<std::size_t>(i)] != 0 && (mask.empty() || mask[static_cast<std::size_t>(i)] != 0); }
};

// Reads band b's window (K/2 halo), marks cores, labels components of the
// band rows. Deterministic: pass 1 and pass 2 get the same roots.
inline void analyse_band(const npy_image_file<label_t>& labels_file,
                         const npy_image_file<std::uint8_t>* mask_file, const row_band& band,
                         const tiled_repair_options& o, int threads, band_components& bc,
                         std::vector<label_t>& win_labels, std::vector<std::uint8_t>& win_mask,
                         std::vector<std::uint8_t>& win_flags) {
  const index_t cols = labels_file.shape().cols;
  const index_t wrows = band.halo1 - band.halo0;
  const auto wn = static_cast<std::size_t>(wrows * cols);
  win_labels.resize(wn);
  labels_file.read_rows(band.halo0, wrows, win_labels.data());
  if (mask_file) {
    win_mask.resize(wn);
    mask_file->read_rows(band.halo0, wrows, win_mask.data());
  } else {
    win_mask.clear();
  }
  win_flags.assign(wn, 0);
  const image_shape ws{wrows, cols};
  const_label_view lv(win_labels.data(), ws);
  mask_view mv = mask_file ? mask_view(win_mask.data(), ws) : mask_view();
  repair::mark_window_cores(lv, mv, mask_file != nullptr, o.k_size, o.p_num, threads,
                            repair::flag_view(win_flags.data(), ws), 1);
  const index_t off = (band.row0 - band.halo0) * cols;
  const auto n = static_cast<std::size_t>(band.rows * cols);
  require(n < std::numeric_limits<std::uint32_t>::max(), "tiled_repair", "band pixels",
          "must be < 2^32 (use fewer rows per band)", n);
  bc.cols = cols;
  bc.rows = band.rows;
  bc.labels.assign(win_labels.begin() + off, win_labels.begin() + off + static_cast<index_t>(n));
  if (mask_file)
    bc.mask.assign(win_mask.begin() + off, win_mask.begin() + off + static_cast<index_t>(n));
  else
    bc.mask.clear();
  bc.uf.reset(n);
  for (index_t r = 0; r < band.rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      const index_t i = r * cols + c;
      if (!bc.in(i)) continue;
      const label_t l = bc.labels[static_cast<std::size_t>(i)];
      auto link = [&](index_t rr, index_t cc) {
        if (rr < 0 || cc < 0 || cc >= cols) return;
        const index_t j = rr * cols + cc;
        if (bc.in(j) && bc.labels[static_cast<std::size_t>(j)] == l)
          bc.uf.unite(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j));
      };
      link(r, c - 1);
      link(r - 1, c - 1);
      link(r - 1, c);
      link(r - 1, c + 1);
    }
  bc.marked.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    if (bc.in(static_cast<index_t>(i)) && win_flags[static_cast<std::size_t>(off) + i] != 0)
      bc.marked[bc.uf.find(static_cast<std::uint32_t>(i))] = 1;
  bc.border_roots.clear();
  for (index_t c = 0; c < cols; ++c) {
    if (bc.in(c)) bc.border_roots.push_back(bc.uf.find(static_cast<std::uint32_t>(c)));
    const index_t last = (band.rows - 1) * cols + c;
    if (bc.in(last)) bc.border_roots.push_back(bc.uf.find(static_cast<std::uint32_t>(last)));
  }
  std::sort(bc.border_roots.begin(), bc.border_roots.end());
  bc.border_roots.erase(std::unique(bc.border_roots.begin(), bc.border_roots.end()), bc.border_roots.end());
}

// Fill rounds by BFS (the rounds of repair::fill): 0 = voter, t >= 1 = filled
// in round t, -1 = never reached inside the window / not fillable.
inline void fill_rounds(const std::vector<label_t>& labels, const std::vector<std::uint8_t>& mask,
                        index_t rows, index_t cols, bool sentinels, std::vector<std::int32_t>& dist,
                        std::vector<index_t>& queue) {
  const auto n = static_cast<std::size_t>(rows * cols);
  dist.assign(n, -1);
  queue.clear();
  auto sample = [&](std::size_t i) { return mask.empty() || mask[i] != 0; };
  for (std::size_t i = 0; i < n; ++i) {
    const label_t l = labels[i];
    if (sample(i) && (sentinels ? l != 0 : l > 0)) {
      dist[i] = 0;
      queue.push_back(static_cast<index_t>(i));
    }
  }
  for (std::size_t h = 0; h < queue.size(); ++h) {
    const index_t p = queue[h], r = p / cols, c = p % cols;
    const std::int32_t d = dist[static_cast<std::size_t>(p)];
    for (index_t dr = -1; dr <= 1; ++dr) {
      const index_t rr = r + dr;
      if (rr < 0 || rr >= rows) continue;
      for (index_t dc = -1; dc <= 1; ++dc) {
        const index_t cc = c + dc;
        if (cc < 0 || cc >= cols) continue;
        const auto q = static_cast<std::size_t>(rr * cols + cc);
        if (dist[q] < 0 && labels[q] == 0 && sample(q)) {
          dist[q] = d + 1;
          queue.push_back(static_cast<index_t>(q));
        }
      }
    }
  }
}

}  // namespace detail

// Window-core + fill over a label image on disk (see the header comment),
// written band by band to `out` (same shape; may not alias `in`). `mask`
// null = every pixel is sample. `scratch` is a path for the intermediate
// (cored) labels; it is removed on return.
inline tiled_repair_report tiled_repair(const npy_image_file<label_t>& in,
                                        const npy_image_file<std::uint8_t>* mask,
                                        const npy_image_file<label_t>& out,
                                        const std::filesystem::path& scratch,
                                        const tiled_repair_options& o, const tiling_options& t) {
  t.validate();
  const image_shape shape = in.shape();
  require(out.shape() == shape, "tiled_repair", "out shape", "must equal the label image shape", out.shape().rows);
  if (mask)
    require(mask->shape() == shape, "tiled_repair", "mask shape", "must equal the label image shape",
            mask->shape().rows);
  if (o.window_core) {
    require(o.k_size >= 1 && o.k_size % 2 == 1, "tiled_repair", "k_size", "must be an odd number >= 1", o.k_size);
    require(o.p_num >= 1 && o.p_num <= std::int64_t{o.k_size} * o.k_size, "tiled_repair", "p_num", "must lie in 1..k_size^2", o.p_num);
  }
  tiled_repair_report report;
  const index_t H = shape.rows, W = shape.cols;
  if (H == 0 || W == 0) return report;
  // One row of a band costs about: labels 4 + mask 1 + flags 1 + parent 4 +
  // marked 1 + band copy 5 + fill rounds 4 + fill copy 4 bytes per pixel.
  const index_t band_rows = t.rows_for(static_cast<std::size_t>(W) * 24, H);
  const int threads = t.threads;

  const npy_image_file<label_t>* fill_in = &in;
  std::optional<io::atomic_file> cored_file;  // never committed: removed on return
  std::optional<npy_image_file<label_t>> cored;
  std::vector<label_t> win_labels;
  std::vector<std::uint8_t> win_mask, win_flags;

  if (o.window_core) {
    const index_t halo = o.k_size / 2;
    const auto bands = plan_row_bands(H, band_rows, halo);
    report.bands = static_cast<index_t>(bands.size());
    // Pass 1: border components and their equivalences.
    std::vector<index_t> base(bands.size() + 1, 0);
    std::vector<std::uint8_t> gmarked;
    std::vector<std::int64_t> prev_bottom(static_cast<std::size_t>(W), -1);
    std::vector<label_t> prev_bottom_label(static_cast<std::size_t>(W), 0);
    std::vector<std::pair<std::int64_t, std::int64_t>> links;
    detail::band_components bc;
    for (std::size_t b = 0; b < bands.size(); ++b) {
      detail::analyse_band(in, mask, bands[b], o, threads, bc, win_labels, win_mask, win_flags);
      base[b + 1] = base[b] + static_cast<index_t>(bc.border_roots.size());
      for (auto root : bc.border_roots) gmarked.push_back(bc.marked[root]);
      auto gid = [&](index_t i) -> std::int64_t {
        if (!bc.in(i)) return -1;
        const auto root = bc.uf.find(static_cast<std::uint32_t>(i));
        const auto it = std::lower_bound(bc.border_roots.begin(), bc.border_roots.end(), root);
        return base[b] + (it - bc.border_roots.begin());
      };
      if (b > 0) {  // first row of this band against the last row of the previous one
        for (index_t c = 0; c < W; ++c) {
          const std::int64_t g = gid(c);
          if (g < 0) continue;
          const label_t l = bc.labels[static_cast<std::size_t>(c)];
          for (index_t dc = -1; dc <= 1; ++dc) {
            const index_t cc = c + dc;
            if (cc < 0 || cc >= W) continue;
            if (prev_bottom[static_cast<std::size_t>(cc)] >= 0 && prev_bottom_label[static_cast<std::size_t>(cc)] == l)
              links.emplace_back(g, prev_bottom[static_cast<std::size_t>(cc)]);
          }
        }
      }
      const index_t last = (bc.rows - 1) * W;
      for (index_t c = 0; c < W; ++c) {
        prev_bottom[static_cast<std::size_t>(c)] = gid(last + c);
        prev_bottom_label[static_cast<std::size_t>(c)] = bc.labels[static_cast<std::size_t>(last + c)];
      }
    }
    report.border_components = base.back();
    require(base.back() < std::numeric_limits<std::uint32_t>::max(), "tiled_repair", "border components",
            "must fit 32 bits (use taller bands)", base.back());
    detail::union_find global;
    global.reset(static_cast<std::size_t>(base.back()));
    for (auto [a, bb] : links) global.unite(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(bb));
    links.clear();
    links.shrink_to_fit();
    std::vector<std::uint8_t> class_marked(gmarked.size(), 0);
    for (std::size_t g = 0; g < gmarked.size(); ++g)
      if (gmarked[g]) class_marked[global.find(static_cast<std::uint32_t>(g))] = 1;

    // Pass 2: clear the components without a core.
    cored_file.emplace(scratch);
    cored.emplace(npy_image_file<label_t>::create(cored_file->temp_path(), shape));
    std::vector<std::uint8_t> alive;
    for (std::size_t b = 0; b < bands.size(); ++b) {
      detail::analyse_band(in, mask, bands[b], o, threads, bc, win_labels, win_mask, win_flags);
      const auto n = bc.labels.size();
      alive.assign(n, 0);
      for (std::size_t i = 0; i < n; ++i)
        if (bc.in(static_cast<index_t>(i)) && bc.uf.parent[i] == i) alive[i] = bc.marked[i];
      for (std::size_t k = 0; k < bc.border_roots.size(); ++k)
        alive[bc.border_roots[k]] =
            class_marked[global.find(static_cast<std::uint32_t>(base[b] + static_cast<index_t>(k)))];
      for (std::size_t i = 0; i < n; ++i)
        if (bc.in(static_cast<index_t>(i)) && !alive[bc.uf.find(static_cast<std::uint32_t>(i))]) {
          bc.labels[i] = 0;
          ++report.removed;
        }
      cored->write_rows(bands[b].row0, bands[b].rows, bc.labels.data());
    }
    fill_in = &*cored;
  }

  // Fill (or copy when there is no fill).
  const auto bands = plan_row_bands(H, band_rows, 0);
  if (!o.window_core) report.bands = static_cast<index_t>(bands.size());
  std::vector<std::int32_t> dist;
  std::vector<index_t> queue;
  const repair::fill filler{o.rule, o.spread_sentinels, threads};
  for (const auto& band : bands) {
    if (!o.fill) {
      win_labels.resize(static_cast<std::size_t>(band.rows * W));
      fill_in->read_rows(band.row0, band.rows, win_labels.data());
      out.write_rows(band.row0, band.rows, win_labels.data());
      continue;
    }
    // First halo: the band height, at most 64 rows (fill fronts seldom
    // travel farther; a front that does costs a retry with a doubled halo,
    // never a wrong label). A whole-band halo would triple the fill's work.
    index_t halo = std::max<index_t>(8, std::min<index_t>(band.rows, 64));
    for (bool first = true;; first = false) {
      const index_t a = std::max<index_t>(0, band.row0 - halo), e = std::min(H, band.end() + halo);
      const index_t wrows = e - a;
      win_labels.resize(static_cast<std::size_t>(wrows * W));
      fill_in->read_rows(a, wrows, win_labels.data());
      if (mask) {
        win_mask.resize(win_labels.size());
        mask->read_rows(a, wrows, win_mask.data());
      } else {
        win_mask.clear();
      }
      detail::fill_rounds(win_labels, win_mask, wrows, W, o.spread_sentinels, dist, queue);
      const bool whole = a == 0 && e == H;
      bool exact = true;
      for (index_t r = band.row0; r < band.end() && exact; ++r) {
        constexpr index_t far = std::numeric_limits<index_t>::max();
        const index_t edge = std::min(a == 0 ? far : r - a, e == H ? far : e - 1 - r);
        for (index_t c = 0; c < W; ++c) {
          const auto i = static_cast<std::size_t>((r - a) * W + c);
          const bool fillable = win_labels[i] == 0 && (win_mask.empty() || win_mask[i] != 0);
          if (!fillable) continue;
          if (dist[i] < 0 ? !whole : dist[i] > edge) {
            exact = false;
            break;
          }
        }
      }
      if (!exact) {
        ++report.fill_retries;
        halo *= 2;
        continue;
      }
      (void)first;
      report.fill_max_halo = std::max(report.fill_max_halo, std::min(halo, H));
      const image_shape ws{wrows, W};
      filler.apply(label_view(win_labels.data(), ws),
                   mask ? mask_view(win_mask.data(), ws) : mask_view());
      const std::size_t off = static_cast<std::size_t>((band.row0 - a) * W);
      for (std::size_t i = 0; i < static_cast<std::size_t>(band.rows * W); ++i)
        report.filled += dist[off + i] > 0;
      out.write_rows(band.row0, band.rows, win_labels.data() + off);
      break;
    }
  }
  return report;
}

// ------------------------------------------------------------ the pipeline

struct tiled_voronoi_options {
  // Normalization (larch pre_edge per pixel). Set = normalize with these
  // windows; e0 unset = find_e0 of the mean spectrum of the finite sample
  // pixels, from one more streaming pass (tiled_mean_finite_spectrum, equal
  // to the in-memory mean). Unset = the cube is already normalized.
  std::optional<pre_edge_options> normalize;
  // Sample mask (2-D uint8 .npy, 1 = sample; e.g. from tiled_sample_mask);
  // empty = every pixel. Masked pixels are not normalized nor labelled.
  std::filesystem::path sample_mask;
  partition::nearest_site_options labelling;  // threads taken from tiling
  std::optional<tiled_repair_options> repair = tiled_repair_options{};
  tiling_options tiling;
};

struct tiled_voronoi_report {
  index_t bands = 0, band_rows = 0;
  index_t pixels = 0, valid = 0;          // valid = normalized and standardized
  std::optional<double> e0;               // e0 applied (when normalizing)
  bool e0_from_mean = false;              // found from the mean spectrum (extra pass)
  std::vector<index_t> label_counts;      // label_counts[l] pixels of label l (after repair)
  tiled_repair_report repair;
  // Wall seconds of the stages (this process; for benchmarks): the labelling
  // pass, the part of it spent waiting for cube reads (what the prefetch did
  // not hide), and the repair.
  double seconds_labelling = 0, seconds_read_wait = 0, seconds_repair = 0;
};

namespace detail {

// The labelling stage's buffers, sized once for the tallest band: one or two
// cube bands (two: the next band is read while this one is labelled; see
// tiling_options::prefetch) with their sample-mask rows, and the per-pixel
// outputs of one band. No standardized copy: only its validity is needed.
struct label_buffers {
  std::array<cube<float>, 2> data;
  std::array<pixel_mask, 2> sample;
  label_image labels;
  pixel_mask valid;
  label_buffers(index_t band_rows, index_t cols, index_t bands, index_t buffers, bool with_sample)
      : labels(image_shape{band_rows, cols}, 0), valid(image_shape{band_rows, cols}, 0) {
    for (index_t i = 0; i < buffers; ++i) {
      data[static_cast<std::size_t>(i)] = cube<float>(image_shape{band_rows, cols}, bands);
      if (with_sample) sample[static_cast<std::size_t>(i)] = pixel_mask(image_shape{band_rows, cols}, 1);
    }
  }
};

// Pixels labelled per block by one worker: normalize, the standardization
// check and the nearest site run on the same 2048 spectra (1.4 MB at 178
// energies: inside a 2 MB L2) while they are in cache, instead of three passes over the band
// from memory. Each stage is per pixel, so the blocking cannot change a result.
inline constexpr index_t label_block = 2048;

// The pixels of one band (contiguous spectra `d`, sample rows or null):
// normalize in place with a fixed e0 -> standardize's validity -> nearest
// site, as the CLI's in-memory pipeline (examples/spectromine/commands/
// cluster.hpp) does over the whole cube: the sites label the NORMALIZED
// spectra (nearest_site standardizes in double itself; labelling a float
// standardized copy could differ at exact near-ties), under the validity
// mask of standardize_cube (same function, standardize_status_of, into a
// per-worker scratch spectrum). `index` must be single-threaded (the blocks
// are the parallelism). Returns the number of valid pixels.
inline index_t label_pixels(cube_view<float> d, const std::uint8_t* sample, std::span<const double> energy,
                            const std::optional<pre_edge_options>& edge,
                            const partition::nearest_site_index& index, label_t* labels, std::uint8_t* valid,
                            int threads) {
  const index_t n = d.pixel_count(), E = d.bands();
  const index_t blocks = (n + label_block - 1) / label_block;
  const int workers = static_cast<int>(std::min<index_t>(resolve_threads(threads), std::max<index_t>(blocks, 1)));
  std::vector<index_t> counts(static_cast<std::size_t>(workers), 0);
  // Blocks are handed out one at a time (not in equal static chunks): the
  // prefetching reader thread shares the cores, and a worker it slows down
  // must not hold the others at the join. Each block's labels are its own,
  // and the counts are integers, so who did which block changes nothing.
  std::atomic<index_t> next{0};
  parallel_for(workers, workers, 1, [&](index_t, index_t, int worker) {
    std::vector<float> scratch(static_cast<std::size_t>(E));
    normalize_cube_options no;
    if (edge) no.edge = *edge;
    no.threads = 1;
    no.keep_edge_step = false;
    index_t local = 0;
    for (index_t k = next.fetch_add(1); k < blocks; k = next.fetch_add(1)) {
      const index_t b0 = k * label_block;
      const index_t m = std::min(label_block, n - b0);
      const image_shape s{1, m};
      const cube_view<float> v(d.pixel_pointer(b0), s, E);
      std::uint8_t* val = valid + b0;
      if (edge) {
        const auto rep = normalize_cube(cube_view<const float>(v), energy, no, v,
                                        sample ? mask_view(sample + b0, s) : mask_view());
        std::copy(rep.valid.data(), rep.valid.data() + m, val);
      } else if (sample) {
        std::copy(sample + b0, sample + b0 + m, val);
      } else {
        std::fill(val, val + m, std::uint8_t{1});
      }
      for (index_t p = 0; p < m; ++p)
        if (val[p]) val[p] = is_standardizable(std::span<const float>(v.spectrum(p)), std::span<float>(scratch));
      index.assign(cube_view<const float>(v), mask_view(val, s), label_view(labels + b0, s));
      for (index_t p = 0; p < m; ++p) local += val[p];
    }
    counts[static_cast<std::size_t>(worker)] = local;
  });
  index_t total = 0;
  for (auto c : counts) total += c;
  return total;
}

struct label_totals {
  index_t pixels = 0, valid = 0;
  double seconds = 0, read_wait = 0;
};

// The labelling pass over the bands `share` owns: each band read (on the
// reader thread when prefetching), labelled, and its raw labels + validity
// mask written at its rows.
template <class Source>
label_totals label_bands(Source& source, std::span<const double> energy,
                         const partition::nearest_site_index& index, const std::optional<pre_edge_options>& edge,
                         const npy_image_file<std::uint8_t>* sample, const std::vector<row_band>& bands,
                         index_t band_rows, band_share share, const tiling_options& t,
                         const npy_image_file<label_t>& raw, const npy_image_file<std::uint8_t>& valid_file) {
  const auto t0 = std::chrono::steady_clock::now();
  const index_t W = source.cols(), E = source.bands();
  std::vector<std::size_t> mine;
  for (std::size_t b = 0; b < bands.size(); ++b)
    if (share.mine(b)) mine.push_back(b);
  label_totals out;
  if (mine.empty()) return out;
  label_buffers buf(std::min(band_rows, source.rows()), W, E, t.cube_buffers(), sample != nullptr);
  out.read_wait = double_buffered(
      mine.size(), t.prefetch,
      [&](std::size_t k, int slot) {
        const row_band& band = bands[mine[k]];
        source.read_rows(band.row0, band.rows,
                         cube_view<float>(buf.data[static_cast<std::size_t>(slot)].data(),
                                          image_shape{band.rows, W}, E));
        if (sample) sample->read_rows(band.row0, band.rows, buf.sample[static_cast<std::size_t>(slot)].data());
      },
      [&](std::size_t k, int slot) {
        const row_band& band = bands[mine[k]];
        const auto i = static_cast<std::size_t>(slot);
        out.valid += label_pixels(cube_view<float>(buf.data[i].data(), image_shape{band.rows, W}, E),
                                  sample ? buf.sample[i].data() : nullptr, energy, edge, index,
                                  buf.labels.data(), buf.valid.data(), t.threads);
        raw.write_rows(band.row0, band.rows, buf.labels.data());
        valid_file.write_rows(band.row0, band.rows, buf.valid.data());
        out.pixels += band.rows * W;
      });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

inline void validate_voronoi(const tiled_voronoi_options& options, std::span<const double> energy,
                             index_t bands, const partition::site_set& sites) {
  options.tiling.validate();
  require(!sites.spectra.empty(), "tiled_voronoi", "sites", "must hold at least one site", sites.spectra.size());
  validate_energy_grid(energy, "tiled_voronoi", bands);
}

inline index_t voronoi_band_rows(const tiled_voronoi_options& options, index_t H, index_t W, index_t E,
                                 std::size_t reader_factor = 0) {
  // per energy: the float band buffers (2 when prefetching) + the reader's
  // own band for TIFF/HDF5; per pixel: sample rows, labels, validity and the
  // blocks' small scratch
  const auto buffers = static_cast<std::size_t>(options.tiling.cube_buffers());
  return options.tiling.rows_for(
      static_cast<std::size_t>(W) * (static_cast<std::size_t>(E) * 4 * (buffers + reader_factor) + 64), H);
}

// The labelling index: single-threaded, because label_pixels runs it inside
// its own parallel blocks.
inline partition::nearest_site_index labelling_index(const partition::site_set& sites,
                                                     std::span<const double> energy,
                                                     const tiled_voronoi_options& options) {
  partition::nearest_site_options lo = options.labelling;
  lo.threads = 1;
  return partition::nearest_site_index(partition::sites_on_grid(sites, energy), lo);
}

inline tiled_repair_options repair_of(const tiled_voronoi_options& options) {
  tiled_repair_options ro;
  if (options.repair) ro = *options.repair;
  else ro.window_core = ro.fill = false;
  return ro;
}

// Pixels per label 0..max_label of a label file; labels::outlier pixels are
// counted into *outliers when given.
inline std::vector<index_t> count_labels(const npy_image_file<label_t>& file, index_t max_label,
                                         index_t* outliers = nullptr) {
  const image_shape s = file.shape();
  std::vector<label_t> row(static_cast<std::size_t>(s.cols));
  std::vector<index_t> counts(static_cast<std::size_t>(max_label) + 1, 0);
  for (index_t r = 0; r < s.rows; ++r) {
    file.read_rows(r, 1, row.data());
    for (auto l : row) {
      if (l >= 0 && l <= max_label) ++counts[static_cast<std::size_t>(l)];
      else if (outliers && l == labels::outlier) ++*outliers;
    }
  }
  return counts;
}

// The sample mask file (none when `path` is empty), checked against the
// cube's image shape.
inline std::optional<npy_image_file<std::uint8_t>> open_sample_mask(const std::filesystem::path& path,
                                                                    image_shape shape,
                                                                    std::string_view component) {
  if (path.empty()) return std::nullopt;
  auto m = npy_image_file<std::uint8_t>::open(path);
  require(m.shape() == shape, component, "sample mask",
          "must have the cube's image shape " + std::to_string(shape.rows) + " x " + std::to_string(shape.cols),
          path.string());
  return m;
}

}  // namespace detail

// Labels the cube `source` band by band against `sites` and writes the
// (repaired) int32 H x W label image to `labels_out` atomically; `mask_out`
// (optional) receives the validity mask (1 = normalized, standardized pixel).
// Scratch files (raw labels, mask, cored labels) live next to labels_out and
// are removed on return, also on error.
template <class Source>
  requires tile_source<Source>
tiled_voronoi_report tiled_voronoi(Source& source, std::span<const double> energy,
                                   const partition::site_set& sites,
                                   const tiled_voronoi_options& options,
                                   const std::filesystem::path& labels_out,
                                   const std::filesystem::path& mask_out = {}) {
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  detail::validate_voronoi(options, energy, E, sites);
  const image_shape shape{H, W};
  const auto sample = detail::open_sample_mask(options.sample_mask, shape, "tiled_voronoi");
  const partition::nearest_site_index index = detail::labelling_index(sites, energy, options);

  tiled_voronoi_report report;
  std::optional<pre_edge_options> edge = options.normalize;
  if (edge && !edge->e0) {
    edge->e0 = find_e0(energy, tiled_mean_finite_spectrum(source, sample ? &*sample : nullptr, options.tiling));
    report.e0_from_mean = true;
  }
  if (edge) report.e0 = edge->e0;
  report.band_rows = detail::voronoi_band_rows(options, H, W, E, detail::reader_factor(source));
  const auto bands = plan_row_bands(H, report.band_rows);
  report.bands = static_cast<index_t>(bands.size());

  io::atomic_file labels_file(labels_out);
  io::atomic_file raw_file(labels_out.string() + ".raw");
  io::atomic_file mask_file(mask_out.empty() ? std::filesystem::path(labels_out.string() + ".mask") : mask_out);
  auto raw = npy_image_file<label_t>::create(raw_file.temp_path(), shape);
  auto valid_file = npy_image_file<std::uint8_t>::create(mask_file.temp_path(), shape);
  const auto lt = detail::label_bands(source, energy, index, edge, sample ? &*sample : nullptr, bands,
                                     report.band_rows, band_share{}, options.tiling, raw, valid_file);
  report.valid = lt.valid;
  report.pixels = lt.pixels;
  report.seconds_labelling = lt.seconds;
  report.seconds_read_wait = lt.read_wait;  // band buffers were released on return: before the repair
  const auto t_repair = std::chrono::steady_clock::now();
  auto final_labels = npy_image_file<label_t>::create(labels_file.temp_path(), shape);
  report.repair = tiled_repair(raw, &valid_file, final_labels, labels_out.string() + ".cored",
                               detail::repair_of(options), options.tiling);
  report.seconds_repair = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_repair).count();
  report.label_counts = detail::count_labels(final_labels, index.size());
  final_labels.sync();
  labels_file.commit();
  if (!mask_out.empty()) {
    valid_file.sync();
    mask_file.commit();
  }
  return report;
}

}  // namespace spectromine::parallel
