// spectromine/partition/site_generation.hpp: Voronoi sites from a library of
// reference spectra, spaced at the measurement noise (Ito 2024, Methods;
// docs/METHODS.md section 4).
//
//   1. candidates: every library spectrum and every 50:50 mixture of two
//      (pairs with repetition: L spectra -> L (L + 1) / 2 candidates);
//   2. densify: T trials of a random mixture of 3 library spectra (drawn
//      with repetition, weights uniform on (0, 1) then normalized to sum 1),
//      accepted when its symmetric percent point (metric/percent_point.hpp)
//      to EVERY current candidate exceeds the generation limit (2.326:
//      misclassification probability 1e-2);
//   3. reduce: average-linkage clustering (partition/agglomerative.hpp, NN
//      chain, O(n^2)) of the symmetric percent-point matrix cut at the
//      reduction limit (3.719: 1e-4); each cluster's mean spectrum is a site;
//   4. denseness check (paper Suppl. Fig. 1): the fraction of random 3..5-
//      component mixtures within the reduction limit of some site.
// Noise: the detector model at the mean measurement conditions
// (noise/propagation.hpp normalized_sigma), the same for every candidate.
//
// Incremental densification: each candidate keeps its standardized vector z,
// its weights w = sigma^2 / N_g^2 and the products z o w, z o z, so testing a
// trial x against all n candidates is three matrix-vector products over
// contiguous rows ([z o z | z] [w_x ; -2 z_x o w_x], [z] z_x,
// [z o w | w] [-2 z_x ; z_x o z_x]: 5 E multiply-adds per candidate), with an
// early exit at the first candidate within the limit. Trials are evaluated in
// parallel in batches against the candidates accepted before the batch, then
// settled in trial order against those accepted inside the batch, so the
// result is exactly that of the sequential algorithm, for any thread count.
//
// Names say what made a site: a library spectrum is its name, a mixture is
// `a:0.50+b:0.50`; a reduced site is the mean of its members, which (all
// being mixtures of normalized library spectra) is itself the mixture with
// the members' mean weights -- its name lists the largest of those weights
// (at most 4, each >= 0.05, two decimals) and the remainder as `others`,
// e.g. `Chromite:0.76+fe2o3_rt1_xmu:0.07+others:0.17`. Repeated names get
// `#2`, `#3`... The exact weights are in generated_sites::compositions.
//
// Seeded (core/random.hpp) and reproducible: the same library, options and
// seed give the same sites on every platform and thread count.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <nlohmann/json.hpp>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/metric/percent_point.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/propagation.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/partition/agglomerative.hpp"
#include "spectromine/partition/sites.hpp"
#include "spectromine/preprocess/interpolate.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace spectromine::partition {

// A composition: (library index, weight) pairs, indices ascending, weights sum 1.
using composition = std::vector<std::pair<index_t, double>>;

struct site_generation_options {
  measurement_conditions conditions{};  // Ito 2024 G-XRM means: (2.7e4, 0.36, 1.56)
  scmos_noise noise{};                  // Ito 2024 sCMOS fit
  index_t trials = 10000;               // densification trials (paper: 10,000)
  int mixture_components = 3;           // components per trial (paper: 3 = intrinsic dimension)
  double generation_limit = percent_points::one_in_hundred;       // 2.326
  double reduction_limit = percent_points::one_in_ten_thousand;   // 3.719
  std::uint64_t seed = 0;
  bool pairs = true;                    // start from all 50:50 pairs (else the library only)
  bool reduce = true;                   // run step 3 (else every candidate is a site)
  // Denseness check: trials per component count in [min, max] (0 = skip).
  index_t denseness_trials = 10000;
  int denseness_min_components = 3;
  int denseness_max_components = 5;
  int threads = 0;

  void validate() const {
    constexpr std::string_view c = "site_generation";
    conditions.validate(c);
    noise.validate();
    require(trials >= 0, c, "trials", "must be >= 0", trials);
    require(mixture_components >= 1, c, "mixture_components", "must be >= 1", mixture_components);
    require(std::isfinite(generation_limit) && generation_limit > 0, c, "generation_limit",
            "must be finite and > 0", generation_limit);
    require(std::isfinite(reduction_limit) && reduction_limit > 0, c, "reduction_limit",
            "must be finite and > 0", reduction_limit);
    require(denseness_trials >= 0, c, "denseness_trials", "must be >= 0", denseness_trials);
    require(denseness_min_components >= 1 && denseness_max_components >= denseness_min_components,
            c, "denseness components", "must satisfy 1 <= min <= max", denseness_max_components);
    require(threads >= 0, c, "threads", "must be >= 0 (0 = all cores)", threads);
  }
  nlohmann::json to_json() const {
    return {{"conditions", conditions.to_json()},
            {"noise", noise.parameters()},
            {"trials", trials},
            {"mixture_components", mixture_components},
            {"generation_limit", generation_limit},
            {"reduction_limit", reduction_limit},
            {"seed", seed},
            {"pairs", pairs},
            {"reduce", reduce},
            {"denseness_trials", denseness_trials},
            {"denseness_components", {denseness_min_components, denseness_max_components}}};
  }
};

struct denseness_result {
  int components = 0;
  index_t trials = 0;
  index_t within = 0;  // within the reduction limit of some site
  double fraction() const noexcept {
    return trials > 0 ? static_cast<double>(within) / static_cast<double>(trials) : 0.0;
  }
};

struct site_generation_report {
  index_t library = 0;             // library spectra
  index_t initial_candidates = 0;  // library or pairs
  index_t accepted = 0;            // mixtures accepted by densification
  index_t candidates = 0;          // initial + accepted
  index_t sites = 0;               // after reduction
  double seconds_densify = 0, seconds_reduce = 0, seconds_denseness = 0;
  std::vector<denseness_result> denseness;

  nlohmann::json to_json() const {
    nlohmann::json d = nlohmann::json::array();
    index_t t = 0, w = 0;
    for (const auto& r : denseness) {
      d.push_back({{"components", r.components},
                   {"trials", r.trials},
                   {"within_limit", r.within},
                   {"fraction_within", r.fraction()}});
      t += r.trials;
      w += r.within;
    }
    return {{"library", library},
            {"initial_candidates", initial_candidates},
            {"accepted_mixtures", accepted},
            {"candidates", candidates},
            {"sites", sites},
            {"seconds", {{"densify", seconds_densify},
                         {"reduce", seconds_reduce},
                         {"denseness", seconds_denseness}}},
            {"denseness", {{"by_components", d},
                           {"fraction_within", t > 0 ? static_cast<double>(w) / static_cast<double>(t) : 0.0}}}};
  }
};

struct generated_sites {
  site_set sites;
  std::vector<composition> compositions;  // per site: library weights
  site_generation_report report;
};

// A library: normalized spectra on one grid.
struct site_library {
  energy_grid energy;
  std::vector<std::string> names;
  std::vector<std::vector<double>> spectra;
  // Energy (eV) by which each spectrum's data were extended at each end to
  // cover the grid (0 when the reference covers it).
  std::vector<std::pair<double, double>> extrapolated;
};

struct library_options {
  pre_edge_options normalization{};   // larch defaults
  // norm (as `spectromine cluster` normalizes cubes) or the flattened
  // spectrum (post-edge curvature removed): use what the cube will get.
  bool flat = false;
  // A reference must cover the grid except for at most this much at each end
  // (its end values are held there): references often start a little above
  // the cube's first energy, where a normalized spectrum is flat anyway.
  double max_extrapolation = 100.0;   // eV
};

// Library spectra from raw references: larch pre_edge on each reference's
// own grid, then linear interpolation onto `grid`.
inline site_library make_library(const std::vector<io::reference_spectrum>& refs,
                                 std::span<const double> grid, const library_options& options = {}) {
  constexpr std::string_view c = "site_library";
  validate_energy_grid(grid, c);
  require(!refs.empty(), c, "references", "must not be empty", 0);
  site_library lib;
  lib.energy.assign(grid.begin(), grid.end());
  for (const auto& r : refs) {
    pre_edge_result n;
    try {
      n = pre_edge(r.energy, r.mu, options.normalization);
    } catch (const invalid_argument& e) {
      throw_invalid(c, "reference \"" + r.name + "\"", std::string("cannot be normalized: ") + e.what(),
                    r.name);
    }
    const double lo = std::max(0.0, r.energy.front() - grid.front());
    const double hi = std::max(0.0, grid.back() - r.energy.back());
    require(lo <= options.max_extrapolation && hi <= options.max_extrapolation, c,
            "reference \"" + r.name + "\"",
            "must cover the energy grid [" + std::to_string(grid.front()) + ", " +
                std::to_string(grid.back()) + "] eV to within max_extrapolation = " +
                std::to_string(options.max_extrapolation) + " eV; it spans [" +
                std::to_string(r.energy.front()) + ", " + std::to_string(r.energy.back()) + "]",
            std::max(lo, hi));
    lib.spectra.push_back(interpolate_linear(r.energy, options.flat ? n.flat : n.norm, grid,
                                             extrapolation::hold));
    lib.names.push_back(r.name);
    lib.extrapolated.emplace_back(lo, hi);
  }
  return lib;
}

inline site_library load_library(const std::filesystem::path& folder, std::span<const double> grid,
                                 const library_options& options = {}) {
  return make_library(io::read_reference_folder(folder), grid, options);
}

namespace detail {

// Candidates prepared for percent points against a new spectrum.
class percent_point_bank {
 public:
  explicit percent_point_bank(index_t bands) : E_(bands) {}
  index_t size() const noexcept { return n_; }

  struct prepared {
    std::vector<double> z, w;
    double self = 0;
    Eigen::VectorXd v_dot, v_a, v_b;  // z; [-2 z ; z o z]; [w ; -2 z o w]
  };

  prepared prepare(std::span<const double> s, std::span<const double> sigma) const {
    prepared p;
    double norm = 0;
    p.z = spectromine::detail::standardized(s, norm, "site_generation", "candidate");
    p.w.resize(s.size());
    p.v_dot.resize(E_);
    p.v_a.resize(2 * E_);
    p.v_b.resize(2 * E_);
    for (index_t i = 0; i < E_; ++i) {
      const auto k = static_cast<std::size_t>(i);
      p.w[k] = sigma[k] * sigma[k] / (norm * norm);
      p.self += p.z[k] * p.z[k] * p.w[k];
      p.v_dot(i) = p.z[k];
      p.v_a(i) = -2 * p.z[k];
      p.v_a(E_ + i) = p.z[k] * p.z[k];
      p.v_b(i) = p.w[k];
      p.v_b(E_ + i) = -2 * p.z[k] * p.w[k];
    }
    return p;
  }

  void add(const prepared& p) {
    if (n_ == rows_.rows()) {
      rows_.conservativeResize(std::max<index_t>(64, 2 * n_), 4 * E_);
      self_.conservativeResize(rows_.rows());
    }
    // [z o z | z | z o w | w]
    for (index_t i = 0; i < E_; ++i) {
      const auto k = static_cast<std::size_t>(i);
      rows_(n_, i) = p.z[k] * p.z[k];
      rows_(n_, E_ + i) = p.z[k];
      rows_(n_, 2 * E_ + i) = p.z[k] * p.w[k];
      rows_(n_, 3 * E_ + i) = p.w[k];
    }
    self_(n_) = p.self;
    ++n_;
  }

  // Symmetric percent point between x and candidate rows [begin, end),
  // scanning in blocks; stops early (returning the first value <= stop)
  // when stop_at_or_below is set. Returns the minimum seen otherwise.
  double min_percent_point(const prepared& x, index_t begin, index_t end,
                           double stop_at_or_below = -1.0) const {
    double best = std::numeric_limits<double>::infinity();
    constexpr index_t block = 128;
    Eigen::VectorXd dot, a, b;
    for (index_t b0 = begin; b0 < end; b0 += block) {
      const index_t nb = std::min(block, end - b0);
      const auto R = rows_.middleRows(b0, nb);
      dot.noalias() = R.middleCols(E_, E_) * x.v_dot;
      a.noalias() = R.rightCols(2 * E_) * x.v_a;   // var of candidate noise, minus self_c
      b.noalias() = R.leftCols(2 * E_) * x.v_b;    // var of x noise, minus self_x
      for (index_t j = 0; j < nb; ++j) {
        const double num = 1.0 - dot(j);
        const double sc = self_(b0 + j);
        const double d = 0.5 * (spectromine::detail::percent_point_from(num, a(j) + sc, sc) +
                                spectromine::detail::percent_point_from(num, b(j) + x.self, x.self));
        if (d < best) best = d;
      }
      if (best <= stop_at_or_below) return best;
    }
    return best;
  }

 private:
  index_t E_ = 0, n_ = 0;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows_;
  Eigen::VectorXd self_;
};

inline composition normalize_composition(std::map<index_t, double> parts) {
  double total = 0;
  for (auto& [k, w] : parts) total += w;
  composition c;
  for (auto& [k, w] : parts) c.emplace_back(k, w / total);
  return c;
}

inline std::vector<double> mix(const site_library& lib, const composition& c) {
  std::vector<double> y(lib.energy.size(), 0.0);
  for (const auto& [k, w] : c)
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += w * lib.spectra[static_cast<std::size_t>(k)][i];
  return y;
}

inline std::string composition_name(const site_library& lib, const composition& c) {
  if (c.size() == 1) return lib.names[static_cast<std::size_t>(c.front().first)];
  auto sorted = c;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  // Compact: the (at most 4) components of weight >= 0.05, then the rest as
  // one "others" weight; the exact weights are in the compositions.
  std::ostringstream name;
  name << std::fixed << std::setprecision(2);
  double listed = 0;
  int shown = 0;
  for (const auto& [k, w] : sorted) {
    if (shown == 4 || (w < 0.05 && shown > 0)) break;
    if (shown > 0) name << '+';
    name << lib.names[static_cast<std::size_t>(k)] << ':' << w;
    listed += w;
    ++shown;
  }
  if (1.0 - listed >= 0.005) name << "+others:" << (1.0 - listed);
  return name.str();
}

// n draws of an m-component mixture (indices with repetition, uniform
// weights normalized), from one engine, in order.
inline std::vector<composition> draw_mixtures(index_t library, int m, index_t n, random_engine& eng) {
  boost::random::uniform_int_distribution<index_t> pick(0, library - 1);
  boost::random::uniform_real_distribution<double> weight(0.0, 1.0);
  std::vector<composition> out;
  out.reserve(static_cast<std::size_t>(n));
  for (index_t t = 0; t < n; ++t) {
    std::map<index_t, double> parts;
    for (int j = 0; j < m; ++j) {
      const index_t k = pick(eng);
      parts[k] += weight(eng);
    }
    out.push_back(normalize_composition(std::move(parts)));
  }
  return out;
}

}  // namespace detail

// Fraction of random m-component mixtures (m in [min, max]) within the
// reduction limit of some site (Ito 2024, Suppl. Fig. 1). Trials are drawn
// from stream 2 of the seed; evaluated in parallel, deterministic.
inline std::vector<denseness_result> denseness_check(const site_library& lib, const site_set& sites,
                                                     const site_generation_options& options) {
  options.validate();
  const index_t E = static_cast<index_t>(lib.energy.size());
  require(sites.bands() == E, "site_generation", "sites bands",
          "must equal the library's band count " + std::to_string(E), sites.bands());
  detail::percent_point_bank bank(E);
  std::vector<double> sigma(static_cast<std::size_t>(E));
  for (const auto& s : sites.spectra) {
    normalized_sigma(options.noise, options.conditions, std::span<const double>(s), std::span<double>(sigma));
    bank.add(bank.prepare(s, sigma));
  }
  std::vector<denseness_result> out;
  if (options.denseness_trials == 0) return out;
  auto eng = make_engine(options.seed, 2);
  for (int m = options.denseness_min_components; m <= options.denseness_max_components; ++m) {
    const auto trials = detail::draw_mixtures(static_cast<index_t>(lib.spectra.size()), m,
                                              options.denseness_trials, eng);
    std::vector<char> within(trials.size(), 0);
    parallel_for(static_cast<index_t>(trials.size()), options.threads, 16,
                 [&](index_t begin, index_t end, int) {
                   std::vector<double> sg(static_cast<std::size_t>(E));
                   for (index_t t = begin; t < end; ++t) {
                     const auto y = detail::mix(lib, trials[static_cast<std::size_t>(t)]);
                     normalized_sigma(options.noise, options.conditions, std::span<const double>(y),
                                      std::span<double>(sg));
                     const auto x = bank.prepare(y, sg);
                     within[static_cast<std::size_t>(t)] =
                         bank.min_percent_point(x, 0, bank.size(), options.reduction_limit) <=
                         options.reduction_limit;
                   }
                 });
    denseness_result r;
    r.components = m;
    r.trials = static_cast<index_t>(trials.size());
    for (char w : within) r.within += w;
    out.push_back(r);
  }
  return out;
}

// The sites of Ito 2024 from a library (see the header comment).
template <progress_observer Progress = no_progress>
generated_sites generate_sites(const site_library& lib, const site_generation_options& options = {},
                               Progress&& progress = {}) {
  constexpr std::string_view c = "site_generation";
  options.validate();
  const index_t L = static_cast<index_t>(lib.spectra.size());
  const index_t E = static_cast<index_t>(lib.energy.size());
  require(L > 0, c, "library", "must hold at least one spectrum", L);
  require(lib.names.size() == lib.spectra.size(), c, "library names", "must name every spectrum",
          lib.names.size());
  validate_energy_grid(lib.energy, c);
  for (index_t k = 0; k < L; ++k)
    require(static_cast<index_t>(lib.spectra[static_cast<std::size_t>(k)].size()) == E, c,
            "library spectrum \"" + lib.names[static_cast<std::size_t>(k)] + "\" length",
            "must equal the energy count " + std::to_string(E),
            lib.spectra[static_cast<std::size_t>(k)].size());
  using clock = std::chrono::steady_clock;
  generated_sites result;
  auto& report = result.report;
  report.library = L;

  // 1. Candidates.
  std::vector<composition> comps;
  if (options.pairs) {
    for (index_t i = 0; i < L; ++i)
      for (index_t j = i; j < L; ++j)
        comps.push_back(i == j ? composition{{i, 1.0}} : composition{{i, 0.5}, {j, 0.5}});
  } else {
    for (index_t i = 0; i < L; ++i) comps.push_back(composition{{i, 1.0}});
  }
  report.initial_candidates = static_cast<index_t>(comps.size());
  std::vector<std::vector<double>> spectra;
  detail::percent_point_bank bank(E);
  std::vector<double> sigma(static_cast<std::size_t>(E));
  auto sigma_of = [&](const std::vector<double>& y, std::vector<double>& sg) {
    normalized_sigma(options.noise, options.conditions, std::span<const double>(y), std::span<double>(sg));
  };
  for (const auto& cm : comps) {
    spectra.push_back(detail::mix(lib, cm));
    sigma_of(spectra.back(), sigma);
    bank.add(bank.prepare(spectra.back(), sigma));
  }

  // 2. Densify: batches of trials in parallel against the candidates before
  // the batch, then in order against those accepted inside the batch.
  const auto t0 = clock::now();
  auto eng = make_engine(options.seed, 1);
  const auto trials = detail::draw_mixtures(L, options.mixture_components, options.trials, eng);
  constexpr index_t batch = 64;
  for (index_t b0 = 0; b0 < options.trials; b0 += batch) {
    const index_t nb = std::min(batch, options.trials - b0);
    const index_t before = bank.size();
    std::vector<detail::percent_point_bank::prepared> prep(static_cast<std::size_t>(nb));
    std::vector<std::vector<double>> ys(static_cast<std::size_t>(nb));
    std::vector<char> pass(static_cast<std::size_t>(nb), 0);
    parallel_for(nb, options.threads, 1, [&](index_t begin, index_t end, int) {
      std::vector<double> sg(static_cast<std::size_t>(E));
      for (index_t t = begin; t < end; ++t) {
        const auto k = static_cast<std::size_t>(t);
        ys[k] = detail::mix(lib, trials[static_cast<std::size_t>(b0 + t)]);
        sigma_of(ys[k], sg);
        prep[k] = bank.prepare(ys[k], sg);
        pass[k] = bank.min_percent_point(prep[k], 0, before, options.generation_limit) >
                  options.generation_limit;
      }
    });
    for (index_t t = 0; t < nb; ++t) {
      const auto k = static_cast<std::size_t>(t);
      if (!pass[k]) continue;
      if (bank.size() > before &&
          bank.min_percent_point(prep[k], before, bank.size(), options.generation_limit) <=
              options.generation_limit)
        continue;
      bank.add(prep[k]);
      spectra.push_back(std::move(ys[k]));
      comps.push_back(trials[static_cast<std::size_t>(b0 + t)]);
      ++report.accepted;
    }
    progress("densify", b0 + nb, options.trials);
  }
  report.candidates = static_cast<index_t>(spectra.size());
  report.seconds_densify = std::chrono::duration<double>(clock::now() - t0).count();

  // 3. Reduce.
  const auto t1 = clock::now();
  const index_t n = report.candidates;
  std::vector<std::vector<index_t>> groups;
  if (options.reduce) {
    row_matrix<double> normalized(n, E);
    for (index_t i = 0; i < n; ++i)
      for (index_t e = 0; e < E; ++e)
        normalized(i, e) = spectra[static_cast<std::size_t>(i)][static_cast<std::size_t>(e)];
    const auto set = make_percent_point_set<double>(normalized, options.noise, options.conditions);
    normalized.resize(0, 0);
    row_matrix<double> matrix(n, n);
    symmetric_percent_point_matrix(set, Eigen::Ref<row_matrix<double>>(matrix),
                                   percent_point_options{options.threads, 256});
    progress("reduce", 1, 2);
    agglomerative_options ao;
    ao.cut = options.reduction_limit;
    auto flat = average_linkage(std::span<double>(matrix.data(), static_cast<std::size_t>(n * n)), n, ao);
    groups = std::move(flat.members);
    progress("reduce", 2, 2);
  } else {
    for (index_t i = 0; i < n; ++i) groups.push_back({i});
  }
  report.seconds_reduce = std::chrono::duration<double>(clock::now() - t1).count();

  // Sites: mean spectra and mean compositions; names from the compositions.
  auto& sites = result.sites;
  sites.energy = lib.energy;
  std::map<std::string, int> seen;
  for (const auto& g : groups) {
    std::vector<double> mean(static_cast<std::size_t>(E), 0.0);
    std::map<index_t, double> parts;
    for (index_t i : g) {
      const auto& y = spectra[static_cast<std::size_t>(i)];
      for (index_t e = 0; e < E; ++e) mean[static_cast<std::size_t>(e)] += y[static_cast<std::size_t>(e)];
      for (const auto& [k, w] : comps[static_cast<std::size_t>(i)]) parts[k] += w;
    }
    for (auto& v : mean) v /= static_cast<double>(g.size());
    auto cm = detail::normalize_composition(std::move(parts));
    std::string name = detail::composition_name(lib, cm);
    const int count = ++seen[name];
    if (count > 1) name += "#" + std::to_string(count);
    sites.spectra.push_back(std::move(mean));
    sites.names.push_back(std::move(name));
    result.compositions.push_back(std::move(cm));
  }
  report.sites = sites.size();

  // 4. Denseness.
  const auto t2 = clock::now();
  report.denseness = denseness_check(lib, sites, options);
  report.seconds_denseness = std::chrono::duration<double>(clock::now() - t2).count();
  return result;
}

}  // namespace spectromine::partition
