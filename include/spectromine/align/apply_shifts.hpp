// spectromine/align/apply_shifts.hpp: resampling every frame of a stack by
// its measured shift, and the region valid at every energy.
//
// aligned(r, c, b) = cube(r - dy_b, c - dx_b, b), interpolated bilinearly or
// with the Keys cubic (a = -1/2, Catmull-Rom: exact for quadratics, no
// overshoot-prone wide support). A pure translation per band makes the
// interpolation weights constant per band, so the kernel is a weighted sum
// of 4 (or 16) neighbouring pixels' values with per-band offsets, written
// pixel-major (each output spectrum contiguous) in one pass.
//
// A sample is valid only when every tap with a non-zero weight lies inside
// the frame; for a translation, the pixels valid in band b form a rectangle,
// and the pixels valid at EVERY energy (the returned pixel_mask) are the
// intersection of those rectangles: clustering must ignore the rest, whose
// spectra mix measured values with the fill value.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "spectromine/align/shifts.hpp"
#include "spectromine/core/concepts.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

struct apply_shift_options {
  interpolation method = interpolation::linear;
  // Value of samples whose taps leave the frame. NaN says "no data"; those
  // pixels are 0 in the valid mask.
  float fill = std::numeric_limits<float>::quiet_NaN();
  int threads = 0;
};

// Writes the registered stack into `out` (same shape and bands, any strides)
// and returns the mask of pixels valid at every band.
template <spectral_cube C>
pixel_mask apply_shifts(const C& source, std::span<const frame_shift> shifts, cube_view<float> out,
                        const apply_shift_options& options = {}) {
  static_assert(check_spectral_cube<C>());
  const auto in = view_of(source);
  const index_t rows = in.rows(), cols = in.cols(), bands = in.bands();
  require(out.shape() == in.shape(), "apply_shifts", "out shape", "must equal the input shape",
          std::to_string(out.rows()) + " x " + std::to_string(out.cols()));
  require(out.bands() == bands, "apply_shifts", "out bands", "must equal the input band count",
          out.bands());
  detail::validate_shifts(shifts, bands, "apply_shifts");
  require(static_cast<const void*>(out.data()) != static_cast<const void*>(in.data()) ||
              in.empty(),
          "apply_shifts", "out", "must not alias the input", 0);

  std::vector<detail::axis_taps> ty(static_cast<std::size_t>(bands)), tx(ty.size());
  std::vector<index_t> r_lo(ty.size()), r_hi(ty.size()), c_lo(ty.size()), c_hi(ty.size());
  for (index_t b = 0; b < bands; ++b) {
    const auto i = static_cast<std::size_t>(b);
    ty[i] = detail::make_taps(shifts[i].dy, options.method);
    tx[i] = detail::make_taps(shifts[i].dx, options.method);
    detail::valid_range(ty[i], rows, r_lo[i], r_hi[i]);
    detail::valid_range(tx[i], cols, c_lo[i], c_hi[i]);
  }
  const float fill = options.fill;

  // Pixels valid at every band (a rectangle) take the fast path: for
  // bilinear, four precomputed weights and source offsets per band and no
  // range test.
  const auto all = valid_rectangle(in.shape(), shifts, options.method);
  const bool linear = options.method == interpolation::linear;
  struct bilinear_band {
    index_t dr, dc;             // source pixel of the top-left tap, relative to the output pixel
    float w00, w01, w10, w11;
  };
  std::vector<bilinear_band> bl(static_cast<std::size_t>(bands));
  for (index_t b = 0; b < bands; ++b) {
    const auto& ay = ty[static_cast<std::size_t>(b)];
    const auto& ax = tx[static_cast<std::size_t>(b)];
    bl[static_cast<std::size_t>(b)] = {ay.offset, ax.offset, ay.w[0] * ax.w[0], ay.w[0] * ax.w[1],
                                       ay.w[1] * ax.w[0], ay.w[1] * ax.w[1]};
  }
  parallel_for(rows, options.threads, 8, [&](index_t r0, index_t r1, int) {
    for (index_t r = r0; r < r1; ++r)
      for (index_t c = 0; c < cols; ++c) {
        float* dst = out.pixel_pointer(r, c);
        if (linear && all.contains(r, c)) {
          for (index_t b = 0; b < bands; ++b) {
            const auto& t = bl[static_cast<std::size_t>(b)];
            const index_t sr = r + t.dr, sc = c + t.dc;
            // A zero weight may sit on a tap just outside the frame: skip it.
            const float v00 = static_cast<float>(in(sr, sc, b));
            const float v01 = t.w01 != 0.0f ? static_cast<float>(in(sr, sc + 1, b)) : 0.0f;
            const float v10 = t.w10 != 0.0f || t.w11 != 0.0f ? static_cast<float>(in(sr + 1, sc, b)) : 0.0f;
            const float v11 = t.w11 != 0.0f ? static_cast<float>(in(sr + 1, sc + 1, b)) : 0.0f;
            dst[b] = t.w00 * v00 + t.w01 * v01 + t.w10 * v10 + t.w11 * v11;
          }
          continue;
        }
        for (index_t b = 0; b < bands; ++b) {
          const auto i = static_cast<std::size_t>(b);
          if (r < r_lo[i] || r >= r_hi[i] || c < c_lo[i] || c >= c_hi[i]) {
            dst[b] = fill;
            continue;
          }
          const auto& ay = ty[i];
          const auto& ax = tx[i];
          float acc = 0;
          for (int ky = ay.first; ky <= ay.last; ++ky) {
            const index_t sr = r + ay.offset + ky;
            float row_acc = 0;
            for (int kx = ax.first; kx <= ax.last; ++kx)
              row_acc += ax.w[static_cast<std::size_t>(kx)] *
                         static_cast<float>(in(sr, c + ax.offset + kx, b));
            acc += ay.w[static_cast<std::size_t>(ky)] * row_acc;
          }
          dst[b] = acc;
        }
      }
  });
  return valid_mask(in.shape(), shifts, options.method);
}

}  // namespace spectromine::align
