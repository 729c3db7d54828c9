// spectromine/repair/fill.hpp: grow clusters into unlabeled sample pixels.
//
// Ito 2024 (METHODS.md §6) refill the pixels removed by the window-core step
// by repeated 3 x 3 dilation of every cluster until nothing changes. Here the
// dilation is synchronous and has a documented tie rule, so the result does
// not depend on cluster order or thread count:
//   round t: every unlabeled sample pixel with at least one labelled
//   8-neighbour (as of the end of round t-1) takes
//     - fill_rule::majority (default): the most frequent label among its
//       labelled 8-neighbours, ties to the lower label;
//     - fill_rule::lowest_label: the lowest label among them -- what the
//       published Dilate_each_cluster.py produces (it dilates clusters 1, 2,
//       ... in order, so the first cluster to reach a pixel wins).
// Rounds repeat until no pixel changes. Each round touches only the frontier,
// so the whole fill is O(pixels).
//
// Mask: no-sample pixels are never filled and never pass a label on, so a
// cluster cannot grow across a hole in the sample. Unlabeled sample pixels
// with no path to any cluster stay unlabeled.
// Sentinels: only clusters (label > 0) spread unless spread_sentinels is set;
// sentinel pixels are never overwritten (they are not unlabeled).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/repair/concept.hpp"

namespace spectromine::repair {

enum class fill_rule { majority, lowest_label };

inline const char* to_string(fill_rule r) {
  return r == fill_rule::majority ? "majority" : "lowest_label";
}

struct fill {
  fill_rule rule = fill_rule::majority;
  bool spread_sentinels = false;  // let labels::outlier / unexplained grow too
  int threads = 0;

  nlohmann::json parameters() const {
    return {{"rule", to_string(rule)}, {"spread_sentinels", spread_sentinels}};
  }

  repair_report apply(label_view labels, mask_view mask = {}) const {
    const bool has_mask = detail::check_mask(labels, mask, "fill");
    repair_report report{"fill", parameters(), 0, 0};
    const index_t rows = labels.rows(), cols = labels.cols();
    if (rows == 0 || cols == 0) return report;
    // Pixels queued for the next round carry this value while they wait: they
    // are still unlabeled for the vote (synchronous rounds) but not queued twice.
    constexpr label_t queued = std::numeric_limits<label_t>::min();
    const bool sentinels = spread_sentinels;
    auto sample = [&](index_t r, index_t c) { return !has_mask || mask(r, c) != 0; };
    auto voter = [&](label_t l) { return sentinels ? (l != 0 && l != queued) : (l > 0); };
    auto has_voter = [&](index_t r, index_t c) {
      for (index_t dr = -1; dr <= 1; ++dr) {
        const index_t rr = r + dr;
        if (rr < 0 || rr >= rows) continue;
        for (index_t dc = -1; dc <= 1; ++dc) {
          const index_t cc = c + dc;
          if (cc < 0 || cc >= cols || (dr == 0 && dc == 0)) continue;
          if (sample(rr, cc) && voter(labels(rr, cc))) return true;
        }
      }
      return false;
    };
    const fill_rule rule_ = rule;
    auto vote = [&](index_t r, index_t c) {
      std::array<label_t, 8> v{};
      int n = 0;
      for (index_t dr = -1; dr <= 1; ++dr) {
        const index_t rr = r + dr;
        if (rr < 0 || rr >= rows) continue;
        for (index_t dc = -1; dc <= 1; ++dc) {
          const index_t cc = c + dc;
          if (cc < 0 || cc >= cols || (dr == 0 && dc == 0)) continue;
          if (!sample(rr, cc)) continue;
          const label_t l = labels(rr, cc);
          if (voter(l)) v[static_cast<std::size_t>(n++)] = l;
        }
      }
      // Insertion sort of at most 8 labels (std::sort trips -Warray-bounds here).
      for (int i = 1; i < n; ++i) {
        const label_t x = v[static_cast<std::size_t>(i)];
        int j = i - 1;
        while (j >= 0 && v[static_cast<std::size_t>(j)] > x) {
          v[static_cast<std::size_t>(j + 1)] = v[static_cast<std::size_t>(j)];
          --j;
        }
        v[static_cast<std::size_t>(j + 1)] = x;
      }
      if (rule_ == fill_rule::lowest_label) return v[0];
      label_t best = v[0];
      int best_count = 0;
      for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[static_cast<std::size_t>(j)] == v[static_cast<std::size_t>(i)]) ++j;
        if (j - i > best_count) {  // strictly more: ties keep the lower label (sorted)
          best_count = j - i;
          best = v[static_cast<std::size_t>(i)];
        }
        i = j;
      }
      return best;
    };

    // Initial frontier (parallel, read-only), then marked sequentially.
    const int workers = resolve_threads(threads);
    std::vector<std::vector<index_t>> parts(static_cast<std::size_t>(workers));
    parallel_for(rows, workers, 16, [&](index_t r0, index_t r1, int w) {
      auto& out = parts[static_cast<std::size_t>(w)];
      for (index_t r = r0; r < r1; ++r) {
        const label_t* l = labels.row(r).data();
        const std::uint8_t* m = has_mask ? mask.row(r).data() : nullptr;
        for (index_t c = 0; c < cols; ++c)
          if (l[c] == 0 && (m == nullptr || m[c] != 0) && has_voter(r, c))
            out.push_back(r * cols + c);
      }
    });
    std::vector<index_t> frontier;
    for (auto& p : parts) frontier.insert(frontier.end(), p.begin(), p.end());
    // Mark (disjoint pixels: parallel, after the read-only scan has finished).
    auto mark_queued = [&](const std::vector<index_t>& list) {
      parallel_for(static_cast<index_t>(list.size()), workers, 8192, [&](index_t b, index_t e, int) {
        for (index_t i = b; i < e; ++i) {
          const index_t p = list[static_cast<std::size_t>(i)];
          labels(p / cols, p % cols) = queued;
        }
      });
    };
    mark_queued(frontier);

    std::vector<label_t> next_label;
    std::vector<index_t> next;
    while (!frontier.empty()) {
      const index_t n = static_cast<index_t>(frontier.size());
      next_label.resize(frontier.size());
      // Vote (read-only), then apply (disjoint writes).
      parallel_for(n, workers, 4096, [&](index_t b, index_t e, int) {
        for (index_t i = b; i < e; ++i) {
          const index_t p = frontier[static_cast<std::size_t>(i)];
          next_label[static_cast<std::size_t>(i)] = vote(p / cols, p % cols);
        }
      });
      parallel_for(n, workers, 8192, [&](index_t b, index_t e, int) {
        for (index_t i = b; i < e; ++i) {
          const index_t p = frontier[static_cast<std::size_t>(i)];
          labels(p / cols, p % cols) = next_label[static_cast<std::size_t>(i)];
        }
      });
      report.filled += n;
      // Next frontier: unlabeled sample neighbours of the pixels just filled,
      // collected in parallel (read-only), then de-duplicated while marked.
      for (auto& part : parts) part.clear();
      parts.resize(static_cast<std::size_t>(workers));
      parallel_for(n, workers, 4096, [&](index_t b, index_t e, int w) {
        auto& out = parts[static_cast<std::size_t>(w)];
        for (index_t i = b; i < e; ++i) {
          const index_t p = frontier[static_cast<std::size_t>(i)];
          const index_t r = p / cols, c = p % cols;
          for (index_t dr = -1; dr <= 1; ++dr) {
            const index_t rr = r + dr;
            if (rr < 0 || rr >= rows) continue;
            for (index_t dc = -1; dc <= 1; ++dc) {
              const index_t cc = c + dc;
              if (cc < 0 || cc >= cols) continue;
              if (sample(rr, cc) && labels(rr, cc) == 0) out.push_back(rr * cols + cc);
            }
          }
        }
      });
      next.clear();
      for (auto& part : parts)
        for (index_t q : part) {
          label_t& l = labels(q / cols, q % cols);
          if (l != 0) continue;  // already queued
          l = queued;
          next.push_back(q);
        }
      frontier.swap(next);
    }
    return report;
  }
};

static_assert(check_label_repair<fill>());

}  // namespace spectromine::repair
