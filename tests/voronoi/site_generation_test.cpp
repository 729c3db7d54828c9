// site_generation: the incremental percent points equal metric/percent_point,
// densification obeys its acceptance rule against a naive re-check, results
// are seeded and thread-count independent, names read chemically, CSV round
// trip, library loading from the bundled Fe K references.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <vector>

#include "spectromine/metric/percent_point.hpp"
#include "spectromine/partition/site_generation.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;

namespace {

sm::energy_grid paper_grid() {  // Ito 2024: 178 energies, 7009.2 - 7321.2 eV
  sm::energy_grid g;
  for (int i = 0; i < 178; ++i) g.push_back(7009.2 + (7321.2 - 7009.2) * i / 177.0);
  return g;
}

const sp::site_library& fe_library() {
  static const sp::site_library lib =
      sp::load_library(std::filesystem::path(SPECTROMINE_TEST_DATA_DIR) / "references" / "Fe_K",
                       paper_grid());
  return lib;
}

sp::site_library small_library(int count) {
  const auto& all = fe_library();
  sp::site_library lib;
  lib.energy = all.energy;
  for (int k = 0; k < count; ++k) {
    const auto idx = static_cast<std::size_t>(k * 5);  // spread over the folder
    lib.names.push_back(all.names[idx]);
    lib.spectra.push_back(all.spectra[idx]);
  }
  return lib;
}

double naive_symmetric(const sp::site_generation_options& o, const std::vector<double>& a,
                       const std::vector<double>& b) {
  return sm::symmetric_percent_point_between(o.noise, o.conditions, std::span<const double>(a),
                                             std::span<const double>(b));
}

}  // namespace

TEST_CASE("site_generation: the Fe K library loads onto the paper's grid") {
  const auto& lib = fe_library();
  CHECK(lib.spectra.size() == 41);
  CHECK(lib.names.front() == "Chromite");
  for (const auto& s : lib.spectra) {
    CHECK(s.size() == 178);
    CHECK(std::abs(s.front()) < 0.2);  // pre-edge ~ 0 after normalization
    CHECK(std::abs(s.back() - 1.0) < 0.3);  // post-edge ~ 1
  }
  // Hercynite starts at 7068.7 eV: held for 59.5 eV, reported.
  bool found = false;
  for (std::size_t k = 0; k < lib.names.size(); ++k)
    if (lib.names[k] == "Hercynite") {
      found = true;
      CHECK(lib.extrapolated[k].first == doctest::Approx(7068.7 - 7009.2).epsilon(1e-3));
    }
  CHECK(found);
  sp::library_options strict;
  strict.max_extrapolation = 10;
  CHECK_THROWS_WITH_AS(sp::load_library(std::filesystem::path(SPECTROMINE_TEST_DATA_DIR) /
                                            "references" / "Fe_K",
                                        paper_grid(), strict),
                       doctest::Contains("must cover the energy grid"), sm::invalid_argument);
}

TEST_CASE("site_generation: incremental percent points equal metric/percent_point") {
  const auto lib = small_library(6);
  sp::site_generation_options o;
  sp::detail::percent_point_bank bank(178);
  std::vector<double> sigma(178);
  std::vector<std::vector<double>> ys;
  for (std::size_t k = 0; k < lib.spectra.size(); ++k) {
    ys.push_back(sp::detail::mix(lib, {{static_cast<sm::index_t>(k), 0.7}, {0, 0.3}}));
    sm::normalized_sigma(o.noise, o.conditions, std::span<const double>(ys.back()), std::span<double>(sigma));
    bank.add(bank.prepare(ys.back(), sigma));
  }
  for (std::size_t a = 0; a < ys.size(); ++a) {
    sm::normalized_sigma(o.noise, o.conditions, std::span<const double>(ys[a]), std::span<double>(sigma));
    const auto x = bank.prepare(ys[a], sigma);
    for (std::size_t b = 0; b < ys.size(); ++b) {
      if (a == b) continue;
      const double got = bank.min_percent_point(x, static_cast<sm::index_t>(b), static_cast<sm::index_t>(b + 1));
      CHECK(got == doctest::Approx(naive_symmetric(o, ys[a], ys[b])).epsilon(1e-9));
    }
  }
}

TEST_CASE("site_generation: acceptance rule, reduction, determinism, names, CSV") {
  const auto lib = small_library(6);
  sp::site_generation_options o;
  o.trials = 400;
  o.seed = 3;
  o.denseness_trials = 200;
  o.threads = 1;
  const auto one = sp::generate_sites(lib, o);
  o.threads = 2;
  const auto two = sp::generate_sites(lib, o);
  CHECK(one.sites.names == two.sites.names);
  CHECK(one.sites.spectra == two.sites.spectra);
  const auto& r = one.report;
  CHECK(r.library == 6);
  CHECK(r.initial_candidates == 21);  // 6 * 7 / 2 pairs with repetition
  CHECK(r.accepted > 0);
  CHECK(r.candidates == r.initial_candidates + r.accepted);
  CHECK(r.sites <= r.candidates);
  CHECK(r.sites == one.sites.size());
  CHECK(r.denseness.size() == 3);
  for (const auto& d : r.denseness) {
    CHECK(d.trials == 200);
    CHECK(d.fraction() >= 0.0);
    CHECK(d.fraction() <= 1.0);
  }

  // Re-run densification naively: every accepted mixture is beyond the
  // generation limit from every candidate before it, every rejected one is not.
  o.reduce = false;
  o.denseness_trials = 0;
  const auto unreduced = sp::generate_sites(lib, o);
  CHECK(unreduced.sites.size() == r.candidates);
  auto eng = sm::make_engine(o.seed, 1);
  const auto trials = sp::detail::draw_mixtures(6, 3, o.trials, eng);
  std::vector<std::vector<double>> cands;
  for (sm::index_t i = 0; i < r.initial_candidates; ++i) cands.push_back(unreduced.sites.spectra[static_cast<std::size_t>(i)]);
  sm::index_t accepted = 0;
  for (const auto& t : trials) {
    const auto y = sp::detail::mix(lib, t);
    double mn = 1e300;
    for (const auto& c : cands) mn = std::min(mn, naive_symmetric(o, y, c));
    if (mn > o.generation_limit) {
      const auto& got = unreduced.compositions[cands.size()];
      REQUIRE(got.size() == t.size());
      for (std::size_t j = 0; j < t.size(); ++j) {
        CHECK(got[j].first == t[j].first);
        CHECK(got[j].second == doctest::Approx(t[j].second).epsilon(1e-12));
      }
      cands.push_back(y);
      ++accepted;
    }
  }
  CHECK(accepted == r.accepted);

  // Names say what made the site; the site is the mixture its name lists.
  std::set<std::string> names(one.sites.names.begin(), one.sites.names.end());
  CHECK(names.size() == one.sites.names.size());
  for (std::size_t s = 0; s < one.sites.names.size(); ++s) {
    const auto& name = one.sites.names[s];
    const auto& comp = one.compositions[s];
    double total = 0, largest = 0;
    std::string major;
    for (const auto& [k, w] : comp) {
      total += w;
      if (w > largest) {
        largest = w;
        major = lib.names[static_cast<std::size_t>(k)];
      }
    }
    CHECK(name.rfind(major, 0) == 0);  // the name starts with the major component
    if (comp.size() > 1) CHECK(name.find(major + ":") == 0);
    CHECK(total == doctest::Approx(1.0));
    // the mean of mixtures is the mixture with the mean weights
    const auto y = sp::detail::mix(lib, comp);
    for (std::size_t e = 0; e < y.size(); ++e) CHECK(y[e] == doctest::Approx(one.sites.spectra[s][e]).epsilon(1e-9));
  }

  // CSV round trip.
  const auto path = std::filesystem::temp_directory_path() / "spectromine_voronoi_sites_test.csv";
  sp::write_sites_csv(path, one.sites);
  const auto back = sp::read_sites_csv(path);
  CHECK(back.names == one.sites.names);
  CHECK(back.spectra == one.sites.spectra);
  CHECK(back.energy == one.sites.energy);
  std::filesystem::remove(path);
}

TEST_CASE("site_generation: sites on another grid") {
  const auto lib = small_library(3);
  sp::site_set s{lib.energy, lib.names, lib.spectra};
  const auto same = sp::sites_on_grid(s, lib.energy);
  CHECK(same.spectra == s.spectra);
  sm::energy_grid inner(lib.energy.begin() + 10, lib.energy.end() - 10);
  inner[5] += 0.3;
  const auto sub = sp::sites_on_grid(s, inner);
  CHECK(sub.bands() == static_cast<sm::index_t>(inner.size()));
  CHECK(sub.spectra[1][0] == doctest::Approx(s.spectra[1][10]));
  sm::energy_grid wider = lib.energy;
  wider.push_back(wider.back() + 50);
  CHECK_THROWS_WITH_AS(sp::sites_on_grid(s, wider), doctest::Contains("must lie inside the sites' grid"),
                       sm::invalid_argument);
  sp::site_generation_options bad;
  bad.trials = -1;
  CHECK_THROWS_WITH_AS(sp::generate_sites(lib, bad), doctest::Contains("site_generation: trials must be >= 0"),
                       sm::invalid_argument);
}
