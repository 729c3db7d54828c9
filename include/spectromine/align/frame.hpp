// spectromine/align/frame.hpp: energy frames of a cube as 2-D images, and
// the filters that make frames of different energies comparable.
//
// A full-field stack is measured one energy at a time, so registration works
// on frames (one band of every pixel). The cube is pixel-major (a pixel's
// spectrum is contiguous), so a frame is a strided gather; extract_frames
// pulls a block of consecutive bands in ONE pass over the cube, which reads
// each pixel's cache line once instead of once per band.
//
// Across an absorption edge the contrast of a phase changes, even flips sign
// (a particle dark below the edge may be bright above it), so intensity
// correlation of a pre-edge frame with a post-edge frame can lock onto the
// wrong peak. The gradient magnitude of a slightly smoothed frame is
// insensitive to the sign of a contrast change and keeps the shapes (edges of
// particles, cracks) that both frames share; a high-pass filter is the
// alternative that keeps the sign but removes the smooth illumination
// changes. Both are provided; registration picks one by option.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

// Copies bands [band0, band0 + count) of `cube` into `frames`: frame k is the
// contiguous rows x cols image frames[k * rows * cols + r * cols + c].
template <spectral_cube C>
void extract_frames(const C& source, index_t band0, index_t count, std::span<float> frames,
                    int threads = 0) {
  static_assert(check_spectral_cube<C>());
  const auto cube = view_of(source);
  require(band0 >= 0 && count >= 0 && band0 + count <= cube.bands(), "extract_frames", "bands",
          "must lie inside the cube's " + std::to_string(cube.bands()) + " bands",
          band0 + count);
  const index_t pixels = cube.pixel_count();
  require(static_cast<index_t>(frames.size()) >= count * pixels, "extract_frames",
          "frames size", "must hold count * rows * cols values", frames.size());
  const index_t cols = cube.cols();
  parallel_for(cube.rows(), threads, 16, [&](index_t r0, index_t r1, int) {
    for (index_t r = r0; r < r1; ++r)
      for (index_t c = 0; c < cols; ++c) {
        const auto* s = cube.pixel_pointer(r, c) + band0;
        const index_t p = r * cols + c;
        for (index_t k = 0; k < count; ++k)
          frames[static_cast<std::size_t>(k * pixels + p)] = static_cast<float>(s[k]);
      }
  });
}

// One band of the cube as an owning image.
template <spectral_cube C>
image<float> extract_frame(const C& source, index_t band, int threads = 0) {
  const auto cube = view_of(source);
  image<float> frame(cube.shape());
  extract_frames(cube, band, 1, std::span<float>(frame.storage()), threads);
  return frame;
}

// Throws "component: parameter must contain only finite values (row r, col c)
// (got NaN)" at the first non-finite pixel: a NaN frame would otherwise
// register to an arbitrary shift.
inline void require_finite_frame(image_view<const float> frame, std::string_view component,
                                 std::string_view parameter) {
  for (index_t r = 0; r < frame.rows(); ++r) {
    const float* row = frame.row(r).data();
    for (index_t c = 0; c < frame.cols(); ++c)
      if (!std::isfinite(row[c]))
        throw_invalid(component, parameter,
                      "must contain only finite values (row " + std::to_string(r) + ", col " +
                          std::to_string(c) + ")",
                      row[c]);
  }
}

namespace detail {

// Whole-sample symmetric reflection (... 2 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...),
// so that smoothing does not invent an edge at the frame border.
inline index_t reflect_index(index_t i, index_t n) noexcept {
  if (n == 1) return 0;
  const index_t period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

inline std::vector<float> gaussian_kernel(double sigma) {
  const index_t radius = std::max<index_t>(1, static_cast<index_t>(std::ceil(3.0 * sigma)));
  std::vector<float> k(static_cast<std::size_t>(2 * radius + 1));
  double sum = 0;
  for (index_t i = -radius; i <= radius; ++i) {
    const double v = std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma));
    k[static_cast<std::size_t>(i + radius)] = static_cast<float>(v);
    sum += v;
  }
  for (auto& v : k) v = static_cast<float>(v / sum);
  return k;
}

}  // namespace detail

namespace detail {

// Separable Gaussian smoothing into `out` with `tmp` as scratch (rows x cols
// floats); reflected borders. Both passes run along contiguous rows with the
// tap loop outside, so the inner loops vectorize.
inline void gaussian_blur_into(image_view<const float> in, double sigma, image_view<float> out,
                               std::vector<float>& tmp, int threads) {
  const index_t rows = in.rows(), cols = in.cols();
  if (rows == 0 || cols == 0) return;
  if (sigma == 0) {
    for (index_t r = 0; r < rows; ++r) std::copy_n(in.row(r).data(), cols, out.row(r).data());
    return;
  }
  const auto kernel = gaussian_kernel(sigma);
  const index_t radius = static_cast<index_t>(kernel.size() / 2);
  tmp.resize(static_cast<std::size_t>(rows * cols));
  parallel_for(rows, threads, 32, [&](index_t r0, index_t r1, int) {
    std::vector<float> padded(static_cast<std::size_t>(cols + 2 * radius));
    for (index_t r = r0; r < r1; ++r) {
      const float* src = in.row(r).data();
      float* pad = padded.data();
      std::copy_n(src, cols, pad + radius);
      for (index_t i = 0; i < radius; ++i) {
        pad[i] = src[reflect_index(i - radius, cols)];
        pad[radius + cols + i] = src[reflect_index(cols + i, cols)];
      }
      float* dst = tmp.data() + r * cols;
      std::fill_n(dst, cols, 0.0f);
      for (index_t k = 0; k <= 2 * radius; ++k) {
        const float w = kernel[static_cast<std::size_t>(k)];
        const float* p = pad + k;
        for (index_t c = 0; c < cols; ++c) dst[c] += w * p[c];
      }
    }
  });
  parallel_for(rows, threads, 32, [&](index_t r0, index_t r1, int) {
    for (index_t r = r0; r < r1; ++r) {
      float* dst = out.row(r).data();
      std::fill_n(dst, cols, 0.0f);
      for (index_t k = -radius; k <= radius; ++k) {
        const float w = kernel[static_cast<std::size_t>(k + radius)];
        const float* src = tmp.data() + reflect_index(r + k, rows) * cols;
        for (index_t c = 0; c < cols; ++c) dst[c] += w * src[c];
      }
    }
  });
}

// |grad(smooth)| by central differences (one-sided at the border) into out.
inline void gradient_of(const float* smooth, index_t rows, index_t cols, image_view<float> out,
                        int threads) {
  parallel_for(rows, threads, 32, [&](index_t r0, index_t r1, int) {
    for (index_t r = r0; r < r1; ++r) {
      const index_t ru = std::max<index_t>(r - 1, 0), rd = std::min<index_t>(r + 1, rows - 1);
      const float sy = (rd - ru) > 0 ? 1.0f / static_cast<float>(rd - ru) : 0.0f;
      const float* up = smooth + ru * cols;
      const float* dn = smooth + rd * cols;
      const float* mid = smooth + r * cols;
      float* dst = out.row(r).data();
      if (cols == 1) {
        const float gy = (dn[0] - up[0]) * sy;
        dst[0] = std::abs(gy);
        continue;
      }
      for (index_t c = 1; c + 1 < cols; ++c) {
        const float gx = 0.5f * (mid[c + 1] - mid[c - 1]);
        const float gy = (dn[c] - up[c]) * sy;
        dst[c] = std::sqrt(gx * gx + gy * gy);
      }
      for (index_t c : {index_t{0}, cols - 1}) {
        const index_t cl = std::max<index_t>(c - 1, 0), cr = std::min<index_t>(c + 1, cols - 1);
        const float gx = (mid[cr] - mid[cl]) / static_cast<float>(cr - cl);
        const float gy = (dn[c] - up[c]) * sy;
        dst[c] = std::sqrt(gx * gx + gy * gy);
      }
    }
  });
}

}  // namespace detail

// Separable Gaussian smoothing with reflected borders; `out` may not alias `in`.
// sigma = 0 copies.
inline void gaussian_blur(image_view<const float> in, double sigma, image_view<float> out,
                          int threads = 0) {
  require(std::isfinite(sigma) && sigma >= 0, "gaussian_blur", "sigma", "must be >= 0", sigma);
  require(in.shape() == out.shape(), "gaussian_blur", "out shape", "must equal the input shape",
          out.rows() * out.cols());
  std::vector<float> tmp;
  detail::gaussian_blur_into(in, sigma, out, tmp, threads);
}

// |grad(G_sigma * in)| by central differences (one-sided at the border).
inline void gradient_magnitude(image_view<const float> in, double sigma, image_view<float> out,
                               int threads = 0) {
  require(std::isfinite(sigma) && sigma >= 0, "gradient_magnitude", "sigma", "must be >= 0",
          sigma);
  require(in.shape() == out.shape(), "gradient_magnitude", "out shape",
          "must equal the input shape", out.rows() * out.cols());
  if (in.rows() == 0 || in.cols() == 0) return;
  image<float> smooth(in.shape());
  std::vector<float> tmp;
  detail::gaussian_blur_into(in, sigma, smooth.view(), tmp, threads);
  detail::gradient_of(smooth.data(), in.rows(), in.cols(), out, threads);
}

// in - G_sigma * in: removes illumination gradients and keeps signed detail.
inline void high_pass(image_view<const float> in, double sigma, image_view<float> out,
                      int threads = 0) {
  require(std::isfinite(sigma) && sigma > 0, "high_pass", "sigma", "must be > 0", sigma);
  require(in.shape() == out.shape(), "high_pass", "out shape", "must equal the input shape",
          out.rows() * out.cols());
  image<float> low(in.shape());
  gaussian_blur(in, sigma, low.view(), threads);
  for (index_t r = 0; r < in.rows(); ++r) {
    const float* a = in.row(r).data();
    const float* b = low.data() + r * in.cols();
    float* d = out.row(r).data();
    for (index_t c = 0; c < in.cols(); ++c) d[c] = a[c] - b[c];
  }
}

// Windows against wrap-around: the FFT treats a frame as periodic, so the
// jump between its left and right borders is a strong false "edge" that
// correlates with itself at zero shift and biases the estimate toward 0.
enum class window_kind { none, hann, tukey };

// One-dimensional window of length n. Tukey(alpha) tapers alpha/2 of the
// length at each end with a half cosine and keeps the middle flat (alpha = 1
// is Hann, 0 is rectangular): most of the frame keeps full weight.
inline std::vector<float> make_window(window_kind kind, index_t n, double tukey_alpha = 0.25) {
  require(n >= 0, "make_window", "n", "must be >= 0", n);
  require(std::isfinite(tukey_alpha) && tukey_alpha >= 0 && tukey_alpha <= 1, "make_window",
          "tukey_alpha", "must be in [0, 1]", tukey_alpha);
  std::vector<float> w(static_cast<std::size_t>(n), 1.0f);
  if (kind == window_kind::none || n < 2) return w;
  const double alpha = kind == window_kind::hann ? 1.0 : tukey_alpha;
  if (alpha == 0) return w;
  const double m = static_cast<double>(n - 1);
  for (index_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i) / m;  // 0..1
    double v = 1.0;
    if (x < alpha / 2)
      v = 0.5 * (1 - std::cos(2 * std::numbers::pi * x / alpha));
    else if (x > 1 - alpha / 2)
      v = 0.5 * (1 - std::cos(2 * std::numbers::pi * (1 - x) / alpha));
    w[static_cast<std::size_t>(i)] = static_cast<float>(v);
  }
  return w;
}

}  // namespace spectromine::align
