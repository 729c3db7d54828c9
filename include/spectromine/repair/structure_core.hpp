// spectromine/repair/structure_core.hpp: window-core repair that keeps real
// structures narrower than the window.
//
// The weakness of Ito 2024's repair (repair::window_core): a pixel needs P of
// the K x K window in its own label, so a real structure narrower than about
// P/K pixels -- a 3-pixel mixed-phase rim around a grain, a thin vein -- has no
// core and is erased along with the noise. Noise-born classes and thin real
// structures differ in spatial coherence at a scale below K: a noise class is
// scattered (at density rho, a 3 x 3 window is almost-pure with probability
// ~9 rho^8), a real structure of width >= 3 has a connected spine of pixels
// whose 3 x 3 window is (almost) all their own label.
//
// Rule. A labelled pixel survives when its same-label 8-connected component
//   (a) contains a (k_size, p_num) window core (the paper's criterion), or
//   (b) contains a connected set of at least min_thin_pixels "thin cores":
//       pixels with >= thin_p of the thin_k x thin_k window in their own label
//       (default 8 of 3 x 3: tolerates one stray pixel), connected through
//       thin cores of the same label.
// Everything else becomes unlabeled, for repair::fill. The thickness criterion
// (thin_k) and the length criterion (min_thin_pixels) are independent of K.
// Defaults keep a 3-pixel-wide structure once its spine has 10 pixels (a rim
// of length >= 12) and remove salt-and-pepper classes up to densities of
// ~30-40% (see tests/repair_analysis and benchmarks/results/repair.md).
// Same border / mask / sentinel conventions as window_core.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "spectromine/core/image.hpp"
#include "spectromine/repair/concept.hpp"
#include "spectromine/repair/window_counts.hpp"

namespace spectromine::repair {

struct structure_core {
  int k_size = 5;
  int p_num = 23;
  int thin_k = 3;                 // window of the thickness test (odd)
  int thin_p = 8;                 // own-label pixels needed in the thin window
  index_t min_thin_pixels = 10;   // connected thin cores needed to keep a structure
  int threads = 0;

  nlohmann::json parameters() const {
    return {{"k_size", k_size},   {"p_num", p_num},
            {"thin_k", thin_k},   {"thin_p", thin_p},
            {"min_thin_pixels", min_thin_pixels}};
  }

  repair_report apply(label_view labels, mask_view mask = {}) const {
    const bool has_mask = detail::check_mask(labels, mask, "structure_core");
    require(min_thin_pixels >= 1, "structure_core", "min_thin_pixels", "must be >= 1",
            min_thin_pixels);
    constexpr std::uint8_t kept = 1, thin = 2, seen = 4;
    image<std::uint8_t> flags(labels.shape(), 0);
    mark_window_cores(labels, mask, has_mask, k_size, p_num, threads, flags.view(), kept);
    mark_window_cores(labels, mask, has_mask, thin_k, thin_p, threads, flags.view(), thin);
    // (a) components with a window core are kept; flag their pixels.
    same_label_components components(labels, mask, has_mask, flags.view(), kept, threads);
    components.write_marked(flags.view(), kept);
    // (b) connected thin-core sets outside every kept component: keep the
    //     components of the long ones. Only unkept thin cores are visited.
    const index_t rows = labels.rows(), cols = labels.cols();
    std::vector<index_t> stack;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) {
        const std::uint8_t f = flags(r, c);
        if ((f & thin) == 0 || (f & (kept | seen)) != 0) continue;
        // A thin core is a labelled sample pixel (mark_window_cores guarantees it).
        const label_t l = labels(r, c);
        index_t members = 0;
        flags(r, c) |= seen;
        stack.push_back(r * cols + c);
        while (!stack.empty()) {
          const index_t q = stack.back();
          stack.pop_back();
          ++members;
          const index_t qr = q / cols, qc = q % cols;
          for (index_t dr = -1; dr <= 1; ++dr) {
            const index_t rr = qr + dr;
            if (rr < 0 || rr >= rows) continue;
            for (index_t dc = -1; dc <= 1; ++dc) {
              const index_t cc = qc + dc;
              if (cc < 0 || cc >= cols) continue;
              const std::uint8_t g = flags(rr, cc);
              if ((g & thin) && !(g & (kept | seen)) && labels(rr, cc) == l) {
                flags(rr, cc) |= seen;
                stack.push_back(rr * cols + cc);
              }
            }
          }
        }
        if (members >= min_thin_pixels) components.mark_component_at(r, c);
      }
    repair_report report{"structure_core", parameters(), 0, 0};
    report.removed = components.clear_unmarked(labels);
    return report;
  }
};

static_assert(check_label_repair<structure_core>());

}  // namespace spectromine::repair
