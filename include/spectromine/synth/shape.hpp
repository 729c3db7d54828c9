// spectromine/synth/shape.hpp: the regions a synthetic scene paints.
//
// Every shape answers one question for a pixel centre (row, col): how far
// outside the shape it lies (0 inside). That one number gives both the
// shape (distance 0) and a rim of width w around it (0 < distance <= w),
// which is how a mixed boundary layer around a grain is drawn.
// Rectangles measure in pixels along rows/columns (Chebyshev: a w-pixel rim
// is exactly w pixels wide on every side); disks measure Euclidean distance
// to the circle.
#pragma once

#include <algorithm>
#include <cmath>
#include <variant>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::synth {

// Pixels [row0, row0 + rows) x [col0, col0 + cols).
struct rectangle {
  index_t row0 = 0, col0 = 0, rows = 0, cols = 0;

  double distance(index_t r, index_t c) const noexcept {
    const index_t dr = std::max<index_t>({row0 - r, r - (row0 + rows - 1), 0});
    const index_t dc = std::max<index_t>({col0 - c, c - (col0 + cols - 1), 0});
    return static_cast<double>(std::max(dr, dc));
  }
  void validate() const {
    require(rows > 0, "synth::rectangle", "rows", "must be > 0", rows);
    require(cols > 0, "synth::rectangle", "cols", "must be > 0", cols);
  }
};

// Pixels whose centre lies within `radius` of (row, col).
struct disk {
  double row = 0, col = 0, radius = 1;

  double distance(index_t r, index_t c) const noexcept {
    const double d = std::hypot(static_cast<double>(r) - row, static_cast<double>(c) - col);
    return std::max(d - radius, 0.0);
  }
  void validate() const {
    require(std::isfinite(row) && std::isfinite(col), "synth::disk", "centre", "must be finite",
            row);
    require(std::isfinite(radius) && radius >= 0, "synth::disk", "radius",
            "must be finite and >= 0", radius);
  }
};

using shape = std::variant<rectangle, disk>;

inline double distance(const shape& s, index_t r, index_t c) noexcept {
  return std::visit([&](const auto& x) { return x.distance(r, c); }, s);
}
inline void validate(const shape& s) {
  std::visit([](const auto& x) { x.validate(); }, s);
}

// A square of side n centred in a rows x cols field (the Ito 2024 needle:
// 10 x 10 in 400 x 400).
inline rectangle centred_square(index_t rows, index_t cols, index_t n) {
  return {(rows - n) / 2, (cols - n) / 2, n, n};
}

}  // namespace spectromine::synth
