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
// a cube, in float or double, multithreaded with parallel_for.
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

struct normalize_cube_options {
  // Windows, nnorm, step. e0 unset: find_e0 of the mean spectrum of the
  // unmasked, finite pixels (one edge energy for the whole field of view,
  // as in full-field XANES practice; per-pixel e0 on noisy pixels is not
  // robust). Set it to impose one.
  pre_edge_options edge;
  normalized_output output = normalized_output::norm;
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
  pixel_mask valid;              // 1 = normalized, 0 = masked (zeros written)
  image<float> edge_step;        // per-pixel edge step (0 where masked); empty unless kept
};

namespace detail {

// Mean spectrum of the unmasked pixels whose spectrum is finite; fixed
// blocks summed in block order, so the result is independent of threads.
template <class T>
std::vector<double> mean_finite_spectrum(cube_view<const T> in, mask_view mask, int threads) {
  const index_t n = in.pixel_count(), bands = in.bands();
  constexpr index_t block = 4096;
  const index_t blocks = (n + block - 1) / block;
  std::vector<double> partial(static_cast<std::size_t>(blocks * bands), 0.0);
  std::vector<index_t> counts(static_cast<std::size_t>(blocks), 0);
  const bool use_mask = mask.pixel_count() > 0;
  parallel_for(blocks, threads, 1, [&](index_t b0, index_t b1, int) {
    std::vector<double> tmp(static_cast<std::size_t>(bands));
    for (index_t b = b0; b < b1; ++b) {
      double* acc = partial.data() + b * bands;
      for (index_t p = b * block; p < std::min(n, (b + 1) * block); ++p) {
        if (use_mask && mask[p] == 0) continue;
        const T* s = in.pixel_pointer(p);
        bool finite = true;
        for (index_t j = 0; j < bands; ++j) {
          tmp[j] = static_cast<double>(s[j]);
          finite = finite && std::isfinite(tmp[j]);
        }
        if (!finite) continue;
        for (index_t j = 0; j < bands; ++j) acc[j] += tmp[j];
        ++counts[b];
      }
    }
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

}  // namespace detail

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
  validate_energy_grid(energy, c, in.bands());
  require(out.shape() == in.shape(), c, "out shape", "must equal the input shape",
          out.pixel_count());
  require(out.bands() == in.bands(), c, "out bands", "must equal the input bands", out.bands());
  const bool use_mask = mask.pixel_count() > 0;
  if (use_mask)
    require(mask.shape() == in.shape(), c, "mask shape", "must equal the cube's image shape",
            mask.pixel_count());

  normalize_cube_report report;
  report.pixels = in.pixel_count();
  report.valid = pixel_mask(in.shape(), 0);
  if (options.keep_edge_step) report.edge_step = image<float>(in.shape(), 0.0f);
  if (in.pixel_count() == 0) return report;

  double e0 = 0;
  if (options.edge.e0) {
    e0 = *options.edge.e0;
  } else {
    const auto mean = detail::mean_finite_spectrum(in, mask, options.threads);
    e0 = find_e0(energy, mean);
    report.e0_from_mean = true;
  }
  const pre_edge_plan plan = make_pre_edge_plan(energy, e0, options.edge);
  report.windows = plan.windows;

  // Weight matrix bands x 8 (row-major, padded): columns pre value, pre slope,
  // c0, c1, c2, then a column of ones whose dot product (the spectrum's sum) is
  // non-finite exactly when some band is: the NaN check costs one lane.
  constexpr int K = 8;
  const index_t bands = in.bands();
  std::vector<T> weights(static_cast<std::size_t>(bands * K), T(0));
  {
    const std::vector<double>* ws[5] = {&plan.w_pre_value, &plan.w_pre_slope, &plan.w_post[0],
                                        &plan.w_post[1], &plan.w_post[2]};
    for (index_t j = 0; j < bands; ++j) {
      weights[j * K + 5] = T(1);
      if (j >= plan.span_begin && j < plan.span_end)
        for (int k = 0; k < 5; ++k) weights[j * K + k] = static_cast<T>((*ws[k])[j - plan.span_begin]);
    }
  }
  std::vector<U> xs(static_cast<std::size_t>(bands));
  for (index_t j = 0; j < bands; ++j) xs[j] = static_cast<U>(plan.x[j]);
  const index_t ie0 = plan.windows.ie0;
  const bool flatten = options.output == normalized_output::flat && plan.windows.flatten;
  const std::optional<double> fixed_step = plan.fixed_step;
  // Rounding noise of the step per unit of spectrum level (see step_weight_l1).
  const double no_edge_gain = 16.0 * std::numeric_limits<T>::epsilon() * plan.step_weight_l1() /
                              static_cast<double>(bands);

  // G pixels at a time: G independent accumulator rows keep the FMA units
  // busy; each row is the 8 coefficient lanes of one pixel (one 256-bit
  // register in float, two in double), so a band costs one broadcast and one
  // FMA per pixel (see detail::accumulate_coefficients).
  constexpr int G = sizeof(T) == 4 ? 8 : 4;
  const index_t n = in.pixel_count();
  struct counts_t {
    index_t normalized = 0, masked_input = 0, nonfinite = 0, no_edge = 0;
  };
  const int workers = resolve_threads(options.threads);
  std::vector<counts_t> counts(static_cast<std::size_t>(workers));
  const T* w = weights.data();

  parallel_for(n, options.threads, 1024, [&](index_t begin, index_t end, int worker) {
    counts_t local;
    index_t ids[G];
    const T* src[G];
    T acc[G][K];
    index_t p = begin;
    index_t since_report = 0;
    while (p < end) {
      int g = 0;
      for (; p < end && g < G; ++p) {
        if (use_mask && mask[p] == 0) {
          ++local.masked_input;
          U* o = out.pixel_pointer(p);
          std::fill(o, o + bands, U(0));
          continue;
        }
        ids[g] = p;
        src[g] = in.pixel_pointer(p);
        ++g;
      }
      if (g == 0) continue;
      for (int q = g; q < G; ++q) src[q] = src[0];  // pad the tail; results ignored
      detail::accumulate_coefficients<T, G>(src, w, bands, acc);
      for (int q = 0; q < g; ++q) {
        const index_t id = ids[q];
        U* o = out.pixel_pointer(id);
        const double step = std::abs(fixed_step ? *fixed_step : static_cast<double>(acc[q][2]));
        const bool finite = std::isfinite(static_cast<double>(acc[q][5])) &&
                            std::isfinite(static_cast<double>(acc[q][0])) &&
                            std::isfinite(static_cast<double>(acc[q][1]));
        const double level = std::abs(static_cast<double>(acc[q][5]));  // |sum| = bands |mean|
        if (!finite || !(step > no_edge_gain * level) || !std::isfinite(step)) {
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
        if (flatten) {
          const U c1 = static_cast<U>(acc[q][3]) * inv, c2 = static_cast<U>(acc[q][4]) * inv;
          for (index_t j = ie0; j < bands; ++j) o[j] -= xs[j] * (c1 + c2 * xs[j]);
        }
        report.valid[id] = 1;
        if (options.keep_edge_step) report.edge_step[id] = static_cast<float>(step);
        ++local.normalized;
      }
      if (worker == 0 && (since_report += G) >= 65536) {
        since_report = 0;
        progress("normalize", (p - begin) * workers, n);
      }
    }
    counts[worker] = local;
  });
  for (const auto& k : counts) {
    report.normalized += k.normalized;
    report.masked_input += k.masked_input;
    report.masked_nonfinite += k.nonfinite;
    report.masked_no_edge += k.no_edge;
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
