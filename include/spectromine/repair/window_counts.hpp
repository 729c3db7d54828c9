// spectromine/repair/window_counts.hpp: the two kernels behind the spatial
// repairs, exposed for drivers (tiled / MPI repair) and tests:
//
//   mark_window_cores(labels, mask, K, P, threads, flags, bit)
//     sets `bit` in flags(r, c) for every "core" pixel: a labelled sample pixel
//     whose K x K window holds enough pixels of ITS OWN label (Ito 2024's
//     K_size / P_num, METHODS.md §6), clears it elsewhere.
//   keep_marked_components(labels, mask, flags, bit, threads)
//     keeps the labelled sample pixels 8-connected, through pixels of their
//     own label, to a pixel with `bit` set (a geodesic reconstruction from the
//     markers) and sets every other labelled sample pixel to unlabeled;
//     returns how many it cleared. same_label_components is the machinery
//     (run-length union-find), usable on its own.
//
// Windows at the border and at the sample edge. The window is clipped to the
// image, and pixels outside the sample do not count. With n_same = sample
// pixels of the centre's label in the clipped window and n_valid = sample
// pixels in the clipped window (any label, including unlabeled), a pixel is a
// core when
//     n_same * K^2 >= P * n_valid,
// i.e. P_num is scaled by the fraction of the window that holds sample. In the
// interior of the sample n_valid = K^2 and this is the paper's n_same >= P.
// A region touching the border therefore keeps its core (the published code
// zeroes a K/2 frame instead), and a cluster along the sample edge is judged
// only against sample pixels.
//
// Core of which label. Ito 2024 counts, per cluster k, the k-pixels around
// EVERY pixel, so a foreign pixel with >= P k-neighbours is a k-core (and the
// published code relabels it k). Here a core must carry the label it is a core
// of, so one pass serves all clusters at once. The difference is confined to
// isolated specks inside a cluster: here the speck is removed (its own count is
// tiny) and the fill gives it the surrounding label, which ends the same way.
//
// Cost: O(pixels * K^2) compare-and-add on int32 rows (vectorized), one pass
// for all labels together; the components are found once for all labels.
// Memory: K padded rows per thread, the caller's flag image (1 byte/pixel),
// and 17 bytes per run (a run = maximal same-label segment of a row).
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/error.hpp"

namespace spectromine::repair {

using flag_view = image_view<std::uint8_t>;

namespace detail {

// same[c] += #{(rr, dx) : rows[rr][c + dx] == ctr[c]} for a compile-time K:
// the K^2 compares of a pixel stay in a register, the loop over c vectorizes.
template <int K>
void count_same_fixed(const label_t* const* rows, const label_t* ctr, std::int32_t* same,
                      index_t n) {
  for (index_t c = 0; c < n; ++c) {
    const label_t x = ctr[c];
    std::int32_t s = 0;
    for (int rr = 0; rr < K; ++rr)
      for (int dx = 0; dx < K; ++dx) s += rows[rr][c + dx] == x ? 1 : 0;
    same[c] = s;
  }
}

inline void count_same_any(const label_t* const* rows, int k, const label_t* ctr,
                           std::int32_t* __restrict same, index_t n) {
  switch (k) {
    case 1: for (index_t c = 0; c < n; ++c) same[c] = rows[0][c] == ctr[c] ? 1 : 0; return;
    case 3: count_same_fixed<3>(rows, ctr, same, n); return;
    case 5: count_same_fixed<5>(rows, ctr, same, n); return;
    case 7: count_same_fixed<7>(rows, ctr, same, n); return;
    case 9: count_same_fixed<9>(rows, ctr, same, n); return;
    default: break;
  }
  for (index_t c = 0; c < n; ++c) same[c] = 0;
  for (int rr = 0; rr < k; ++rr)
    for (int dx = 0; dx < k; ++dx) {
      const label_t* __restrict src = rows[rr] + dx;
      for (index_t c = 0; c < n; ++c) same[c] += src[c] == ctr[c] ? 1 : 0;
    }
}

}  // namespace detail

// See the header comment. `has_mask` false means every pixel is sample.
inline void mark_window_cores(const_label_view labels, mask_view mask, bool has_mask, int k_size,
                              int p_num, int threads, flag_view flags, std::uint8_t bit) {
  require(k_size >= 1 && k_size % 2 == 1, "window_core", "k_size", "must be an odd number >= 1",
          k_size);
  require(k_size <= 101, "window_core", "k_size", "must be <= 101", k_size);
  require(p_num >= 1 && p_num <= k_size * k_size, "window_core", "p_num",
          "must lie in 1..k_size^2 = " + std::to_string(k_size * k_size), p_num);
  require(flags.shape() == labels.shape(), "window_core", "flags shape",
          "must equal the label image shape", flags.rows());
  const index_t rows = labels.rows(), cols = labels.cols();
  if (rows == 0 || cols == 0) return;
  const index_t h = k_size / 2;
  const index_t k = k_size;
  const std::int32_t area = k_size * k_size;  // <= 10201: products below stay in int32
  const index_t padded = cols + 2 * h;
  constexpr index_t block = 1024;  // columns per block: the K rows of a block stay in L1/L2

  parallel_for(rows, threads, 8, [&](index_t r0, index_t r1, int) {
    // Ring of K padded rows: labels with no-sample and out-of-image pixels set
    // to 0, which never equals a (non-zero) centre label; rows outside the
    // image read an all-zero row. With a mask, also each row's clipped
    // horizontal sample count; without one, counts are products of clipped
    // extents.
    std::vector<label_t> ring(static_cast<std::size_t>(k * padded), 0);
    const std::vector<label_t> zero_row(static_cast<std::size_t>(padded), 0);
    std::vector<std::int32_t> hsum(has_mask ? static_cast<std::size_t>(k * cols) : 0, 0);
    std::vector<std::int32_t> col_extent(static_cast<std::size_t>(cols));
    for (index_t c = 0; c < cols; ++c)
      col_extent[static_cast<std::size_t>(c)] =
          static_cast<std::int32_t>(std::min(cols - 1, c + h) - std::max<index_t>(0, c - h) + 1);
    std::vector<std::int32_t> same(static_cast<std::size_t>(block));
    std::vector<std::int32_t> valid(static_cast<std::size_t>(block));
    std::vector<std::uint8_t> rowmask(static_cast<std::size_t>(padded), 0);
    std::vector<const label_t*> window(static_cast<std::size_t>(k));
    index_t loaded = std::max<index_t>(0, r0 - h) - 1;  // last row loaded into the ring

    auto load = [&](index_t rr) {
      label_t* dst = ring.data() + (rr % k) * padded + h;
      const label_t* src = labels.row(rr).data();
      if (!has_mask) {
        std::copy(src, src + cols, dst);
        return;
      }
      const std::uint8_t* m = mask.row(rr).data();
      for (index_t c = 0; c < cols; ++c) {
        dst[c] = m[c] ? src[c] : 0;
        rowmask[static_cast<std::size_t>(h + c)] = m[c] ? 1 : 0;
      }
      // Sliding horizontal sum of sample pixels over [c-h, c+h] = padded [c, c+2h].
      std::int32_t* hs = hsum.data() + (rr % k) * cols;
      std::int32_t run = 0;
      for (index_t d = 0; d <= 2 * h; ++d) run += rowmask[static_cast<std::size_t>(d)];
      hs[0] = run;
      for (index_t c = 1; c < cols; ++c) {
        run += rowmask[static_cast<std::size_t>(c + 2 * h)] -
               rowmask[static_cast<std::size_t>(c - 1)];
        hs[c] = run;
      }
    };

    for (index_t r = r0; r < r1; ++r) {
      const index_t top = std::max<index_t>(0, r - h);
      const index_t bottom = std::min<index_t>(rows - 1, r + h);
      while (loaded < bottom) load(++loaded);
      for (index_t d = 0; d < k; ++d) {
        const index_t rr = r - h + d;
        window[static_cast<std::size_t>(d)] =
            (rr < 0 || rr >= rows) ? zero_row.data() : ring.data() + (rr % k) * padded;
      }
      const label_t* centre = ring.data() + (r % k) * padded + h;
      const std::int32_t row_extent = static_cast<std::int32_t>(bottom - top + 1);
      std::uint8_t* out = flags.row(r).data();
      std::vector<const label_t*> shifted(window);
      for (index_t c0 = 0; c0 < cols; c0 += block) {
        const index_t n = std::min(block, cols - c0);
        // padded column c0 is image column c0 - h: the window's left edge
        for (index_t d = 0; d < k; ++d)
          shifted[static_cast<std::size_t>(d)] = window[static_cast<std::size_t>(d)] + c0;
        detail::count_same_any(shifted.data(), k_size, centre + c0, same.data(), n);
        std::int32_t* v = valid.data();
        if (has_mask) {
          std::fill_n(v, n, 0);
          for (index_t rr = top; rr <= bottom; ++rr) {
            const std::int32_t* hs = hsum.data() + (rr % k) * cols + c0;
            for (index_t c = 0; c < n; ++c) v[c] += hs[c];
          }
        } else {
          for (index_t c = 0; c < n; ++c)
            v[c] = row_extent * col_extent[static_cast<std::size_t>(c0 + c)];
        }
        // Locals and restrict: a uint8 store may alias anything, which would
        // otherwise force reloads and keep this loop scalar.
        const label_t* __restrict ctr = centre + c0;
        const std::int32_t* __restrict sm = same.data();
        const std::int32_t* __restrict vl = valid.data();
        std::uint8_t* __restrict o = out + c0;
        const std::int32_t a = area, pn = p_num;
        const std::uint8_t set = bit, keep = static_cast<std::uint8_t>(~bit);
        for (index_t c = 0; c < n; ++c) {
          // A no-sample centre was stored as 0, so it is never a core.
          const bool core = (ctr[c] != 0) & (sm[c] * a >= pn * vl[c]);
          o[c] = static_cast<std::uint8_t>((o[c] & keep) | (core ? set : 0));
        }
      }
    }
  });
}

// The 8-connected same-label components of the labelled sample pixels, as
// runs: a run is a maximal horizontal segment of one label in one row. Runs
// of consecutive rows that touch (8-connectivity: overlap after widening by
// one column) and share a label are united (union-find, always linking to the
// smaller run index, so a forward pass resolves every root). Work is O(pixels)
// for the run extraction plus O(runs) for the unions; row bands run in
// parallel and their seams are joined afterwards. A component is "marked"
// when one of its pixels had the marker bit set in `flags` at construction;
// more components can be marked later (mark_component_at). Results are sets,
// so they do not depend on the thread count or the union order.
class same_label_components {
 public:
  same_label_components(const_label_view labels, mask_view mask, bool has_mask,
                        image_view<const std::uint8_t> flags, std::uint8_t bit, int threads)
      : rows_(labels.rows()), cols_(labels.cols()), threads_(resolve_threads(threads)) {
    require(cols_ < (index_t{1} << 31), "window_core", "image columns", "must be < 2^31", cols_);
    row_begin_.assign(static_cast<std::size_t>(rows_ + 1), 0);
    if (rows_ == 0 || cols_ == 0) return;
    auto in_run = [&](const label_t* l, const std::uint8_t* m, index_t c) {
      return l[c] != 0 && (m == nullptr || m[c] != 0);
    };
    auto starts_run = [&](const label_t* l, const std::uint8_t* m, index_t c) {
      return in_run(l, m, c) && (c == 0 || !in_run(l, m, c - 1) || l[c - 1] != l[c]);
    };
    // Pass 1: runs per row.
    parallel_for(rows_, threads_, 16, [&](index_t r0, index_t r1, int) {
      for (index_t r = r0; r < r1; ++r) {
        const label_t* l = labels.row(r).data();
        const std::uint8_t* m = has_mask ? mask.row(r).data() : nullptr;
        index_t n = 0;
        for (index_t c = 0; c < cols_; ++c) n += starts_run(l, m, c) ? 1 : 0;
        row_begin_[static_cast<std::size_t>(r + 1)] = n;
      }
    });
    for (index_t r = 0; r < rows_; ++r)
      row_begin_[static_cast<std::size_t>(r + 1)] += row_begin_[static_cast<std::size_t>(r)];
    const index_t runs = row_begin_.back();
    require(runs < (index_t{1} << 32) - 1, "window_core", "number of runs",
            "must be < 2^32 (repair the image in tiles)", runs);
    start_.resize(static_cast<std::size_t>(runs));
    end_.resize(static_cast<std::size_t>(runs));
    label_.resize(static_cast<std::size_t>(runs));
    marked_.resize(static_cast<std::size_t>(runs));
    parent_.resize(static_cast<std::size_t>(runs));
    // Pass 2: the runs, their marker bit, and unions inside each band.
    std::vector<index_t> band_starts;
    std::mutex band_mutex;
    parallel_for(rows_, threads_, 16, [&](index_t r0, index_t r1, int) {
      {
        std::lock_guard lock(band_mutex);
        band_starts.push_back(r0);
      }
      // Raw local pointers: the uint8 stores below may alias anything, which
      // would otherwise force the vectors' data pointers to be reloaded.
      std::int32_t* const st = start_.data();
      std::int32_t* const en = end_.data();
      label_t* const lb = label_.data();
      std::uint8_t* const mk = marked_.data();
      std::uint32_t* const pa = parent_.data();
      const index_t cols = cols_;
      for (index_t r = r0; r < r1; ++r) {
        const label_t* l = labels.row(r).data();
        const std::uint8_t* m = has_mask ? mask.row(r).data() : nullptr;
        const std::uint8_t* f = flags.row(r).data();
        std::size_t i = static_cast<std::size_t>(row_begin_[static_cast<std::size_t>(r)]);
        index_t c = 0;
        while (c < cols) {
          const label_t x = l[c];
          if (x == 0 || (m != nullptr && m[c] == 0)) {
            ++c;
            continue;
          }
          const index_t c0 = c;
          std::uint8_t any = 0;
          if (m == nullptr) {
            while (c < cols && l[c] == x) any |= f[c++];
          } else {
            while (c < cols && l[c] == x && m[c] != 0) any |= f[c++];
          }
          st[i] = static_cast<std::int32_t>(c0);
          en[i] = static_cast<std::int32_t>(c);
          lb[i] = x;
          mk[i] = (any & bit) ? 1 : 0;
          pa[i] = static_cast<std::uint32_t>(i);
          ++i;
        }
        if (r > r0) join_rows(r);
      }
    });
    std::sort(band_starts.begin(), band_starts.end());
    for (index_t r0 : band_starts)
      if (r0 > 0) join_rows(r0);
    // Forward pass: parents always point to smaller indices, so one pass
    // resolves every root; then each root collects its component's marker.
    for (std::size_t i = 0; i < parent_.size(); ++i) parent_[i] = parent_[parent_[i]];
    for (std::size_t i = 0; i < parent_.size(); ++i) marked_[parent_[i]] |= marked_[i];
  }

  index_t run_count() const noexcept { return static_cast<index_t>(parent_.size()); }

  // Marks the component of pixel (r, c) (a labelled sample pixel).
  void mark_component_at(index_t r, index_t c) {
    const auto b = start_.begin() + row_begin_[static_cast<std::size_t>(r)];
    const auto e = start_.begin() + row_begin_[static_cast<std::size_t>(r + 1)];
    auto it = std::upper_bound(b, e, static_cast<std::int32_t>(c));
    require(it != b, "window_core", "pixel", "must be a labelled sample pixel", c);
    const std::size_t i = static_cast<std::size_t>(it - start_.begin()) - 1;
    require(c < end_[i], "window_core", "pixel", "must be a labelled sample pixel", c);
    marked_[parent_[i]] = 1;
  }

  // Sets `bit` in flags on every pixel of a marked component.
  void write_marked(flag_view flags, std::uint8_t bit) const {
    parallel_for(rows_, threads_, 16, [&](index_t r0, index_t r1, int) {
      for (index_t r = r0; r < r1; ++r) {
        std::uint8_t* f = flags.row(r).data();
        for (index_t i = row_begin_[static_cast<std::size_t>(r)];
             i < row_begin_[static_cast<std::size_t>(r + 1)]; ++i) {
          const std::size_t k = static_cast<std::size_t>(i);
          if (!marked_[parent_[k]]) continue;
          for (std::int32_t c = start_[k]; c < end_[k]; ++c) f[c] |= bit;
        }
      }
    });
  }

  // Sets every pixel of an unmarked component to unlabeled; returns how many.
  index_t clear_unmarked(label_view labels) const {
    std::vector<index_t> cleared(static_cast<std::size_t>(threads_), 0);
    parallel_for(rows_, threads_, 16, [&](index_t r0, index_t r1, int w) {
      index_t n = 0;
      for (index_t r = r0; r < r1; ++r) {
        label_t* l = labels.row(r).data();
        for (index_t i = row_begin_[static_cast<std::size_t>(r)];
             i < row_begin_[static_cast<std::size_t>(r + 1)]; ++i) {
          const std::size_t k = static_cast<std::size_t>(i);
          if (marked_[parent_[k]]) continue;
          std::fill(l + start_[k], l + end_[k], label_t{0});
          n += end_[k] - start_[k];
        }
      }
      cleared[static_cast<std::size_t>(w)] = n;
    });
    index_t total = 0;
    for (index_t n : cleared) total += n;
    return total;
  }

 private:
  std::uint32_t find(std::uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];  // path halving keeps parent <= index
      x = parent_[x];
    }
    return x;
  }
  void unite(std::uint32_t a, std::uint32_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (a < b)
      parent_[b] = a;
    else
      parent_[a] = b;
  }
  // Unions between the runs of row r - 1 and row r (two-pointer sweep).
  void join_rows(index_t r) {
    std::size_t i = static_cast<std::size_t>(row_begin_[static_cast<std::size_t>(r - 1)]);
    const std::size_t ie = static_cast<std::size_t>(row_begin_[static_cast<std::size_t>(r)]);
    std::size_t j = ie;
    const std::size_t je = static_cast<std::size_t>(row_begin_[static_cast<std::size_t>(r + 1)]);
    while (i < ie && j < je) {
      // 8-connected: [s_i, e_i) and [s_j, e_j) touch when s_i <= e_j and s_j <= e_i.
      if (start_[i] <= end_[j] && start_[j] <= end_[i] && label_[i] == label_[j])
        unite(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j));
      // The run ending first cannot touch anything further in the other row,
      // except on a tie, where each may touch the other's next run when that
      // one starts right at the shared end: check (i, j + 1) here, (i + 1, j)
      // comes next.
      if (end_[i] < end_[j]) {
        ++i;
      } else if (end_[j] < end_[i]) {
        ++j;
      } else {
        if (j + 1 < je && start_[j + 1] == end_[i] && label_[i] == label_[j + 1])
          unite(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j + 1));
        ++i;
      }
    }
  }

  index_t rows_ = 0, cols_ = 0;
  int threads_ = 1;
  std::vector<index_t> row_begin_;
  std::vector<std::int32_t> start_, end_;
  std::vector<label_t> label_;
  std::vector<std::uint8_t> marked_;
  std::vector<std::uint32_t> parent_;
};

// See the header comment. Returns the number of labelled sample pixels cleared.
inline index_t keep_marked_components(label_view labels, mask_view mask, bool has_mask,
                                      flag_view flags, std::uint8_t bit, int threads) {
  same_label_components components(labels, mask, has_mask, flags, bit, threads);
  return components.clear_unmarked(labels);
}

}  // namespace spectromine::repair
