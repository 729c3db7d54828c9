// spectromine/noise/poisson.hpp: shot noise, variance = gain * N.
//
// gain = 1 is a photon-counting detector; gain != 1 is an integrating
// detector whose unit is not one photon (its counts are gain x photons, so
// the variance is gain x counts). The sCMOS model of Ito 2024 is this with
// gain = A plus a constant offset.
#pragma once

#include <cmath>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/poisson_distribution.hpp>
#include <nlohmann/json.hpp>

#include "spectromine/error.hpp"
#include "spectromine/noise/concept.hpp"

namespace spectromine {

struct poisson_noise {
  static constexpr const char* name = "poisson";

  double gain = 1.0;  // counts per detected photon

  void validate() const {
    require(std::isfinite(gain) && gain > 0, "poisson_noise", "gain", "must be finite and > 0",
            gain);
  }

  double variance(double counts) const {
    require(std::isfinite(counts) && counts > 0, "poisson_noise", "counts",
            "must be finite and > 0", counts);
    return gain * counts;
  }

  // Exact Poisson draws in photons, scaled back to counts. Above 1e7 photons
  // the Normal approximation is used (indistinguishable there, and Boost's
  // Poisson sampler is meant for moderate means).
  double sample(double counts, random_engine& engine) const {
    const double photons = counts / gain;
    require(std::isfinite(photons) && photons >= 0, "poisson_noise", "counts",
            "must be finite and >= 0", counts);
    if (photons > 1e7) {
      boost::random::normal_distribution<double> normal(photons, std::sqrt(photons));
      return gain * normal(engine);
    }
    if (photons == 0) return 0.0;
    boost::random::poisson_distribution<long long, double> poisson(photons);
    return gain * static_cast<double>(poisson(engine));
  }

  nlohmann::json parameters() const { return {{"model", name}, {"gain", gain}}; }
};

static_assert(check_noise_model<poisson_noise>());
static_assert(sampling_noise_model<poisson_noise>);

}  // namespace spectromine
