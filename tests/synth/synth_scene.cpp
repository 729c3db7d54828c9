// synth/: scenes, truth, rendering through the noise model.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "spectromine/io/text.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/synth/phase.hpp"
#include "spectromine/synth/presets.hpp"
#include "spectromine/synth/render.hpp"
#include "spectromine/synth/scene.hpp"
#include "spectromine/synth/shape.hpp"

using namespace spectromine;

namespace {

const std::filesystem::path data_dir = SPECTROMINE_TEST_DATA_DIR;

energy_grid demo_grid() { return io::read_energy_list(data_dir / "demo" / "energy.txt"); }

std::vector<synth::phase> fe_phases(const energy_grid& grid) {
  std::vector<io::reference_spectrum> refs;
  for (const char* name : {"fe2o3_rt1_xmu", "feo_rt1_xmu", "fe_xafs_feso4_005"})
    refs.push_back(io::read_reference_spectrum(data_dir / "references" / "Fe_K" /
                                               (std::string(name) + ".dat")));
  return synth::phases_from_references(refs, grid);
}

// Two artificial edges (a step at different energies), for fast tests.
std::vector<synth::phase> toy_phases(index_t bands) {
  std::vector<synth::phase> p(3);
  const char* names[] = {"a", "b", "c"};
  for (int k = 0; k < 3; ++k) {
    p[k].name = names[k];
    for (index_t i = 0; i < bands; ++i)
      p[k].spectrum.push_back(1.0 / (1.0 + std::exp(-(static_cast<double>(i) - 8.0 - 3 * k))));
  }
  return p;
}

energy_grid toy_grid(index_t bands) {
  energy_grid e;
  for (index_t i = 0; i < bands; ++i) e.push_back(7100.0 + 2.0 * static_cast<double>(i));
  return e;
}

// Naive truth: for every pixel, the last layer that covers it, by the
// definitions written out again (rectangle: Chebyshev distance; disk:
// Euclidean distance to the circle).
label_image naive_truth(const synth::scene& s) {
  label_image t(s.shape, s.background);
  for (index_t r = 0; r < s.shape.rows; ++r)
    for (index_t c = 0; c < s.shape.cols; ++c)
      for (const auto& l : s.layers) {
        double d = 0;
        if (const auto* rect = std::get_if<synth::rectangle>(&l.shape)) {
          index_t dr = 0, dc = 0;
          if (r < rect->row0) dr = rect->row0 - r;
          if (r >= rect->row0 + rect->rows) dr = r - (rect->row0 + rect->rows - 1);
          if (c < rect->col0) dc = rect->col0 - c;
          if (c >= rect->col0 + rect->cols) dc = c - (rect->col0 + rect->cols - 1);
          d = static_cast<double>(dr > dc ? dr : dc);
        } else {
          const auto& k = std::get<synth::disk>(l.shape);
          const double e = std::sqrt((r - k.row) * (r - k.row) + (c - k.col) * (c - k.col));
          d = e <= k.radius ? 0.0 : e - k.radius;
        }
        if (d == 0)
          t(r, c) = l.phase;
        else if (l.rim_width > 0 && d <= l.rim_width)
          t(r, c) = l.rim_phase;
      }
  return t;
}

bool same_labels(const label_image& a, const label_image& b) {
  if (a.shape() != b.shape()) return false;
  return std::memcmp(a.data(), b.data(), sizeof(label_t) * a.shape().pixels()) == 0;
}

}  // namespace

TEST_CASE("phases from real Fe K references are normalized on the grid") {
  const auto grid = demo_grid();
  const auto p = fe_phases(grid);
  REQUIRE(p.size() == 3);
  CHECK(p[0].name == "fe2o3_rt1_xmu");
  for (const auto& ph : p) {
    REQUIRE(ph.spectrum.size() == grid.size());
    CHECK(std::abs(ph.spectrum.front()) < 0.1);      // pre-edge ~ 0
    CHECK(std::abs(ph.spectrum.back() - 1.0) < 0.3); // post-edge ~ 1
  }
  const auto m = synth::mixture(p[0], p[1], 0.25);
  CHECK(m.name == "fe2o3_rt1_xmu:0.25+feo_rt1_xmu:0.75");
  for (std::size_t i = 0; i < grid.size(); ++i)
    CHECK(m.spectrum[i] == doctest::Approx(0.25 * p[0].spectrum[i] + 0.75 * p[1].spectrum[i]));
  CHECK_THROWS_WITH_AS(synth::find_phase(p, "magnetite"), doctest::Contains("phase"),
                       invalid_argument);
  CHECK_THROWS_AS(synth::mixture(p[0], p[1], 1.5), invalid_argument);
}

TEST_CASE("needle scene truth: exactly n x n central pixels, like the paper's 1/1600") {
  const auto e = toy_grid(24);
  const auto ph = toy_phases(24);
  for (index_t n : {1, 4, 10}) {
    const auto s = synth::needle_scene(e, ph[0], ph[1], {{40, 40}, n});
    const auto t = synth::rasterize(s);
    const auto counts = synth::label_counts(t.view(), 2);
    CHECK(counts[0] == 0);
    CHECK(counts[2] == n * n);
    CHECK(counts[1] == 1600 - n * n);
    const index_t r0 = (40 - n) / 2;  // the needle spans rows/cols r0 .. r0 + n - 1
    CHECK(t(r0, r0) == 2);
    CHECK(t(r0 + n - 1, r0 + n - 1) == 2);
    CHECK(t(r0 + n, r0) == 1);
    CHECK(t(r0 - 1, r0) == 1);
    CHECK(same_labels(t, naive_truth(s)));
  }
  CHECK_THROWS_AS(synth::needle_scene(e, ph[0], ph[1], {{8, 8}, 9}), invalid_argument);
  CHECK_THROWS_AS(synth::needle_scene(e, ph[0], ph[1], {{8, 8}, 0}), invalid_argument);
}

TEST_CASE("rims: a w-pixel ring of the mixture around every grain, grains never touch") {
  const auto e = toy_grid(24);
  const auto ph = toy_phases(24);
  synth::grain_options g;
  g.shape = {96, 80};
  g.grains = 6;
  g.radius = 7;
  g.rim_width = 3;
  g.seed = 11;
  const auto s = synth::rims_scene(e, ph[0], ph[1], g, 0.5);
  REQUIRE(s.phases.size() == 3);
  CHECK(s.phases[2].name == "a:0.50+b:0.50");
  const auto t = synth::rasterize(s);
  CHECK(same_labels(t, naive_truth(s)));
  const auto counts = synth::label_counts(t.view(), 3);
  CHECK(counts[2] > 0);
  CHECK(counts[3] > 0);
  // Every grain pixel is separated from the matrix by the rim: no 8-neighbour
  // of a grain pixel is matrix.
  for (index_t r = 1; r + 1 < 96; ++r)
    for (index_t c = 1; c + 1 < 80; ++c)
      if (t(r, c) == 2)
        for (int dr = -1; dr <= 1; ++dr)
          for (int dc = -1; dc <= 1; ++dc) CHECK_FALSE(t(r + dr, c + dc) == 1);
  // Every rim pixel is within rim_width (+ 1 for pixel geometry) of a grain pixel.
  for (index_t r = 0; r < 96; ++r)
    for (index_t c = 0; c < 80; ++c)
      if (t(r, c) == 3) {
        bool near = false;
        for (index_t rr = std::max<index_t>(0, r - 4); rr <= std::min<index_t>(95, r + 4); ++rr)
          for (index_t cc = std::max<index_t>(0, c - 4); cc <= std::min<index_t>(79, c + 4); ++cc)
            near |= t(rr, cc) == 2;
        CHECK(near);
      }
  // Same seed, same placement; another seed moves the grains.
  CHECK(same_labels(t, synth::rasterize(synth::rims_scene(e, ph[0], ph[1], g, 0.5))));
  g.seed = 12;
  CHECK_FALSE(same_labels(t, synth::rasterize(synth::rims_scene(e, ph[0], ph[1], g, 0.5))));
  g.radius = 30;
  CHECK_THROWS_WITH_AS(synth::rims_scene(e, ph[0], ph[1], g), doctest::Contains("radius"),
                       invalid_argument);
}

TEST_CASE("render without noise is the physics: mut = t (mut_low + s step); empty = empty_mut") {
  const auto e = toy_grid(20);
  const auto ph = toy_phases(20);
  auto s = synth::demo_scene(e, ph, {48, 40}, 3);
  synth::render_options o;
  o.noise = false;
  o.conditions = {2.0e4, 0.5, 2.5};
  o.empty_mut = 0.05;
  const auto out = synth::render(s, o);
  const auto counts = synth::label_counts(out.truth.view(), 4);
  CHECK(counts[0] > 0);  // the empty corner
  CHECK(counts[4] > 0);  // blobs of the third phase
  double tmin = 1e9, tmax = 0;
  for (index_t r = 0; r < 48; ++r)
    for (index_t c = 0; c < 40; ++c) {
      const label_t l = out.truth(r, c);
      const double t = 1.0 + 0.2 * (c / 39.0 - 0.5) +
                       0.1 * std::sin(2 * M_PI * r / 48.0) * std::cos(2 * M_PI * c / 48.0);
      tmin = std::min(tmin, t);
      tmax = std::max(tmax, t);
      CHECK(out.thickness(r, c) == doctest::Approx(t).epsilon(1e-6));
      for (index_t i = 0; i < 20; i += 7) {
        const double expected =
            l == 0 ? 0.05 : t * (0.5 + 2.0 * s.phases[static_cast<std::size_t>(l - 1)].spectrum[i]);
        CHECK(out.mut(r, c, i) == doctest::Approx(expected).epsilon(1e-6));
      }
    }
  CHECK(tmax - tmin > 0.15);  // the thickness really varies
}

TEST_CASE("render noise: seeded, thread-independent, and with the propagated sCMOS variance") {
  const auto e = toy_grid(16);
  const auto ph = toy_phases(16);
  synth::scene s = synth::needle_scene(e, ph[0], ph[1], {{64, 64}, 1});
  s.layers.clear();  // one phase everywhere: every pixel samples the same law
  synth::render_options o;
  o.seed = 42;
  o.threads = 1;
  const auto a = synth::render(s, o);
  o.threads = 2;
  o.pixels_per_stream = 64;
  const auto b = synth::render(s, o);
  CHECK(a.mut.storage() == b.mut.storage());
  o.seed = 43;
  const auto c = synth::render(s, o);
  CHECK(a.mut.storage() != c.mut.storage());

  // Mean and variance per band against the error propagation of
  // ln(c_ref / c_trans) (METHODS.md section 2): 4096 samples per band.
  const scmos_noise m;
  const auto& cond = o.conditions;
  int bands_ok = 0;
  for (index_t i = 0; i < 16; ++i) {
    double sum = 0, sum2 = 0;
    const index_t n = 64 * 64;
    for (index_t p = 0; p < n; ++p) {
      const double v = a.mut.spectrum(p)[static_cast<std::size_t>(i)];
      sum += v;
      sum2 += v * v;
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    const double mut = cond.mut(ph[0].spectrum[static_cast<std::size_t>(i)]);
    const double ct = cond.c_ref * std::exp(-mut);
    const double expected_var =
        m.variance(cond.c_ref) / (cond.c_ref * cond.c_ref) + m.variance(ct) / (ct * ct);
    // Mean within 5 standard errors; variance within 10% (sd of a sample
    // variance with 4096 normal draws is 2.2%).
    CHECK(std::abs(mean - mut) < 5 * std::sqrt(expected_var / n));
    if (std::abs(var / expected_var - 1) < 0.10) ++bands_ok;
  }
  CHECK(bands_ok == 16);
}

TEST_CASE("a real Fe K needle scene renders and its pixels hold their phase") {
  const auto grid = demo_grid();
  const auto p = fe_phases(grid);
  const auto s = synth::needle_scene(grid, p[0], p[1], {{24, 24}, 4});
  synth::render_options o;
  o.seed = 5;
  const auto out = synth::render(s, o);
  CHECK(out.mut.bands() == static_cast<index_t>(grid.size()));
  // The noisy spectrum of a needle pixel is closer (in mu*t) to the clean
  // minority spectrum than to the majority one.
  const auto& cond = o.conditions;
  double d_own = 0, d_other = 0;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    const double v = out.mut(12, 12, static_cast<index_t>(i));
    d_own += std::pow(v - cond.mut(p[1].spectrum[i]), 2);
    d_other += std::pow(v - cond.mut(p[0].spectrum[i]), 2);
  }
  CHECK(out.truth(12, 12) == 2);
  CHECK(d_own < d_other);
}

TEST_CASE("bad scenes are refused with the parameter named") {
  const auto e = toy_grid(16);
  const auto ph = toy_phases(16);
  synth::scene s = synth::needle_scene(e, ph[0], ph[1], {{16, 16}, 2});
  auto bad = s;
  bad.layers[0].phase = 7;
  CHECK_THROWS_WITH_AS(synth::rasterize(bad), doctest::Contains("layer phase"), invalid_argument);
  bad = s;
  bad.phases[0].spectrum.pop_back();
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("length"), invalid_argument);
  bad = s;
  bad.thickness.amplitude = 0.9;
  bad.thickness.gradient = 0.5;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("thickness"), invalid_argument);
  synth::render_options o;
  o.conditions.c_ref = -1;
  CHECK_THROWS_WITH_AS(synth::render(s, o), doctest::Contains("c_ref"), invalid_argument);
  cube<float> wrong({16, 15}, 16);
  const auto t = synth::rasterize(s);
  CHECK_THROWS_WITH_AS(synth::render_into(s, t.view(), wrong.view(), {}, scmos_noise{}),
                       doctest::Contains("output shape"), invalid_argument);
}
