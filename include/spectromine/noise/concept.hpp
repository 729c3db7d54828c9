// spectromine/noise/concept.hpp: what a detector noise model is.
//
// A noise model gives the variance of a measured count for its expected
// value: `n.variance(counts) -> double` (counts^2). Everything downstream
// (sigma of mu*t, sigma of the normalized absorbance, the misclassification
// percent point, noisy realizations) is derived from that one function by
// error propagation (Ito 2024, Methods, Eq. 3; docs/METHODS.md section 2).
//
// Required expressions, for `const N& n` and `double counts`:
//   n.variance(counts) -> convertible to double
//       variance of a count whose expectation is `counts` (counts >= 0).
//       A model may throw invalid_argument where it is not valid (e.g. the
//       sCMOS fit A N - B is negative below N = B / A), never return <= 0
//       silently.
//   N::name -> a string literal naming the model (for reports and JSON).
// Optional:
//   n.sample(counts, engine) -> double: a draw of the count. Models without it
//       are sampled as Normal(counts, variance(counts)), which is what the
//       published code does ("Gaussian noise was added to the reference and
//       transmitted X-ray counts"); poisson_noise provides exact Poisson draws.
//   n.parameters() -> nlohmann::json: the model's parameters for summaries.
#pragma once

#include <concepts>
#include <string_view>

#include "spectromine/core/random.hpp"

namespace spectromine {

template <class N>
concept noise_model = std::copy_constructible<N> && requires(const N& n, double counts) {
  { n.variance(counts) } -> std::convertible_to<double>;
  { std::string_view(N::name) };
};

// A noise model that draws its own samples (instead of the Normal approximation).
template <class N>
concept sampling_noise_model =
    noise_model<N> && requires(const N& n, double counts, random_engine& engine) {
      { n.sample(counts, engine) } -> std::convertible_to<double>;
    };

template <class N>
constexpr bool check_noise_model() {
  static_assert(noise_model<N>,
                "spectromine: a noise model must be copyable, provide "
                "`double variance(double counts) const` (variance of a count with that "
                "expectation) and `static constexpr const char* name` (see "
                "spectromine/noise/concept.hpp).");
  return noise_model<N>;
}

}  // namespace spectromine
