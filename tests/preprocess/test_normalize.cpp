// pre_edge / find_e0 against xraylarch on every bundled spectrum, plus the
// bad-input contract of the single-spectrum path.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace fs = std::filesystem;
using namespace spectromine;

namespace {

struct larch_table {
  std::vector<double> energy, norm, flat, pre, post;
  double edge_step = 0;
};

larch_table read_larch_table(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  larch_table t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# edge_step=", 0) == 0) t.edge_step = std::stod(line.substr(12));
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    double e, n, f, p, q;
    s >> e >> n >> f >> p >> q;
    t.energy.push_back(e);
    t.norm.push_back(n);
    t.flat.push_back(f);
    t.pre.push_back(p);
    t.post.push_back(q);
  }
  return t;
}

using preprocess_test::data_dir;

}  // namespace

TEST_CASE("pre_edge agrees with xraylarch on every bundled spectrum (nnorm 1 and 2)") {
  int spectra = 0, checked = 0;
  double worst_step = 0, worst_norm = 0, worst_flat = 0;
  for (const char* edge : {"Fe_K", "Mn_K"}) {
    std::ifstream in(data_dir / "larch" / edge / "index.json");
    REQUIRE(in.good());
    const auto index = nlohmann::json::parse(in);
    for (const auto& [name, p] : index.items()) {
      CAPTURE(name);
      const auto ref = io::read_reference_spectrum(data_dir / "references" / edge / (name + ".dat"));
      ++spectra;
      for (int nnorm : {1, 2}) {
        CAPTURE(nnorm);
        const auto table =
            read_larch_table(data_dir / "larch" / edge / (name + ".norm" + std::to_string(nnorm) + ".dat"));
        REQUIRE(table.energy.size() == ref.energy.size());
        pre_edge_options o;
        o.e0 = p.at("e0").get<double>();
        o.pre1 = p.at("pre1").get<double>();
        o.pre2 = p.at("pre2").get<double>();
        o.norm1 = p.at("norm1").get<double>();
        o.norm2 = p.at("norm2").get<double>();
        o.nnorm = nnorm;
        const auto r = pre_edge(ref.energy, ref.mu, o);
        const double larch_step = p.at("edge_step_nnorm" + std::to_string(nnorm)).get<double>();
        const double rel = std::abs(r.edge_step - larch_step) / larch_step;
        worst_step = std::max(worst_step, rel);
        CHECK(rel < 0.005);
        // every energy inside the span of the two windows
        const double lo = r.e0 + r.windows.pre1, hi = r.e0 + r.windows.norm2;
        for (std::size_t i = 0; i < ref.energy.size(); ++i) {
          if (ref.energy[i] < lo || ref.energy[i] > hi) continue;
          const double dn = std::abs(r.norm[i] - table.norm[i]);
          const double df = std::abs(r.flat[i] - table.flat[i]);
          worst_norm = std::max(worst_norm, dn);
          worst_flat = std::max(worst_flat, df);
          if (dn >= 0.005 || df >= 0.005) {
            CAPTURE(i);
            CHECK(dn < 0.005);
            CHECK(df < 0.005);
          }
        }
        ++checked;
      }
    }
  }
  MESSAGE("spectra " << spectra << ", worst relative edge-step difference " << worst_step
                     << ", worst |norm| difference " << worst_norm << ", worst |flat| difference "
                     << worst_flat);
  CHECK(spectra == 47);
  CHECK(checked == 94);
}

TEST_CASE("find_e0 reproduces larch's e0 on every bundled spectrum") {
  int spectra = 0, exact = 0;
  double worst = 0;
  for (const char* edge : {"Fe_K", "Mn_K"}) {
    std::ifstream in(data_dir / "larch" / edge / "index.json");
    const auto index = nlohmann::json::parse(in);
    for (const auto& [name, p] : index.items()) {
      CAPTURE(name);
      const auto ref = io::read_reference_spectrum(data_dir / "references" / edge / (name + ".dat"));
      const double e0 = find_e0(ref.energy, ref.mu);
      const double d = std::abs(e0 - p.at("e0").get<double>());
      worst = std::max(worst, d);
      if (d < 1e-6) ++exact;
      // within one grid step at most (grids are 0.2 .. 10 eV)
      CHECK(d < 1e-6);
      ++spectra;
    }
  }
  MESSAGE("find_e0: " << exact << " of " << spectra << " identical to larch, worst " << worst << " eV");
}

TEST_CASE("pre_edge on a synthetic edge: exact recovery of lines and step") {
  // mu = line below, line + step + quadratic above: the fits are exact.
  std::vector<double> e, mu;
  for (int i = 0; i < 400; ++i) e.push_back(6900.0 + i * 1.5);
  const double e0 = e[150];
  for (double v : e) {
    const double x = v - e0;
    double m = 0.3 + 1e-4 * x;
    if (x >= 0) m += 1.7 + 2e-4 * x - 3e-7 * x * x;
    mu.push_back(m);
  }
  pre_edge_options o;
  o.e0 = e0;
  o.pre1 = -200;
  o.pre2 = -30;
  o.norm1 = 40;
  o.norm2 = 350;
  o.nnorm = 2;
  const auto r = pre_edge(e, mu, o);
  CHECK(r.edge_step == doctest::Approx(1.7).epsilon(1e-10));
  CHECK(r.pre_slope == doctest::Approx(1e-4).epsilon(1e-8));
  CHECK(r.post_coefs[2] == doctest::Approx(-3e-7).epsilon(1e-6));
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i] < e0) {
      CHECK(std::abs(r.norm[i]) < 1e-9);
    } else {
      CHECK(std::abs(r.flat[i] - 1.0) < 1e-9);  // flattened: exactly 1 above the edge
    }
  }
  // find_e0 on a smooth arctan edge sits at its inflection (grid point).
  std::vector<double> smooth;
  for (double v : e) smooth.push_back(std::atan((v - 7100.0) / 3.0));
  CHECK(std::abs(find_e0(e, smooth) - 7100.0) <= 1.5);
}

TEST_CASE("pre_edge default windows follow larch's rules") {
  std::vector<double> e, mu;
  for (int i = 0; i < 300; ++i) e.push_back(7000.0 + i * 2.0);
  for (double v : e) mu.push_back(0.1 + std::atan((v - 7112.0) / 2.0) / 3.0 + 0.5);
  const auto r = pre_edge(e, mu);  // all defaults, nnorm = 2
  // larch: pre1 = 5 round((E1 - e0) / 5) clamped to the first energy, pre2 = 5 round(pre1 / 15),
  // norm2 = 5 round((Emax - e0)/5) clamped to the last energy, norm1 = min(150, 5 round(norm2/15))
  const double e0 = r.e0;
  CHECK(r.windows.pre1 == std::max(5.0 * std::nearbyint((e[1] - e0) / 5.0), e[0] - e0));
  CHECK(r.windows.pre2 == 5.0 * std::nearbyint(r.windows.pre1 / 15.0));
  CHECK(r.windows.norm2 == std::min(5.0 * std::nearbyint((e.back() - e0) / 5.0), e.back() - e0));
  CHECK(r.windows.norm1 == std::min(150.0, 5.0 * std::nearbyint(r.windows.norm2 / 15.0)));
}

TEST_CASE("pre_edge rejects bad input with a clear message") {
  std::vector<double> e, mu;
  for (int i = 0; i < 200; ++i) e.push_back(7000.0 + i * 2.0);
  for (double v : e) mu.push_back(std::atan((v - 7150.0) / 2.0));
  pre_edge_options o;
  o.e0 = 7150;
  o.pre1 = -140;
  o.pre2 = -30;
  o.norm1 = 30;
  o.norm2 = 240;

  SUBCASE("NaN in mu") {
    auto bad = mu;
    bad[17] = std::nan("");
    CHECK_THROWS_WITH_AS(pre_edge(e, bad, o), doctest::Contains("mu[17] must be finite"),
                         invalid_argument);
  }
  SUBCASE("size mismatch") {
    auto shorter = mu;
    shorter.pop_back();
    CHECK_THROWS_AS(pre_edge(e, shorter, o), invalid_argument);
  }
  SUBCASE("post-edge window above the data") {
    o.norm1 = 400;
    o.norm2 = 600;
    CHECK_THROWS_WITH_AS(pre_edge(e, mu, o), doctest::Contains("norm1"), invalid_argument);
  }
  SUBCASE("pre-edge window below the data") {
    o.pre1 = -400;
    o.pre2 = -200;
    CHECK_THROWS_WITH_AS(pre_edge(e, mu, o), doctest::Contains("pre2"), invalid_argument);
  }
  SUBCASE("reversed window") {
    o.pre1 = -30;
    o.pre2 = -140;
    CHECK_THROWS_WITH_AS(pre_edge(e, mu, o), doctest::Contains("pre1 must be < pre2"),
                         invalid_argument);
  }
  SUBCASE("e0 outside the data") {
    o.e0 = 9000;
    CHECK_THROWS_WITH_AS(pre_edge(e, mu, o), doctest::Contains("e0 must lie within"),
                         invalid_argument);
  }
  SUBCASE("nnorm out of range") {
    o.nnorm = 3;
    CHECK_THROWS_AS(pre_edge(e, mu, o), invalid_argument);
  }
  SUBCASE("too short for a quadratic post-edge") {
    std::vector<double> e2{7000, 7010, 7020, 7030, 7040, 7050, 7060, 7070};
    std::vector<double> m2{0, 0, 0, 1, 1, 1, 1, 1};
    pre_edge_options s;
    s.e0 = 7030;
    s.pre1 = -30;
    s.pre2 = -5;
    s.norm1 = 35;
    s.norm2 = 40;  // window [7060, 7070): 1 point after larch's widening would be 2
    s.nnorm = 2;
    CHECK_THROWS_WITH_AS(pre_edge(e2, m2, s), doctest::Contains("post-edge window"),
                         invalid_argument);
  }
  SUBCASE("flat spectrum: no edge") {
    std::vector<double> flat(e.size(), 0.7);
    CHECK_THROWS_WITH_AS(pre_edge(e, flat), doctest::Contains("no rising absorption edge"),
                         invalid_argument);
    CHECK_THROWS_WITH_AS(pre_edge(e, flat, o), doctest::Contains("edge step"),
                         invalid_argument);
  }
  SUBCASE("spectrum too short for find_e0") {
    std::vector<double> e3{1, 2, 3, 4, 5, 6}, m3{0, 0, 1, 1, 1, 1};
    CHECK_THROWS_WITH_AS(find_e0(e3, m3), doctest::Contains("energy count"), invalid_argument);
  }
}
