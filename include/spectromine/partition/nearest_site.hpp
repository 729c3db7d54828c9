// spectromine/partition/nearest_site.hpp: Voronoi partitioning by nearest
// site (Ito 2024; docs/METHODS.md section 5), exact and near memory speed.
//
// Definition (what "exact" means here). Sites and pixels are standardized in
// double: z = (x - mean(x)) / |x - mean(x)| (two passes, sequential sums). A
// pixel's label is the site s maximizing  score_s = sum_i z_s[i] * z_x[i]
// (sequential double sum), ties going to the lower site id; the image label
// is s + 1. This is the Pearson-nearest site. Every label computed here
// equals that brute-force definition (tests/voronoi checks it, including
// adversarial near-ties and duplicated sites).
//
// Pixels need not be standardized by the caller: since every z_s sums to 0,
// z_s . x = |x - mean| z_s . z_x, so the argmax over sites of z_s . x is the
// same for raw mu*t, normalized, or standardized input (any x -> a x + b,
// a > 0). Only the "unexplained" test needs the scale: it assumes normalized
// absorbance (edge step 1) at the given measurement conditions.
//
// How it is fast. float32 kernels (partition/detail/nearest_site_kernels.hpp)
// run per pixel, in two strategies:
//   brute force: a GEMM micro-kernel (pixels x site vectors, reduction over
//     energies) fused with a running top-2, so no score matrix is stored;
//   pruned (default): the top-k principal directions V of the sites give
//     z_s . x_c = a_s . b + r_s . r_x <= a_s . b + rho_s rho_x  (Cauchy-Schwarz,
//     b = V^T x_c, rho = residual norms); only sites whose bound reaches the
//     exact score of the best approximate site are scored exactly.
// AVX-512 or AVX2+FMA is chosen at run time (__builtin_cpu_supports); the
// build itself never uses -march=native.
//
// How it stays exact. Every float score t_s of a site satisfies
// |t_s - |x_c| score_s| <= delta = 2.02 (gamma_n + 3u) |x|_2 (u = 2^-24,
// gamma_n = n u / (1 - n u): the classical bound of a float dot product whose
// longest rounding chain is n -- n <= Ep, computed in pack() for the
// kernel's own summation order -- plus the rounding of the site (and of a
// double pixel) to float, plus the Sum(z_s) ~ 1e-16 term; the factor 2 also
// covers the double-precision reference's own rounding).
//
// The pruning margin. With V_f, a_s the float basis and coefficients the
// kernel uses, e_s = z_s - V_f a_s (double; rho_s >= |e_s|, eps_s =
// |V_f^T e_s| ~ 1e-7), x = x_c + m 1 + d (x_c the float-centred pixel, m the
// float mean, |d| <= u |x_c| the centring rounding), b the float projection
// and B = V_f^T x_c exactly, R = |x_c - V_f b|:
//   z_s . x = a_s . b + a_s . (B - b) + e_s . (x_c - V_f b) + (V_f^T e_s) . b
//             + m Sum(z_s) + z_s . d
//          <= a_s . b + rho_s R + eps |b| + alpha nu sqrt(k) gamma_nb |x_c|
//             + u |x_c| + |m| sigma   (+ u |x| for a double pixel rounded to float),
// (alpha >= |a_s|, nu >= column norms of V_f, sigma >= |Sum z_s|, gamma_nb of
// the projection's rounding chain E / 8 + 13). The float bound ub_s = a_s . b
// + rho_s R_f differs from a_s . b + rho_s R by at most gamma_{k+2} alpha |b|
// (approximation) + rho_max (gamma_{k+2} (|x_c| + nu sqrt(k) |b|) +
// gamma_q R_f) (residual and its norm) + gamma_2 (alpha |b| + rho_max R_f).
// So per pixel margin = m_xc |x_c| + m_b |b| + m_r R_f + m_x |x| (pack()
// computes the four factors, 1% inflated). It scales with the centred pixel
// and the projection chain, not with |x| times the whole E + k chain as the
// session-2 margin did: at 1,279 sites that cut the exactly scored sites
// from 2.85% to 0.27% (benchmarks/results/voronoi.md).
// A site is skipped only when its bound plus margin is below the
// seed's exact score minus delta; the winner is accepted only when every
// other evaluated score is more than 2 delta below it. Otherwise the
// near-tied candidates (or, for pixels that are non-finite, constant in
// float or overflow float, all sites) are settled in double against the
// original pixel values with the definition above. Near-ties are rare (see
// labelling_statistics), so the double path costs nothing measurable.
//
// Pixels: masked (mask 0) -> labels::unlabeled; a non-finite value or a
// constant spectrum (no Pearson direction) -> labels::unlabeled, counted in
// the statistics (invalid_pixels).
//
// Unexplained pixels (option): a pixel whose best site does not explain it
// within the noise is labelled labels::unexplained instead of being forced
// into a cell: a phase the site library lacks. Test: chi-square of the
// residual after fitting the site (offset and scale fitted),
//   chi2 = sum_i (x_c,i - alpha z_s,i)^2 / sigma_s,i^2,  alpha = x_c . z_s,
// with sigma_s the noise of the site's normalized spectrum at the measurement
// conditions (noise/propagation.hpp), against the chi-square quantile with
// E - 2 degrees of freedom at 1 - probability (default 1e-4, the reduction
// limit's probability). Why not the percent point of METHODS.md section 3
// between pixel and site: it compares two noiseless spectra; a pixel equal to
// a site plus noise has 1 - z_x.z_s ~ E sigma^2 / (2 N^2) and the statistic
// then sits near sqrt(E) / 2 (~6.7 at 178 energies), above any limit, so it
// would flag every pixel.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <boost/math/distributions/chi_squared.hpp>
#include <nlohmann/json.hpp>

#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/propagation.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/partition/concept.hpp"
#include "spectromine/partition/detail/nearest_site_kernels.hpp"
#include "spectromine/partition/sites.hpp"

namespace spectromine::partition {

enum class nearest_site_strategy {
  automatic,    // pruned when there are enough sites for bounds to pay (>= 64), else brute force
  brute_force,  // every site scored (fused GEMM + top-2)
  pruned,       // PCA bounds, exact scores only where a bound reaches the best
};

enum class simd_level {
  automatic,  // the widest the CPU supports
  generic,    // 4-lane vectors, whatever the compiler's baseline gives
  avx2,       // AVX2 + FMA, 8 lanes
  avx512,     // AVX-512 F/BW/DQ/VL, 16 lanes
};

inline const char* to_string(nearest_site_strategy s) noexcept {
  switch (s) {
    case nearest_site_strategy::brute_force: return "brute_force";
    case nearest_site_strategy::pruned: return "pruned";
    default: return "automatic";
  }
}
inline const char* to_string(simd_level s) noexcept {
  switch (s) {
    case simd_level::generic: return "generic";
    case simd_level::avx2: return "avx2";
    case simd_level::avx512: return "avx512";
    default: return "automatic";
  }
}

struct unexplained_options {
  bool enabled = false;
  measurement_conditions conditions{};  // the noise the pixels carry (Ito 2024: 2.7e4, 0.36, 1.56)
  scmos_noise noise{};                  // detector model (Ito 2024 sCMOS fit)
  double probability = 1e-4;  // chance that a pixel truly at a site is called unexplained
};

struct nearest_site_options {
  int threads = 0;  // 0 = all cores; labels never depend on it
  nearest_site_strategy strategy = nearest_site_strategy::automatic;
  simd_level simd = simd_level::automatic;
  int components = 16;  // principal directions for the pruning bounds
  unexplained_options unexplained{};

  void validate() const {
    require(threads >= 0, "nearest_site", "threads", "must be >= 0 (0 = all cores)", threads);
    require(components >= 1 && components <= 256, "nearest_site", "components",
            "must be in [1, 256]", components);
    if (unexplained.enabled) {
      unexplained.conditions.validate("nearest_site");
      unexplained.noise.validate();
      require(unexplained.probability > 0 && unexplained.probability < 1, "nearest_site",
              "unexplained probability", "must be in (0, 1)", unexplained.probability);
    }
  }
};

// What a labelling run did (sums over pixels; useful for benchmarks).
struct labelling_statistics {
  std::int64_t pixels = 0;             // sample pixels labelled through the float kernels
  std::int64_t exact_evaluations = 0;  // float site scores computed exactly
  std::int64_t rechecked = 0;          // pixels settled in double among near-tied sites
  std::int64_t fallback = 0;           // pixels settled in double against every site
  std::int64_t invalid = 0;            // non-finite or constant pixels (left unlabeled)
  std::int64_t unexplained = 0;        // pixels labelled labels::unexplained
  index_t sites = 0;
  // Fraction of the brute-force site scores actually computed.
  double evaluated_fraction() const noexcept {
    return pixels > 0 && sites > 0
               ? static_cast<double>(exact_evaluations) /
                     (static_cast<double>(pixels) * static_cast<double>(sites))
               : 0.0;
  }
  labelling_statistics& operator+=(const labelling_statistics& o) noexcept {
    pixels += o.pixels;
    exact_evaluations += o.exact_evaluations;
    rechecked += o.rechecked;
    fallback += o.fallback;
    invalid += o.invalid;
    unexplained += o.unexplained;
    return *this;
  }
};

namespace detail {

inline constexpr double unit_roundoff_f = 5.9604644775390625e-08;  // 2^-24

inline double gamma_f(double n) { return n * unit_roundoff_f / (1.0 - n * unit_roundoff_f); }

// The documented standardization (two passes, sequential sums, double).
// Returns false for a non-finite or constant spectrum.
template <class T>
bool standardize_double(std::span<const T> x, std::span<double> z) {
  double sum = 0;
  for (auto v : x) sum += static_cast<double>(v);
  if (!std::isfinite(sum)) return false;
  const double mean = sum / static_cast<double>(x.size());
  double ss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    z[i] = static_cast<double>(x[i]) - mean;
    ss += z[i] * z[i];
  }
  if (!std::isfinite(ss) || !(ss > 0)) return false;
  bool varies = false;
  for (std::size_t i = 1; i < x.size() && !varies; ++i) varies = x[i] != x[0];
  if (!varies) return false;
  const double norm = std::sqrt(ss);
  for (auto& v : z) v /= norm;
  return true;
}

inline double score_double(const double* zs, const double* zx, index_t bands) {
  double acc = 0;
  for (index_t i = 0; i < bands; ++i) acc += zs[i] * zx[i];
  return acc;
}

template <class T>
struct aligned_floats {
  std::unique_ptr<T[]> storage;
  T* data = nullptr;
  void resize(std::size_t n) {
    storage.reset(new T[n + 64 / sizeof(T)]());
    auto addr = reinterpret_cast<std::uintptr_t>(storage.get());
    data = reinterpret_cast<T*>((addr + 63) & ~std::uintptr_t{63});
  }
};

}  // namespace detail

// Sites standardized and packed once; labels any number of cubes on the
// sites' energy grid. Thread-safe for concurrent const use.
class nearest_site_index {
 public:
  nearest_site_index(const site_set& sites, const nearest_site_options& options = {})
      : options_(options) {
    options_.validate();
    sites.validate("nearest_site");
    names_ = sites.names;
    S_ = sites.size();
    E_ = sites.bands();
    Ep_ = (E_ + 15) / 16 * 16;
    // Standardized sites (double, the definition).
    z_.assign(static_cast<std::size_t>(S_ * E_), 0.0);
    std::vector<double> tmp(static_cast<std::size_t>(E_));
    for (index_t s = 0; s < S_; ++s) {
      const bool ok = detail::standardize_double(
          sites.spectrum(s), std::span<double>(z_.data() + s * E_, static_cast<std::size_t>(E_)));
      require(ok, "nearest_site", "site \"" + names_[static_cast<std::size_t>(s)] + "\"",
              "must be a finite, non-constant spectrum", s);
    }
    choose_kernel();
    pack();
    if (options_.unexplained.enabled) prepare_unexplained(sites);
  }

  index_t size() const noexcept { return S_; }
  index_t bands() const noexcept { return E_; }
  const std::vector<std::string>& names() const noexcept { return names_; }
  simd_level simd() const noexcept { return simd_; }
  nearest_site_strategy strategy() const noexcept { return strategy_; }
  index_t components() const noexcept { return k_; }
  const nearest_site_options& options() const noexcept { return options_; }
  // Standardized site s (double).
  std::span<const double> standardized(index_t s) const noexcept {
    return {z_.data() + s * E_, static_cast<std::size_t>(E_)};
  }

  // The definition, by brute force in double: the site id, or -1 for a
  // non-finite or constant spectrum. The oracle the kernels are tested against.
  template <class T>
  index_t reference_site(std::span<const T> x) const {
    require(static_cast<index_t>(x.size()) == E_, "nearest_site", "spectrum length",
            "must equal the sites' band count " + std::to_string(E_), x.size());
    std::vector<double> zx(static_cast<std::size_t>(E_));
    if (!detail::standardize_double(x, std::span<double>(zx))) return -1;
    index_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (index_t s = 0; s < S_; ++s) {
      const double t = detail::score_double(z_.data() + s * E_, zx.data(), E_);
      if (t > best_score) {
        best_score = t;
        best = s;
      }
    }
    return best;
  }

  // Labels every pixel of `cube` into `labels` (site id + 1; sentinels as in
  // the header comment). `mask` may be empty (every pixel is sample).
  template <class T>
  labelling_statistics assign(cube_view<const T> cube, mask_view mask, label_view labels) const {
    static_assert(std::is_floating_point_v<T>,
                  "nearest_site_index::assign: the cube must hold float or double values");
    constexpr std::string_view component = "nearest_site";
    require(cube.bands() == E_, component, "cube bands",
            "must equal the sites' band count " + std::to_string(E_) +
                " (put the sites on the cube's grid with sites_on_grid)",
            cube.bands());
    require(labels.shape() == cube.shape(), component, "labels shape",
            "must equal the cube's shape", labels.pixel_count());
    require(mask.pixel_count() == 0 || mask.shape() == cube.shape(), component, "mask shape",
            "must be empty or equal the cube's shape", mask.pixel_count());
    const index_t pixels = cube.pixel_count(), cols = cube.cols();
    labelling_statistics total;
    total.sites = S_;
    if (pixels == 0) return total;
    const int threads = resolve_threads(options_.threads);
    std::vector<labelling_statistics> partial(static_cast<std::size_t>(threads));
    parallel_for(pixels, threads, 512, [&](index_t begin, index_t end, int worker) {
      detail::kernel_scratch sc;
      init_scratch(sc);
      std::vector<label_t> out(static_cast<std::size_t>(std::min<index_t>(cols, run_limit)));
      std::vector<float> conv;
      std::vector<double> zx(static_cast<std::size_t>(E_));
      auto& st = partial[static_cast<std::size_t>(worker)];
      index_t p = begin;
      while (p < end) {
        const index_t r = p / cols, c = p % cols;
        const index_t n = std::min({cols - c, end - p, run_limit});
        const T* first = cube.pixel_pointer(r, c);
        const std::uint8_t* m = mask.pixel_count() ? &mask(r, c) : nullptr;
        sc.reset_run();
        if constexpr (std::is_same_v<T, float>) {
          run_(packed_, first, cube.pixel_stride(), n, m, out.data(), sc);
        } else {
          // Convert the run to float (the conversion error is inside delta).
          conv.resize(static_cast<std::size_t>(n * E_));
          for (index_t q = 0; q < n; ++q) {
            const T* src = first + q * cube.pixel_stride();
            float* dst = conv.data() + q * E_;
            for (index_t i = 0; i < E_; ++i) {
              const double v = static_cast<double>(src[i]);
              // Out-of-float-range values become inf: the pixel falls back to double.
              dst[i] = static_cast<float>(v);
            }
          }
          run_(packed_, conv.data(), E_, n, m, out.data(), sc);
        }
        auto spectrum_of = [&](index_t q) {
          return std::span<const T>(first + q * cube.pixel_stride(), static_cast<std::size_t>(E_));
        };
        // Settle what the float pass left open, in double on the original values.
        for (index_t q : sc.fallback) {
          const index_t s = reference_site(spectrum_of(q));
          out[static_cast<std::size_t>(q)] = s < 0 ? labels::unlabeled : static_cast<label_t>(s + 1);
          if (s < 0) ++st.invalid; else ++st.fallback;
        }
        for (std::size_t i = 0; i < sc.recheck.size(); ++i) {
          const index_t q = sc.recheck[i];
          detail::standardize_double(spectrum_of(q), std::span<double>(zx));
          double best_score = -std::numeric_limits<double>::infinity();
          std::int32_t best = -1;
          for (index_t j = sc.recheck_offsets[i]; j < sc.recheck_offsets[i + 1]; ++j) {
            const std::int32_t s = sc.recheck_sites[static_cast<std::size_t>(j)];
            const double t = detail::score_double(z_.data() + s * E_, zx.data(), E_);
            if (t > best_score || (t == best_score && s < best)) {
              best_score = t;
              best = s;
            }
          }
          out[static_cast<std::size_t>(q)] = best + 1;
          ++st.rechecked;
        }
        for (index_t q = 0; q < n; ++q) {
          label_t l = out[static_cast<std::size_t>(q)];
          if (l > 0 && options_.unexplained.enabled && !explained(spectrum_of(q), l - 1, zx)) {
            l = labels::unexplained;
            ++st.unexplained;
          }
          labels(r, c + q) = l;
        }
        p += n;
      }
      st.pixels += sc.pixels;
      st.exact_evaluations += sc.exact_evaluations;
    });
    for (const auto& s : partial) total += s;
    total.pixels += total.fallback;  // settled pixels count as labelled
    return total;
  }

  // Conveniences for mutable views and spans.
  template <class T>
    requires(!std::is_const_v<T>)
  labelling_statistics assign(cube_view<T> cube, mask_view mask, label_view labels) const {
    return assign(cube_view<const T>(cube), mask, labels);
  }
  template <class T>
    requires(!std::is_const_v<T>)
  index_t reference_site(std::span<T> x) const {
    return reference_site(std::span<const T>(x));
  }

  nlohmann::json describe() const {
    nlohmann::json j = {{"sites", S_},
                        {"bands", E_},
                        {"strategy", to_string(strategy_)},
                        {"simd", to_string(simd_)},
                        {"components", k_},
                        {"unexplained", options_.unexplained.enabled}};
    if (options_.unexplained.enabled) {
      j["unexplained_probability"] = options_.unexplained.probability;
      j["unexplained_chi2_limit"] = chi2_limit_;
      j["conditions"] = options_.unexplained.conditions.to_json();
      j["noise"] = options_.unexplained.noise.parameters();
    }
    return j;
  }

 private:
  static constexpr index_t run_limit = 256;

  void choose_kernel() {
    simd_level want = options_.simd;
    if (want == simd_level::automatic)
      want = detail::cpu_has_avx512() ? simd_level::avx512
             : detail::cpu_has_avx2() ? simd_level::avx2
                                      : simd_level::generic;
    require(want != simd_level::avx512 || detail::cpu_has_avx512(), "nearest_site", "simd",
            "avx512 is not supported by this CPU", std::string("avx512"));
    require(want != simd_level::avx2 || detail::cpu_has_avx2(), "nearest_site", "simd",
            "avx2 is not supported by this CPU", std::string("avx2"));
    simd_ = want;
    strategy_ = options_.strategy;
    if (strategy_ == nearest_site_strategy::automatic)
      strategy_ = S_ >= 64 ? nearest_site_strategy::pruned : nearest_site_strategy::brute_force;
    const bool pruned = strategy_ == nearest_site_strategy::pruned;
    switch (simd_) {
      case simd_level::avx512:
        W_ = 16;
        run_ = pruned ? &detail::run_pruned_avx512 : &detail::run_brute_avx512;
        break;
      case simd_level::avx2:
        W_ = 8;
        run_ = pruned ? &detail::run_pruned_avx2 : &detail::run_brute_avx2;
        break;
      default:
        W_ = 4;
        run_ = pruned ? &detail::run_pruned_generic : &detail::run_brute_generic;
        break;
    }
  }

  void pack() {
    const index_t W = W_;
    const index_t panels = (S_ + W - 1) / W;
    const double u = detail::unit_roundoff_f;
    packed_.width = static_cast<int>(W);
    packed_.sites = S_;
    packed_.bands = E_;
    packed_.bands_padded = Ep_;
    packed_.panel_count = panels;
    rows_.resize(static_cast<std::size_t>(S_ * Ep_));
    for (index_t s = 0; s < S_; ++s)
      for (index_t i = 0; i < E_; ++i)
        rows_.data[s * Ep_ + i] = static_cast<float>(z_[static_cast<std::size_t>(s * E_ + i)]);
    packed_.rows = rows_.data;
    // |t_s - |x_c| score_s| <= delta (see the header comment); 1% slack for
    // the float evaluation of |x| itself. The gamma term counts the longest
    // chain of roundings one product goes through in the kernel's own
    // summation order: blocks of 32 energies in the brute-force micro-kernel;
    // 2 W lane accumulators, their sum and a log2(W) tree in the gathered
    // dot product of the pruned kernel (16x tighter at W = 16, so far fewer
    // pixels need the double recheck). The brute-force kernel re-scores
    // near-tied pixels with the gathered dot product, so its delta must cover
    // both chains (the gathered one is the longer for W = 4 and E ~ 1000).
    const double gathered =
        static_cast<double>((Ep_ + 2 * W - 1) / (2 * W) + 1 + static_cast<index_t>(std::log2(W) + 0.5));
    const double chain =
        strategy_ == nearest_site_strategy::brute_force
            ? std::max(gathered,
                       static_cast<double>(detail::brute_block +
                                           (E_ + detail::brute_block - 1) / detail::brute_block + 1))
            : gathered;
    packed_.delta_factor = static_cast<float>(1.01 * 2.0 * (detail::gamma_f(chain) + 3 * u));
    if (strategy_ == nearest_site_strategy::brute_force) {
      panels_.resize(static_cast<std::size_t>(panels * E_ * W));
      for (index_t s = 0; s < S_; ++s)
        for (index_t i = 0; i < E_; ++i)
          panels_.data[(s / W) * E_ * W + i * W + s % W] = rows_.data[s * Ep_ + i];
      packed_.panels = panels_.data;
      return;
    }
    // Principal directions of the sites (uncentred second moment: the sites
    // are unit vectors orthogonal to the constant vector, and so is V).
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Z(
        z_.data(), S_, E_);
    const Eigen::MatrixXd M = Z.transpose() * Z;
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(M);
    k_ = std::min<index_t>({static_cast<index_t>(options_.components), E_, S_});
    const index_t kp = (k_ + W - 1) / W * W;
    Eigen::MatrixXd V = eig.eigenvectors().rightCols(k_).rowwise().reverse();  // E x k
    const Eigen::MatrixXd A = Z * V;                                           // S x k
    packed_.components = k_;
    packed_.components_padded = kp;
    basis_t_.resize(static_cast<std::size_t>(Ep_ * kp));
    basis_.resize(static_cast<std::size_t>(k_ * Ep_));
    for (index_t i = 0; i < E_; ++i)
      for (index_t j = 0; j < k_; ++j) {
        basis_t_.data[i * kp + j] = static_cast<float>(V(i, j));
        basis_.data[j * Ep_ + i] = static_cast<float>(V(i, j));
      }
    coef_.resize(static_cast<std::size_t>(panels * k_ * W));
    rho_.resize(static_cast<std::size_t>(panels * W));
    // The pruning margin (header comment, "the pruning margin"): every
    // quantity below is of the float data the kernel really uses (V_f =
    // basis, a_s = float coefficients), computed in double, then inflated.
    Eigen::MatrixXd Vf(E_, k_);
    for (index_t i = 0; i < E_; ++i)
      for (index_t j = 0; j < k_; ++j) Vf(i, j) = static_cast<double>(basis_.data[j * Ep_ + i]);
    double alpha_max = 0, rho_max = 0, eps_max = 0, sigma_max = 0, nu = 0;
    for (index_t j = 0; j < k_; ++j) nu = std::max(nu, Vf.col(j).norm());
    Eigen::VectorXd a(k_), e(E_);
    for (index_t s = 0; s < S_; ++s) {
      for (index_t j = 0; j < k_; ++j) {
        const float af = static_cast<float>(A(s, j));
        coef_.data[(s / W) * k_ * W + j * W + s % W] = af;
        a(j) = static_cast<double>(af);
      }
      e = Z.row(s).transpose() - Vf * a;  // z_s = V_f a_s + e_s exactly (up to double rounding)
      const double rho = e.norm() * (1 + 1e-12);
      float rf = static_cast<float>(rho);
      if (static_cast<double>(rf) < rho) rf = std::nextafter(rf, 2.0f);
      rho_.data[s] = rf;
      alpha_max = std::max(alpha_max, a.norm());
      rho_max = std::max(rho_max, static_cast<double>(rf));
      eps_max = std::max(eps_max, (Vf.transpose() * e).norm());
      sigma_max = std::max(sigma_max, std::abs(Z.row(s).sum()));
    }
    packed_.basis_t = basis_t_.data;
    packed_.basis = basis_.data;
    packed_.coef_panels = coef_.data;
    packed_.rho = rho_.data;
    const double sk = std::sqrt(static_cast<double>(k_));
    const double eps_d = std::ldexp(1.0, -52) * static_cast<double>(E_ + k_);  // double-side rounding
    alpha_max = alpha_max * (1 + 1e-12) + eps_d;
    nu = nu * (1 + 1e-12) + eps_d;
    eps_max = eps_max * (1 + 1e-9) + eps_d;
    sigma_max += eps_d;
    // Rounding chains of the kernel (detail/nearest_site_kernels.hpp), +2
    // each for the product and the case without FMA contraction: projection
    // (8 interleaved accumulators in the fixed-k path, sequential otherwise),
    // residual (k products), its squared norm (Ep / W lanes + log2 W tree),
    // pass-1 approximation (k products).
    const bool fixed_k = W >= 8 && (k_ == 8 || k_ == 12 || k_ == 16);
    const double n_b = fixed_k ? static_cast<double>(E_ / detail::projection_accumulators +
                                                     detail::projection_accumulators + 3 + 2)
                               : static_cast<double>(E_ + 2);
    const double g_b = detail::gamma_f(n_b), g_k = detail::gamma_f(static_cast<double>(k_ + 2)),
                 g_2 = detail::gamma_f(2),
                 g_q = detail::gamma_f(static_cast<double>(Ep_ / W + std::log2(W) + 5));
    const double slack = 1.01;  // the float evaluation of the margin, |x_c|, |b|
    auto up = [](double v) {
      float f = static_cast<float>(v);
      if (static_cast<double>(f) < v) f = std::nextafter(f, 1.0f);
      return f;
    };
    packed_.margin_xc = up(slack * (u / ((1 - u) * (1 - u)) + alpha_max * nu * sk * g_b + rho_max * g_k));
    packed_.margin_b =
        up(slack * (eps_max + rho_max * g_k * nu * sk + g_k * alpha_max + g_2 * alpha_max * 1.001));
    packed_.margin_r = up(slack * (rho_max * g_q + g_2 * rho_max * 1.001));
    // |x| terms: m Sum(z_s) twice (the float mean and the exact one), a
    // double pixel's rounding to float (u |x|), the double reference's own
    // rounding (1e-12).
    packed_.margin_x = up(slack * (2.01 * sigma_max + u + 1e-12));
  }

  void init_scratch(detail::kernel_scratch& sc) const {
    sc.x.assign(static_cast<std::size_t>(4 * Ep_), 0.0f);
    sc.xc.assign(static_cast<std::size_t>(Ep_), 0.0f);
    sc.b.assign(static_cast<std::size_t>(std::max<index_t>(packed_.components_padded, W_)), 0.0f);
    sc.ub.assign(static_cast<std::size_t>(packed_.panel_count * W_), 0.0f);
    sc.ids.assign(static_cast<std::size_t>(packed_.panel_count * W_), 0);
    sc.cand.assign(static_cast<std::size_t>(S_), 0);
    sc.cand_score.assign(static_cast<std::size_t>(S_), 0.0f);
    sc.state.assign(static_cast<std::size_t>(4 * 3 * W_), 0.0f);
  }

  void prepare_unexplained(const site_set& sites) {
    const auto& u = options_.unexplained;
    inv_var_.resize(static_cast<std::size_t>(S_ * E_));
    std::vector<double> sigma(static_cast<std::size_t>(E_));
    for (index_t s = 0; s < S_; ++s) {
      normalized_sigma(u.noise, u.conditions, sites.spectrum(s), std::span<double>(sigma));
      for (index_t i = 0; i < E_; ++i)
        inv_var_[static_cast<std::size_t>(s * E_ + i)] =
            1.0 / (sigma[static_cast<std::size_t>(i)] * sigma[static_cast<std::size_t>(i)]);
    }
    require(E_ > 2, "nearest_site", "bands", "must be > 2 for the unexplained test", E_);
    const boost::math::chi_squared_distribution<double> chi2(static_cast<double>(E_ - 2));
    chi2_limit_ = boost::math::quantile(boost::math::complement(chi2, u.probability));
  }

  // The chi-square residual test of the header comment.
  template <class T>
  bool explained(std::span<const T> x, index_t s, std::vector<double>& xc) const {
    double sum = 0;
    for (auto v : x) sum += static_cast<double>(v);
    const double mean = sum / static_cast<double>(E_);
    const double* zs = z_.data() + s * E_;
    double alpha = 0;
    for (index_t i = 0; i < E_; ++i) {
      xc[static_cast<std::size_t>(i)] = static_cast<double>(x[static_cast<std::size_t>(i)]) - mean;
      alpha += xc[static_cast<std::size_t>(i)] * zs[i];
    }
    const double* w = inv_var_.data() + s * E_;
    double chi2 = 0;
    for (index_t i = 0; i < E_; ++i) {
      const double r = xc[static_cast<std::size_t>(i)] - alpha * zs[i];
      chi2 += r * r * w[i];
    }
    return chi2 <= chi2_limit_;
  }

  nearest_site_options options_;
  std::vector<std::string> names_;
  index_t S_ = 0, E_ = 0, Ep_ = 0, W_ = 16, k_ = 0;
  std::vector<double> z_;
  simd_level simd_ = simd_level::automatic;
  nearest_site_strategy strategy_ = nearest_site_strategy::automatic;
  detail::run_function run_ = nullptr;
  detail::packed_sites packed_;
  detail::aligned_floats<float> rows_, panels_, basis_t_, basis_, coef_, rho_;
  std::vector<double> inv_var_;
  double chi2_limit_ = 0;
};

// The partitioner (partition/concept.hpp): sites on the cube's grid, labels
// = site id + 1. Copies share the built index.
class nearest_site_partitioner {
 public:
  nearest_site_partitioner(site_set sites, nearest_site_options options = {})
      : index_(std::make_shared<const nearest_site_index>(sites, options)),
        sites_(std::make_shared<const site_set>(std::move(sites))) {}

  const nearest_site_index& index() const noexcept { return *index_; }
  const site_set& sites() const noexcept { return *sites_; }

  template <class T>
  partition_report partition(cube_view<const T> cube, mask_view mask, label_view labels) const {
    const auto stats = index_->assign(cube, mask, labels);
    partition_report report;
    report.method = "voronoi";
    report.clusters = static_cast<label_t>(index_->size());
    report.parameters = index_->describe();
    report.parameters["invalid_pixels"] = stats.invalid;
    report.parameters["unexplained_pixels"] = stats.unexplained;
    report.parameters["evaluated_fraction"] = stats.evaluated_fraction();
    report.parameters["rechecked_pixels"] = stats.rechecked;
    // Which sites the labels are (label = site id + 1), most used first, so
    // that a map reads chemically before any relabelling.
    std::vector<std::int64_t> count(static_cast<std::size_t>(index_->size()) + 1, 0);
    for (index_t r = 0; r < labels.rows(); ++r)
      for (label_t l : labels.row(r))
        if (l > 0) ++count[static_cast<std::size_t>(l)];
    std::vector<label_t> used;
    for (std::size_t l = 1; l < count.size(); ++l)
      if (count[l] > 0) used.push_back(static_cast<label_t>(l));
    std::stable_sort(used.begin(), used.end(), [&](label_t a, label_t b) {
      return count[static_cast<std::size_t>(a)] > count[static_cast<std::size_t>(b)];
    });
    nlohmann::json sites_used = nlohmann::json::array();
    for (label_t l : used)
      sites_used.push_back({{"label", l},
                            {"site", index_->names()[static_cast<std::size_t>(l - 1)]},
                            {"pixels", count[static_cast<std::size_t>(l)]}});
    report.parameters["sites_used"] = std::move(sites_used);
    return report;
  }

 private:
  std::shared_ptr<const nearest_site_index> index_;
  std::shared_ptr<const site_set> sites_;
};

static_assert(check_partitioner<nearest_site_partitioner, float>());
static_assert(check_partitioner<nearest_site_partitioner, double>());

}  // namespace spectromine::partition
