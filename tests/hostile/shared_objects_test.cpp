// Thread safety of shared read-only objects (docs/reliability.md): a
// nearest_site_index and a pca_model used concurrently (const) from two
// threads give exactly the sequential results. Run under TSan by
// scripts/sanitize.sh tsan, where any data race fails the test.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>

#include "spectromine/analysis/pca.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/partition/nearest_site.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;

namespace {

constexpr sm::index_t bands = 40;

sp::site_set random_sites(int count, std::uint64_t seed) {
  sp::site_set s;
  for (sm::index_t i = 0; i < bands; ++i) s.energy.push_back(7000.0 + 2.0 * static_cast<double>(i));
  auto eng = sm::make_engine(seed, 1);
  boost::random::normal_distribution<double> g(0.0, 1.0);
  for (int k = 0; k < count; ++k) {
    s.names.push_back("site" + std::to_string(k));
    std::vector<double> x(bands);
    for (auto& v : x) v = g(eng);
    s.spectra.push_back(std::move(x));
  }
  return s;
}

sm::cube<float> noisy_pixels(const sp::site_set& sites, sm::image_shape shape, std::uint64_t seed) {
  sm::cube<float> c(shape, bands);
  auto v = sm::mutable_view_of(c);
  auto eng = sm::make_engine(seed, 2);
  boost::random::normal_distribution<double> g(0.0, 0.3);
  boost::random::uniform_int_distribution<int> pick(0, static_cast<int>(sites.size()) - 1);
  for (sm::index_t p = 0; p < shape.pixels(); ++p) {
    const auto& s = sites.spectra[static_cast<std::size_t>(pick(eng))];
    auto x = v.spectrum(p);
    for (sm::index_t i = 0; i < bands; ++i)
      x[static_cast<std::size_t>(i)] = static_cast<float>(s[static_cast<std::size_t>(i)] + g(eng));
  }
  // Hostile pixels inside the shared run: NaN and constant spectra.
  v.spectrum(3)[5] = std::nanf("");
  for (auto& x : v.spectrum(7)) x = 1.0f;
  return c;
}

}  // namespace

TEST_CASE("a shared nearest_site_index labels concurrently exactly as sequentially") {
  for (int site_count : {8, 96}) {  // brute force and pruned kernels
    CAPTURE(site_count);
    const auto sites = random_sites(site_count, 11);
    const sm::image_shape shape{37, 29};
    const auto pixels = noisy_pixels(sites, shape, 12);
    sp::nearest_site_options o;
    o.threads = 2;  // each caller also runs parallel_for inside
    const sp::nearest_site_index index(sites, o);

    sm::label_image sequential(shape, 0);
    index.assign(sm::view_of(pixels), sm::mask_view{}, sequential.view());
    CHECK(sequential.view()(0, 3) == sm::labels::unlabeled);
    CHECK(sequential.view()(0, 7) == sm::labels::unlabeled);

    std::vector<sm::label_image> out(4, sm::label_image(shape, 0));
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < out.size(); ++t)
      workers.emplace_back([&, t] { index.assign(sm::view_of(pixels), sm::mask_view{}, out[t].view()); });
    for (auto& w : workers) w.join();
    for (const auto& o2 : out) CHECK(o2.storage() == sequential.storage());
  }
}

TEST_CASE("a shared pca_model projects concurrently exactly as sequentially") {
  const auto sites = random_sites(5, 21);
  const sm::image_shape shape{31, 23};
  const auto pixels = noisy_pixels(sites, shape, 22);
  sm::pixel_mask mask(shape, 1);
  mask.view()(0, 3) = 0;
  mask.view()(0, 7) = 0;
  sm::pca_options po;
  po.components = 4;
  po.threads = 2;
  const auto model = sm::fit_pca(sm::view_of(pixels), sm::mask_view(mask.view()), po);

  sm::projection_options pj;
  pj.threads = 2;
  sm::cube<float> sequential(shape, 4);
  sm::project(model, sm::view_of(pixels), sm::mutable_view_of(sequential),
                        sm::mask_view(mask.view()), pj);
  std::vector<sm::cube<float>> out(3, sm::cube<float>(shape, 4));
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < out.size(); ++t)
    workers.emplace_back([&, t] {
      sm::project(model, sm::view_of(pixels), sm::mutable_view_of(out[t]),
                            sm::mask_view(mask.view()), pj);
    });
  for (auto& w : workers) w.join();
  const auto a = sm::view_of(sequential);
  for (const auto& c : out) {
    const auto b = sm::view_of(c);
    bool same = true;
    for (sm::index_t p = 0; p < a.pixel_count(); ++p)
      for (sm::index_t j = 0; j < 4; ++j) {
        const float x = a.spectrum(p)[static_cast<std::size_t>(j)];
        const float y = b.spectrum(p)[static_cast<std::size_t>(j)];
        same = same && ((std::isnan(x) && std::isnan(y)) || x == y);
      }
    CHECK(same);
  }
}
