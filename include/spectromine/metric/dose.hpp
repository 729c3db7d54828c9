// spectromine/metric/dose.hpp: how many reference counts make two spectra
// distinguishable (measurement planning, Ito 2024 Discussion: "our proposed
// metric based on the measurement noise is important ... for measurement
// optimization").
//
// For shot noise (sigma^2 = a N) the percent point grows exactly as
// sqrt(c_ref). The sCMOS model sigma^2 = A N - B is not a power law: per band
//   sigma_mut^2 = A (1 + e^mut) / c_ref - B (1 + e^{2 mut}) / c_ref^2,
// so d(c_ref)^-2 = P / c_ref - Q / c_ref^2 for constants P, Q of the pair and
// the target d* is reached at the larger root
//   c_ref = (P + sqrt(P^2 - 4 V Q)) / (2 V),   V = (numerator / d*)^2
// (closed form for one direction). The symmetric percent point (d12 + d21)/2
// has no closed form; c_ref_for_percent_point() solves any model and either
// form by bisection on log c_ref (d increases with c_ref for every physical
// model), and the tests check it against the closed form.
#pragma once

#include <cmath>
#include <limits>
#include <span>
#include <string>

#include "spectromine/error.hpp"
#include "spectromine/metric/percent_point.hpp"
#include "spectromine/noise/concept.hpp"
#include "spectromine/noise/conditions.hpp"

namespace spectromine {

enum class percent_point_form { a_to_b, b_to_a, symmetric };

struct dose_search_options {
  percent_point_form form = percent_point_form::symmetric;
  double c_ref_min = 1.0;    // search range (counts); the lower end is raised
  double c_ref_max = 1e15;   // to where the noise model is valid
  double relative_tolerance = 1e-10;
};

template <noise_model N, class T>
double percent_point_at(const N& model, const measurement_conditions& conditions,
                        std::span<const T> a, std::span<const T> b, percent_point_form form) {
  switch (form) {
    case percent_point_form::a_to_b: return percent_point_between(model, conditions, a, b);
    case percent_point_form::b_to_a: return percent_point_between(model, conditions, b, a);
    default: return symmetric_percent_point_between(model, conditions, a, b);
  }
}

// The reference counts at which the percent point of (a, b) reaches `target`
// (e.g. percent_points::one_in_ten_thousand), other conditions unchanged.
// +infinity when the spectra are indistinguishable (d = 0 at any dose).
template <noise_model N, class T>
double c_ref_for_percent_point(const N& model, const measurement_conditions& conditions,
                               std::span<const T> a, std::span<const T> b, double target,
                               const dose_search_options& options = {}) {
  constexpr std::string_view component = "c_ref_for_percent_point";
  require(std::isfinite(target) && target > 0, component, "target", "must be finite and > 0",
          target);
  require(options.c_ref_min > 0 && options.c_ref_max > options.c_ref_min, component, "c_ref range",
          "must satisfy 0 < c_ref_min < c_ref_max", options.c_ref_min);
  auto d_at = [&](double log_c) {
    measurement_conditions c = conditions;
    c.c_ref = std::exp(log_c);
    return percent_point_at(model, c, a, b, options.form);
  };
  double lo = std::log(options.c_ref_min), hi = std::log(options.c_ref_max);
  const double d_hi = d_at(hi);
  if (d_hi == 0) return std::numeric_limits<double>::infinity();
  require(d_hi >= target, component, "target",
          "is not reached even at c_ref = " + std::to_string(options.c_ref_max), target);
  // Below the model's validity (sCMOS: counts < B / A) the model throws: raise lo.
  for (;;) {
    try {
      if (d_at(lo) >= target) return std::exp(lo);
      break;
    } catch (const invalid_argument&) {
      lo += 0.25;
      require(lo < hi, component, "c_ref range", "has no point where the noise model is valid",
              std::exp(lo));
    }
  }
  while (hi - lo > options.relative_tolerance) {
    const double mid = 0.5 * (lo + hi);
    bool above = false;
    try {
      above = d_at(mid) >= target;
    } catch (const invalid_argument&) {
      above = false;  // invalid (too few counts) counts as "below target"
    }
    (above ? hi : lo) = mid;
  }
  return std::exp(hi);
}

}  // namespace spectromine
