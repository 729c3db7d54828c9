// spectromine/preprocess/beer_lambert.hpp: absorbance from transmission and
// reference (flat-field) stacks.
//
//   mu_t = ln((I_ref - dark) / (I_trans - dark))
//
// per pixel and energy (METHODS.md section 1; Ito 2024 Methods). The
// reference and the dark may be full stacks of the same shape as the
// transmission, or a single spectrum (1 x 1 image) applied to every pixel
// (an ion-chamber I0, one dark level per energy). Counts are any arithmetic
// type (uint16 camera frames, float).
//
// A dark-corrected count <= 0 has no logarithm. What happens is a policy
// value, never an accident: `mask` drops the whole pixel (all-zero output,
// valid = 0), `clamp` raises the count to `floor` and keeps the pixel. Both
// are counted in the report. Non-finite counts always mask the pixel.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

enum class nonpositive_policy {
  mask,   // a pixel with any count <= 0 (after dark subtraction) is masked
  clamp,  // counts below `floor` are raised to `floor`
};

struct beer_lambert_options {
  nonpositive_policy policy = nonpositive_policy::mask;
  double floor = 1.0;  // counts; used by clamp; must be > 0
  int threads = 0;     // 0 = all cores
};

struct beer_lambert_report {
  index_t pixels = 0;
  index_t converted = 0;           // valid output spectra
  index_t masked_nonpositive = 0;  // pixels masked for a count <= 0 (policy mask)
  index_t masked_nonfinite = 0;    // pixels masked for a NaN / Inf count
  index_t clamped_values = 0;      // counts raised to the floor (policy clamp)
  index_t clamped_pixels = 0;      // pixels with at least one clamped count
  pixel_mask valid;                // 1 = converted
};

// Converts `transmission` into absorbance `out` (same shape and bands).
// `reference` and `dark` (optional: an empty view) are either the same
// shape as `transmission` or 1 x 1 (broadcast). Throws invalid_argument for
// shape mismatches or a bad floor.
template <class TT, class TR, class TD, std::floating_point U>
  requires std::is_arithmetic_v<std::remove_const_t<TT>> &&
           std::is_arithmetic_v<std::remove_const_t<TR>> &&
           std::is_arithmetic_v<std::remove_const_t<TD>>
beer_lambert_report beer_lambert(cube_view<TT> transmission, cube_view<TR> reference,
                                 cube_view<U> out, cube_view<TD> dark,
                                 const beer_lambert_options& options = {}) {
  constexpr const char* c = "beer_lambert";
  const index_t bands = transmission.bands();
  auto check_stack = [&](auto view, const char* name, bool optional) {
    if (optional && view.pixel_count() == 0) return;
    require(view.bands() == bands, c, std::string(name) + " bands",
            "must equal the transmission's band count " + std::to_string(bands), view.bands());
    require(view.shape() == transmission.shape() || view.pixel_count() == 1, c,
            std::string(name) + " shape",
            "must equal the transmission's shape or be a single spectrum (1 x 1)",
            view.pixel_count());
  };
  check_stack(reference, "reference", false);
  check_stack(dark, "dark", true);
  require(out.shape() == transmission.shape() && out.bands() == bands, c, "out shape",
          "must equal the transmission's shape and bands", out.pixel_count());
  require(std::isfinite(options.floor) && options.floor > 0, c, "floor",
          "must be finite and > 0", options.floor);

  beer_lambert_report report;
  report.pixels = transmission.pixel_count();
  report.valid = pixel_mask(transmission.shape(), 0);
  const bool has_dark = dark.pixel_count() > 0;
  const bool ref_broadcast = reference.pixel_count() == 1 && transmission.pixel_count() != 1;
  const bool dark_broadcast = has_dark && dark.pixel_count() == 1 && transmission.pixel_count() != 1;
  const bool clamp = options.policy == nonpositive_policy::clamp;
  const double floor = options.floor;

  struct counts_t {
    index_t converted = 0, nonpositive = 0, nonfinite = 0, clamped_values = 0, clamped_pixels = 0;
  };
  std::vector<counts_t> counts(static_cast<std::size_t>(resolve_threads(options.threads)));
  parallel_for(report.pixels, options.threads, 256, [&](index_t begin, index_t end, int worker) {
    counts_t local;
    for (index_t p = begin; p < end; ++p) {
      const auto* t = transmission.pixel_pointer(p);
      const auto* r = reference.pixel_pointer(ref_broadcast ? 0 : p);
      const auto* d = has_dark ? dark.pixel_pointer(dark_broadcast ? 0 : p) : nullptr;
      U* o = out.pixel_pointer(p);
      bool nonfinite = false, nonpositive = false;
      index_t clamped = 0;
      for (index_t j = 0; j < bands; ++j) {
        const double dk = d ? static_cast<double>(d[j]) : 0.0;
        double num = static_cast<double>(r[j]) - dk;
        double den = static_cast<double>(t[j]) - dk;
        if (!std::isfinite(num) || !std::isfinite(den)) {
          nonfinite = true;
          break;
        }
        if (num <= 0 || den <= 0 || (clamp && (num < floor || den < floor))) {
          if (!clamp) {
            nonpositive = true;
            break;
          }
          clamped += (num < floor) + (den < floor);
          num = std::max(num, floor);
          den = std::max(den, floor);
        }
        o[j] = static_cast<U>(std::log(num / den));
      }
      if (nonfinite || nonpositive) {
        std::fill(o, o + bands, U(0));
        ++(nonfinite ? local.nonfinite : local.nonpositive);
        continue;
      }
      local.clamped_values += clamped;
      local.clamped_pixels += clamped > 0;
      ++local.converted;
      report.valid[p] = 1;
    }
    counts[worker] = local;
  });
  for (const auto& k : counts) {
    report.converted += k.converted;
    report.masked_nonpositive += k.nonpositive;
    report.masked_nonfinite += k.nonfinite;
    report.clamped_values += k.clamped_values;
    report.clamped_pixels += k.clamped_pixels;
  }
  return report;
}

// Without dark frames.
template <class TT, class TR, std::floating_point U>
  requires std::is_arithmetic_v<std::remove_const_t<TT>> &&
           std::is_arithmetic_v<std::remove_const_t<TR>>
beer_lambert_report beer_lambert(cube_view<TT> transmission, cube_view<TR> reference,
                                 cube_view<U> out, const beer_lambert_options& options = {}) {
  return beer_lambert(transmission, reference, out, cube_view<const float>{}, options);
}

}  // namespace spectromine
