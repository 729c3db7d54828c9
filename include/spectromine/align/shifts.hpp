// spectromine/align/shifts.hpp: per-band translations of a stack, the
// interpolation taps that apply them, and the region valid at every energy.
//
// A frame shifted by (dy, dx) is resampled as aligned(r, c) = frame(r - dy,
// c - dx). A sample is valid only when every interpolation tap with a
// non-zero weight lies inside the frame; for a translation the pixels valid
// in one band form a rectangle, and the pixels valid at EVERY energy are the
// intersection of those rectangles.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <string>
#include <string_view>

#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

// The shift applied to one frame (aligned(y, x) = frame(y - dy, x - dx)) and
// how well it matched what it was registered to (1 = perfectly).
struct frame_shift {
  double dy = 0;
  double dx = 0;
  double peak = 1;
};

enum class interpolation { linear, cubic };


// A half-open rectangle of rows and columns.
struct pixel_rect {
  index_t row0 = 0, row1 = 0, col0 = 0, col1 = 0;
  bool contains(index_t r, index_t c) const noexcept {
    return r >= row0 && r < row1 && c >= col0 && c < col1;
  }
  index_t rows() const noexcept { return std::max<index_t>(0, row1 - row0); }
  index_t cols() const noexcept { return std::max<index_t>(0, col1 - col0); }
};

namespace detail {

// Taps of one axis for a shift d: output index i reads input i + offset + t
// for the taps t with weights w[t] (t = 0..3 cubic, 0..1 linear).
struct axis_taps {
  index_t offset = 0;
  std::array<float, 4> w{};
  int count = 0;      // 2 (linear) or 4 (cubic)
  int first = 0;      // first tap with a non-zero weight
  int last = 0;       // last tap with a non-zero weight
};

inline double keys_cubic(double x) {
  x = std::abs(x);
  constexpr double a = -0.5;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

inline axis_taps make_taps(double shift, interpolation method) {
  // Source position of output i is i - shift = i + base + frac.
  const double pos = -shift;
  const double base = std::floor(pos);
  const double frac = pos - base;
  axis_taps t;
  if (method == interpolation::linear) {
    t.offset = static_cast<index_t>(base);
    t.count = 2;
    t.w = {static_cast<float>(1 - frac), static_cast<float>(frac), 0.0f, 0.0f};
  } else {
    t.offset = static_cast<index_t>(base) - 1;
    t.count = 4;
    for (int k = 0; k < 4; ++k) t.w[static_cast<std::size_t>(k)] = static_cast<float>(keys_cubic(frac + 1 - k));
  }
  t.first = t.count;
  t.last = -1;
  for (int k = 0; k < t.count; ++k)
    if (t.w[static_cast<std::size_t>(k)] != 0.0f) {
      t.first = std::min(t.first, k);
      t.last = k;
    }
  return t;
}

// Output indices i in [lo, hi) whose non-zero taps stay inside [0, n).
inline void valid_range(const axis_taps& t, index_t n, index_t& lo, index_t& hi) {
  lo = std::max<index_t>(0, -(t.offset + t.first));
  hi = std::min<index_t>(n, n - (t.offset + t.last));
  if (hi < lo) hi = lo;
}

inline void validate_shifts(std::span<const frame_shift> shifts, index_t bands,
                            std::string_view component) {
  require(static_cast<index_t>(shifts.size()) == bands, component, "shifts",
          "must have one entry per band (" + std::to_string(bands) + ")", shifts.size());
  for (std::size_t b = 0; b < shifts.size(); ++b) {
    require(std::isfinite(shifts[b].dy), component, "shifts[" + std::to_string(b) + "].dy",
            "must be finite", shifts[b].dy);
    require(std::isfinite(shifts[b].dx), component, "shifts[" + std::to_string(b) + "].dx",
            "must be finite", shifts[b].dx);
  }
}

}  // namespace detail

// The rectangle of pixels valid at every band after applying `shifts` to
// frames of `shape` (possibly empty when the drift exceeds the frame).
inline pixel_rect valid_rectangle(image_shape shape, std::span<const frame_shift> shifts,
                                  interpolation method = interpolation::linear) {
  detail::validate_shifts(shifts, static_cast<index_t>(shifts.size()), "valid_rectangle");
  pixel_rect rect{0, shape.rows, 0, shape.cols};
  for (const auto& s : shifts) {
    index_t lo, hi;
    detail::valid_range(detail::make_taps(s.dy, method), shape.rows, lo, hi);
    rect.row0 = std::max(rect.row0, lo);
    rect.row1 = std::min(rect.row1, hi);
    detail::valid_range(detail::make_taps(s.dx, method), shape.cols, lo, hi);
    rect.col0 = std::max(rect.col0, lo);
    rect.col1 = std::min(rect.col1, hi);
  }
  if (rect.row1 < rect.row0) rect.row1 = rect.row0;
  if (rect.col1 < rect.col0) rect.col1 = rect.col0;
  return rect;
}

// 1 inside valid_rectangle, 0 elsewhere.
inline pixel_mask valid_mask(image_shape shape, std::span<const frame_shift> shifts,
                             interpolation method = interpolation::linear) {
  const auto rect = valid_rectangle(shape, shifts, method);
  pixel_mask mask(shape, 0);
  for (index_t r = rect.row0; r < rect.row1; ++r)
    for (index_t c = rect.col0; c < rect.col1; ++c) mask(r, c) = 1;
  return mask;
}

}  // namespace spectromine::align
