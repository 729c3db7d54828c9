// spectromine/preprocess/normalize.hpp: E0, pre-edge / post-edge
// normalization of absorption spectra, one spectrum at a time and
// vectorized over whole cubes.
//
// The arithmetic is xraylarch's pre_edge (larch/xafs/pre_edge.py, version
// 0.9.58, the version that produced data/larch/), reproduced convention by
// convention so that results agree with larch to rounding:
//  - find_e0: np.gradient(mu) / np.gradient(energy) (unit-spacing central
//    differences; no smoothing in this larch version), the largest derivative
//    among points whose two neighbours also exceed 10% of the maximum, with
//    the first and last max(3, int(5% n)) points excluded.
//  - e0 is snapped to the nearest grid energy; windows are in eV relative to
//    it. Window [e0 + a, e0 + b] covers indices [index_of(a), index_nearest(b))
//    (index_of = last energy <= value, index_nearest = closest; the upper end
//    is EXCLUDED, as in larch's slice p1:p2), widened to 2 points if shorter.
//  - pre-edge: unweighted least-squares line (nvict = 0); post-edge:
//    unweighted least-squares polynomial of degree nnorm fitted to mu - pre;
//    edge_step = |post(e0) - pre(e0)|; norm = (mu - pre) / edge_step.
//  - flat: larch fits a polynomial of degree min(nnorm, 2) to norm over the
//    post-edge window (only when it holds > 4 points) and subtracts it, minus
//    its value at e0, above e0. That fit is exactly post / edge_step (same
//    window, same basis, linear least squares), so flat is computed in closed
//    form: flat = norm - (post(E) - post(e0)) / edge_step for E >= e0.
//  - unset windows take larch's defaults (same rounding, Python round = half
//    to even); pre1 is clamped to the first energy, norm2 to the last.
// Where larch silently does something surprising we throw instead: an e0
// outside [E_1, E_{n-2}] (larch recomputes it), reversed windows given
// explicitly (larch swaps), a window lying outside the data or holding too
// few points for its polynomial (larch fits whatever is left), NaN in mu
// (larch drops those points from the fits), no edge (larch returns E_0).
//
// Every fitted coefficient is a fixed linear function of mu once the grid
// and windows are known, so a pre_edge_plan precomputes, once per grid, the
// weight vectors (pseudo-inverses of the window design matrices, with the
// pre-edge subtraction folded into the post-edge weights). A pixel then costs
// a few dot products and one elementwise pass: normalize_cube runs that over
// a cube, in float or double, multithreaded with parallel_for. e0 is shared
// by the field of view (given, or find_e0 of the mean spectrum) or, with
// cube_e0::per_pixel, each pixel's own (find_e0's rule on its smoothed
// derivative, find_e0_per_pixel) with one plan per distinct e0.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Dense>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine {

// ------------------------------------------------------------------ find_e0

// The edge energy of mu(E) as larch's find_e0 computes it (see the header
// comment). Non-finite derivatives are treated as -1, as larch does. Throws
// invalid_argument when the spectrum is too short (fewer than 2 max(3, 5% n)
// + 1 points) or has no rising edge.
inline double find_e0(std::span<const double> energy, std::span<const double> mu) {
  validate_energy_grid(energy, "find_e0");
  const auto n = static_cast<index_t>(energy.size());
  require(static_cast<index_t>(mu.size()) == n, "find_e0", "mu size",
          "must equal the energy count " + std::to_string(n), mu.size());
  const index_t nmin = std::max<index_t>(3, static_cast<index_t>(static_cast<double>(n) * 0.05));
  require(n > 2 * nmin, "find_e0", "energy count",
          "must exceed twice the " + std::to_string(nmin) + " excluded end points", n);
  std::vector<double> dmu(static_cast<std::size_t>(n));
  auto gradient = [&](std::span<const double> f, index_t i) {
    if (i == 0) return f[1] - f[0];
    if (i == n - 1) return f[n - 1] - f[n - 2];
    return (f[i + 1] - f[i - 1]) / 2.0;
  };
  for (index_t i = 0; i < n; ++i) {
    const double d = gradient(mu, i) / gradient(energy, i);
    dmu[i] = std::isfinite(d) ? d : -1.0;
  }
  const double maxdmu = *std::max_element(dmu.begin() + nmin, dmu.end() - nmin);
  const double cut = maxdmu * 0.1;
  index_t best = -1;
  double best_dmu = 0.0;
  for (index_t i = nmin; i <= n - nmin; ++i) {
    if (!(dmu[i] > cut) || !(dmu[i + 1] > cut) || !(dmu[i - 1] > cut)) continue;
    if (dmu[i] > best_dmu) {
      best = i;
      best_dmu = dmu[i];
    }
  }
  require(best >= 0, "find_e0", "mu",
          "has no rising absorption edge (no point of positive derivative with rising "
          "neighbours); pass e0 explicitly",
          maxdmu);
  return energy[best];
}

// ------------------------------------------------------------------ options

struct pre_edge_options {
  std::optional<double> e0;     // edge energy (eV); unset: find_e0
  std::optional<double> pre1;   // pre-edge window start, eV relative to e0 (larch default)
  std::optional<double> pre2;   // pre-edge window end
  std::optional<double> norm1;  // post-edge window start
  std::optional<double> norm2;  // post-edge window end
  int nnorm = 2;                // post-edge polynomial degree: 0, 1 or 2
  std::optional<double> step;   // fixed edge step (larch `step`); unset: fitted
  bool make_flat = true;        // compute `flat` (else flat = norm)
};

// The windows as resolved on one grid: e0 snapped, defaults filled in,
// clamped to the data, and the index ranges the fits use ([begin, end)).
struct edge_windows {
  double e0 = 0;
  index_t ie0 = 0;
  double pre1 = 0, pre2 = 0, norm1 = 0, norm2 = 0;
  int nnorm = 2;
  index_t pre_begin = 0, pre_end = 0;
  index_t post_begin = 0, post_end = 0;
  bool flatten = false;  // make_flat and the post window holds > 4 points (larch)
};

namespace detail {

inline index_t larch_index_of(std::span<const double> e, double value) {
  // last index with e <= value; 0 when value is below the grid
  const auto it = std::upper_bound(e.begin(), e.end(), value);
  return it == e.begin() ? 0 : static_cast<index_t>(it - e.begin()) - 1;
}

inline index_t larch_index_nearest(std::span<const double> e, double value) {
  index_t best = 0;
  double best_d = std::abs(e[0] - value);
  for (index_t i = 1; i < static_cast<index_t>(e.size()); ++i) {
    const double d = std::abs(e[i] - value);
    if (d < best_d) {  // first occurrence on ties, as np.argmin
      best = i;
      best_d = d;
    }
  }
  return best;
}

// Python's round() rounds half to even, as nearbyint does in the default mode.
inline double py_round(double x) { return std::nearbyint(x); }

}  // namespace detail

// Resolves windows for a given e0 on `energy` (validated, strictly increasing).
inline edge_windows resolve_edge_windows(std::span<const double> energy, double e0,
                                         const pre_edge_options& options) {
  constexpr const char* c = "pre_edge";
  const auto n = static_cast<index_t>(energy.size());
  require(n >= 4, c, "energy count", "must be >= 4", n);
  require(options.nnorm >= 0 && options.nnorm <= 2, c, "nnorm", "must be 0, 1 or 2",
          options.nnorm);
  require(std::isfinite(e0) && e0 >= energy[1] && e0 <= energy[n - 2], c, "e0",
          "must lie within the energies [" + std::to_string(energy[1]) + ", " +
              std::to_string(energy[n - 2]) + "] (second to second-last point)",
          e0);
  for (const auto& [value, name] :
       {std::pair{options.pre1, "pre1"}, std::pair{options.pre2, "pre2"},
        std::pair{options.norm1, "norm1"}, std::pair{options.norm2, "norm2"}})
    if (value) require(std::isfinite(*value), c, name, "must be finite", *value);
  if (options.pre1 && options.pre2)
    require(*options.pre1 < *options.pre2, c, "pre1", "must be < pre2 = " +
            std::to_string(*options.pre2), *options.pre1);
  if (options.norm1 && options.norm2)
    require(*options.norm1 < *options.norm2, c, "norm1", "must be < norm2 = " +
            std::to_string(*options.norm2), *options.norm1);
  if (options.step)
    require(std::isfinite(*options.step) && *options.step != 0, c, "step",
            "must be finite and non-zero", *options.step);

  edge_windows w;
  w.nnorm = options.nnorm;
  w.ie0 = detail::larch_index_nearest(energy, e0);
  w.e0 = energy[w.ie0];
  const double emin = energy[0], emax = energy[n - 1];

  // Windows given by the caller must reach the data: checked on the values
  // as given, before larch's clamping could turn them into something else.
  if (options.pre2)
    require(w.e0 + *options.pre2 > emin, c, "pre2",
            "puts the pre-edge window below the data (first energy " + std::to_string(emin) +
                " eV, e0 " + std::to_string(w.e0) + " eV)",
            *options.pre2);
  if (options.pre1)
    require(w.e0 + *options.pre1 < emax, c, "pre1", "puts the pre-edge window above the data",
            *options.pre1);
  if (options.norm1)
    require(w.e0 + *options.norm1 < emax, c, "norm1",
            "puts the post-edge window above the data (last energy " + std::to_string(emax) +
                " eV, e0 " + std::to_string(w.e0) + " eV)",
            *options.norm1);
  if (options.norm2)
    require(w.e0 + *options.norm2 > emin, c, "norm2", "puts the post-edge window below the data",
            *options.norm2);

  double pre1 = 0;
  if (options.pre1) {
    pre1 = *options.pre1;
  } else if (w.ie0 > 20) {  // larch skips the first point, often bad
    pre1 = 5.0 * detail::py_round((energy[1] - w.e0) / 5.0);
  } else {
    pre1 = 2.0 * detail::py_round((energy[1] - w.e0) / 2.0);
  }
  pre1 = std::max(pre1, emin - w.e0);
  double pre2 = options.pre2 ? *options.pre2 : 5.0 * detail::py_round(pre1 / 15.0);
  if (pre1 > pre2) std::swap(pre1, pre2);  // only reachable through defaults/clamping
  double norm2 = options.norm2 ? *options.norm2 : 5.0 * detail::py_round((emax - w.e0) / 5.0);
  if (norm2 < 0) norm2 = emax - w.e0 - norm2;
  norm2 = std::min(norm2, emax - w.e0);
  double norm1 = options.norm1 ? *options.norm1 : std::min(150.0, 5.0 * detail::py_round(norm2 / 15.0));
  if (norm1 > norm2) std::swap(norm1, norm2);
  w.pre1 = pre1;
  w.pre2 = pre2;
  w.norm1 = norm1;
  w.norm2 = norm2;

  require(w.e0 + pre2 > emin, c, "pre2",
          "puts the pre-edge window below the data (first energy " + std::to_string(emin) +
              " eV, e0 " + std::to_string(w.e0) + " eV)",
          pre2);
  require(w.e0 + pre1 < emax, c, "pre1", "puts the pre-edge window above the data", pre1);
  require(w.e0 + norm1 < emax, c, "norm1",
          "puts the post-edge window above the data (last energy " + std::to_string(emax) +
              " eV, e0 " + std::to_string(w.e0) + " eV)",
          norm1);

  auto range = [&](double lo, double hi, index_t& begin, index_t& end) {
    begin = detail::larch_index_of(energy, lo + w.e0);
    end = detail::larch_index_nearest(energy, hi + w.e0);
    if (end - begin < 2) end = std::min(n, begin + 2);
  };
  range(pre1, pre2, w.pre_begin, w.pre_end);
  range(norm1, norm2, w.post_begin, w.post_end);
  require(w.pre_end - w.pre_begin >= 2, c, "pre-edge window",
          "must hold at least 2 energies for a line", w.pre_end - w.pre_begin);
  require(w.post_end - w.post_begin >= options.nnorm + 1, c, "post-edge window",
          "must hold at least nnorm + 1 = " + std::to_string(options.nnorm + 1) + " energies",
          w.post_end - w.post_begin);
  w.flatten = options.make_flat && (w.post_end - w.post_begin) > 4;
  return w;
}

// ------------------------------------------------------------------ the plan

// Everything pre_edge computes that depends only on the grid and windows.
// All coefficients are in powers of x = E - e0 (well conditioned, and the
// edge step is simply |c0|). Each coefficient is `sum_j w[j] mu[span_begin+j]`.
struct pre_edge_plan {
  edge_windows windows;
  std::vector<double> x;             // E - e0 for every band
  index_t span_begin = 0, span_end = 0;  // union of both windows
  std::vector<double> w_pre_value;   // pre(e0)
  std::vector<double> w_pre_slope;   // d pre / dE
  std::array<std::vector<double>, 3> w_post;  // c0, c1, c2 of post - pre (zero above nnorm)
  std::optional<double> fixed_step;

  index_t bands() const noexcept { return static_cast<index_t>(x.size()); }
  index_t span() const noexcept { return span_end - span_begin; }

  // Coefficients {pre value at e0, pre slope, c0, c1, c2} of one spectrum.
  template <std::floating_point T>
  std::array<double, 5> coefficients(std::span<const T> mu) const {
    std::array<double, 5> out{};
    const std::vector<double>* ws[5] = {&w_pre_value, &w_pre_slope, &w_post[0], &w_post[1],
                                        &w_post[2]};
    for (int k = 0; k < 5; ++k) {
      double s = 0;
      for (index_t j = 0; j < span(); ++j) s += (*ws[k])[j] * static_cast<double>(mu[span_begin + j]);
      out[k] = s;
    }
    return out;
  }

  // The fitted edge step |c0| alone (ignores fixed_step): one dot product.
  template <std::floating_point T>
  double fitted_edge_step(std::span<const T> mu) const {
    double s = 0;
    for (index_t j = 0; j < span(); ++j) s += w_post[0][j] * static_cast<double>(mu[span_begin + j]);
    return std::abs(s);
  }

  // sqrt(sum w_step^2): the edge step's standard deviation per unit of
  // white noise on mu (used by the sample mask's significance test).
  double step_noise_gain() const {
    double s = 0;
    for (double v : w_post[0]) s += v * v;
    return std::sqrt(s);
  }

  // sum |w_step|: bounds the rounding error of the edge step, eps * this *
  // max |mu|. A step within a few of those is "no edge" (a flat spectrum).
  double step_weight_l1() const {
    double s = 0;
    for (double v : w_post[0]) s += std::abs(v);
    return s;
  }
};

namespace detail {

// Pseudo-inverse rows of the polynomial design matrix on x[begin, end):
// row k gives coefficient k (of x^k) as a weighted sum of the y values.
inline Eigen::MatrixXd polyfit_weights(std::span<const double> x, index_t begin, index_t end,
                                       int degree) {
  const index_t m = end - begin;
  double scale = 0;
  for (index_t j = begin; j < end; ++j) scale = std::max(scale, std::abs(x[j]));
  if (scale == 0) scale = 1;
  Eigen::MatrixXd a(m, degree + 1);
  for (index_t j = 0; j < m; ++j) {
    const double t = x[begin + j] / scale;
    double p = 1;
    for (int k = 0; k <= degree; ++k, p *= t) a(j, k) = p;
  }
  // Column-pivoting QR on the scaled Vandermonde: numerically what
  // numpy.polyfit's scaled lstsq achieves. Then undo the scaling of t.
  Eigen::MatrixXd pinv = a.colPivHouseholderQr().solve(Eigen::MatrixXd::Identity(m, m));
  double s = 1;
  for (int k = 0; k <= degree; ++k, s *= scale) pinv.row(k) /= s;
  return pinv;
}

}  // namespace detail

// Builds the plan for `energy` with the edge at e0 (options.e0 is ignored).
inline pre_edge_plan make_pre_edge_plan(std::span<const double> energy, double e0,
                                        const pre_edge_options& options) {
  validate_energy_grid(energy, "pre_edge");
  pre_edge_plan plan;
  plan.windows = resolve_edge_windows(energy, e0, options);
  plan.fixed_step = options.step;
  const auto& w = plan.windows;
  const auto n = static_cast<index_t>(energy.size());
  plan.x.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) plan.x[i] = energy[i] - w.e0;
  plan.span_begin = std::min(w.pre_begin, w.post_begin);
  plan.span_end = std::max(w.pre_end, w.post_end);
  const auto len = static_cast<std::size_t>(plan.span());
  plan.w_pre_value.assign(len, 0.0);
  plan.w_pre_slope.assign(len, 0.0);
  for (auto& v : plan.w_post) v.assign(len, 0.0);

  const Eigen::MatrixXd pre = detail::polyfit_weights(plan.x, w.pre_begin, w.pre_end, 1);
  for (index_t j = w.pre_begin; j < w.pre_end; ++j) {
    plan.w_pre_value[j - plan.span_begin] = pre(0, j - w.pre_begin);
    plan.w_pre_slope[j - plan.span_begin] = pre(1, j - w.pre_begin);
  }
  // post coefficient k = P_k . (mu - a - b x) over the post window; with a and
  // b themselves weighted sums of mu, fold everything into one weight vector.
  const Eigen::MatrixXd post = detail::polyfit_weights(plan.x, w.post_begin, w.post_end, w.nnorm);
  for (int k = 0; k <= w.nnorm; ++k) {
    double sum_p = 0, sum_px = 0;
    for (index_t j = w.post_begin; j < w.post_end; ++j) {
      const double p = post(k, j - w.post_begin);
      plan.w_post[k][j - plan.span_begin] += p;
      sum_p += p;
      sum_px += p * plan.x[j];
    }
    for (std::size_t j = 0; j < len; ++j)
      plan.w_post[k][j] -= sum_p * plan.w_pre_value[j] + sum_px * plan.w_pre_slope[j];
  }
  return plan;
}

// ------------------------------------------------------------- one spectrum

struct pre_edge_result {
  double e0 = 0;        // snapped to the grid
  index_t ie0 = 0;
  double edge_step = 0;
  edge_windows windows;  // resolved pre1, pre2, norm1, norm2, nnorm and index ranges
  double pre_value = 0;  // pre-edge line: pre(E) = pre_value + pre_slope (E - e0)
  double pre_slope = 0;
  std::array<double, 3> post_coefs{};  // post(E) - pre(E) = sum c_k (E - e0)^k
  std::vector<double> pre_edge, post_edge, norm, flat;
};

// larch's pre_edge on one spectrum. Throws invalid_argument for non-finite
// mu, mismatched sizes, bad windows (see resolve_edge_windows) and a zero
// edge step.
inline pre_edge_result pre_edge(std::span<const double> energy, std::span<const double> mu,
                                const pre_edge_options& options = {}) {
  validate_energy_grid(energy, "pre_edge");
  const auto n = static_cast<index_t>(energy.size());
  require(static_cast<index_t>(mu.size()) == n, "pre_edge", "mu size",
          "must equal the energy count " + std::to_string(n), mu.size());
  for (index_t i = 0; i < n; ++i)
    require(std::isfinite(mu[i]), "pre_edge", "mu[" + std::to_string(i) + "]", "must be finite",
            mu[i]);
  const double e0 = options.e0 ? *options.e0 : find_e0(energy, mu);
  const pre_edge_plan plan = make_pre_edge_plan(energy, e0, options);
  const auto coef = plan.coefficients(mu);

  pre_edge_result r;
  r.windows = plan.windows;
  r.e0 = plan.windows.e0;
  r.ie0 = plan.windows.ie0;
  r.pre_value = coef[0];
  r.pre_slope = coef[1];
  r.post_coefs = {coef[2], coef[3], coef[4]};
  r.edge_step = std::abs(options.step ? *options.step : coef[2]);
  double mu_scale = 0;
  for (double v : mu) mu_scale = std::max(mu_scale, std::abs(v));
  require(r.edge_step > 16 * std::numeric_limits<double>::epsilon() * plan.step_weight_l1() * mu_scale ||
              options.step.has_value(),
          "pre_edge",
          "edge step", "must be non-zero (a flat spectrum has no edge to normalize by)",
          r.edge_step);
  const double inv = 1.0 / r.edge_step;
  r.pre_edge.resize(n);
  r.post_edge.resize(n);
  r.norm.resize(n);
  r.flat.resize(n);
  for (index_t i = 0; i < n; ++i) {
    const double x = plan.x[i];
    const double pre = coef[0] + coef[1] * x;
    const double poly = coef[2] + x * (coef[3] + x * coef[4]);
    r.pre_edge[i] = pre;
    r.post_edge[i] = pre + poly;
    r.norm[i] = (mu[i] - pre) * inv;
    r.flat[i] = (plan.windows.flatten && i >= plan.windows.ie0)
                    ? r.norm[i] - (poly - coef[2]) * inv
                    : r.norm[i];
  }
  return r;
}

// ------------------------------------------------------------- whole cubes

// Which spectrum normalize_cube writes.
enum class normalized_output { norm, flat };

// Where normalize_cube takes e0 from.
enum class cube_e0 {
  shared,     // one e0 for the field of view: edge.e0, else find_e0 of the mean spectrum
  per_pixel,  // each pixel's own: find_e0's rule on its Gaussian-smoothed derivative
};

struct normalize_cube_options {
  // Windows, nnorm, step. With e0_source = shared (the default): e0 unset =
  // find_e0 of the mean spectrum of the unmasked, finite pixels (one edge
  // energy for the whole field of view, as in full-field XANES practice).
  // Set it to impose one. With per_pixel, edge.e0 must be unset.
  pre_edge_options edge;
  normalized_output output = normalized_output::norm;
  cube_e0 e0_source = cube_e0::shared;
  // per_pixel: Gaussian smoothing of the derivative, sigma in eV (0 = none:
  // exactly find_e0 per pixel); unset = the median energy step of the grid.
  std::optional<double> e0_smoothing;
  int threads = 0;               // 0 = all cores
  bool keep_edge_step = true;    // fill the report's edge_step image
};

struct normalize_cube_report {
  edge_windows windows;          // e0 and windows as applied
  bool e0_from_mean = false;     // e0 found from the mean spectrum
  index_t pixels = 0;
  index_t normalized = 0;        // valid output spectra
  index_t masked_input = 0;      // excluded by the caller's mask (output 0)
  index_t masked_nonfinite = 0;  // NaN / Inf in the spectrum (output 0)
  index_t masked_no_edge = 0;    // edge step zero or non-finite (output 0)
  index_t masked_no_e0 = 0;      // per_pixel: no rising edge, or windows off the data (output 0)
  pixel_mask valid;              // 1 = normalized, 0 = masked (zeros written)
  image<float> edge_step;        // per-pixel edge step (0 where masked); empty unless kept
  image<float> e0;               // per_pixel: each pixel's (snapped) e0, 0 where masked
  index_t distinct_e0 = 0;       // per_pixel: how many different e0 (= plans built)
};

namespace detail {

// Adds the finite spectra among pixels [p0, p1) of `in` that `keep(p)`
// accepts to acc[0..bands), pixel by pixel in order; returns how many. One
// block of mean_finite_spectrum, shared with its streaming twin
// (parallel/tiled_statistics.hpp), which must reproduce it bit for bit.
template <class T, class Keep>
index_t add_finite_spectra(cube_view<const T> in, index_t p0, index_t p1, Keep&& keep, double* acc,
                           std::vector<double>& tmp) {
  const index_t bands = in.bands();
  tmp.resize(static_cast<std::size_t>(bands));
  index_t count = 0;
  for (index_t p = p0; p < p1; ++p) {
    if (!keep(p)) continue;
    const T* s = in.pixel_pointer(p);
    bool finite = true;
    for (index_t j = 0; j < bands; ++j) {
      tmp[j] = static_cast<double>(s[j]);
      finite = finite && std::isfinite(tmp[j]);
    }
    if (!finite) continue;
    for (index_t j = 0; j < bands; ++j) acc[j] += tmp[j];
    ++count;
  }
  return count;
}

// Pixels per block of mean_finite_spectrum (and of its streaming twin).
inline constexpr index_t mean_block_pixels = 4096;

// Mean spectrum of the unmasked pixels whose spectrum is finite; fixed
// blocks summed in block order, so the result is independent of threads.
template <class T>
std::vector<double> mean_finite_spectrum(cube_view<const T> in, mask_view mask, int threads) {
  const index_t n = in.pixel_count(), bands = in.bands();
  constexpr index_t block = mean_block_pixels;
  const index_t blocks = (n + block - 1) / block;
  std::vector<double> partial(static_cast<std::size_t>(blocks * bands), 0.0);
  std::vector<index_t> counts(static_cast<std::size_t>(blocks), 0);
  const bool use_mask = mask.pixel_count() > 0;
  parallel_for(blocks, threads, 1, [&](index_t b0, index_t b1, int) {
    std::vector<double> tmp;
    auto keep = [&](index_t p) { return !use_mask || mask[p] != 0; };
    for (index_t b = b0; b < b1; ++b)
      counts[b] = add_finite_spectra(in, b * block, std::min(n, (b + 1) * block), keep,
                                     partial.data() + b * bands, tmp);
  });
  std::vector<double> mean(static_cast<std::size_t>(bands), 0.0);
  index_t total = 0;
  for (index_t b = 0; b < blocks; ++b) {
    total += counts[b];
    for (index_t j = 0; j < bands; ++j) mean[j] += partial[b * bands + j];
  }
  require(total > 0, "normalize_cube", "input", "has no finite unmasked pixel", total);
  for (auto& v : mean) v /= static_cast<double>(total);
  return mean;
}

// The checks every whole-cube normalizer makes of its arguments: energy grid,
// an output of the input's shape and bands, a mask of the image's shape (or
// empty). Returns whether a mask is in use.
template <class T, class U>
bool check_cube_arguments(cube_view<const T> in, std::span<const double> energy,
                          cube_view<U> out, mask_view mask, const char* component) {
  validate_energy_grid(energy, component, in.bands());
  require(out.shape() == in.shape(), component, "out shape", "must equal the input shape",
          out.pixel_count());
  require(out.bands() == in.bands(), component, "out bands", "must equal the input bands",
          out.bands());
  const bool use_mask = mask.pixel_count() > 0;
  if (use_mask)
    require(mask.shape() == in.shape(), component, "mask shape",
            "must equal the cube's image shape", mask.pixel_count());
  return use_mask;
}

// One e0 for the field of view: the caller's, else find_e0 of the mean
// spectrum of the unmasked finite pixels. `from_mean` says which.
template <class T>
double shared_cube_e0(cube_view<const T> in, std::span<const double> energy,
                      std::optional<double> given, mask_view mask, int threads, bool& from_mean) {
  from_mean = !given;
  if (given) return *given;
  return find_e0(energy, mean_finite_spectrum(in, mask, threads));
}

// acc[q][k] = sum_j w[j * 8 + k] * src[q][j] for G pixels at once. GCC/Clang
// vector extensions make the 8 lanes one (float) or two (double) AVX
// registers: a guaranteed SIMD form that stays deterministic (no reordering
// of the sums across bands, no -ffast-math). Other compilers get the scalar
// loop, with identical results.
template <class T, int G>
inline void accumulate_coefficients(const T* const* src, const T* w, index_t bands,
                                    T (*acc)[8]) {
#if defined(__GNUC__) || defined(__clang__)
  constexpr int lanes = 32 / static_cast<int>(sizeof(T));
  constexpr int vectors = 8 / lanes;
  typedef T vec __attribute__((vector_size(32)));
  vec sum[G][vectors];
  for (int q = 0; q < G; ++q)
    for (int v = 0; v < vectors; ++v) sum[q][v] = vec{};
  for (index_t j = 0; j < bands; ++j) {
    vec wj[vectors];
    std::memcpy(wj, w + j * 8, sizeof wj);
    for (int q = 0; q < G; ++q) {
      const T m = src[q][j];
      for (int v = 0; v < vectors; ++v) sum[q][v] += wj[v] * m;
    }
  }
  for (int q = 0; q < G; ++q) std::memcpy(acc[q], sum[q], sizeof sum[q]);
#else
  for (int q = 0; q < G; ++q)
    for (int k = 0; k < 8; ++k) acc[q][k] = T(0);
  for (index_t j = 0; j < bands; ++j)
    for (int q = 0; q < G; ++q)
      for (int k = 0; k < 8; ++k) acc[q][k] += w[j * 8 + k] * src[q][j];
#endif
}

// The smoothed derivative of mu as one banded linear operator in diagonal
// storage: d[i] = sum_o w[o][i] mu[i + o - half]. It is np.gradient(mu) /
// np.gradient(E) (find_e0's derivative) followed by a Gaussian of sigma eV,
// normalized per band (non-uniform grids). Diagonal storage makes the inner
// loop run over contiguous bands: it vectorizes, for any grid.
struct derivative_operator {
  index_t bands = 0, half = 0;
  std::vector<double> w;  // (2 half + 1) x bands
  double operator()(index_t o, index_t i) const { return w[o * bands + i]; }
};

inline derivative_operator make_derivative_operator(std::span<const double> e, double sigma) {
  const auto n = static_cast<index_t>(e.size());
  // plain derivative: row i of D
  auto d_row = [&](index_t i, index_t j) {  // coefficient of mu[j] in gradient(mu)[i]/gradient(E)[i]
    if (i == 0) { const double g = e[1] - e[0]; return j == 1 ? 1 / g : j == 0 ? -1 / g : 0.0; }
    if (i == n - 1) { const double g = e[n - 1] - e[n - 2]; return j == n - 1 ? 1 / g : j == n - 2 ? -1 / g : 0.0; }
    const double g = (e[i + 1] - e[i - 1]) / 2.0;
    return j == i + 1 ? 0.5 / g : j == i - 1 ? -0.5 / g : 0.0;
  };
  std::vector<std::vector<std::pair<index_t, double>>> smooth(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    if (sigma <= 0) {
      smooth[i].push_back({i, 1.0});
      continue;
    }
    double total = 0;
    for (index_t k = 0; k < n; ++k) {
      const double z = (e[k] - e[i]) / sigma;
      if (std::abs(z) > 3) continue;
      const double g = std::exp(-0.5 * z * z);
      smooth[i].push_back({k, g});
      total += g;
    }
    for (auto& [k, g] : smooth[i]) g /= total;
  }
  derivative_operator op;
  op.bands = n;
  for (index_t i = 0; i < n; ++i)
    for (const auto& [k, g] : smooth[i]) {
      (void)g;
      op.half = std::max({op.half, std::abs(k - 1 - i), std::abs(k + 1 - i)});
    }
  op.half = std::min(op.half, n - 1);
  const index_t width = 2 * op.half + 1;
  op.w.assign(static_cast<std::size_t>(width * n), 0.0);
  for (index_t i = 0; i < n; ++i)
    for (const auto& [k, g] : smooth[i])
      for (index_t j = std::max<index_t>(0, k - 1); j <= std::min(n - 1, k + 1); ++j)
        op.w[(j - i + op.half) * n + i] += g * d_row(k, j);
  return op;
}

// max(d[lo..hi)) as 256-bit vector maxima (GCC/Clang vector extensions;
// max is exact in any order, so this equals the serial loop bit for bit);
// -inf for an empty range.
template <class V>
V max_of(const V* d, index_t lo, index_t hi) {
  V r = -std::numeric_limits<V>::infinity();
  index_t i = lo;
#if defined(__GNUC__) || defined(__clang__)
  constexpr int lanes = 32 / static_cast<int>(sizeof(V));
  typedef V vec __attribute__((vector_size(32)));
  vec m;
  for (int l = 0; l < lanes; ++l) m[l] = r;
  for (; i + lanes <= hi; i += lanes) {
    vec x;
    std::memcpy(&x, d + i, sizeof x);
    m = x > m ? x : m;
  }
  for (int l = 0; l < lanes; ++l) r = m[l] > r ? m[l] : r;
#endif
  for (; i < hi; ++i) r = d[i] > r ? d[i] : r;
  return r;
}

// find_e0's selection rule on a derivative: the largest value whose two
// neighbours exceed 10% of the maximum, ends (nmin points) excluded.
// Returns -1 when there is none (no rising edge) or the derivative is not
// finite. As passes that vectorize: the maximum, the qualifying values
// (elementwise, into `scratch`, n values), their maximum, then the first
// index holding it (find_e0's first-occurrence tie rule).
template <class V>
index_t select_e0_index(const V* d, index_t n, index_t nmin, V* scratch) {
  const V maxd = max_of(d, nmin, n - nmin);
  if (!(maxd > V(0)) || !std::isfinite(static_cast<double>(maxd))) return -1;
  const V cut = maxd * V(0.1);
  const index_t top = std::min(n - nmin, n - 2);  // candidates [nmin, top], inclusive
  for (index_t k = nmin; k <= top; ++k) {
    const bool ok = (d[k] > cut) & (d[k - 1] > cut) & (d[k + 1] > cut);
    scratch[k] = ok ? d[k] : V(0);
  }
  const V best = max_of(scratch, nmin, top + 1);
  if (!(best > V(0))) return -1;
  for (index_t k = nmin; k <= top; ++k)
    if (scratch[k] == best) return k;
  return -1;  // unreachable
}

// True when every value is finite: one OR over the exponent bits (integer
// work, vectorized; a floating-point sum would be a serial chain).
template <class V>
bool all_finite(const V* v, index_t n) {
  using bits_t = std::conditional_t<sizeof(V) == 4, std::uint32_t, std::uint64_t>;
  constexpr bits_t exponent = sizeof(V) == 4 ? bits_t(0x7f800000u) : bits_t(0x7ff0000000000000ull);
  bits_t bad = 0;
  for (index_t j = 0; j < n; ++j) {
    bits_t b;
    std::memcpy(&b, v + j, sizeof b);
    bad |= bits_t((b & exponent) == exponent);
  }
  return bad == 0;
}

}  // namespace detail

// Each pixel's e0 index (the grid index nearest its e0) by find_e0's rule on
// its derivative smoothed with a Gaussian of sigma eV (0: exactly find_e0).
// -1 for pixels masked, non-finite, or without a rising edge. The derivative
// runs in T over contiguous bands (diagonal storage): vectorized.
template <class InT>
  requires std::floating_point<std::remove_const_t<InT>>
std::vector<std::int32_t> find_e0_per_pixel(cube_view<InT> input, std::span<const double> energy,
                                            double sigma, mask_view mask = {}, int threads = 0) {
  using T = std::remove_const_t<InT>;
  const cube_view<const T> in = input;
  constexpr const char* c = "find_e0_per_pixel";
  validate_energy_grid(energy, c, in.bands());
  require(std::isfinite(sigma) && sigma >= 0, c, "sigma", "must be finite and >= 0 (eV)", sigma);
  const index_t n = in.bands();
  const index_t nmin = std::max<index_t>(3, static_cast<index_t>(static_cast<double>(n) * 0.05));
  require(n > 2 * nmin, c, "energy count",
          "must exceed twice the " + std::to_string(nmin) + " excluded end points", n);
  const bool use_mask = mask.pixel_count() > 0;
  if (use_mask)
    require(mask.shape() == in.shape(), c, "mask shape", "must equal the cube's image shape",
            mask.pixel_count());
  const auto op = detail::make_derivative_operator(energy, sigma);
  const index_t width = 2 * op.half + 1, h = op.half;
  std::vector<T> w(op.w.size());
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = static_cast<T>(op.w[k]);
  std::vector<std::int32_t> result(static_cast<std::size_t>(in.pixel_count()), -1);
  parallel_for(in.pixel_count(), threads, 1024, [&](index_t begin, index_t end, int) {
    std::vector<T> padded(static_cast<std::size_t>(n + 2 * h), T(0));
    std::vector<T> d(static_cast<std::size_t>(n)), scratch(static_cast<std::size_t>(n));
    for (index_t p = begin; p < end; ++p) {
      if (use_mask && mask[p] == 0) continue;
      const T* s = in.pixel_pointer(p);
      if (!detail::all_finite(s, n)) continue;
      std::copy(s, s + n, padded.begin() + h);
      // the selection rule reads bands nmin-1 .. n-nmin+1 only
      const index_t i0 = nmin - 1, i1 = std::min(n, n - nmin + 2);
      std::fill(d.begin() + i0, d.begin() + i1, T(0));
      for (index_t o = 0; o < width; ++o) {
        const T* __restrict wo = w.data() + o * n;
        const T* __restrict src = padded.data() + o;  // = mu[i + o - h]
        T* __restrict dst = d.data();
        for (index_t i = i0; i < i1; ++i) dst[i] += wo[i] * src[i];
      }
      result[p] = static_cast<std::int32_t>(detail::select_e0_index(d.data(), n, nmin, scratch.data()));
    }
  });
  return result;
}

// Normalizes every pixel of `in` into `out` (same shape and bands; `out` may
// be `in` itself for in-place work when the types match, but must not
// partially overlap it). `mask` (optional, empty = all pixels) excludes
// pixels; masked, non-finite and edgeless pixels get an all-zero spectrum
// and valid = 0: never NaN. Results do not depend on the thread count.
template <class InT, std::floating_point U, class Progress = no_progress>
  requires std::floating_point<std::remove_const_t<InT>> && progress_observer<Progress>
normalize_cube_report normalize_cube(cube_view<InT> input, std::span<const double> energy,
                                     const normalize_cube_options& options, cube_view<U> out,
                                     mask_view mask = {}, Progress&& progress = {}) {
  using T = std::remove_const_t<InT>;
  const cube_view<const T> in = input;
  static_assert(check_progress_observer<Progress>());
  constexpr const char* c = "normalize_cube";
  const bool use_mask = detail::check_cube_arguments(in, energy, out, mask, c);

  normalize_cube_report report;
  report.pixels = in.pixel_count();
  report.valid = pixel_mask(in.shape(), 0);
  if (options.keep_edge_step) report.edge_step = image<float>(in.shape(), 0.0f);
  if (in.pixel_count() == 0) return report;

  // One prepared plan per distinct e0: the weight matrix bands x 8
  // (row-major, padded): columns pre value, pre slope, c0, c1, c2, then a
  // column of ones whose dot product (the spectrum's sum) is non-finite
  // exactly when some band is: the NaN check costs one lane.
  constexpr int K = 8;
  const index_t bands = in.bands();
  struct prepared_plan {
    std::vector<T> weights;
    std::vector<U> xs;
    index_t ie0 = 0;
    bool flatten = false;
    double no_edge_gain = 0;
    bool usable = true;  // per_pixel: windows fit the data for this e0
  };
  auto prepare = [&](const pre_edge_plan& plan) {
    prepared_plan pp;
    pp.weights.assign(static_cast<std::size_t>(bands * K), T(0));
    const std::vector<double>* ws[5] = {&plan.w_pre_value, &plan.w_pre_slope, &plan.w_post[0],
                                        &plan.w_post[1], &plan.w_post[2]};
    for (index_t j = 0; j < bands; ++j) {
      pp.weights[j * K + 5] = T(1);
      if (j >= plan.span_begin && j < plan.span_end)
        for (int k = 0; k < 5; ++k)
          pp.weights[j * K + k] = static_cast<T>((*ws[k])[j - plan.span_begin]);
    }
    pp.xs.resize(static_cast<std::size_t>(bands));
    for (index_t j = 0; j < bands; ++j) pp.xs[j] = static_cast<U>(plan.x[j]);
    pp.ie0 = plan.windows.ie0;
    pp.flatten = options.output == normalized_output::flat && plan.windows.flatten;
    // Rounding noise of the step per unit of spectrum level (see step_weight_l1).
    pp.no_edge_gain = 16.0 * std::numeric_limits<T>::epsilon() * plan.step_weight_l1() /
                      static_cast<double>(bands);
    return pp;
  };
  const std::optional<double> fixed_step = options.edge.step;

  std::vector<prepared_plan> plans;
  std::vector<std::int32_t> plan_of;  // per_pixel: plan index per pixel, -1 = no e0
  const bool per_pixel = options.e0_source == cube_e0::per_pixel;
  if (!per_pixel) {
    const double e0 = detail::shared_cube_e0(in, energy, options.edge.e0, mask, options.threads,
                                             report.e0_from_mean);
    const pre_edge_plan plan = make_pre_edge_plan(energy, e0, options.edge);
    report.windows = plan.windows;
    plans.push_back(prepare(plan));
  } else {
    require(!options.edge.e0, c, "edge.e0", "must be unset with e0_source = per_pixel",
            options.edge.e0.value_or(0.0));
    double sigma = 0;
    if (options.e0_smoothing) {
      sigma = *options.e0_smoothing;
    } else {
      std::vector<double> steps;
      for (std::size_t j = 1; j < energy.size(); ++j) steps.push_back(energy[j] - energy[j - 1]);
      std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
      sigma = steps[steps.size() / 2];
    }
    plan_of = find_e0_per_pixel(in, energy, sigma, mask, options.threads);
    // A plan for each e0 that occurs (serial: at most `bands` of them, each a
    // few small QRs). An e0 whose windows leave the data masks its pixels.
    std::vector<std::int32_t> slot(static_cast<std::size_t>(bands), -2);
    for (auto& ie : plan_of) {
      if (ie < 0) continue;
      if (slot[ie] == -2) {
        slot[ie] = static_cast<std::int32_t>(plans.size());
        try {
          plans.push_back(prepare(make_pre_edge_plan(energy, energy[ie], options.edge)));
        } catch (const invalid_argument&) {
          prepared_plan bad;
          bad.usable = false;
          plans.push_back(std::move(bad));
        }
      }
      ie = slot[ie];
    }
    report.distinct_e0 = static_cast<index_t>(plans.size());
    report.e0 = image<float>(in.shape(), 0.0f);
  }

  // G pixels at a time (sharing one plan): G independent accumulator rows
  // keep the FMA units busy; each row is the 8 coefficient lanes of one pixel
  // (one 256-bit register in float, two in double), so a band costs one
  // broadcast and one FMA per pixel (see detail::accumulate_coefficients).
  constexpr int G = sizeof(T) == 4 ? 8 : 4;
  const index_t n = in.pixel_count();
  struct counts_t {
    index_t normalized = 0, masked_input = 0, nonfinite = 0, no_edge = 0, no_e0 = 0;
  };
  const int workers = resolve_threads(options.threads);
  std::vector<counts_t> counts(static_cast<std::size_t>(workers));

  // Pixels go through in blocks; in per_pixel mode a block's pixels are
  // ordered by plan (counting sort) so that every 8-pixel group shares one
  // plan even when neighbouring pixels alternate between e0 values.
  constexpr index_t block = 512;
  const std::size_t plan_count = plans.size();
  parallel_for(n, options.threads, 1024, [&](index_t begin, index_t end, int worker) {
    counts_t local;
    index_t ids[G];
    const T* src[G];
    T acc[G][K];
    std::vector<index_t> order, sorted;
    std::vector<index_t> bucket(per_pixel ? plan_count + 1 : 0);
    order.reserve(block);
    sorted.resize(per_pixel ? block : 0);
    index_t since_report = 0;
    for (index_t b0 = begin; b0 < end; b0 += block) {
      const index_t b1 = std::min(end, b0 + block);
      order.clear();
      for (index_t p = b0; p < b1; ++p) {
        U* o = out.pixel_pointer(p);
        if (use_mask && mask[p] == 0) {
          ++local.masked_input;
          std::fill(o, o + bands, U(0));
          continue;
        }
        if (per_pixel) {
          const std::int32_t k = plan_of[p];
          if (k < 0 || !plans[k].usable) {
            // no e0: a non-finite spectrum says so; otherwise no rising edge
            // (or windows that leave the data at that e0)
            const T* s = in.pixel_pointer(p);
            bool finite = true;
            for (index_t j = 0; j < bands; ++j) finite = finite && std::isfinite(static_cast<double>(s[j]));
            if (!finite) ++local.nonfinite; else ++local.no_e0;
            std::fill(o, o + bands, U(0));
            continue;
          }
        }
        order.push_back(p);
      }
      if (per_pixel) {
        std::fill(bucket.begin(), bucket.end(), index_t(0));
        for (index_t p : order) ++bucket[plan_of[p] + 1];
        for (std::size_t k = 1; k <= plan_count; ++k) bucket[k] += bucket[k - 1];
        for (index_t p : order) sorted[bucket[plan_of[p]]++] = p;
        std::copy(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(order.size()),
                  order.begin());
      }
      for (std::size_t i = 0; i < order.size();) {
        const std::int32_t group_plan = per_pixel ? plan_of[order[i]] : 0;
        int g = 0;
        for (; i < order.size() && g < G && (!per_pixel || plan_of[order[i]] == group_plan); ++i, ++g) {
          ids[g] = order[i];
          src[g] = in.pixel_pointer(order[i]);
        }
        const prepared_plan& pp = plans[group_plan];
        const U* xs = pp.xs.data();
        for (int q = g; q < G; ++q) src[q] = src[0];  // pad the tail; results ignored
        detail::accumulate_coefficients<T, G>(src, pp.weights.data(), bands, acc);
        for (int q = 0; q < g; ++q) {
          const index_t id = ids[q];
          U* o = out.pixel_pointer(id);
          const double step = std::abs(fixed_step ? *fixed_step : static_cast<double>(acc[q][2]));
          const bool finite = std::isfinite(static_cast<double>(acc[q][5])) &&
                              std::isfinite(static_cast<double>(acc[q][0])) &&
                              std::isfinite(static_cast<double>(acc[q][1]));
          const double level = std::abs(static_cast<double>(acc[q][5]));  // |sum| = bands |mean|
          if (!finite || !(step > pp.no_edge_gain * level) || !std::isfinite(step)) {
            if (!finite) ++local.nonfinite; else ++local.no_edge;
            std::fill(o, o + bands, U(0));
            continue;
          }
          const U inv = static_cast<U>(1.0 / step);
          const U a = static_cast<U>(acc[q][0]), b = static_cast<U>(acc[q][1]);
          const T* s = src[q];
          // s and o may be the same memory (in place): each element is read
          // before it is written, and coefficients were taken above.
          for (index_t j = 0; j < bands; ++j)
            o[j] = (static_cast<U>(s[j]) - a - b * xs[j]) * inv;
          if (pp.flatten) {
            const U c1 = static_cast<U>(acc[q][3]) * inv, c2 = static_cast<U>(acc[q][4]) * inv;
            for (index_t j = pp.ie0; j < bands; ++j) o[j] -= xs[j] * (c1 + c2 * xs[j]);
          }
          report.valid[id] = 1;
          if (options.keep_edge_step) report.edge_step[id] = static_cast<float>(step);
          if (per_pixel) report.e0[id] = static_cast<float>(energy[pp.ie0]);
          ++local.normalized;
        }
      }
      if (worker == 0 && (since_report += block) >= 65536) {
        since_report = 0;
        progress("normalize", (b1 - begin) * workers, n);
      }
    }
    counts[worker] = local;
  });
  for (const auto& k : counts) {
    report.normalized += k.normalized;
    report.masked_input += k.masked_input;
    report.masked_nonfinite += k.nonfinite;
    report.masked_no_edge += k.no_edge;
    report.masked_no_e0 += k.no_e0;
  }
  progress("normalize", n, n);
  return report;
}

// Any spectral_cube (cube, cube_view, xtensor, Eigen adapters) into a cube_view.
template <spectral_cube C, std::floating_point U>
normalize_cube_report normalize_cube(const C& in, std::span<const double> energy,
                                     const normalize_cube_options& options, cube_view<U> out,
                                     mask_view mask = {}) {
  return normalize_cube(view_of(in), energy, options, out, mask);
}

}  // namespace spectromine
