// spectromine/exafs/window.hpp: Fourier-transform windows Omega(k) (or
// Omega(R) for the back transform), exactly as xraylarch's ftwindow.
//
// A window rises over [xmin - dx/2, xmin + dx/2], is 1 in between and falls
// over [xmax - dx2/2, xmax + dx2/2]. Larch snaps those four edges to grid
// points (index = int((x + eps) / step), i.e. it assumes the grid starts at
// 0, as every XAFS k and R grid does); we reproduce the snapping, because
// moving an edge by one grid point changes chi(R) by more than the tolerance
// we promise against larch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spectromine/error.hpp"

namespace spectromine::exafs {

// Larch's window names (it matches on the first three letters).
enum class window_kind {
  hanning,    // cosine-squared taper ("han")
  fhanning,   // hanning whose tapers are fractions dx, dx2 of the range ("fha")
  parzen,     // linear taper ("par")
  welch,      // quadratic taper ("wel")
  gaussian,   // exp(-(x - centre)^2 / (2 dx^2)) over the whole grid ("gau")
  sine,       // sin over [x1, x4] ("sin")
  kaiser,     // Kaiser-Bessel, (I0(dx sqrt(1 - u^2)) - 1) / (I0(dx) - 1) ("kai")
  bessel,     // ifeffit 1.0 Kaiser-Bessel, I0(dx sqrt(1 - u^2)) / I0(dx) ("bes")
};

inline std::string_view window_name(window_kind kind) {
  switch (kind) {
    case window_kind::hanning: return "hanning";
    case window_kind::fhanning: return "fhanning";
    case window_kind::parzen: return "parzen";
    case window_kind::welch: return "welch";
    case window_kind::gaussian: return "gaussian";
    case window_kind::sine: return "sine";
    case window_kind::kaiser: return "kaiser";
    case window_kind::bessel: return "bessel";
  }
  return "?";
}

// Parses a window name the way larch does (case-insensitive, first three
// letters: "Hanning", "han", "kaiser-bessel" ...); throws invalid_argument.
inline window_kind parse_window(std::string_view name) {
  std::string key;
  for (char c : name) {
    if (c == ' ' || c == '\t') {
      if (key.empty()) continue;
      break;
    }
    key.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  key = key.substr(0, 3);
  constexpr window_kind all[] = {window_kind::hanning,  window_kind::fhanning, window_kind::parzen,
                                 window_kind::welch,    window_kind::gaussian, window_kind::sine,
                                 window_kind::kaiser,   window_kind::bessel};
  if (key.size() == 3)
    for (auto kind : all)
      if (window_name(kind).substr(0, 3) == key) return kind;
  throw_invalid("exafs", "window",
                "must be one of hanning, fhanning, parzen, welch, gaussian, sine, kaiser, bessel",
                std::string(name));
}

struct window_options {
  window_kind kind = window_kind::hanning;
  double xmin = 0.0;  // start of the full-weight range (k or R)
  double xmax = 20.0;  // end of the full-weight range
  double dx = 1.0;    // taper width at xmin (Kaiser/Bessel: the shape parameter)
  std::optional<double> dx2;  // taper width at xmax; unset = dx
};

namespace detail {

// Larch computes the Kaiser-Bessel window with scipy.special.i0.
inline double bessel_i0(double x) { return std::cyl_bessel_i(0.0, x); }

}  // namespace detail

// Writes the window for the increasing, uniform grid `x` (>= 2 points) into
// `out` (same size).
inline void ftwindow(std::span<const double> x, const window_options& options,
                     std::span<double> out) {
  constexpr double pi = std::numbers::pi;
  const std::size_t n = x.size();
  require(n >= 2, "exafs", "window grid size", "must be >= 2", n);
  require(out.size() == n, "exafs", "window output size", "must equal the grid size " +
          std::to_string(n), out.size());
  require(std::isfinite(options.dx), "exafs", "window dx", "must be finite", options.dx);
  require(std::isfinite(options.xmin) && std::isfinite(options.xmax), "exafs", "window xmin",
          "and xmax must be finite", options.xmin);
  double dx1 = options.dx;
  double dx2 = options.dx2.value_or(dx1);
  require(std::isfinite(dx2), "exafs", "window dx2", "must be finite", dx2);
  const double xmin = options.xmin, xmax = options.xmax;
  const auto kind = options.kind;

  const double xlo = x.front(), xhi = x.back();  // min(x), max(x): x increases
  const double xstep = (x[n - 1] - x[0]) / static_cast<double>(n - 1);
  const double xeps = 1.e-4 * xstep;
  double x1 = std::max(xlo, xmin - dx1 / 2.0);
  double x2 = xmin + dx1 / 2.0 + xeps;
  double x3 = xmax - dx2 / 2.0 - xeps;
  double x4 = std::min(xhi, xmax + dx2 / 2.0);
  if (kind == window_kind::fhanning) {
    if (dx1 < 0) dx1 = 0;
    if (dx2 > 1) dx2 = 1;
    x2 = x1 + xeps + dx1 * (xmax - xmin) / 2.0;
    x3 = x4 - xeps - dx2 * (xmax - xmin) / 2.0;
  } else if (kind == window_kind::gaussian) {
    dx1 = std::max(dx1, xeps);
  }
  // Python's int() truncates toward zero, as the cast does.
  auto asint = [&](double v) { return static_cast<long long>((v + xeps) / xstep); };
  const long long last = static_cast<long long>(n) - 1;
  long long i1 = asint(x1), i2 = asint(x2), i3 = asint(x3), i4 = asint(x4);
  i1 = std::max(0LL, i1);
  i2 = std::max(0LL, i2);
  i3 = std::min(last, i3);
  i4 = std::min(last, i4);
  if (i2 == i1) i1 = std::max(0LL, i2 - 1);
  if (i4 == i3) i3 = std::max(i2, i4 - 1);
  // Indices can leave the grid for windows placed outside it; numpy slicing
  // then selects nothing, which the clamped loops below reproduce.
  auto at = [&](long long i) { return x[static_cast<std::size_t>(std::clamp(i, 0LL, last))]; };
  x1 = at(i1);
  x2 = at(i2);
  x3 = at(i3);
  x4 = at(i4);
  if (x1 == x2) x2 = x2 + xeps;
  if (x3 == x4) x4 = x4 + xeps;

  std::fill(out.begin(), out.end(), 0.0);
  for (long long i = std::max(0LL, i2); i < std::min(i3, last + 1); ++i)
    out[static_cast<std::size_t>(i)] = 1.0;
  // numpy a[lo:hi] with hi exclusive, both clipped to [0, n]
  auto range = [&](long long lo, long long hi, auto&& f) {
    lo = std::clamp(lo, 0LL, last + 1);
    hi = std::clamp(hi, 0LL, last + 1);
    for (long long i = lo; i < hi; ++i) {
      const auto j = static_cast<std::size_t>(i);
      out[j] = f(x[j]);
    }
  };

  switch (kind) {
    case window_kind::hanning:
    case window_kind::fhanning:
      range(i1, i2 + 1, [&](double v) {
        const double s = std::sin((pi / 2) * (v - x1) / (x2 - x1));
        return s * s;
      });
      range(i3, i4 + 1, [&](double v) {
        const double c = std::cos((pi / 2) * (v - x3) / (x4 - x3));
        return c * c;
      });
      break;
    case window_kind::parzen:
      range(i1, i2 + 1, [&](double v) { return (v - x1) / (x2 - x1); });
      range(i3, i4 + 1, [&](double v) { return 1 - (v - x3) / (x4 - x3); });
      break;
    case window_kind::welch:
      range(i1, i2 + 1, [&](double v) {
        const double u = (v - x2) / (x2 - x1);
        return 1 - u * u;
      });
      range(i3, i4 + 1, [&](double v) {
        const double u = (v - x3) / (x4 - x3);
        return 1 - u * u;
      });
      break;
    case window_kind::kaiser:
    case window_kind::bessel: {
      const double cen = (x4 + x1) / 2, wid = (x4 - x1) / 2;
      const double i0dx = detail::bessel_i0(dx1);
      const double scale = std::max(1.e-10, i0dx - 1);
      for (std::size_t j = 0; j < n; ++j) {
        const double u = x[j] - cen;
        const double arg = std::max(0.0, 1 - u * u / (wid * wid));
        const double b = detail::bessel_i0(dx1 * std::sqrt(arg));
        if (kind == window_kind::bessel)
          out[j] = (x[j] <= x1 || x[j] >= x4) ? 0.0 : b / i0dx;
        else
          out[j] = (b - 1) / scale;
      }
      break;
    }
    case window_kind::sine:
      range(i1, i4 + 1, [&](double v) { return std::sin(pi * (x4 - v) / (x4 - x1)); });
      break;
    case window_kind::gaussian: {
      const double cen = (x4 + x1) / 2;
      for (std::size_t j = 0; j < n; ++j) {
        const double u = x[j] - cen;
        out[j] = std::exp(-(u * u) / (2 * dx1 * dx1));
      }
      break;
    }
  }
}

// The window as a new vector.
inline std::vector<double> ftwindow(std::span<const double> x, const window_options& options) {
  std::vector<double> out(x.size());
  ftwindow(x, options, out);
  return out;
}

}  // namespace spectromine::exafs
