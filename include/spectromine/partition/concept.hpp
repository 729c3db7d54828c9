// spectromine/partition/concept.hpp: what a partitioner is.
//
// A partitioner assigns every sample pixel of a cube a label. It receives the
// cube (pixel-major view), the sample mask (1 = sample, 0 = no sample) and a
// label image of the same shape to fill:
//   - masked pixels get labels::unlabeled (0), never a phase;
//   - clusters get 1..K (any order: analysis/summaries relabels them by size);
//   - sentinels where the method has them: labels::outlier (DBSCAN noise),
//     labels::unexplained (Voronoi pixel beyond the noise limit of every site).
// It returns a partition_report: the method's name and every parameter it
// used, including derived ones (auto eps, number of sites), for summary.json.
//
// Partitioners are values (configured through an _options struct at
// construction), validate their parameters once per call, never print, and
// give the same labels for any thread count.
#pragma once

#include <concepts>
#include <string>

#include <nlohmann/json.hpp>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"

namespace spectromine::partition {

struct partition_report {
  std::string method;          // "dbscan", "voronoi", "kmeans", ...
  nlohmann::json parameters;   // all parameters, including derived ones
  label_t clusters = 0;        // number of positive labels used (before relabelling)
};

template <class P, class T>
concept partitioner = requires(const P& p, cube_view<const T> cube, mask_view mask,
                               label_view labels) {
  { p.partition(cube, mask, labels) } -> std::convertible_to<partition_report>;
};

template <class P, class T>
constexpr bool check_partitioner() {
  static_assert(partitioner<P, T>,
                "spectromine: a partitioner needs a const member "
                "partition(cube_view<const T>, mask_view, label_view) returning "
                "partition_report (see spectromine/partition/concept.hpp).");
  return partitioner<P, T>;
}

}  // namespace spectromine::partition
