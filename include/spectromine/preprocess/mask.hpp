// spectromine/preprocess/mask.hpp: which pixels hold sample.
//
// Duan 2016 (Methods) reject pixels "whose edge jump is not significant"
// before clustering: in a full-field image much of the field of view holds
// no sample, and such pixels are "no sample", never a phase. The threshold
// comes from the data, never from hand tuning:
//
// 1. Edge jump per pixel: the pre_edge edge step, a fixed linear functional
//    of the spectrum, step = |w . mu| (normalize.hpp's plan).
// 2. Noise per pixel, from its own spectrum: in the pre- and post-edge
//    windows (smooth regions), the residual of each point against the line
//    through its two neighbours, r_i = mu_i - (a_i mu_{i-1} + b_i mu_{i+1}),
//    is exactly zero for any linear trend on any grid and has variance
//    sigma^2 (1 + a_i^2 + b_i^2) for white noise; sigma = 1.4826 x the median
//    of |r_i| / sqrt(1 + a_i^2 + b_i^2) (robust to the odd glitch).
// 3. Significance: z = step / (sigma ||w||). For a pixel without sample the
//    true step is 0 and z ~ |Normal(0, 1)|: a proper z-score, so the floor
//    (default 5) is a false-acceptance rate (~6e-7 per pixel), not a knob.
// 4. The two populations: Otsu's split of the histogram of log10 z separates
//    "no sample" from "sample". It is used, and raises the cut above the
//    floor, only when the lower class is indeed noise-like (its median z is
//    below the floor); otherwise the field holds sample everywhere (e.g. thin
//    and thick regions) and only the floor applies.
// `threshold` overrides all of this. NaN/Inf pixels are masked and counted.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace spectromine {

struct sample_mask_options {
  std::optional<double> threshold;  // override: keep pixels with z > threshold
  double floor = 5.0;               // minimum z of a sample pixel
  bool use_otsu = true;             // let the two-population split raise the cut
  int bins = 256;                   // histogram bins of log10 z for Otsu
  int threads = 0;                  // 0 = all cores
};

struct sample_mask_report {
  index_t pixels = 0;
  index_t sample = 0;             // kept (mask = 1)
  index_t masked_input = 0;       // excluded by the caller's mask
  index_t masked_nonfinite = 0;   // NaN / Inf in the spectrum
  index_t masked_low_snr = 0;     // edge jump not significant: no sample
  double threshold = 0;           // the z cut applied (keep z > threshold)
  double floor = 0;
  std::optional<double> otsu_threshold;  // Otsu's z cut (when computed)
  bool otsu_applied = false;      // Otsu raised the cut above the floor
  bool overridden = false;        // threshold given by the caller
  double step_noise_gain = 0;     // ||w||: sd of the step per unit noise sd
  edge_windows windows;           // e0 and windows used for the edge step
};

struct sample_mask_result {
  pixel_mask mask;       // 1 = sample
  image<float> z;        // edge-jump significance per pixel (0 where non-finite)
  image<float> sigma;    // per-pixel noise estimate (same units as mu)
  sample_mask_report report;
};

// Otsu's method (Otsu 1979) in two public pieces, shared by sample_mask and
// its streaming twin (parallel/tiled_statistics.hpp), which builds the same
// histogram band by band: bit-identical cuts need the same bin of every value
// and the same sums in the same order.
//
// The bin of value v in `bins` equal bins of `width` from `lo` (the top edge
// goes into the last bin).
inline std::size_t otsu_histogram_bin(double v, double lo, double width, int bins) noexcept {
  return std::min<std::size_t>(static_cast<std::size_t>((v - lo) / width), static_cast<std::size_t>(bins) - 1);
}

// Otsu's threshold from the histogram (hist.size() equal bins over [lo, hi])
// as the upper edge of the best lower class: maximizes the between-class
// variance, bin centres standing for their values. hi <= lo -> hi.
inline double otsu_threshold_from_histogram(std::span<const double> hist, double lo, double hi) {
  if (!(hi > lo)) return hi;
  const int bins = static_cast<int>(hist.size());
  require(bins >= 2, "otsu", "bins", "must be >= 2", bins);
  const double width = (hi - lo) / bins;
  double total = 0, total_sum = 0;
  for (int b = 0; b < bins; ++b) {
    total += hist[b];
    total_sum += hist[b] * (lo + (b + 0.5) * width);
  }
  double w0 = 0, sum0 = 0, best = -1;
  int best_b = 0;
  for (int b = 0; b < bins - 1; ++b) {
    w0 += hist[b];
    sum0 += hist[b] * (lo + (b + 0.5) * width);
    const double w1 = total - w0;
    if (w0 == 0 || w1 == 0) continue;
    const double m0 = sum0 / w0, m1 = (total_sum - sum0) / w1;
    const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      best_b = b;
    }
  }
  return lo + (best_b + 1) * width;
}

namespace detail {

// Otsu's threshold on values: their range, histogram, then the split.
inline double otsu_threshold(const std::vector<double>& values, int bins) {
  const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
  const double lo = *lo_it, hi = *hi_it;
  if (!(hi > lo)) return hi;
  std::vector<double> hist(static_cast<std::size_t>(bins), 0.0);
  const double width = (hi - lo) / bins;
  for (double v : values) hist[otsu_histogram_bin(v, lo, width, bins)] += 1.0;
  return otsu_threshold_from_histogram(hist, lo, hi);
}

}  // namespace detail

// Per-pixel robust noise of mu over the pre- and post-edge windows (see step 2).
template <class T>
double window_noise_sigma(std::span<T> mu, std::span<const double> energy, const edge_windows& w,
                          std::vector<double>& scratch) {
  scratch.clear();
  auto add = [&](index_t begin, index_t end) {
    for (index_t i = std::max<index_t>(begin, 1);
         i < std::min<index_t>(end, static_cast<index_t>(energy.size()) - 1); ++i) {
      const double h = energy[i + 1] - energy[i - 1];
      const double a = (energy[i + 1] - energy[i]) / h, b = (energy[i] - energy[i - 1]) / h;
      const double r = static_cast<double>(mu[i]) -
                       (a * static_cast<double>(mu[i - 1]) + b * static_cast<double>(mu[i + 1]));
      scratch.push_back(std::abs(r) / std::sqrt(1 + a * a + b * b));
    }
  };
  add(w.pre_begin, w.pre_end);
  add(w.post_begin, w.post_end);
  if (scratch.empty()) return 0.0;
  const auto mid = scratch.begin() + static_cast<std::ptrdiff_t>(scratch.size() / 2);
  std::nth_element(scratch.begin(), mid, scratch.end());
  return 1.482602218505602 * *mid;
}

// The edge-jump significance of one finite spectrum (steps 1-3 above):
// z = step / (sigma gain), gain = plan.step_noise_gain() (taken once by the
// caller: it is the same for every pixel); sigma = 0 gives z = +inf for a
// nonzero step, else 0. Shared with the streaming twin
// (parallel/tiled_statistics.hpp), which must reproduce z bit for bit.
struct edge_jump_significance {
  double z = 0;      // step / noise
  double sigma = 0;  // window_noise_sigma
};
template <class T>
edge_jump_significance edge_jump_z(std::span<T> mu, std::span<const double> energy, const pre_edge_plan& plan,
                                   double gain, std::vector<double>& scratch) {
  const double step = plan.fitted_edge_step(std::span<const std::remove_const_t<T>>(mu));
  const double sigma = window_noise_sigma(mu, energy, plan.windows, scratch);
  const double noise = sigma * gain;
  return {noise > 0 ? step / noise : (step > 0 ? std::numeric_limits<double>::infinity() : 0.0), sigma};
}

// The sample mask from a prepared plan (e0 and windows fixed).
template <class InT>
  requires std::floating_point<std::remove_const_t<InT>>
sample_mask_result sample_mask(cube_view<InT> mu, std::span<const double> energy,
                               const pre_edge_plan& plan, const sample_mask_options& options = {},
                               mask_view input_mask = {}) {
  constexpr const char* c = "sample_mask";
  validate_energy_grid(energy, c, mu.bands());
  require(plan.bands() == mu.bands(), c, "plan bands", "must equal the cube's band count",
          plan.bands());
  require(std::isfinite(options.floor) && options.floor >= 0, c, "floor",
          "must be finite and >= 0", options.floor);
  require(options.bins >= 2, c, "bins", "must be >= 2", options.bins);
  if (options.threshold)
    require(std::isfinite(*options.threshold) && *options.threshold >= 0, c, "threshold",
            "must be finite and >= 0", *options.threshold);
  const bool use_mask = input_mask.pixel_count() > 0;
  if (use_mask)
    require(input_mask.shape() == mu.shape(), c, "mask shape",
            "must equal the cube's image shape", input_mask.pixel_count());

  sample_mask_result result;
  auto& rep = result.report;
  rep.pixels = mu.pixel_count();
  rep.floor = options.floor;
  rep.windows = plan.windows;
  rep.step_noise_gain = plan.step_noise_gain();
  result.mask = pixel_mask(mu.shape(), 0);
  result.z = image<float>(mu.shape(), 0.0f);
  result.sigma = image<float>(mu.shape(), 0.0f);
  // state per pixel: 0 candidate, 1 caller-masked, 2 non-finite
  std::vector<std::uint8_t> state(static_cast<std::size_t>(rep.pixels), 0);
  std::vector<double> z(static_cast<std::size_t>(rep.pixels), 0.0);
  const double gain = rep.step_noise_gain;
  parallel_for(rep.pixels, options.threads, 1024, [&](index_t begin, index_t end, int) {
    std::vector<double> scratch;
    for (index_t p = begin; p < end; ++p) {
      if (use_mask && input_mask[p] == 0) {
        state[p] = 1;
        continue;
      }
      const auto s = mu.spectrum(p);
      bool finite = true;
      for (auto v : s) finite = finite && std::isfinite(static_cast<double>(v));
      if (!finite) {
        state[p] = 2;
        continue;
      }
      const edge_jump_significance e = edge_jump_z(s, energy, plan, gain, scratch);
      z[p] = e.z;
      result.sigma[p] = static_cast<float>(e.sigma);
      result.z[p] = static_cast<float>(std::min(z[p], double(std::numeric_limits<float>::max())));
    }
  });

  double cut = options.floor;
  if (options.threshold) {
    cut = *options.threshold;
    rep.overridden = true;
  } else if (options.use_otsu) {
    std::vector<double> logs;
    double max_finite = 0;
    for (index_t p = 0; p < rep.pixels; ++p)
      if (state[p] == 0 && std::isfinite(z[p])) max_finite = std::max(max_finite, z[p]);
    for (index_t p = 0; p < rep.pixels; ++p) {
      if (state[p] != 0 || !(z[p] > 0)) continue;
      logs.push_back(std::log10(std::isfinite(z[p]) ? z[p] : std::max(max_finite, 1.0) * 10));
    }
    if (logs.size() >= 2) {
      const double t = std::pow(10.0, detail::otsu_threshold(logs, options.bins));
      rep.otsu_threshold = t;
      // Is the lower class noise? Its median z must be below the floor.
      std::vector<double> lower;
      for (index_t p = 0; p < rep.pixels; ++p)
        if (state[p] == 0 && z[p] <= t) lower.push_back(z[p]);
      if (!lower.empty()) {
        const auto mid = lower.begin() + static_cast<std::ptrdiff_t>(lower.size() / 2);
        std::nth_element(lower.begin(), mid, lower.end());
        if (*mid < options.floor && t > options.floor) {
          cut = t;
          rep.otsu_applied = true;
        }
      }
    }
  }
  rep.threshold = cut;
  for (index_t p = 0; p < rep.pixels; ++p) {
    if (state[p] == 1) {
      ++rep.masked_input;
    } else if (state[p] == 2) {
      ++rep.masked_nonfinite;
    } else if (z[p] > cut) {
      result.mask[p] = 1;
      ++rep.sample;
    } else {
      ++rep.masked_low_snr;
    }
  }
  return result;
}

// The sample mask with e0 from `edge.e0`, or find_e0 of the cube's mean
// spectrum when unset (as normalize_cube does).
template <class InT>
  requires std::floating_point<std::remove_const_t<InT>>
sample_mask_result sample_mask(cube_view<InT> mu, std::span<const double> energy,
                               const pre_edge_options& edge = {},
                               const sample_mask_options& options = {},
                               mask_view input_mask = {}) {
  validate_energy_grid(energy, "sample_mask", mu.bands());
  double e0 = 0;
  if (edge.e0) {
    e0 = *edge.e0;
  } else {
    const cube_view<const std::remove_const_t<InT>> in = mu;
    e0 = find_e0(energy, detail::mean_finite_spectrum(in, input_mask, options.threads));
  }
  return sample_mask(mu, energy, make_pre_edge_plan(energy, e0, edge), options, input_mask);
}

}  // namespace spectromine
