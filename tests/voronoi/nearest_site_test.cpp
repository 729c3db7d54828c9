// nearest_site: every label equals the naive double-precision definition, for
// every kernel (brute force / pruned) x SIMD level x input type x thread
// count, including adversarial near-ties; sentinels; unexplained pixels.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/noise/propagation.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "test_util.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;

namespace {

// A cube of pixels near sites: mixtures of two random sites + noise, scaled
// and offset per pixel (labels must not depend on scale and offset).
sm::cube<double> noisy_cube(const sp::site_set& sites, sm::image_shape shape, double noise,
                            std::uint64_t seed) {
  const auto E = sites.bands();
  sm::cube<double> cube(shape, E);
  auto eng = sm::make_engine(seed, 3);
  boost::random::uniform_int_distribution<int> pick(0, static_cast<int>(sites.size()) - 1);
  boost::random::uniform_real_distribution<double> u01(0.0, 1.0);
  boost::random::normal_distribution<double> gauss(0.0, 1.0);
  auto v = sm::mutable_view_of(cube);
  for (sm::index_t p = 0; p < shape.pixels(); ++p) {
    const auto& a = sites.spectra[static_cast<std::size_t>(pick(eng))];
    const auto& b = sites.spectra[static_cast<std::size_t>(pick(eng))];
    const double w = u01(eng) < 0.5 ? 1.0 : u01(eng);
    const double scale = 0.5 + 2 * u01(eng), offset = u01(eng) - 0.5;
    auto x = v.spectrum(p);
    for (sm::index_t i = 0; i < E; ++i)
      x[static_cast<std::size_t>(i)] =
          scale * (w * a[static_cast<std::size_t>(i)] + (1 - w) * b[static_cast<std::size_t>(i)] +
                   noise * gauss(eng)) +
          offset;
  }
  return cube;
}

template <class T>
sm::cube<T> cast_cube(const sm::cube<double>& in) {
  sm::cube<T> out(in.shape(), in.bands());
  auto src = sm::view_of(in);
  auto dst = sm::mutable_view_of(out);
  for (sm::index_t p = 0; p < src.pixel_count(); ++p)
    for (sm::index_t i = 0; i < src.bands(); ++i)
      dst.spectrum(p)[static_cast<std::size_t>(i)] = static_cast<T>(src.spectrum(p)[static_cast<std::size_t>(i)]);
  return out;
}

template <class T>
std::vector<int> naive_labels(const voronoi_test::naive_reference& ref, const sm::cube<T>& cube) {
  auto v = sm::view_of(cube);
  std::vector<int> out;
  for (sm::index_t p = 0; p < v.pixel_count(); ++p) out.push_back(ref.label(v.spectrum(p)));
  return out;
}

std::vector<sp::simd_level> levels() {
  std::vector<sp::simd_level> l{sp::simd_level::generic};
  if (sp::detail::cpu_has_avx2()) l.push_back(sp::simd_level::avx2);
  if (sp::detail::cpu_has_avx512()) l.push_back(sp::simd_level::avx512);
  return l;
}

template <class T>
int mismatches(const sp::nearest_site_index& index, const sm::cube<T>& cube,
               const std::vector<int>& expected, sp::labelling_statistics* stats = nullptr) {
  sm::label_image labels(cube.shape(), 12345);
  auto st = index.assign(sm::view_of(cube), sm::mask_view{}, labels.view());
  if (stats) *stats = st;
  int bad = 0;
  for (sm::index_t p = 0; p < labels.pixel_count(); ++p) bad += labels[p] != expected[static_cast<std::size_t>(p)];
  return bad;
}

}  // namespace

TEST_CASE("nearest_site: every kernel equals the double-precision definition") {
  const auto sites = voronoi_test::synthetic_sites(300, 178, 1);
  const voronoi_test::naive_reference ref(sites);
  const auto cube_d = noisy_cube(sites, {23, 37}, 0.004, 2);
  const auto cube_f = cast_cube<float>(cube_d);
  const auto expect_d = naive_labels(ref, cube_d);
  const auto expect_f = naive_labels(ref, cube_f);
  for (auto level : levels())
    for (auto strategy : {sp::nearest_site_strategy::brute_force, sp::nearest_site_strategy::pruned})
      for (int threads : {1, 2})
        for (int components : {3, 16}) {
          sp::nearest_site_options o;
          o.simd = level;
          o.strategy = strategy;
          o.threads = threads;
          o.components = components;
          const sp::nearest_site_index index(sites, o);
          CAPTURE(sp::to_string(level));
          CAPTURE(sp::to_string(strategy));
          CAPTURE(threads);
          CAPTURE(components);
          sp::labelling_statistics st;
          CHECK(mismatches(index, cube_f, expect_f, &st) == 0);
          CHECK(mismatches(index, cube_d, expect_d) == 0);
          CHECK(st.pixels == cube_f.shape().pixels());
          if (strategy == sp::nearest_site_strategy::pruned) CHECK(st.evaluated_fraction() < 1.0);
        }
}

TEST_CASE("nearest_site: adversarial ties and near-ties") {
  // Duplicated sites (exact ties: the lower id must win), pixels exactly
  // between two sites, and pixels a hair's breadth from the midpoint.
  auto sites = voronoi_test::synthetic_sites(120, 96, 5);
  for (int d = 0; d < 10; ++d) {  // duplicates of sites 3..12 appended at the end
    sites.spectra.push_back(sites.spectra[static_cast<std::size_t>(3 + d)]);
    sites.names.push_back("dup" + std::to_string(d));
  }
  // and one duplicate placed before its original (id 0 duplicates id 1)
  sites.spectra.insert(sites.spectra.begin(), sites.spectra[1]);
  sites.names.insert(sites.names.begin(), "dup_first");
  const voronoi_test::naive_reference ref(sites);
  const auto E = sites.bands();
  const sm::image_shape shape{20, 30};
  sm::cube<double> cube(shape, E);
  auto v = sm::mutable_view_of(cube);
  auto eng = sm::make_engine(7);
  boost::random::uniform_int_distribution<int> pick(0, static_cast<int>(sites.size()) - 1);
  boost::random::uniform_real_distribution<double> u01(0.0, 1.0);
  for (sm::index_t p = 0; p < shape.pixels(); ++p) {
    const int a = pick(eng), b = pick(eng);
    std::vector<double> za, zb;
    voronoi_test::standardize(std::span<const double>(sites.spectra[static_cast<std::size_t>(a)]), za);
    voronoi_test::standardize(std::span<const double>(sites.spectra[static_cast<std::size_t>(b)]), zb);
    const int kind = static_cast<int>(p % 4);
    const double eps = kind == 0 ? 0.0 : kind == 1 ? 1e-15 : kind == 2 ? 1e-9 : 1e-6;
    const double sign = u01(eng) < 0.5 ? -1 : 1;
    for (sm::index_t i = 0; i < E; ++i) {
      const auto k = static_cast<std::size_t>(i);
      // midpoint of the two standardized sites (equal scores), nudged
      v.spectrum(p)[k] = 0.5 * (za[k] + zb[k]) + sign * eps * (za[k] - zb[k]) + 3.0;
    }
    if (p % 7 == 0)  // exactly a duplicated site
      for (sm::index_t i = 0; i < E; ++i)
        v.spectrum(p)[static_cast<std::size_t>(i)] = sites.spectra[static_cast<std::size_t>(4)][static_cast<std::size_t>(i)];
  }
  const auto cube_f = cast_cube<float>(cube);
  const auto expect_d = naive_labels(ref, cube);
  const auto expect_f = naive_labels(ref, cube_f);
  // a pixel equal to site 4 gets label 5, not its later duplicate's
  for (std::size_t p = 0; p < expect_d.size(); p += 7) CHECK(expect_d[p] == 5);
  for (auto level : levels())
    for (auto strategy : {sp::nearest_site_strategy::brute_force, sp::nearest_site_strategy::pruned}) {
      sp::nearest_site_options o;
      o.simd = level;
      o.strategy = strategy;
      o.components = 8;
      const sp::nearest_site_index index(sites, o);
      CAPTURE(sp::to_string(level));
      CAPTURE(sp::to_string(strategy));
      sp::labelling_statistics st;
      CHECK(mismatches(index, cube, expect_d, &st) == 0);
      CHECK(st.rechecked > 0);  // the near-ties really went through the double path
      CHECK(mismatches(index, cube_f, expect_f) == 0);
    }
}

TEST_CASE("nearest_site: mask, NaN, constant and out-of-float-range pixels; tiles") {
  const auto sites = voronoi_test::synthetic_sites(80, 50, 9);
  const voronoi_test::naive_reference ref(sites);
  auto cube = noisy_cube(sites, {9, 11}, 0.01, 4);
  auto v = sm::mutable_view_of(cube);
  v(0, 0, 3) = std::numeric_limits<double>::quiet_NaN();
  v(0, 1, 0) = std::numeric_limits<double>::infinity();
  for (sm::index_t i = 0; i < 50; ++i) v(0, 2, i) = 0.25;                    // constant
  for (sm::index_t i = 0; i < 50; ++i) v(0, 3, i) = 1.0 + (i == 7) * 1e-12;  // constant in float only
  for (sm::index_t i = 0; i < 50; ++i) v(0, 4, i) *= 1e30;                   // overflows float
  sm::pixel_mask mask(cube.shape(), 1);
  mask(5, 5) = 0;
  mask(8, 10) = 0;
  const sp::nearest_site_index index(sites);
  sm::label_image labels(cube.shape(), 999);
  const auto st = index.assign(sm::view_of(cube), mask.view(), labels.view());
  CHECK(labels(0, 0) == sm::labels::unlabeled);
  CHECK(labels(0, 1) == sm::labels::unlabeled);
  CHECK(labels(0, 2) == sm::labels::unlabeled);
  CHECK(labels(0, 3) == ref.label(sm::view_of(cube).spectrum(0, 3)));
  CHECK(labels(0, 3) > 0);
  CHECK(labels(0, 4) == ref.label(sm::view_of(cube).spectrum(0, 4)));
  CHECK(labels(5, 5) == sm::labels::unlabeled);
  CHECK(labels(8, 10) == sm::labels::unlabeled);
  CHECK(st.invalid == 3);
  CHECK(st.fallback == 2);
  for (sm::index_t p = 0; p < cube.shape().pixels(); ++p) {
    const auto r = p / 11, c = p % 11;
    if ((r == 0 && c < 5) || mask(r, c) == 0) continue;
    CHECK(labels[p] == ref.label(sm::view_of(cube).spectrum(p)));
  }
  // A strided tile labels exactly like the full image.
  sm::label_image tile_labels({4, 5}, 0);
  index.assign(sm::view_of(cube).subview(3, 4, 4, 5), mask.view().subview(3, 4, 4, 5),
               tile_labels.view());
  for (sm::index_t r = 0; r < 4; ++r)
    for (sm::index_t c = 0; c < 5; ++c) CHECK(tile_labels(r, c) == labels(3 + r, 4 + c));
}

TEST_CASE("nearest_site: bad input is rejected with a clear error") {
  const auto sites = voronoi_test::synthetic_sites(10, 20, 1);
  const sp::nearest_site_index index(sites);
  sm::cube<float> wrong({2, 2}, 21);
  sm::label_image labels({2, 2}, 0);
  CHECK_THROWS_WITH_AS(index.assign(sm::view_of(wrong), sm::mask_view{}, labels.view()),
                       doctest::Contains("nearest_site: cube bands must equal"),
                       sm::invalid_argument);
  auto bad = sites;
  bad.spectra[2].assign(20, 1.0);
  CHECK_THROWS_WITH_AS(sp::nearest_site_index{bad}, doctest::Contains("must not be constant"),
                       sm::invalid_argument);
  sp::nearest_site_options o;
  o.components = 0;
  CHECK_THROWS_AS(sp::nearest_site_index(sites, o), sm::invalid_argument);
}

TEST_CASE("nearest_site: unexplained pixels are a phase the sites lack") {
  // Sites from 30 synthetic phases; pixels are normalized spectra of those
  // phases + physical noise (explained), or of a phase not in the set.
  const auto sites = voronoi_test::synthetic_sites(30, 120, 21, false);
  auto absent = sites.spectra[7];  // site 7 with a feature no site has
  for (std::size_t i = 0; i < absent.size(); ++i)
    absent[i] += 0.3 * std::exp(-std::pow((static_cast<double>(i) - 80.0) / 6.0, 2));
  sp::nearest_site_options o;
  o.unexplained.enabled = true;
  const sp::nearest_site_index index(sites, o);
  const sm::image_shape shape{20, 20};
  sm::cube<double> cube(shape, sites.bands());
  auto v = sm::mutable_view_of(cube);
  auto eng = sm::make_engine(22);
  boost::random::normal_distribution<double> gauss(0.0, 1.0);
  const sm::scmos_noise noise;
  std::vector<double> sigma(static_cast<std::size_t>(sites.bands()));
  for (sm::index_t p = 0; p < shape.pixels(); ++p) {
    const bool in = p < shape.pixels() / 2;
    const auto& s = in ? sites.spectra[static_cast<std::size_t>(p % 30)] : absent;
    sm::normalized_sigma(noise, o.unexplained.conditions, std::span<const double>(s),
                         std::span<double>(sigma));
    for (sm::index_t i = 0; i < sites.bands(); ++i)
      v.spectrum(p)[static_cast<std::size_t>(i)] =
          s[static_cast<std::size_t>(i)] + sigma[static_cast<std::size_t>(i)] * gauss(eng);
  }
  sm::label_image labels(shape, 0);
  const auto st = index.assign(sm::view_of(cube), sm::mask_view{}, labels.view());
  int explained_in = 0, unexplained_out = 0;
  for (sm::index_t p = 0; p < shape.pixels(); ++p) {
    if (p < shape.pixels() / 2) explained_in += labels[p] == static_cast<int>(p % 30) + 1;
    else unexplained_out += labels[p] == sm::labels::unexplained;
  }
  CHECK(explained_in >= shape.pixels() / 2 - 1);  // false alarm probability 1e-4 per pixel
  CHECK(unexplained_out == shape.pixels() / 2);
  CHECK(st.unexplained == unexplained_out + (shape.pixels() / 2 - explained_in));
}

// Regression (issue #6: SIGSEGV in run_pruned_avx512 on a scene whose 50:50
// rim equals a site). Every kernel the CPU can run (generic, AVX2, AVX-512;
// brute force and pruned with the fixed-k fast paths 8/12/16 and the generic
// loop) over awkward shapes: 1 site, site counts on both sides of the SIMD
// widths, bands not a multiple of 16 (down to 2), components above the site
// or band count; sites with exact duplicates (one placed before its
// original); pixels that are exact copies of sites, exact midpoints of two
// standardized sites, 50:50 mixtures of two raw sites, and noisy mixtures.
// Tie rule (the definition in nearest_site.hpp): the label is 1 + the lowest
// site id among those whose double score (sequential sum of the two-pass
// standardized vectors) is maximal; the oracle is voronoi_test::naive_reference.
TEST_CASE("nearest_site: duplicates, exact ties and odd shapes on every dispatch path") {
  const auto all_levels = levels();
  std::string names;
  for (auto level : all_levels) names += std::string(" ") + sp::to_string(level);
  MESSAGE("simd levels exercised:" << names);
  if (!sp::detail::cpu_has_avx512()) {
    sp::nearest_site_options o;
    o.simd = sp::simd_level::avx512;
    CHECK_THROWS_WITH_AS(sp::nearest_site_index(voronoi_test::synthetic_sites(4, 8, 1), o),
                         doctest::Contains("avx512 is not supported"), sm::invalid_argument);
  }
  std::int64_t total_rechecked = 0, checked_labels = 0;
  for (int S : {1, 2, 3, 15, 16, 17, 33, 64, 65, 129})
    for (int E : {2, 7, 16, 17, 33, 178}) {
      auto sites = voronoi_test::synthetic_sites(S, E, static_cast<std::uint64_t>(100 * S + E));
      for (int s = 5; s < S; s += 5) sites.spectra[static_cast<std::size_t>(s)] = sites.spectra[static_cast<std::size_t>(s / 2)];
      if (S >= 3) sites.spectra[0] = sites.spectra[static_cast<std::size_t>(S - 1)];
      const voronoi_test::naive_reference ref(sites);
      const sm::image_shape shape{3, 37};
      sm::cube<double> cube(shape, E);
      auto v = sm::mutable_view_of(cube);
      auto eng = sm::make_engine(static_cast<std::uint64_t>(S), static_cast<std::uint64_t>(E));
      boost::random::uniform_int_distribution<int> pick(0, S - 1);
      boost::random::uniform_real_distribution<double> u01(0.0, 1.0);
      boost::random::normal_distribution<double> gauss(0.0, 1.0);
      for (sm::index_t p = 0; p < shape.pixels(); ++p) {
        const auto& a = sites.spectra[static_cast<std::size_t>(pick(eng))];
        const auto& b = sites.spectra[static_cast<std::size_t>(pick(eng))];
        std::vector<double> za, zb;
        voronoi_test::standardize(std::span<const double>(a), za);
        voronoi_test::standardize(std::span<const double>(b), zb);
        auto x = v.spectrum(p);
        for (int i = 0; i < E; ++i) {
          const auto k = static_cast<std::size_t>(i);
          switch (p % 4) {
            case 0: x[k] = a[k]; break;                               // a site (maybe duplicated)
            case 1: x[k] = 0.5 * (za[k] + zb[k]) + 3.0; break;        // exact tie in the reals
            case 2: x[k] = 0.5 * a[k] + 0.5 * b[k]; break;            // the rims case
            default: x[k] = 0.3 * a[k] + 0.7 * b[k] + 0.01 * gauss(eng);
          }
        }
      }
      const auto cube_f = cast_cube<float>(cube);
      const auto expect_d = naive_labels(ref, cube);
      const auto expect_f = naive_labels(ref, cube_f);
      for (auto level : all_levels)
        for (auto strategy : {sp::nearest_site_strategy::brute_force, sp::nearest_site_strategy::pruned})
          for (int components : {3, 8, 12, 16, 20}) {
            if (strategy == sp::nearest_site_strategy::brute_force && components != 3) continue;
            sp::nearest_site_options o;
            o.simd = level;
            o.strategy = strategy;
            o.components = components;
            o.threads = 1 + (components % 2);
            const sp::nearest_site_index index(sites, o);
            CAPTURE(S);
            CAPTURE(E);
            CAPTURE(sp::to_string(level));
            CAPTURE(sp::to_string(strategy));
            CAPTURE(components);
            REQUIRE(index.simd() == level);
            REQUIRE(index.strategy() == strategy);
            if (strategy == sp::nearest_site_strategy::pruned)
              CHECK(index.components() == std::min({components, S, E}));
            sp::labelling_statistics st;
            CHECK(mismatches(index, cube_f, expect_f, &st) == 0);
            CHECK(mismatches(index, cube, expect_d) == 0);
            total_rechecked += st.rechecked;
            checked_labels += 2 * shape.pixels();
          }
    }
  MESSAGE(checked_labels << " labels checked, " << total_rechecked << " float-pass near-ties settled in double");
  CHECK(total_rechecked > 0);
}

// The pruning margin is proportional to |x_c|, |b| and rho_x (and only a
// ~1e-12 term to |x|): a large offset under a small signal stresses exactly
// the terms that were folded away (the float centring). Pixels: near-ties
// (midpoints of two standardized sites nudged by 1e-7 .. 1e-4), noisy
// mixtures and exact site copies, at offsets up to 1e4 times the signal.
// Every label of every pruned dispatch path must equal the double definition
// on the float values.
TEST_CASE("nearest_site: pruning margin under large offsets and near-ties") {
  const auto sites = voronoi_test::synthetic_sites(257, 178, 31);
  const voronoi_test::naive_reference ref(sites);
  const auto E = sites.bands();
  const sm::image_shape shape{16, 40};
  sm::cube<double> cube(shape, E);
  auto v = sm::mutable_view_of(cube);
  auto eng = sm::make_engine(32);
  boost::random::uniform_int_distribution<int> pick(0, static_cast<int>(sites.size()) - 1);
  boost::random::uniform_real_distribution<double> u01(0.0, 1.0);
  boost::random::normal_distribution<double> gauss(0.0, 1.0);
  const double offsets[] = {0.0, 1.0, 1e2, 1e4};
  for (sm::index_t p = 0; p < shape.pixels(); ++p) {
    const int a = pick(eng), b = pick(eng);
    std::vector<double> za, zb;
    voronoi_test::standardize(std::span<const double>(sites.spectra[static_cast<std::size_t>(a)]), za);
    voronoi_test::standardize(std::span<const double>(sites.spectra[static_cast<std::size_t>(b)]), zb);
    const double offset = offsets[p % 4], scale = 1.0 / (1 + 10 * static_cast<double>((p / 4) % 3));
    const double eps = std::pow(10.0, -7.0 + 3.0 * u01(eng));
    for (sm::index_t i = 0; i < E; ++i) {
      const auto k = static_cast<std::size_t>(i);
      double y;
      switch ((p / 12) % 3) {
        case 0: y = 0.5 * (za[k] + zb[k]) + eps * (za[k] - zb[k]); break;
        case 1: y = 0.4 * za[k] + 0.6 * zb[k] + 0.003 * gauss(eng); break;
        default: y = za[k];
      }
      v.spectrum(p)[k] = scale * y + offset;
    }
  }
  const auto cube_f = cast_cube<float>(cube);
  const auto expect_d = naive_labels(ref, cube);
  const auto expect_f = naive_labels(ref, cube_f);
  for (auto level : levels())
    for (int components : {8, 12, 16, 20}) {
      sp::nearest_site_options o;
      o.simd = level;
      o.strategy = sp::nearest_site_strategy::pruned;
      o.components = components;
      o.threads = 1;
      const sp::nearest_site_index index(sites, o);
      CAPTURE(sp::to_string(level));
      CAPTURE(components);
      sp::labelling_statistics st;
      CHECK(mismatches(index, cube_f, expect_f, &st) == 0);
      CHECK(st.evaluated_fraction() < 1.0);
      CHECK(mismatches(index, cube, expect_d) == 0);
    }
}
