// spectromine/repair/concept.hpp: what a label repair is.
//
// A repair edits a label image in place, using spatial context only (the
// labels of neighbouring pixels), after a partitioner has labelled the pixels
// one by one. Ito 2024 (METHODS.md §6) uses two: window-core hysteresis that
// removes classes without a dense core (noise-born classes), then a fill that
// grows the surviving clusters back into the removed pixels.
//
// Required expression, for a repair value `r` (constructed from its options):
//   r.apply(label_view labels, mask_view mask) -> repair_report
// Contract every repair keeps:
//   - `mask` is the sample mask (1 = sample). An empty mask view (no data,
//     0 x 0) means "every pixel is sample". A non-empty mask must have the
//     shape of `labels`.
//   - pixels outside the sample are never read as labels and never written:
//     no cluster grows into, or through, no-sample pixels;
//   - the image border is not special: nothing is dropped at the edges
//     (the published code zeroes a K/2 border; spectromine does not);
//   - results are identical for any thread count;
//   - labels are int32 with the sentinels of core/types.hpp: 0 = unlabeled,
//     > 0 clusters, labels::outlier / labels::unexplained are treated by each
//     repair as documented in its header.
// The report says what the repair did (for summary.json).
//
// Repairs compose left to right: compose(window_core{5, 23}, fill{}) is a
// repair (repair/compose.hpp).
#pragma once

#include <concepts>
#include <string>

#include <nlohmann/json.hpp>

#include "spectromine/core/image.hpp"
#include "spectromine/error.hpp"

namespace spectromine::repair {

struct repair_report {
  std::string method;          // "window_core", "fill", "window_core+fill", ...
  nlohmann::json parameters;   // every parameter used (an array for composed repairs)
  index_t removed = 0;         // labelled pixels set to unlabeled
  index_t filled = 0;          // unlabeled sample pixels given a cluster label
};

template <class R>
concept label_repair = requires(const R& r, label_view labels, mask_view mask) {
  { r.apply(labels, mask) } -> std::convertible_to<repair_report>;
};

template <class R>
constexpr bool check_label_repair() {
  static_assert(label_repair<R>,
                "spectromine: a label repair needs a const member "
                "apply(label_view, mask_view) returning repair::repair_report "
                "(see spectromine/repair/concept.hpp).");
  return label_repair<R>;
}

namespace detail {

// The mask contract shared by every repair: empty = all sample, otherwise the
// shape must match. Returns true when a mask is present.
inline bool check_mask(const_label_view labels, mask_view mask, const char* component) {
  if (mask.data() == nullptr && mask.pixel_count() == 0) return false;
  require(mask.shape() == labels.shape(), component, "mask shape",
          "must equal the label image shape " + std::to_string(labels.rows()) + " x " +
              std::to_string(labels.cols()),
          std::to_string(mask.rows()) + " x " + std::to_string(mask.cols()));
  return true;
}

}  // namespace detail

}  // namespace spectromine::repair
