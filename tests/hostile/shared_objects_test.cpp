// Thread safety of shared read-only objects (docs/reliability.md, "Objects
// safe to share across threads"): a site_set, a nearest_site_index, the three
// radius-search indexes (brute_force, kd_tree, rtree) and a pca_model used
// concurrently (const) from several std::threads give exactly the sequential
// results. The suite runs under ThreadSanitizer in CI
// (scripts/test-sanitizers.sh), where any data race fails the run; in the
// plain build it checks the results only.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>

#include "spectromine/analysis/pca.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/index/rtree.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/sites.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;
namespace si = spectromine::index;

namespace {

constexpr sm::index_t bands = 40;
constexpr int thread_count = 4;

// Runs body(t) on thread_count std::threads at once and joins them.
template <class Body>
void on_threads(Body body) {
  std::vector<std::thread> workers;
  for (int t = 0; t < thread_count; ++t) workers.emplace_back([&body, t] { body(t); });
  for (auto& w : workers) w.join();
}

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

// Clustered float features (a few dense blobs plus scattered points), so that
// radius queries return sets of very different sizes.
si::feature_matrix random_features(sm::index_t n, sm::index_t dim, std::uint64_t seed) {
  si::feature_matrix f(n, dim);
  auto eng = sm::make_engine(seed, 3);
  boost::random::normal_distribution<double> g(0.0, 1.0);
  boost::random::uniform_int_distribution<int> blob(0, 4);
  std::vector<std::vector<double>> centres(5, std::vector<double>(static_cast<std::size_t>(dim)));
  for (auto& c : centres)
    for (auto& x : c) x = 3.0 * g(eng);
  for (sm::index_t i = 0; i < n; ++i) {
    const int b = blob(eng);
    const double spread = b == 4 ? 2.0 : 0.3;  // blob 4: scattered points
    auto r = f.row(i);
    for (sm::index_t k = 0; k < dim; ++k)
      r[static_cast<std::size_t>(k)] =
          static_cast<float>(centres[static_cast<std::size_t>(b)][static_cast<std::size_t>(k)] +
                             spread * g(eng));
  }
  return f;
}

using neighbor_sets = std::vector<std::vector<sm::index_t>>;

// Every query's neighbour set (sorted ids). Thread t walks the queries from a
// different starting point so that concurrent threads hit different parts of
// the index at the same time.
template <class Index>
neighbor_sets all_neighbors(const Index& index, double eps, int t = 0) {
  const sm::index_t n = index.size();
  neighbor_sets out(static_cast<std::size_t>(n));
  for (sm::index_t k = 0; k < n; ++k) {
    const sm::index_t q = (k + t * n / thread_count) % n;
    auto& set = out[static_cast<std::size_t>(q)];
    index.radius_search(q, eps, [&set](sm::index_t j, double) {
      set.push_back(j);
      return true;
    });
    std::sort(set.begin(), set.end());
  }
  return out;
}

// The definition (index/concept.hpp): j is a neighbour of q iff the canonical
// squared distance is <= eps^2.
neighbor_sets naive_neighbors(si::feature_view f, double eps) {
  neighbor_sets out(static_cast<std::size_t>(f.size));
  for (sm::index_t q = 0; q < f.size; ++q)
    for (sm::index_t j = 0; j < f.size; ++j)
      if (si::canonical_squared_distance(f, q, j) <= eps * eps)
        out[static_cast<std::size_t>(q)].push_back(j);
  return out;
}

std::size_t total_size(const neighbor_sets& s) {
  std::size_t n = 0;
  for (const auto& x : s) n += x.size();
  return n;
}

}  // namespace

TEST_SUITE("threads") {

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
    // The labels are the definition (brute force in double), pixel by pixel.
    const auto cube = sm::view_of(pixels);
    std::vector<sm::index_t> reference(static_cast<std::size_t>(shape.pixels()));
    for (sm::index_t p = 0; p < shape.pixels(); ++p)
      reference[static_cast<std::size_t>(p)] = index.reference_site(cube.spectrum(p));
    int mismatches = 0;
    for (sm::index_t p = 0; p < shape.pixels(); ++p) {
      const auto r = reference[static_cast<std::size_t>(p)];
      const sm::label_t want = r < 0 ? sm::labels::unlabeled : static_cast<sm::label_t>(r + 1);
      mismatches += sequential.storage()[static_cast<std::size_t>(p)] != want;
    }
    CHECK(mismatches == 0);

    std::vector<sm::label_image> out(thread_count, sm::label_image(shape, 0));
    std::vector<std::vector<sm::index_t>> refs(thread_count);
    on_threads([&](int t) {
      index.assign(sm::view_of(pixels), sm::mask_view{}, out[static_cast<std::size_t>(t)].view());
      auto& r = refs[static_cast<std::size_t>(t)];
      for (sm::index_t p = 0; p < shape.pixels(); ++p) r.push_back(index.reference_site(cube.spectrum(p)));
    });
    for (const auto& o2 : out) CHECK(o2.storage() == sequential.storage());
    for (const auto& r : refs) CHECK(r == reference);
  }
}

TEST_CASE("a shared site_set is read concurrently: validate, sites_on_grid, a new index each") {
  const auto sites = random_sites(12, 31);
  // A finer grid inside the sites' range: sites_on_grid interpolates.
  std::vector<double> fine;
  for (double e = sites.energy.front(); e <= sites.energy.back(); e += 0.7) fine.push_back(e);
  const auto sequential = sp::sites_on_grid(sites, fine);
  const sm::image_shape shape{19, 17};
  const auto pixels = noisy_pixels(sites, shape, 32);
  sp::nearest_site_options o;
  o.threads = 1;
  sm::label_image labels(shape, 0);
  sp::nearest_site_index(sites, o).assign(sm::view_of(pixels), sm::mask_view{}, labels.view());

  std::vector<sp::site_set> regridded(thread_count);
  std::vector<sm::label_image> out(thread_count, sm::label_image(shape, 0));
  on_threads([&](int t) {
    sites.validate("threads");
    regridded[static_cast<std::size_t>(t)] = sp::sites_on_grid(sites, fine);
    sp::nearest_site_index(sites, o)
        .assign(sm::view_of(pixels), sm::mask_view{}, out[static_cast<std::size_t>(t)].view());
  });
  for (int t = 0; t < thread_count; ++t) {
    CHECK(regridded[static_cast<std::size_t>(t)].spectra == sequential.spectra);
    CHECK(regridded[static_cast<std::size_t>(t)].energy == sequential.energy);
    CHECK(out[static_cast<std::size_t>(t)].storage() == labels.storage());
  }
}

TEST_CASE("shared radius-search indexes answer concurrent queries exactly as sequentially") {
  const auto f = random_features(700, 20, 41);
  const double eps = 1.5;
  const auto naive = naive_neighbors(f.view(), eps);
  REQUIRE(total_size(naive) > 2 * 700);  // the query radius finds real neighbours

  auto check_index = [&](const auto& index, const char* name) {
    CAPTURE(name);
    const auto sequential = all_neighbors(index, eps);
    CHECK(sequential == naive);
    std::vector<neighbor_sets> concurrent(thread_count);
    on_threads([&](int t) { concurrent[static_cast<std::size_t>(t)] = all_neighbors(index, eps, t); });
    for (const auto& c : concurrent) CHECK(c == sequential);
  };
  const si::brute_force brute(f.view());
  check_index(brute, "brute_force");
  const si::kd_tree kd(f.view(), si::kd_tree_options{}, 2);
  check_index(kd, "kd_tree");
  const si::rtree<8> rt(f.view(), si::rtree_options{}, 2);
  check_index(rt, "rtree<8>");

  // The batched brute-force query (one GEMM per block of queries), shared.
  std::vector<sm::index_t> queries(static_cast<std::size_t>(f.size()));
  for (sm::index_t q = 0; q < f.size(); ++q) queries[static_cast<std::size_t>(q)] = q;
  std::vector<neighbor_sets> batched(thread_count, neighbor_sets(queries.size()));
  on_threads([&](int t) {
    auto& sets = batched[static_cast<std::size_t>(t)];
    brute.radius_search_batch(queries, eps, [&sets, &queries](std::size_t k, sm::index_t j, double) {
      sets[static_cast<std::size_t>(queries[k])].push_back(j);
      return true;
    });
    for (auto& s : sets) std::sort(s.begin(), s.end());
  });
  for (const auto& b : batched) CHECK(b == naive);
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
  sm::project(model, sm::view_of(pixels), sm::mutable_view_of(sequential), sm::mask_view(mask.view()), pj);
  std::vector<sm::cube<float>> out(thread_count, sm::cube<float>(shape, 4));
  on_threads([&](int t) {
    sm::project(model, sm::view_of(pixels), sm::mutable_view_of(out[static_cast<std::size_t>(t)]),
                sm::mask_view(mask.view()), pj);
  });
  const auto a = sm::view_of(sequential);
  CHECK(std::isnan(a.spectrum(3)[0]));  // masked pixel: NaN scores
  CHECK(std::isfinite(a.spectrum(4)[0]));
  for (const auto& c : out) {
    const auto b = sm::view_of(c);
    int differ = 0;
    for (sm::index_t p = 0; p < a.pixel_count(); ++p)
      for (sm::index_t j = 0; j < 4; ++j) {
        const float x = a.spectrum(p)[static_cast<std::size_t>(j)];
        const float y = b.spectrum(p)[static_cast<std::size_t>(j)];
        differ += !((std::isnan(x) && std::isnan(y)) || x == y);
      }
    CHECK(differ == 0);
  }
}

}  // TEST_SUITE("threads")
