// spectromine/noise/gaussian.hpp: count noise of constant standard deviation
// (read-noise limited detectors, or a quick what-if). For noise that is
// constant on the *normalized* absorbance instead, pass the sigma directly to
// the metric (metric/percent_point.hpp) - no detector model is needed.
#pragma once

#include <cmath>

#include <nlohmann/json.hpp>

#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"

namespace spectromine {

struct gaussian_noise {
  static constexpr const char* name = "gaussian";

  double sigma = 1.0;  // counts

  void validate() const {
    require(std::isfinite(sigma) && sigma > 0, "gaussian_noise", "sigma",
            "must be finite and > 0", sigma);
  }

  double variance(double /*counts*/) const { return sigma * sigma; }

  nlohmann::json parameters() const { return {{"model", name}, {"sigma", sigma}}; }
};

static_assert(check_noise_model<gaussian_noise>());

}  // namespace spectromine
