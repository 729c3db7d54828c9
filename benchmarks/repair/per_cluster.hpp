// The per-cluster formulation of Ito 2024's window-core step (their
// Reduce_cluster, METHODS.md §6), written efficiently per cluster (a
// summed-area table for the K x K counts, a BFS from the cores) but still one
// pass over the whole image per cluster: O(clusters x pixels). Same border and
// mask conventions as repair::window_core, so the outputs are identical; used
// only to measure the speed-up of the all-clusters-at-once kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "spectromine/core/image.hpp"

namespace bench {

inline spectromine::index_t per_cluster_window_core(spectromine::label_view labels, int k, int p) {
  using namespace spectromine;
  const index_t rows = labels.rows(), cols = labels.cols(), h = k / 2;
  label_t max_l = 0;
  for (index_t i = 0; i < labels.pixel_count(); ++i) max_l = std::max(max_l, labels[i]);
  const label_image in(labels.shape(), std::vector<label_t>(labels.data(), labels.data() + labels.pixel_count()));
  std::vector<std::int32_t> sat(static_cast<std::size_t>((rows + 1) * (cols + 1)));
  std::vector<std::uint8_t> keep(static_cast<std::size_t>(rows * cols));
  std::vector<index_t> queue;
  index_t removed = 0;
  auto at = [&](index_t r, index_t c) -> std::int32_t& {
    return sat[static_cast<std::size_t>(r * (cols + 1) + c)];
  };
  for (label_t kl = 1; kl <= max_l; ++kl) {
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c)
        at(r + 1, c + 1) = (in(r, c) == kl) + at(r, c + 1) + at(r + 1, c) - at(r, c);
    std::fill(keep.begin(), keep.end(), 0);
    queue.clear();
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) {
        if (in(r, c) != kl) continue;
        const index_t r0 = std::max<index_t>(0, r - h), r1 = std::min(rows, r + h + 1);
        const index_t c0 = std::max<index_t>(0, c - h), c1 = std::min(cols, c + h + 1);
        const std::int64_t same = at(r1, c1) - at(r0, c1) - at(r1, c0) + at(r0, c0);
        const std::int64_t valid = (r1 - r0) * (c1 - c0);
        if (same * k * k >= static_cast<std::int64_t>(p) * valid) {
          keep[static_cast<std::size_t>(r * cols + c)] = 1;
          queue.push_back(r * cols + c);
        }
      }
    while (!queue.empty()) {
      const index_t q = queue.back();
      queue.pop_back();
      const index_t qr = q / cols, qc = q % cols;
      for (index_t dr = -1; dr <= 1; ++dr)
        for (index_t dc = -1; dc <= 1; ++dc) {
          const index_t rr = qr + dr, cc = qc + dc;
          if (rr < 0 || rr >= rows || cc < 0 || cc >= cols) continue;
          auto& kf = keep[static_cast<std::size_t>(rr * cols + cc)];
          if (!kf && in(rr, cc) == kl) {
            kf = 1;
            queue.push_back(rr * cols + cc);
          }
        }
    }
    for (index_t i = 0; i < rows * cols; ++i)
      if (in[i] == kl && !keep[static_cast<std::size_t>(i)]) {
        labels[i] = 0;
        ++removed;
      }
  }
  return removed;
}

}  // namespace bench
