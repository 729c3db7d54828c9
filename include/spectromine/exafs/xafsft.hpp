// spectromine/exafs/xafsft.hpp: the XAFS Fourier transforms chi(k) -> chi(R)
// (xftf) and chi(R) -> chi(q) (xftr), with xraylarch's conventions.
//
// Conventions (larch.xafs.xafsft, which we match number for number):
// - chi(k) lives on the uniform grid k_i = i kstep (kstep 0.05 1/A); it is
//   k-weighted, multiplied by the window, zero-padded to nfft = 2048 points.
// - forward:  chi(R_j) = kstep / sqrt(pi) * sum_i x_i exp(-2 pi i ij / nfft),
//   R_j = j pi / (kstep nfft) (0.0307 A), j < nfft/2; the output stops at
//   rmax_out (10 A).
// - reverse:  chi(q_j) = 4 sqrt(pi) / kstep * (1/nfft) sum_i y_i exp(+2 pi i ij / nfft),
//   with kstep = pi / (rstep nfft), times 1/2 when the input is the complex
//   chi(R) (larch's convention, so that a forward-then-back transform of a
//   real chi(k) returns it on the window's plateau).
// The transforms use Eigen's FFT module (kissfft backend).
#pragma once

#include <unsupported/Eigen/FFT>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spectromine/error.hpp"
#include "spectromine/exafs/window.hpp"

namespace spectromine::exafs {

using complex = std::complex<double>;

namespace detail {

// One FFT engine per thread: kissfft caches its plans (twiddle tables) per
// size, and building them costs more than the transform itself.
inline Eigen::FFT<double>& fft_engine() {
  thread_local Eigen::FFT<double> engine;
  return engine;
}

inline void check_fft_size(int nfft, std::size_t points, const char* what) {
  require(nfft >= 2, "exafs", "nfft", "must be >= 2", nfft);
  require(points <= static_cast<std::size_t>(nfft), "exafs", what,
          "must have at most nfft = " + std::to_string(nfft) + " points", points);
}

}  // namespace detail

// Forward transform of data already weighted and windowed on the uniform
// grid: kstep / sqrt(pi) * FFT(zero-padded x)[0 .. nfft/2).
inline std::vector<complex> xftf_fast(std::span<const double> chi, int nfft = 2048,
                                      double kstep = 0.05) {
  detail::check_fft_size(nfft, chi.size(), "chi(k)");
  std::vector<double> padded(static_cast<std::size_t>(nfft), 0.0);
  std::copy(chi.begin(), chi.end(), padded.begin());
  std::vector<complex> spectrum;
  detail::fft_engine().fwd(spectrum, padded);
  spectrum.resize(static_cast<std::size_t>(nfft / 2));
  const double scale = kstep / std::sqrt(std::numbers::pi);
  for (auto& v : spectrum) v *= scale;
  return spectrum;
}

// Reverse transform of data already weighted and windowed on the uniform R
// grid: 4 sqrt(pi) / kstep * IFFT(zero-padded chir)[0 .. nfft/2) (IFFT
// includes 1/nfft, as numpy's).
inline std::vector<complex> xftr_fast(std::span<const complex> chir, int nfft = 2048,
                                      double kstep = 0.05) {
  detail::check_fft_size(nfft, chir.size(), "chi(R)");
  std::vector<complex> padded(static_cast<std::size_t>(nfft), complex{});
  std::copy(chir.begin(), chir.end(), padded.begin());
  std::vector<complex> out;
  detail::fft_engine().inv(out, padded);
  out.resize(static_cast<std::size_t>(nfft / 2));
  const double scale = 4 * std::sqrt(std::numbers::pi) / kstep;
  for (auto& v : out) v *= scale;
  return out;
}

struct xftf_options {
  double kmin = 0.0;          // window start (1/A)
  double kmax = 20.0;         // window end (1/A)
  double dk = 1.0;            // taper width (Kaiser: shape parameter)
  std::optional<double> dk2;  // taper at kmax; unset = dk
  double kweight = 0.0;       // chi(k) is multiplied by k^kweight
  window_kind window = window_kind::kaiser;  // larch's xftf default
  double rmax_out = 10.0;     // last R (A) reported
  int nfft = 2048;
  double kstep = 0.05;
};

// chi(R) and what produced it.
struct chir_result {
  std::vector<double> r;        // R grid (A), pi / (kstep nfft) spacing, up to rmax_out
  std::vector<complex> chir;    // complex chi(R)
  std::vector<double> mag, re, im;  // |chi(R)|, Re, Im
  std::vector<double> k;        // the uniform k grid transformed
  std::vector<double> kwin;     // the window on that grid
  std::vector<double> chik_weighted;  // k^kweight chi(k) on that grid (before the window)
};

// xftf: chi(k) given on any increasing k grid (linearly interpolated onto
// k_i = i kstep, as larch's xftf_prep) -> chi(R).
inline chir_result xftf(std::span<const double> k, std::span<const double> chi,
                        const xftf_options& options = {}) {
  require(k.size() >= 2, "xftf", "k", "must have >= 2 points", k.size());
  require(chi.size() == k.size(), "xftf", "chi",
          "must have as many points as k (" + std::to_string(k.size()) + ")", chi.size());
  for (std::size_t i = 0; i < k.size(); ++i) {
    require(std::isfinite(k[i]) && std::isfinite(chi[i]), "xftf", "chi(k)",
            "must be finite at every point; index", i);
    if (i > 0 && !(k[i] > k[i - 1]))
      throw_invalid("xftf", "k[" + std::to_string(i) + "]",
                    "must be strictly greater than the previous k", k[i]);
  }
  require(std::isfinite(options.kstep) && options.kstep > 0, "xftf", "kstep", "must be > 0",
          options.kstep);
  require(std::isfinite(options.kmin) && options.kmin >= 0, "xftf", "kmin", "must be >= 0",
          options.kmin);
  require(std::isfinite(options.kmax) && options.kmax > options.kmin, "xftf", "kmax",
          "must be > kmin = " + std::to_string(options.kmin), options.kmax);
  require(std::isfinite(options.dk) && options.dk >= 0, "xftf", "dk", "must be >= 0",
          options.dk);
  require(std::isfinite(options.kweight), "xftf", "kweight", "must be finite", options.kweight);
  require(std::isfinite(options.rmax_out) && options.rmax_out > 0, "xftf", "rmax_out",
          "must be > 0", options.rmax_out);
  const double dk2 = options.dk2.value_or(options.dk);
  const double kstep = options.kstep;

  // xftf_prep: interpolate onto a grid long enough for the window (to
  // kmax + dk2), then keep the points up to the data's last k.
  const double kdata = std::max(0.0, k.back());
  const auto npts = static_cast<std::size_t>(1.01 + kdata / kstep);
  const double kgrid_max = std::max(kdata, options.kmax + dk2);
  const auto ngrid = std::max<std::size_t>(2, static_cast<std::size_t>(1.01 + kgrid_max / kstep));
  std::vector<double> kg(ngrid);
  for (std::size_t i = 0; i < ngrid; ++i) kg[i] = kstep * static_cast<double>(i);
  const auto window = ftwindow(kg, {options.window, options.kmin, options.kmax, options.dk, dk2});
  detail::check_fft_size(options.nfft, npts, "chi(k) on the uniform grid");

  chir_result result;
  result.k.assign(kg.begin(), kg.begin() + static_cast<std::ptrdiff_t>(npts));
  result.kwin.assign(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(npts));
  result.chik_weighted.resize(npts);
  std::vector<double> windowed(npts);
  std::size_t j = 0;  // np.interp: linear, constant beyond the ends
  for (std::size_t i = 0; i < npts; ++i) {
    const double q = kg[i];
    double v;
    if (q <= k.front()) {
      v = chi.front();
    } else if (q >= k.back()) {
      v = chi.back();
    } else {
      while (k[j + 1] < q) ++j;
      const double f = (q - k[j]) / (k[j + 1] - k[j]);
      v = chi[j] + f * (chi[j + 1] - chi[j]);
    }
    result.chik_weighted[i] = v * std::pow(q, options.kweight);
    windowed[i] = result.chik_weighted[i] * result.kwin[i];
  }

  const auto out = xftf_fast(windowed, options.nfft, kstep);
  const double rstep = std::numbers::pi / (kstep * options.nfft);
  const auto irmax = static_cast<std::size_t>(
      std::min(static_cast<double>(options.nfft / 2), 1.01 + options.rmax_out / rstep));
  result.r.resize(irmax);
  result.chir.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(irmax));
  result.mag.resize(irmax);
  result.re.resize(irmax);
  result.im.resize(irmax);
  for (std::size_t i = 0; i < irmax; ++i) {
    result.r[i] = rstep * static_cast<double>(i);
    result.re[i] = out[i].real();
    result.im[i] = out[i].imag();
    result.mag[i] = std::sqrt(result.re[i] * result.re[i] + result.im[i] * result.im[i]);
  }
  return result;
}

struct xftr_options {
  double rmin = 0.0;          // window start (A)
  double rmax = 20.0;         // window end (A)
  double dr = 1.0;            // taper width
  std::optional<double> dr2;  // unset = dr
  double rweight = 0.0;       // chi(R) is multiplied by R^rweight
  window_kind window = window_kind::kaiser;  // larch's xftr default
  double qmax_out = 30.0;     // last q (1/A) reported
  int nfft = 2048;
};

// Back-transformed chi(q).
struct chiq_result {
  std::vector<double> q;
  std::vector<complex> chiq;
  std::vector<double> mag, re, im;
  std::vector<double> rwin;  // the window on the input R grid
};

namespace detail {

inline chiq_result xftr_impl(std::span<const double> r, std::span<const complex> chir,
                             double scale, const xftr_options& options) {
  require(r.size() >= 2, "xftr", "r", "must have >= 2 points", r.size());
  require(chir.size() == r.size(), "xftr", "chi(R)",
          "must have as many points as r (" + std::to_string(r.size()) + ")", chir.size());
  const double rstep = r[1] - r[0];
  require(std::isfinite(rstep) && rstep > 0, "xftr", "r step", "must be > 0", rstep);
  require(std::isfinite(options.rmin) && std::isfinite(options.rmax) &&
              options.rmax > options.rmin,
          "xftr", "rmax", "must be > rmin = " + std::to_string(options.rmin), options.rmax);
  require(std::isfinite(options.qmax_out) && options.qmax_out > 0, "xftr", "qmax_out",
          "must be > 0", options.qmax_out);
  check_fft_size(options.nfft, chir.size(), "chi(R)");
  for (std::size_t i = 0; i < chir.size(); ++i)
    require(std::isfinite(chir[i].real()) && std::isfinite(chir[i].imag()), "xftr", "chi(R)",
            "must be finite at every point; index", i);
  const auto nfft = static_cast<std::size_t>(options.nfft);
  const double kstep = std::numbers::pi / (rstep * static_cast<double>(nfft));
  std::vector<double> rg(nfft);
  for (std::size_t i = 0; i < nfft; ++i) rg[i] = rstep * static_cast<double>(i);
  const auto win = ftwindow(rg, {options.window, options.rmin, options.rmax, options.dr,
                                 options.dr2.value_or(options.dr)});
  std::vector<complex> weighted(nfft, complex{});
  for (std::size_t i = 0; i < chir.size(); ++i)
    weighted[i] = chir[i] * win[i] * std::pow(rg[i], options.rweight);
  auto out = xftr_fast(weighted, options.nfft, kstep);

  // numpy.linspace(0, qmax_out, int(1.05 + qmax_out / kstep)), capped at nfft/2
  const auto nq = static_cast<std::size_t>(1.05 + options.qmax_out / kstep);
  const std::size_t nkpts = std::min(nq, out.size());
  chiq_result result;
  result.q.resize(nkpts);
  const double qstep = nq > 1 ? options.qmax_out / static_cast<double>(nq - 1) : 0.0;
  for (std::size_t i = 0; i < nkpts; ++i)
    result.q[i] = (nq > 1 && i == nq - 1) ? options.qmax_out : qstep * static_cast<double>(i);
  result.chiq.resize(nkpts);
  result.mag.resize(nkpts);
  result.re.resize(nkpts);
  result.im.resize(nkpts);
  for (std::size_t i = 0; i < nkpts; ++i) {
    const complex v = scale * out[i];
    result.chiq[i] = v;
    result.re[i] = v.real();
    result.im[i] = v.imag();
    result.mag[i] = std::sqrt(v.real() * v.real() + v.imag() * v.imag());
  }
  result.rwin.assign(win.begin(), win.begin() + static_cast<std::ptrdiff_t>(r.size()));
  return result;
}

}  // namespace detail

// xftr of the complex chi(R) from xftf (larch scales it by 1/2).
inline chiq_result xftr(std::span<const double> r, std::span<const complex> chir,
                        const xftr_options& options = {}) {
  return detail::xftr_impl(r, chir, 0.5, options);
}

// xftr of a real chi(R) (e.g. only Re chi(R)); no 1/2 factor, as larch.
inline chiq_result xftr(std::span<const double> r, std::span<const double> chir,
                        const xftr_options& options = {}) {
  std::vector<complex> c(chir.begin(), chir.end());
  return detail::xftr_impl(r, c, 1.0, options);
}

}  // namespace spectromine::exafs
