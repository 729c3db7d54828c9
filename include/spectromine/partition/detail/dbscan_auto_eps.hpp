// spectromine/partition/detail/dbscan_auto_eps.hpp: DBSCAN's radius from the
// noise model ("--eps auto"), with no hand tuning. Reached through
// partition/dbscan.hpp; names are public (spectromine::partition).
//
// The question eps answers: how far apart do two noisy measurements of the
// SAME spectrum land in the feature space? Two pixels of one phase differ
// only by noise, so they must be within eps of each other (then every pixel
// of a phase of >= MinPts pixels is a core point and the phase is one
// cluster); two phases further apart than that are separate.
//
// Model (Ito 2024 Methods; docs/METHODS.md section 2): a normalized pixel
// spectrum x has per-band noise sigma_i = normalized_sigma(model, conditions,
// x_i) (noise/propagation.hpp: sCMOS counts -> mu*t -> normalized). The
// feature is z = (x - mean x) / N, N = ||x - mean x||. Two noisy copies differ
// by dx ~ Normal(0, 2 diag(sigma^2)), and to first order (as the propagation
// itself) z1 - z2 = J dx with J = (I - z z^T)(I - 11^T / E) / N: centering
// removes the mean, and normalization removes the component along z. So
//   ||z1 - z2||^2 = sum_i lambda_i chi^2_1,  with lambda the eigenvalues of
//   2 J diag(sigma^2) J^T  (~ 2 sum_i sigma_i^2 / N^2 in total, as METHODS.md),
// and with K PCA features the same projected on the basis B: ||B^T J dx||^2.
// That weighted chi-square has no closed-form quantile, and it varies from
// pixel to pixel (N and sigma depend on the spectrum), so we draw it: for
// `sample_pixels` pixels spread evenly over the sample, `draws_per_pixel`
// Gaussian dx each (seeded, one stream per pixel: independent of threads),
// and eps = the `quantile` (default 99.9%) of all those distances: 99.9% of
// same-spectrum pairs, over the whole sample, are within eps. The expansion
// is first order in sigma / signal (~2% at the paper's conditions);
// tests/dbscan checks it against noise/realization.hpp's full simulation
// (counts drawn, log taken, normalized, standardized).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <boost/random/normal_distribution.hpp>
#include <nlohmann/json.hpp>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/propagation.hpp"
#include "spectromine/noise/scmos.hpp"

namespace spectromine::partition {

struct dbscan_auto_eps_options {
  scmos_noise noise{};                     // detector model (Ito 2024 sCMOS fit)
  measurement_conditions conditions{};     // c_ref, mut_low, mut_high
  double quantile = 0.999;                 // of same-spectrum pair distances
  index_t sample_pixels = 128;             // pixels the noise is drawn for
  index_t draws_per_pixel = 256;           // noisy pairs per pixel
  std::uint64_t seed = 0;

  void validate() const {
    constexpr std::string_view c = "dbscan auto eps";
    noise.validate();
    conditions.validate(c);
    require(quantile > 0 && quantile < 1, c, "quantile", "must be in (0, 1)", quantile);
    require(sample_pixels > 0, c, "sample_pixels", "must be > 0", sample_pixels);
    require(draws_per_pixel > 0, c, "draws_per_pixel", "must be > 0", draws_per_pixel);
  }
  nlohmann::json to_json() const {
    return {{"noise", noise.parameters()}, {"conditions", conditions.to_json()},
            {"quantile", quantile},       {"sample_pixels", sample_pixels},
            {"draws_per_pixel", draws_per_pixel}, {"seed", seed}};
  }
};

namespace detail {

// Which pixels auto eps draws its noise for: m evenly spaced ranks among the
// in_sample sample pixels; an unusable pixel (NaN / Inf, or constant) passes
// its turn on to the next usable one. Fed the sample pixels in image order,
// one at a time, with O(1) memory, so that a stream (parallel/tiled_dbscan.hpp)
// picks exactly the pixels the in-memory function picks.
struct auto_eps_pixel_picker {
  index_t in_sample = 0, m = 0;
  index_t rank = 0, taken = 0;
  bool pending = false;  // a target was reached but its pixel was unusable

  index_t target(index_t k) const {
    return static_cast<index_t>((static_cast<double>(k) + 0.5) * static_cast<double>(in_sample) /
                                static_cast<double>(m));
  }
  bool done() const noexcept { return taken >= m; }
  template <class T>
  static bool usable(std::span<const T> spectrum) {
    double lo = 0, hi = 0;
    bool first = true;
    for (const T v : spectrum) {
      if (!std::isfinite(static_cast<double>(v))) return false;
      if (first) lo = hi = v, first = false;
      lo = std::min<double>(lo, v);
      hi = std::max<double>(hi, v);
    }
    return hi > lo;
  }
  // The next sample pixel in image order; true = it is picked.
  template <class T>
  bool offer(std::span<const T> spectrum) {
    if (done()) return false;
    if (rank++ >= target(taken)) pending = true;
    if (pending && usable(spectrum)) {
      pending = false;
      ++taken;
      return true;
    }
    return false;
  }
  // Skips `count` sample pixels when none of them can be picked (a stream
  // jumping over a band); false when one might be, and the band must be read.
  bool skip(index_t count) {
    if (pending || rank + count > target(taken)) return false;
    rank += count;
    return true;
  }
};

}  // namespace detail

struct dbscan_auto_eps_result {
  double eps = 0;              // the chosen radius (distance between standardized features)
  double median = 0;           // median same-spectrum distance (for scale)
  index_t pixels = 0;          // pixels the noise was drawn for
  index_t samples = 0;         // distances drawn
};

// eps for DBSCAN on standardized spectra of `normalized` (or on their
// projections on the orthonormal columns of `basis`, d x K, when given: the
// K PCA features). Pixels: mask == 1 (an empty mask = all), finite and not
// constant.
template <class T>
dbscan_auto_eps_result dbscan_auto_eps(cube_view<const T> normalized, mask_view mask,
                                       const dbscan_auto_eps_options& options = {},
                                       const Eigen::MatrixXd* basis = nullptr, int threads = 0) {
  constexpr std::string_view component = "dbscan auto eps";
  options.validate();
  const bool use_mask = mask.pixel_count() > 0;
  if (use_mask)
    require(mask.shape() == normalized.shape(), component, "mask shape",
            "must equal the cube's image shape", mask.pixel_count());
  const index_t bands = normalized.bands();
  require(bands >= 3, component, "bands", "must be >= 3", bands);
  if (basis)
    require(basis->rows() == bands && basis->cols() > 0, component, "basis rows",
            "must equal the band count " + std::to_string(bands), basis->rows());

  // Evenly spaced ranks among the sample pixels (detail::auto_eps_pixel_picker).
  // No per-pixel list: O(m) memory whatever the cube size.
  detail::auto_eps_pixel_picker pick;
  for (index_t p = 0; p < normalized.pixel_count(); ++p) pick.in_sample += (!use_mask || mask[p] != 0);
  require(pick.in_sample > 0, component, "sample pixels", "must not be empty (mask has no pixel)", 0);
  pick.m = std::min<index_t>(options.sample_pixels, pick.in_sample);
  std::vector<index_t> chosen;
  chosen.reserve(static_cast<std::size_t>(pick.m));
  for (index_t p = 0; p < normalized.pixel_count() && !pick.done(); ++p)
    if ((!use_mask || mask[p] != 0) && pick.offer(normalized.spectrum(p))) chosen.push_back(p);
  require(!chosen.empty(), component, "sample pixels",
          "must include at least one finite, non-constant spectrum", 0);
  const auto m_used = static_cast<index_t>(chosen.size());

  scmos_noise model = options.noise;
  model.low_counts = low_count_policy::floor;  // a noise spike must not abort the estimate
  const index_t draws = options.draws_per_pixel;
  std::vector<double> dist(static_cast<std::size_t>(m_used * draws));
  parallel_for(m_used, threads, 1, [&](index_t s0, index_t s1, int) {
    std::vector<double> x(static_cast<std::size_t>(bands)), z(x.size()), sigma(x.size()),
        c(x.size());
    Eigen::VectorXd v(bands);
    for (index_t s = s0; s < s1; ++s) {
      auto spec = normalized.spectrum(chosen[static_cast<std::size_t>(s)]);
      double mean = 0;
      for (index_t b = 0; b < bands; ++b) mean += (x[b] = static_cast<double>(spec[b]));
      mean /= static_cast<double>(bands);
      double n2 = 0;
      for (index_t b = 0; b < bands; ++b) n2 += (x[b] - mean) * (x[b] - mean);
      const double norm = std::sqrt(n2);
      for (index_t b = 0; b < bands; ++b) {
        z[b] = (x[b] - mean) / norm;
        sigma[b] = std::sqrt(2.0) * normalized_sigma(model, options.conditions, x[b]);
      }
      auto engine = make_engine(options.seed, static_cast<std::uint64_t>(s));
      boost::random::normal_distribution<double> normal(0.0, 1.0);
      for (index_t r = 0; r < draws; ++r) {
        double cm = 0;
        for (index_t b = 0; b < bands; ++b) cm += (c[b] = sigma[b] * normal(engine));
        cm /= static_cast<double>(bands);
        double zc = 0;
        for (index_t b = 0; b < bands; ++b) zc += z[b] * (c[b] -= cm);
        for (index_t b = 0; b < bands; ++b) v(b) = (c[b] - z[b] * zc) / norm;
        const double d2 = basis ? (basis->transpose() * v).squaredNorm() : v.squaredNorm();
        dist[static_cast<std::size_t>(s * draws + r)] = std::sqrt(d2);
      }
    }
  });
  dbscan_auto_eps_result result;
  result.pixels = m_used;
  result.samples = static_cast<index_t>(dist.size());
  auto at = [&](double q) {
    const auto k = static_cast<std::size_t>(
        std::min<double>(std::ceil(q * static_cast<double>(dist.size())) - 1,
                         static_cast<double>(dist.size() - 1)));
    std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(k), dist.end());
    return dist[k];
  };
  result.median = at(0.5);
  result.eps = at(options.quantile);
  return result;
}

}  // namespace spectromine::partition
