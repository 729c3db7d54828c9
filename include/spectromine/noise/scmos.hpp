// spectromine/noise/scmos.hpp: the sCMOS camera noise of Ito 2024 (Methods,
// "Quantification of measurement noise"): sigma(N)^2 = A N - B, fitted by
// least squares on repeated exposures of one field of view; A = 9.3131,
// B = 63.003 for their G-XRM camera.
//
// A N - B is a fit valid at the counts of a real exposure (thousands). Below
// N = B / A (6.77 counts with the defaults) it is <= 0: no physical variance.
// By default asking for it there is an error naming N and the threshold; a
// user simulating very dark pixels can opt into a floor instead.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"

namespace spectromine {

enum class low_count_policy {
  error,  // throw invalid_argument when A N - B <= variance_floor
  floor,  // return max(A N - B, variance_floor)
};

struct scmos_noise {
  static constexpr const char* name = "scmos";

  double a = 9.3131;   // counts: conversion gain term (variance per count)
  double b = 63.003;   // counts^2: subtracted offset of the fit
  low_count_policy low_counts = low_count_policy::error;
  double variance_floor = 1.0;  // counts^2, used by low_count_policy::floor

  // The count below which the model has no positive variance.
  double min_counts() const noexcept { return a > 0 ? std::max(b, 0.0) / a : 0.0; }

  void validate() const {
    require(std::isfinite(a) && a > 0, "scmos_noise", "a", "must be finite and > 0", a);
    require(std::isfinite(b), "scmos_noise", "b", "must be finite", b);
    require(std::isfinite(variance_floor) && variance_floor > 0, "scmos_noise", "variance_floor",
            "must be finite and > 0", variance_floor);
  }

  double variance(double counts) const {
    const double v = a * counts - b;
    if (v > 0 && std::isfinite(v)) return low_counts == low_count_policy::floor
                                              ? std::max(v, variance_floor)
                                              : v;
    require(std::isfinite(counts) && counts >= 0, "scmos_noise", "counts",
            "must be finite and >= 0", counts);
    if (low_counts == low_count_policy::floor) return variance_floor;
    throw_invalid("scmos_noise", "counts",
                  "is too low for the sCMOS model: A N - B <= 0 below N = B / A = " +
                      std::to_string(min_counts()) +
                      " (raise c_ref, or use low_count_policy::floor)",
                  counts);
  }

  nlohmann::json parameters() const {
    return {{"model", name}, {"a", a}, {"b", b},
            {"low_counts", low_counts == low_count_policy::error ? "error" : "floor"},
            {"variance_floor", variance_floor}};
  }
};

static_assert(check_noise_model<scmos_noise>());

}  // namespace spectromine
