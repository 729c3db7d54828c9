// spectromine/align/phase_correlation.hpp: sub-pixel translation between two
// frames by phase correlation with matrix-multiply DFT upsampling.
//
// Method (Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33, 156 (2008), the
// algorithm behind scikit-image's phase_cross_correlation):
//  1. both frames are filtered (frame.hpp: gradient magnitude by default, so
//     that contrast flips across the absorption edge do not matter), their
//     mean removed, windowed against wrap-around, zero-padded to an FFT-
//     friendly size (2^a 3^b 5^c, multiple of 4: kissfft's fast radices and
//     its fast real transform), and Fourier transformed;
//  2. the cross-power spectrum R conj(M), whitened to unit magnitude
//     ("phase" normalization) or not, is inverse transformed; its maximum is
//     the shift to one pixel;
//  3. the correlation is evaluated on a (1.5 u) x (1.5 u) grid of step 1/u
//     around that pixel by two matrix products with DFT kernels (no large
//     zero-padded FFT), and its maximum is the shift to 1/u pixel.
//
// Speed: frames are real, so only the half spectrum (W/2 + 1 columns) is
// ever computed, multiplied and upsampled (the real part of a Hermitian sum
// is twice the half sum), which halves every stage against the full complex
// transform. The 2-D FFT is row FFTs then column FFTs (Eigen's FFT module,
// kissfft backend) on a transposed buffer so every 1-D transform is
// contiguous. Work inside one pair is split over threads (rows, columns,
// fixed blocks of the DFT product), so results do not depend on the thread
// count. The reference spectrum is kept, so registering a stack costs one
// forward and one inverse transform per frame.
//
// Sign convention (as scikit-image): the result (dy, dx) is the shift to
// APPLY to the moving frame to register it onto the reference:
// aligned(y, x) = moving(y - dy, x - dx).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/FFT>

#include "spectromine/align/frame.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

// What a frame is turned into before correlation.
enum class frame_filter {
  none,                // raw intensity (same-energy images: stitching overlaps)
  gradient_magnitude,  // |grad(G_sigma * f)|: blind to the sign of contrast changes (default)
  high_pass,           // f - G_sigma * f: removes illumination, keeps signed detail
};

// Whitening of the cross-power spectrum.
enum class correlation_normalization {
  phase,  // unit magnitude at every frequency: a sharp peak (phase correlation; default)
  none,   // plain cross-correlation (Guizar-Sicairos 2008)
};

struct registration_options {
  frame_filter filter = frame_filter::gradient_magnitude;
  double smoothing = 1.0;         // Gaussian sigma (px) before the gradient; 0 = none
  double high_pass_sigma = 8.0;   // Gaussian sigma (px) of the low-pass removed by high_pass
  window_kind window = window_kind::tukey;
  double tukey_alpha = 0.25;      // fraction of each axis tapered (Tukey window)
  correlation_normalization normalization = correlation_normalization::phase;
  double peak_sigma = 2.0;        // px; Gaussian shape given to the whitened peak (phase only)
  int upsample = 20;              // precision 1/upsample pixel; 1 = integer shifts
  double max_shift = 0;           // px; search |dy|, |dx| <= max_shift; 0 = anywhere
  bool pad_fft_friendly = true;   // zero-pad to 2^a 3^b 5^c (multiple of 4) sizes
  int threads = 0;                // 0 = all cores
};

inline void validate_registration_options(const registration_options& o,
                                          std::string_view component) {
  require(std::isfinite(o.smoothing) && o.smoothing >= 0, component, "smoothing", "must be >= 0",
          o.smoothing);
  require(std::isfinite(o.high_pass_sigma) && o.high_pass_sigma > 0, component,
          "high_pass_sigma", "must be > 0", o.high_pass_sigma);
  require(std::isfinite(o.tukey_alpha) && o.tukey_alpha >= 0 && o.tukey_alpha <= 1, component,
          "tukey_alpha", "must be in [0, 1]", o.tukey_alpha);
  require(std::isfinite(o.peak_sigma) && o.peak_sigma >= 0, component, "peak_sigma",
          "must be >= 0 (0 = pure phase correlation)", o.peak_sigma);
  require(o.upsample >= 1 && o.upsample <= 1000, component, "upsample", "must be in [1, 1000]",
          o.upsample);
  require(std::isfinite(o.max_shift) && o.max_shift >= 0, component, "max_shift",
          "must be >= 0 (0 = unlimited)", o.max_shift);
  require(o.threads >= 0, component, "threads", "must be >= 0 (0 = all cores)", o.threads);
}

// The shift to apply to the moving frame, and how well the frames match.
struct registration_result {
  double dy = 0;    // rows
  double dx = 0;    // columns
  double peak = 0;  // normalized correlation at the peak: 1 = identical up to the shift
};

// Smallest m >= n that is a multiple of 4 with no prime factor above 5.
inline index_t fft_friendly_size(index_t n) {
  require(n >= 1, "fft_friendly_size", "n", "must be >= 1", n);
  for (index_t m = (n + 3) / 4 * 4;; m += 4) {
    index_t k = m;
    for (index_t p : {2, 3, 5})
      while (k % p == 0) k /= p;
    if (k == 1) return m;
  }
}

namespace detail {

using cfloat = std::complex<float>;

// Transposes a rows x cols complex matrix (row-major) into cols x rows, in
// cache-sized blocks, parallel over blocks of output rows.
inline void transpose(const cfloat* src, index_t rows, index_t cols, cfloat* dst, int threads) {
  constexpr index_t block = 32;
  const index_t col_blocks = (cols + block - 1) / block;
  parallel_for(col_blocks, threads, 1, [&](index_t b0, index_t b1, int) {
    for (index_t cb = b0; cb < b1; ++cb) {
      const index_t c0 = cb * block, c1 = std::min(cols, c0 + block);
      for (index_t r0 = 0; r0 < rows; r0 += block) {
        const index_t r1 = std::min(rows, r0 + block);
        for (index_t c = c0; c < c1; ++c)
          for (index_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
      }
    }
  });
}

// exp(-2 pi^2 sigma^2 f^2) at the signed frequency f (cycles/pixel) of
// every bin: the transfer function of a Gaussian of sigma pixels.
inline std::vector<float> gaussian_transfer(index_t n, double sigma);

// Signed frequency of DFT bin k of an n-point transform (numpy's fftfreq * n).
inline double signed_frequency(index_t k, index_t n) noexcept {
  return static_cast<double>(k <= (n - 1) / 2 ? k : k - n);
}

inline std::vector<float> gaussian_transfer(index_t n, double sigma) {
  std::vector<float> g(static_cast<std::size_t>(n), 1.0f);
  if (sigma <= 0) return g;
  for (index_t k = 0; k < n; ++k) {
    const double f = signed_frequency(k, n) / static_cast<double>(n);
    g[static_cast<std::size_t>(k)] =
        static_cast<float>(std::exp(-2 * std::numbers::pi * std::numbers::pi * sigma * sigma * f * f));
  }
  return g;
}

}  // namespace detail

// Registers frames of one shape against a kept reference. Holds the FFT
// plans and buffers, so a stack is registered without reallocating.
class phase_correlator {
 public:
  explicit phase_correlator(image_shape frame, const registration_options& options = {})
      : options_(options), frame_(frame) {
    validate_registration_options(options, "phase_correlation");
    require(frame.rows >= 2 && frame.cols >= 2, "phase_correlation", "frame shape",
            "must be at least 2 x 2 pixels", frame.rows * frame.cols);
    fft_rows_ = options.pad_fft_friendly ? fft_friendly_size(frame.rows) : frame.rows;
    fft_cols_ = options.pad_fft_friendly ? fft_friendly_size(frame.cols) : frame.cols;
    half_ = fft_cols_ / 2 + 1;
    threads_ = resolve_threads(options.threads);
    ffts_.resize(static_cast<std::size_t>(threads_));
    for (auto& f : ffts_) {
      f.SetFlag(Eigen::FFT<float>::HalfSpectrum);
      f.SetFlag(Eigen::FFT<float>::Unscaled);
    }
    column_buffers_.resize(static_cast<std::size_t>(threads_),
                           std::vector<detail::cfloat>(static_cast<std::size_t>(fft_rows_)));
    window_rows_ = make_window(options.window, frame.rows, options.tukey_alpha);
    window_cols_ = make_window(options.window, frame.cols, options.tukey_alpha);
    const auto spectrum_size = static_cast<std::size_t>(half_ * fft_rows_);
    filtered_ = image<float>(frame);
    if (options.filter == frame_filter::gradient_magnitude) smooth_ = image<float>(frame);
    padded_.assign(static_cast<std::size_t>(fft_rows_ * fft_cols_), 0.0f);
    rows_spectrum_.assign(spectrum_size, {});
    reference_.assign(spectrum_size, {});
    moving_.assign(spectrum_size, {});
    product_.assign(spectrum_size, {});
  }

  image_shape frame_shape() const noexcept { return frame_; }
  // The (padded) size of the transforms.
  image_shape fft_shape() const noexcept { return {fft_rows_, fft_cols_}; }
  const registration_options& options() const noexcept { return options_; }
  bool has_reference() const noexcept { return has_reference_; }

  // The transformed (filtered, windowed, padded) frame, kept by callers that
  // correlate one frame with several others (chains with skips).
  using spectrum = std::vector<std::complex<float>>;

  void set_reference(image_view<const float> frame) {
    transform(frame, reference_);
    has_reference_ = true;
  }

  // Registers `frame` onto the reference; the result is the shift to apply to it.
  registration_result register_frame(image_view<const float> frame) {
    require(has_reference_, "phase_correlation", "reference", "must be set before registering",
            0);
    transform(frame, moving_);
    has_moving_ = true;
    return correlate(reference_, moving_);
  }

  // The frame registered last becomes the reference (chaining neighbours in
  // energy without transforming any frame twice).
  void promote_moving_to_reference() {
    require(has_moving_, "phase_correlation", "moving frame", "must have been registered", 0);
    std::swap(reference_, moving_);
    has_moving_ = false;
  }

  // filter -> remove mean -> window -> pad -> forward 2-D real FFT (half
  // spectrum, stored transposed: [kx][ky]).
  void transform(image_view<const float> frame, spectrum& out) {
    out.resize(static_cast<std::size_t>(half_ * fft_rows_));
    transform_into(frame, out);
  }

  // The shift to apply to the frame of `moving` to register it onto the
  // frame of `reference` (both from transform() of this correlator).
  registration_result correlate(const spectrum& reference, const spectrum& moving) {
    const auto n = static_cast<std::size_t>(half_ * fft_rows_);
    require(reference.size() == n && moving.size() == n, "phase_correlation", "spectrum size",
            "must come from transform() of this correlator", moving.size());
    return correlate_spectra(reference, moving);
  }

 private:
  void transform_into(image_view<const float> frame, std::vector<detail::cfloat>& spectrum) {
    require(frame.shape() == frame_, "phase_correlation", "frame shape",
            "must equal the correlator's " + std::to_string(frame_.rows) + " x " +
                std::to_string(frame_.cols),
            std::to_string(frame.rows()) + " x " + std::to_string(frame.cols()));
    const index_t rows = frame_.rows, cols = frame_.cols;
    require_finite_frame(frame, "phase_correlation", "frame");
    switch (options_.filter) {
      case frame_filter::none:
        for (index_t r = 0; r < rows; ++r)
          std::copy_n(frame.row(r).data(), cols, filtered_.data() + r * cols);
        break;
      case frame_filter::gradient_magnitude:
        // Same as gradient_magnitude(), with the correlator's scratch buffers.
        detail::gaussian_blur_into(frame, options_.smoothing, smooth_.view(), blur_scratch_,
                                   threads_);
        detail::gradient_of(smooth_.data(), rows, cols, filtered_.view(), threads_);
        break;
      case frame_filter::high_pass:
        high_pass(frame, options_.high_pass_sigma, filtered_.view(), threads_);
        break;
    }
    // Windowed mean, by rows then in row order (deterministic). Subtracting
    // it makes the windowed frame sum to zero, so the window's own outline
    // does not correlate.
    double total = 0, weight_sum = 0;
    for (index_t r = 0; r < rows; ++r) {
      double s = 0, ws = 0;
      const float* f = filtered_.data() + r * cols;
      for (index_t c = 0; c < cols; ++c) {
        s += static_cast<double>(f[c]) * window_cols_[static_cast<std::size_t>(c)];
        ws += window_cols_[static_cast<std::size_t>(c)];
      }
      total += s * window_rows_[static_cast<std::size_t>(r)];
      weight_sum += ws * window_rows_[static_cast<std::size_t>(r)];
    }
    const float mean = weight_sum > 0 ? static_cast<float>(total / weight_sum) : 0.0f;

    const index_t half = half_, fr = fft_rows_, fc = fft_cols_;
    parallel_for(fr, threads_, 16, [&](index_t r0, index_t r1, int worker) {
      auto& fft = ffts_[static_cast<std::size_t>(worker)];
      for (index_t r = r0; r < r1; ++r) {
        detail::cfloat* out = rows_spectrum_.data() + r * half;
        if (r >= rows) {  // padding rows transform to zero
          std::fill_n(out, half, detail::cfloat{});
          continue;
        }
        float* p = padded_.data() + r * fc;
        const float wr = window_rows_[static_cast<std::size_t>(r)];
        const float* f = filtered_.data() + r * cols;
        for (index_t c = 0; c < cols; ++c)
          p[c] = (f[c] - mean) * wr * window_cols_[static_cast<std::size_t>(c)];
        std::fill(p + cols, p + fc, 0.0f);
        fft.fwd(out, p, fc);
      }
    });
    detail::transpose(rows_spectrum_.data(), fr, half, spectrum.data(), threads_);
    parallel_for(half, threads_, 8, [&](index_t k0, index_t k1, int worker) {
      auto& fft = ffts_[static_cast<std::size_t>(worker)];
      auto& column = column_buffers_[static_cast<std::size_t>(worker)];
      for (index_t k = k0; k < k1; ++k) {
        detail::cfloat* col = spectrum.data() + k * fr;
        std::copy_n(col, fr, column.data());
        fft.fwd(col, column.data(), fr);
      }
    });
  }

  // Weight of half-spectrum column kx in a full-spectrum sum: the columns
  // kx and W - kx are conjugate twins, except DC and (even W) Nyquist.
  float column_weight(index_t kx) const noexcept {
    if (kx == 0) return 1.0f;
    if (fft_cols_ % 2 == 0 && kx == fft_cols_ / 2) return 1.0f;
    return 2.0f;
  }

  registration_result correlate_spectra(const std::vector<detail::cfloat>& reference,
                                        const std::vector<detail::cfloat>& moving) {
    const index_t half = half_, fr = fft_rows_, fc = fft_cols_;
    const bool phase = options_.normalization == correlation_normalization::phase;
    // Cross-power spectrum, and the floor below which a frequency carries no
    // phase information (relative to the largest magnitude).
    std::vector<float> column_max(static_cast<std::size_t>(half), 0.0f);
    parallel_for(half, threads_, 8, [&](index_t k0, index_t k1, int) {
      for (index_t k = k0; k < k1; ++k) {
        float m = 0;
        for (index_t i = k * fr; i < (k + 1) * fr; ++i) {
          const auto& a = reference[static_cast<std::size_t>(i)];
          const auto& b = moving[static_cast<std::size_t>(i)];
          const detail::cfloat p = a * std::conj(b);
          product_[static_cast<std::size_t>(i)] = p;
          m = std::max(m, std::norm(p));  // squared magnitude: no hypot
        }
        column_max[static_cast<std::size_t>(k)] = m;
      }
    });
    product_[0] = {};  // DC: the means were removed; a constant offset carries no shift
    const float largest = std::sqrt(*std::max_element(column_max.begin(), column_max.end()));
    if (!(largest > 0)) return {0.0, 0.0, 0.0};  // a featureless frame: nothing to register
    const float floor = largest * 1e-6f;
    // Whitening gives every frequency the same weight, including the high
    // ones where noise dominates (the filter's smoothing is undone); the
    // Gaussian transfer function of peak_sigma restores a known peak shape
    // and keeps noise from moving the sub-pixel maximum.
    const auto gy = detail::gaussian_transfer(fr, phase ? options_.peak_sigma : 0.0);
    const auto gx = detail::gaussian_transfer(fc, phase ? options_.peak_sigma : 0.0);
    std::vector<double> column_norm(static_cast<std::size_t>(half), 0.0);
    parallel_for(half, threads_, 8, [&](index_t k0, index_t k1, int) {
      for (index_t k = k0; k < k1; ++k) {
        double s = 0;
        const float wx = gx[static_cast<std::size_t>(k)];
        for (index_t ky = 0; ky < fr; ++ky) {
          auto& p = product_[static_cast<std::size_t>(k * fr + ky)];
          const float m = std::sqrt(std::norm(p));
          if (phase) {
            const float g = wx * gy[static_cast<std::size_t>(ky)];
            p = m > floor ? p * (g / m) : detail::cfloat{};
            s += m > floor ? g : 0.0f;
          } else {
            s += m;
          }
        }
        column_norm[static_cast<std::size_t>(k)] = s * column_weight(k);
      }
    });
    double norm = 0;
    for (double s : column_norm) norm += s;
    if (!(norm > 0)) return {0.0, 0.0, 0.0};

    // Inverse transform: columns (contiguous in the transposed layout), back
    // to rows, then the half-complex-to-real row transforms.
    std::vector<detail::cfloat>& work = moving_scratch();
    parallel_for(half, threads_, 8, [&](index_t k0, index_t k1, int worker) {
      auto& fft = ffts_[static_cast<std::size_t>(worker)];
      for (index_t k = k0; k < k1; ++k)
        fft.inv(work.data() + k * fr, product_.data() + k * fr, fr);
    });
    detail::transpose(work.data(), half, fr, rows_spectrum_.data(), threads_);
    std::vector<float>& correlation = padded_;
    parallel_for(fr, threads_, 16, [&](index_t r0, index_t r1, int worker) {
      auto& fft = ffts_[static_cast<std::size_t>(worker)];
      for (index_t r = r0; r < r1; ++r)
        fft.inv(correlation.data() + r * fc, rows_spectrum_.data() + r * half, fc);
    });

    // Integer peak inside the search window (ties: first in row-major order).
    const double limit = options_.max_shift > 0 ? options_.max_shift
                                                : std::numeric_limits<double>::infinity();
    struct best_t {
      float value = -std::numeric_limits<float>::infinity();
      index_t index = -1;
    };
    std::vector<best_t> best(static_cast<std::size_t>(threads_));
    parallel_for(fr, threads_, 16, [&](index_t r0, index_t r1, int worker) {
      best_t b;
      for (index_t r = r0; r < r1; ++r) {
        if (std::abs(detail::signed_frequency(r, fr)) > limit) continue;
        const float* row = correlation.data() + r * fc;
        for (index_t c = 0; c < fc; ++c) {
          if (row[c] > b.value && std::abs(detail::signed_frequency(c, fc)) <= limit) {
            b.value = row[c];
            b.index = r * fc + c;
          }
        }
      }
      best[static_cast<std::size_t>(worker)] = b;
    });
    best_t peak;
    for (const auto& b : best)
      if (b.index >= 0 && (b.value > peak.value || (b.value == peak.value && b.index < peak.index)))
        peak = b;
    if (peak.index < 0) return {0.0, 0.0, 0.0};
    const double coarse_y = detail::signed_frequency(peak.index / fc, fr);
    const double coarse_x = detail::signed_frequency(peak.index % fc, fc);
    if (options_.upsample == 1) return {coarse_y, coarse_x, peak.value / norm};
    return refine(coarse_y, coarse_x, norm);
  }

  // Correlation on a (1.5 u)^2 grid of step 1/u around the coarse peak, by
  // DFT matrix products (Guizar-Sicairos 2008, Eq. 12): C = Re(Ex^T (P Ey)),
  // P the transposed half spectrum (kx x ky), Ey[ky][j] = exp(2 pi i f(ky) y_j / H),
  // Ex[kx][i] = w(kx) exp(2 pi i kx x_i / W). A Nyquist bin is split evenly
  // between +N/2 and -N/2, which makes its kernel cos(pi t): the unique real
  // band-limited interpolant, exact at integer positions.
  registration_result refine(double coarse_y, double coarse_x, double norm) {
    using cmatrix = Eigen::Matrix<detail::cfloat, Eigen::Dynamic, Eigen::Dynamic>;
    using cmatrix_rm = Eigen::Matrix<detail::cfloat, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const int up = options_.upsample;
    const index_t n = static_cast<index_t>(std::ceil(1.5 * up));
    const index_t centre = n / 2;
    const index_t half = half_, fr = fft_rows_, fc = fft_cols_;
    auto position = [&](double coarse, index_t j) {
      return coarse + static_cast<double>(j - centre) / up;
    };
    auto kernel = [](double freq, double t, index_t size, bool nyquist) {
      if (nyquist) return detail::cfloat(static_cast<float>(std::cos(std::numbers::pi * t)), 0.0f);
      // The phase is reduced modulo the period before scaling, so large
      // frequencies keep full precision.
      const double turns = std::fmod(freq * t, static_cast<double>(size));
      const double angle = 2 * std::numbers::pi * turns / static_cast<double>(size);
      return detail::cfloat(static_cast<float>(std::cos(angle)),
                            static_cast<float>(std::sin(angle)));
    };
    cmatrix ey(fr, n);
    for (index_t ky = 0; ky < fr; ++ky) {
      const bool nyq = fr % 2 == 0 && ky == fr / 2;
      const double f = detail::signed_frequency(ky, fr);
      for (index_t j = 0; j < n; ++j) ey(ky, j) = kernel(f, position(coarse_y, j), fr, nyq);
    }
    cmatrix_rm ex_t(n, half);  // weighted, transposed: (x_i, kx)
    for (index_t kx = 0; kx < half; ++kx) {
      const bool nyq = fc % 2 == 0 && kx == fc / 2;
      const float w = column_weight(kx);
      for (index_t i = 0; i < n; ++i)
        ex_t(i, kx) = w * kernel(static_cast<double>(kx), position(coarse_x, i), fc, nyq);
    }
    // P Ey in fixed blocks of kx rows: the blocks, not the threads, decide
    // the arithmetic, so results do not depend on the thread count.
    Eigen::Map<const cmatrix_rm> p(product_.data(), half, fr);
    cmatrix_rm pey(half, n);
    constexpr index_t block = 64;
    const index_t blocks = (half + block - 1) / block;
    parallel_for(blocks, threads_, 1, [&](index_t b0, index_t b1, int) {
      for (index_t b = b0; b < b1; ++b) {
        const index_t k0 = b * block, k1 = std::min(half, k0 + block);
        pey.middleRows(k0, k1 - k0).noalias() = p.middleRows(k0, k1 - k0) * ey;
      }
    });
    const cmatrix c = ex_t * pey;  // (x_i, y_j)
    index_t bi = 0, bj = 0;
    float bv = -std::numeric_limits<float>::infinity();
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < n; ++i)
        if (c(i, j).real() > bv) {
          bv = c(i, j).real();
          bi = i;
          bj = j;
        }
    return {position(coarse_y, bj), position(coarse_x, bi), bv / norm};
  }

  // Scratch of the inverse column transforms (the moving spectrum must
  // survive correlate(): chaining promotes it to the reference).
  std::vector<detail::cfloat>& moving_scratch() {
    if (scratch_.size() != product_.size()) scratch_.assign(product_.size(), {});
    return scratch_;
  }

  registration_options options_;
  image_shape frame_;
  index_t fft_rows_ = 0, fft_cols_ = 0, half_ = 0;
  int threads_ = 1;
  std::vector<Eigen::FFT<float>> ffts_;  // one per worker: plans cache and scratch are not shared
  std::vector<std::vector<detail::cfloat>> column_buffers_;
  std::vector<float> window_rows_, window_cols_;
  image<float> filtered_, smooth_;
  std::vector<float> blur_scratch_;
  std::vector<float> padded_;  // padded frame, then the correlation surface
  std::vector<detail::cfloat> rows_spectrum_, reference_, moving_, product_, scratch_;
  bool has_reference_ = false;
  bool has_moving_ = false;
};

// One pair: the shift to apply to `moving` to register it onto `reference`.
inline registration_result register_images(image_view<const float> reference,
                                           image_view<const float> moving,
                                           const registration_options& options = {}) {
  require(reference.shape() == moving.shape(), "register_images", "moving shape",
          "must equal the reference shape " + std::to_string(reference.rows()) + " x " +
              std::to_string(reference.cols()),
          std::to_string(moving.rows()) + " x " + std::to_string(moving.cols()));
  phase_correlator correlator(reference.shape(), options);
  correlator.set_reference(reference);
  return correlator.register_frame(moving);
}

}  // namespace spectromine::align
