// Synthetic full-field stacks with known drifts, for the align suite.
//
// A scene = smooth random blobs + straight edges (a "matrix"), plus two phases
// whose contrast changes across a synthetic absorption edge: phase A is dark
// below the edge and bright above it (its contrast FLIPS), phase B only
// brightens. Frames are shifted by exact sub-pixel amounts with the Fourier
// shift theorem (periodic), then noise is added.
#pragma once

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include <unsupported/Eigen/FFT>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/random.hpp"

namespace align_test {

using spectromine::image;
using spectromine::image_shape;
using spectromine::index_t;

struct scene {
  image<float> matrix, phase_a, phase_b;
};

inline double smoothstep(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline scene make_scene(image_shape shape, std::uint64_t seed) {
  auto engine = spectromine::make_engine(seed, 1);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  scene s{image<float>(shape), image<float>(shape), image<float>(shape)};
  const double rows = static_cast<double>(shape.rows), cols = static_cast<double>(shape.cols);
  const double scale = std::min(rows, cols);
  // Smooth blobs in the matrix (thickness variations): broad and shallow,
  // as a support or binder; the phases sit on them.
  for (int k = 0; k < 30; ++k) {
    const double cy = u(engine) * rows, cx = u(engine) * cols;
    const double radius = (0.06 + 0.12 * u(engine)) * scale;
    const double amp = 0.2 + 0.3 * u(engine);
    for (index_t r = 0; r < shape.rows; ++r)
      for (index_t c = 0; c < shape.cols; ++c) {
        const double d2 = ((r - cy) * (r - cy) + (c - cx) * (c - cx)) / (radius * radius);
        s.matrix(r, c) += static_cast<float>(amp * std::exp(-0.5 * d2));
      }
  }
  // Straight edges (soft half-planes): cracks and grain boundaries.
  for (int k = 0; k < 4; ++k) {
    const double angle = u(engine) * std::numbers::pi;
    const double offset = (u(engine) - 0.5) * 0.6 * scale;
    const double amp = 0.3 + 0.4 * u(engine);
    for (index_t r = 0; r < shape.rows; ++r)
      for (index_t c = 0; c < shape.cols; ++c) {
        const double d = (r - rows / 2) * std::cos(angle) + (c - cols / 2) * std::sin(angle) - offset;
        s.matrix(r, c) += static_cast<float>(amp * smoothstep(d / 1.5));
      }
  }
  // Two phases: discs with sharp-ish boundaries.
  for (int k = 0; k < 12; ++k) {
    auto& target = (k % 2 == 0) ? s.phase_a : s.phase_b;
    const double cy = u(engine) * rows, cx = u(engine) * cols;
    const double radius = (0.04 + 0.06 * u(engine)) * scale;
    for (index_t r = 0; r < shape.rows; ++r)
      for (index_t c = 0; c < shape.cols; ++c) {
        const double d = std::sqrt((r - cy) * (r - cy) + (c - cx) * (c - cx));
        target(r, c) = std::max(target(r, c), static_cast<float>(smoothstep((radius - d) / 1.2)));
      }
  }
  return s;
}

// The frame at edge fraction t in [0, 1]: phase A goes from -1 (dark) to +1.5
// (bright), phase B from 0.2 to 1.2; the matrix stays.
inline image<float> scene_frame(const scene& s, double t) {
  image<float> f(s.matrix.shape());
  const double a = -1.0 + 2.5 * t, b = 0.2 + 1.0 * t;
  for (index_t p = 0; p < f.pixel_count(); ++p)
    f[p] = static_cast<float>(s.matrix[p] + a * s.phase_a[p] + b * s.phase_b[p]);
  return f;
}

// out(y, x) = in(y - dy, x - dx), periodic, exact for band-limited content.
inline image<float> fourier_shift(const image<float>& in, double dy, double dx) {
  using cd = std::complex<double>;
  const index_t rows = in.rows(), cols = in.cols();
  std::vector<cd> data(static_cast<std::size_t>(rows * cols));
  for (index_t p = 0; p < rows * cols; ++p) data[static_cast<std::size_t>(p)] = in[p];
  Eigen::FFT<double> fft;
  std::vector<cd> a, b;
  auto along_rows = [&](bool inverse) {
    for (index_t r = 0; r < rows; ++r) {
      a.assign(data.begin() + r * cols, data.begin() + (r + 1) * cols);
      if (inverse) fft.inv(b, a); else fft.fwd(b, a);
      std::copy(b.begin(), b.end(), data.begin() + r * cols);
    }
  };
  auto along_cols = [&](bool inverse) {
    for (index_t c = 0; c < cols; ++c) {
      a.resize(static_cast<std::size_t>(rows));
      for (index_t r = 0; r < rows; ++r) a[static_cast<std::size_t>(r)] = data[static_cast<std::size_t>(r * cols + c)];
      if (inverse) fft.inv(b, a); else fft.fwd(b, a);
      for (index_t r = 0; r < rows; ++r) data[static_cast<std::size_t>(r * cols + c)] = b[static_cast<std::size_t>(r)];
    }
  };
  along_rows(false);
  along_cols(false);
  auto freq = [](index_t k, index_t n) { return static_cast<double>(k <= (n - 1) / 2 ? k : k - n); };
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      // Nyquist bins: the symmetric split makes the phase factor cos().
      const bool ny = rows % 2 == 0 && r == rows / 2, nx = cols % 2 == 0 && c == cols / 2;
      const cd fy = ny ? cd(std::cos(std::numbers::pi * dy), 0)
                       : std::exp(cd(0, -2 * std::numbers::pi * freq(r, rows) * dy / rows));
      const cd fx = nx ? cd(std::cos(std::numbers::pi * dx), 0)
                       : std::exp(cd(0, -2 * std::numbers::pi * freq(c, cols) * dx / cols));
      data[static_cast<std::size_t>(r * cols + c)] *= fy * fx;
    }
  along_cols(true);
  along_rows(true);
  image<float> out(in.shape());
  for (index_t p = 0; p < rows * cols; ++p) out[p] = static_cast<float>(data[static_cast<std::size_t>(p)].real());
  return out;
}

inline void add_noise(image<float>& f, double sigma, std::uint64_t seed, std::uint64_t stream) {
  auto engine = spectromine::make_engine(seed, stream);
  boost::random::normal_distribution<double> n(0.0, sigma);
  for (index_t p = 0; p < f.pixel_count(); ++p) f[p] += static_cast<float>(n(engine));
}

// The centre of `in` without `margin` pixels on every side.
inline image<float> crop(const image<float>& in, index_t margin) {
  image<float> out({in.rows() - 2 * margin, in.cols() - 2 * margin});
  for (index_t r = 0; r < out.rows(); ++r)
    for (index_t c = 0; c < out.cols(); ++c) out(r, c) = in(r + margin, c + margin);
  return out;
}

// A drifted frame as a real instrument sees it: the scene (margin pixels
// larger than the frame on every side) is Fourier shifted, then cropped, so
// content enters and leaves at the borders without the periodic wrap.
inline image<float> drifted_frame(const image<float>& scene_frame, double dy, double dx,
                                  index_t margin) {
  return crop(fourier_shift(scene_frame, dy, dx), margin);
}

struct drift {
  double dy, dx;
};

// Edge fraction of band b of a stack whose edge is at the middle band.
inline double edge_fraction(index_t b, index_t bands) {
  return smoothstep((static_cast<double>(b) - bands / 2.0) / (bands / 12.0 + 0.5));
}

// A stack of `bands` frames across an edge at the middle band, each frame's
// content displaced by drifts[b] (frame_b(y, x) = scene_b(y - dy, x - dx)),
// cropped by `margin` on every side of the scene.
inline spectromine::cube<float> make_stack(const scene& s, const std::vector<drift>& drifts,
                                           double noise, std::uint64_t seed, index_t margin) {
  const index_t bands = static_cast<index_t>(drifts.size());
  const image_shape shape{s.matrix.rows() - 2 * margin, s.matrix.cols() - 2 * margin};
  spectromine::cube<float> stack(shape, bands);
  for (index_t b = 0; b < bands; ++b) {
    auto frame = drifted_frame(scene_frame(s, edge_fraction(b, bands)),
                               drifts[static_cast<std::size_t>(b)].dy,
                               drifts[static_cast<std::size_t>(b)].dx, margin);
    if (noise > 0) add_noise(frame, noise, seed, static_cast<std::uint64_t>(b) + 100);
    for (index_t p = 0; p < frame.pixel_count(); ++p)
      stack.view().spectrum(p)[static_cast<std::size_t>(b)] = frame[p];
  }
  return stack;
}

}  // namespace align_test
