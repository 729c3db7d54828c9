// spectromine/core/types.hpp: index and label types, named label sentinels,
// image shapes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spectromine {

// Signed so that differences and reverse loops are safe; 64-bit so that
// gigapixel cubes (1e9 pixels x 1000 bands) index without overflow.
using index_t = std::ptrdiff_t;

// Labels are int32 everywhere, including labels.npy: 2^31 clusters is far
// beyond any phase map, and int32 halves the memory of a gigapixel label image.
using label_t = std::int32_t;

// Named sentinels. Positive labels are clusters (1..K); sentinels are <= 0 so
// that "is a cluster" is simply `label > 0`.
namespace labels {
// Not clustered: masked (no sample), rejected, or removed by repair and not refilled.
inline constexpr label_t unlabeled = 0;
// DBSCAN noise inside the sample (Duan 2016 keep it as the minority phase);
// turned into its own positive label when a map is finalized.
inline constexpr label_t outlier = -1;
// Voronoi pixel whose best site is beyond the noise discrimination limit: a
// phase the site library lacks.
inline constexpr label_t unexplained = -2;

constexpr bool is_cluster(label_t l) noexcept { return l > 0; }
}  // namespace labels

// Height x width of an image; pixels are numbered row-major: p = r * cols + c.
struct image_shape {
  index_t rows = 0;
  index_t cols = 0;
  constexpr index_t pixels() const noexcept { return rows * cols; }
  friend constexpr bool operator==(const image_shape&, const image_shape&) = default;
};

}  // namespace spectromine
