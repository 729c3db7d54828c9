// spectromine/noise/conditions.hpp: the measurement conditions that turn a
// detector noise model into the noise of a normalized spectrum (Ito 2024,
// Methods; docs/METHODS.md section 2), and how to measure them from a pixel's
// own mu*t spectrum.
//
// A normalized spectrum s (0 before the edge, 1 after) was measured as
//   mut = mut_low + s (mut_high - mut_low),  c_trans = c_ref exp(-mut),
// with c_ref the reference (flat-field) count of that pixel, mut_low the mean
// absorbance of the pre-edge region and mut_high that of the post-edge region.
//
// Published-code convention: the reference implementation builds the raw
// spectrum as `s * mul + offset` with (mul, offset) = (1.56, 0.36) and uses
// mul as the normalization step. That is these physics with
// mut_low = offset, mut_high = offset + mul (0.36, 1.92); see
// published_code_conditions() and docs/noise_and_metrics.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include <nlohmann/json.hpp>

#include "spectromine/core/energy.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

struct measurement_conditions {
  double c_ref = 2.7e4;   // reference counts per pixel and energy (Ito 2024 G-XRM mean)
  double mut_low = 0.36;  // mean mu*t of the pre-edge region
  double mut_high = 1.56; // mean mu*t of the post-edge region

  // The edge step that normalization divides by.
  constexpr double step() const noexcept { return mut_high - mut_low; }
  // mu*t of a normalized value.
  constexpr double mut(double normalized) const noexcept { return mut_low + normalized * step(); }
  // Expected transmitted counts for a normalized value.
  double c_trans(double normalized) const noexcept { return c_ref * std::exp(-mut(normalized)); }

  void validate(std::string_view component = "measurement_conditions") const {
    require(std::isfinite(c_ref) && c_ref > 0, component, "c_ref", "must be finite and > 0",
            c_ref);
    require(std::isfinite(mut_low), component, "mut_low", "must be finite", mut_low);
    require(std::isfinite(mut_high) && mut_high > mut_low, component, "mut_high",
            "must be finite and > mut_low " + std::to_string(mut_low), mut_high);
  }

  nlohmann::json to_json() const {
    return {{"c_ref", c_ref}, {"mut_low", mut_low}, {"mut_high", mut_high}};
  }
  friend constexpr bool operator==(const measurement_conditions&,
                                   const measurement_conditions&) = default;
};

// The conditions that reproduce the published code, whose raw spectrum is
// normalized * mul + offset (paper: mul = 1.56, offset = 0.36).
constexpr measurement_conditions published_code_conditions(double c_ref = 2.7e4, double mul = 1.56,
                                                           double offset = 0.36) noexcept {
  return {c_ref, offset, offset + mul};
}

// Windows for measuring mut_low / mut_high on a raw mu*t spectrum, in eV
// relative to E0 (the larch-style pre-edge and normalization ranges; an
// unbounded end means "to the end of the data").
struct edge_level_options {
  double pre1 = -std::numeric_limits<double>::infinity();
  double pre2 = -30.0;
  double norm1 = 50.0;
  double norm2 = std::numeric_limits<double>::infinity();
};

// (mut_low, mut_high) of one pixel measured from its own mu*t spectrum, as the
// paper defines them: means of mu*t over the pre- and post-edge windows.
// c_ref comes from the flat field of that pixel.
template <class T>
measurement_conditions conditions_from_spectrum(std::span<const double> energy,
                                                std::span<const T> mut, double e0, double c_ref,
                                                const edge_level_options& windows = {}) {
  constexpr std::string_view component = "conditions_from_spectrum";
  require(mut.size() == energy.size(), component, "spectrum length",
          "must equal the energy count " + std::to_string(energy.size()), mut.size());
  require(std::isfinite(e0), component, "e0", "must be finite", e0);
  double sum_low = 0, sum_high = 0;
  std::size_t n_low = 0, n_high = 0;
  for (std::size_t i = 0; i < energy.size(); ++i) {
    const double rel = energy[i] - e0;
    const double v = static_cast<double>(mut[i]);
    if (!std::isfinite(v)) continue;  // a dead band does not move the levels
    if (rel >= windows.pre1 && rel <= windows.pre2) sum_low += v, ++n_low;
    if (rel >= windows.norm1 && rel <= windows.norm2) sum_high += v, ++n_high;
  }
  require(n_low > 0, component, "pre-edge window",
          "must contain at least one finite point (E0 + pre1 .. E0 + pre2)", windows.pre2);
  require(n_high > 0, component, "post-edge window",
          "must contain at least one finite point (E0 + norm1 .. E0 + norm2)", windows.norm1);
  measurement_conditions c{c_ref, sum_low / static_cast<double>(n_low),
                           sum_high / static_cast<double>(n_high)};
  c.validate(component);
  return c;
}

}  // namespace spectromine
