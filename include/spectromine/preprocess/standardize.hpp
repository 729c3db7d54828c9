// spectromine/preprocess/standardize.hpp: mean 0, norm 1 spectra.
//
// z = (s - mean(s)) / ||s - mean(s)||. For standardized spectra the squared
// Euclidean distance is 2 (1 - Pearson r) and the dot product is Pearson r:
// the similarity both papers use (Ito 2024 Eqs. 1-5, METHODS.md section 1).
//
// A constant spectrum (centered norm zero up to rounding) has no direction:
// it is flagged and written as zeros, never divided by zero; likewise a
// spectrum holding NaN or Inf. Sums are taken in double whatever T is, so a
// float spectrum standardizes as accurately as its storage allows.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

// Why a spectrum could not be standardized.
enum class standardize_status : std::uint8_t { ok = 0, constant = 1, nonfinite = 2 };

namespace detail {
// Below this norm of x - mean, a spectrum is "constant", not a direction: the
// rounding of the mean leaves |x_i - mean| of a few ulps of the values.
// `epsilon` is that of the storage type.
inline double standardize_noise_floor(double epsilon, double peak, std::size_t n) {
  return 8.0 * epsilon * peak * std::sqrt(static_cast<double>(n));
}
}  // namespace detail

// Standardizes `in` into `out` (same length; may be the same memory when the
// types match). Returns the status; on anything but ok, `out` is all zeros.
template <class T, std::floating_point U>
  requires std::floating_point<std::remove_const_t<T>>
standardize_status standardize_status_of(std::span<T> in, std::span<U> out) {
  using V = std::remove_const_t<T>;
  require(out.size() == in.size(), "standardize", "out size",
          "must equal the input size " + std::to_string(in.size()), out.size());
  const std::size_t n = in.size();
  auto zero = [&] { std::fill(out.begin(), out.end(), U(0)); };
  if (n == 0) return standardize_status::constant;
  double sum = 0, peak = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(in[i]);
    sum += v;
    peak = std::max(peak, std::abs(v));
  }
  if (!std::isfinite(sum) || !std::isfinite(peak)) {
    zero();
    return standardize_status::nonfinite;
  }
  const double mean = sum / static_cast<double>(n);
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(in[i]) - mean;
    ss += d * d;
  }
  const double norm = std::sqrt(ss);
  const double noise_floor = detail::standardize_noise_floor(std::numeric_limits<V>::epsilon(), peak, n);
  if (!(norm > noise_floor) || !std::isfinite(norm)) {
    zero();
    return standardize_status::constant;
  }
  const double inv = 1.0 / norm;
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<U>((static_cast<double>(in[i]) - mean) * inv);
  return standardize_status::ok;
}

// As standardize_status_of; true when the spectrum was standardized, false
// when it was flagged (constant or non-finite) and zeroed.
template <class T, std::floating_point U>
  requires std::floating_point<std::remove_const_t<T>>
bool standardize(std::span<T> in, std::span<U> out) {
  return standardize_status_of(in, out) == standardize_status::ok;
}
template <std::floating_point T>
bool standardize_in_place(std::span<T> values) {
  return standardize_status_of(std::span<const T>(values), values) == standardize_status::ok;
}

// Whether standardize_status_of(x) would return ok, without its cost where
// the answer is clear (the validity check of the streamed Voronoi labelling,
// parallel/tiled.hpp). The exact function sums in double sequentially (three
// dependent chains of E adds); here the same quantities are summed with 8 independent
// accumulators (vectorizable). They differ from the sequential sums by
// relative ~E x 2^-53; the decision `norm > 8 eps_f peak sqrt(E)` is taken
// from them only when norm is outside +-1% of that floor (peak, a max, is
// exact in any order), else by standardize_status_of itself. Non-finite
// spectra (a non-finite sum) also go to the exact function.
inline bool is_standardizable(std::span<const float> x, std::span<float> scratch) {
  constexpr std::size_t L = 8;
  const std::size_t n = x.size(), body = n / L * L;
  double acc[L] = {};
  for (std::size_t i = 0; i < body; i += L)
    for (std::size_t k = 0; k < L; ++k) acc[k] += static_cast<double>(x[i + k]);
  // max |x| on the bits: for |x| (sign cleared) the IEEE order is the
  // unsigned integer order, and an integer max vectorizes (NaN, above every
  // finite or infinite value, makes the peak non-finite, as it should).
  std::uint32_t bits[L] = {};
  for (std::size_t i = 0; i < body; i += L)
    for (std::size_t k = 0; k < L; ++k) {
      const std::uint32_t a = std::bit_cast<std::uint32_t>(x[i + k]) & 0x7fffffffu;
      bits[k] = a > bits[k] ? a : bits[k];
    }
  double sum = 0;
  std::uint32_t top = 0;
  for (std::size_t k = 0; k < L; ++k) sum += acc[k], top = std::max(top, bits[k]);
  for (std::size_t i = body; i < n; ++i) {
    sum += static_cast<double>(x[i]);
    top = std::max(top, std::bit_cast<std::uint32_t>(x[i]) & 0x7fffffffu);
  }
  const double pk = static_cast<double>(std::bit_cast<float>(top));
  auto exact = [&] { return standardize_status_of(x, scratch) == standardize_status::ok; };
  if (n == 0 || !std::isfinite(sum) || !std::isfinite(pk)) return exact();
  const double mean = sum / static_cast<double>(n);
  double sq[L] = {};
  for (std::size_t i = 0; i < body; i += L)
    for (std::size_t k = 0; k < L; ++k) {
      const double d = static_cast<double>(x[i + k]) - mean;
      sq[k] += d * d;
    }
  double ss = 0;
  for (std::size_t k = 0; k < L; ++k) ss += sq[k];
  for (std::size_t i = body; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    ss += d * d;
  }
  const double norm = std::sqrt(ss);
  const double floor = detail::standardize_noise_floor(std::numeric_limits<float>::epsilon(), pk, n);
  if (std::isfinite(norm) && norm > 1.01 * floor) return true;
  if (norm < 0.99 * floor) return false;
  return exact();
}

struct standardize_report {
  index_t pixels = 0;
  index_t standardized = 0;
  index_t masked_input = 0;  // excluded by the caller's mask (zeros written)
  index_t constant = 0;      // flagged constant (zeros written)
  index_t nonfinite = 0;     // NaN / Inf (zeros written)
  pixel_mask valid;          // 1 = standardized
};

// Standardizes every pixel of `in` into `out` (same shape; may be `in` itself
// when the types match). Masked-out pixels (mask given and 0) are zeroed.
template <class T, std::floating_point U>
  requires std::floating_point<std::remove_const_t<T>>
standardize_report standardize_cube(cube_view<T> in, cube_view<U> out, mask_view mask = {},
                                    int threads = 0) {
  require(out.shape() == in.shape(), "standardize_cube", "out shape",
          "must equal the input shape", out.pixel_count());
  require(out.bands() == in.bands(), "standardize_cube", "out bands",
          "must equal the input bands", out.bands());
  const bool use_mask = mask.pixel_count() > 0;
  if (use_mask)
    require(mask.shape() == in.shape(), "standardize_cube", "mask shape",
            "must equal the cube's image shape", mask.pixel_count());
  standardize_report report;
  report.pixels = in.pixel_count();
  report.valid = pixel_mask(in.shape(), 0);
  std::vector<standardize_status> status(static_cast<std::size_t>(in.pixel_count()));
  parallel_for(in.pixel_count(), threads, 1024, [&](index_t begin, index_t end, int) {
    for (index_t p = begin; p < end; ++p) {
      auto o = out.spectrum(p);
      if (use_mask && mask[p] == 0) {
        std::fill(o.begin(), o.end(), U(0));
        status[p] = standardize_status::constant;
        report.valid[p] = 2;  // marker: masked (fixed to 0 below)
        continue;
      }
      status[p] = standardize_status_of(in.spectrum(p), o);
      report.valid[p] = status[p] == standardize_status::ok ? 1 : 0;
    }
  });
  for (index_t p = 0; p < in.pixel_count(); ++p) {
    if (report.valid[p] == 2) {
      report.valid[p] = 0;
      ++report.masked_input;
    } else if (status[p] == standardize_status::ok) {
      ++report.standardized;
    } else if (status[p] == standardize_status::constant) {
      ++report.constant;
    } else {
      ++report.nonfinite;
    }
  }
  return report;
}

}  // namespace spectromine
