// spectromine/repair/window_core.hpp: Ito 2024's window-core hysteresis
// (METHODS.md §6), for all clusters in one pass.
//
// A labelled pixel is a core when its K x K window holds at least P pixels of
// its own label (K_size = 5, P_num = 23 in the paper). A labelled pixel
// survives when it is 8-connected, through pixels of its own label, to a core
// of its label; every other labelled pixel becomes unlabeled (0), to be
// refilled by repair::fill. Classes born of noise are scattered pixels with no
// dense core and vanish; real regions keep their outline, including thin
// protrusions attached to a core. The minimal detectable region is set by K:
// a real structure narrower than about P/K pixels (e.g. a 3-pixel rim with
// K = 5) has no core and is erased -- repair::structure_core keeps those.
//
// Border and sample edge: windows are clipped and P is scaled by the fraction
// of the window that lies in the sample (repair/window_counts.hpp), so nothing
// is dropped at the edges. No-sample pixels are never read or written.
// Sentinel labels (labels::outlier, labels::unexplained) are treated as
// classes like any other non-zero label: scattered outliers are removed,
// coherent outlier regions stay.
//
// Cost: one vectorized pass of K^2 compares per pixel for all clusters
// together, then a reconstruction that visits only non-core pixels.
// Memory: one byte per pixel of flags. Identical for any thread count.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "spectromine/core/image.hpp"
#include "spectromine/repair/concept.hpp"
#include "spectromine/repair/window_counts.hpp"

namespace spectromine::repair {

struct window_core {
  int k_size = 5;   // window side (odd)
  int p_num = 23;   // pixels of the own label needed in a full window
  int threads = 0;  // 0 = all cores

  nlohmann::json parameters() const { return {{"k_size", k_size}, {"p_num", p_num}}; }

  repair_report apply(label_view labels, mask_view mask = {}) const {
    const bool has_mask = detail::check_mask(labels, mask, "window_core");
    image<std::uint8_t> flags(labels.shape(), 0);
    mark_window_cores(labels, mask, has_mask, k_size, p_num, threads, flags.view(), 1);
    repair_report report{"window_core", parameters(), 0, 0};
    report.removed = keep_marked_components(labels, mask, has_mask, flags.view(), 1, threads);
    return report;
  }
};

static_assert(check_label_repair<window_core>());

}  // namespace spectromine::repair
