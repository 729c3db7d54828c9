// Benchmarks of exact DBSCAN on scenes built from real reference spectra with
// physical noise (tests/dbscan/dbscan_scene.hpp: Fe2O3 majority, FeO blobs,
// chromite needle, sCMOS noise at the Ito 2024 conditions).
//
// Two modes:
//   bench_dbscan [Google Benchmark flags]      index policies x features on a
//                                              200 x 200 x 160 scene
//   bench_dbscan --run [options]               one timed run, JSON on stdout
//       --size S --bands B --needle N --disc 1|0 --seed N
//       --components K (0 = full standardized spectra) --eps auto|X --min-pts N
//       --index brute|kdtree|rtree4 --threads N
//       --features-out F.npy --labels-out L.npy --core-out C.npy
//     (the peer script benchmarks/peers/dbscan_sklearn.py drives this mode
//      and runs scikit-learn on the written features in the same run).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../tests/dbscan/dbscan_scene.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/index/rtree.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/partition/dbscan.hpp"

namespace sp = spectromine;
namespace part = spectromine::partition;
using sp::index_t;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// ------------------------------------------------------------ Google Benchmark

const dbscan_scene::scene& bench_scene() {
  static const dbscan_scene::scene s = dbscan_scene::make_scene(SPECTROMINE_DATA_DIR, 200, 160, 10, 1);
  return s;
}

template <class Policy>
void BM_dbscan(benchmark::State& state) {
  const auto& s = bench_scene();
  part::dbscan_options o;
  o.components = state.range(0);
  sp::label_image labels(s.truth.shape());
  part::partition_report r;
  for (auto _ : state)
    r = part::dbscan<Policy>(o).partition(sp::cube_view<const float>(s.normalized.view()), s.mask.view(),
                                          labels.view());
  state.counters["pixels"] = static_cast<double>(r.parameters["core_points"].get<index_t>() +
                                                 r.parameters["border_points"].get<index_t>() +
                                                 r.parameters["noise_points"].get<index_t>());
  state.counters["clusters"] = r.clusters;
  state.counters["eps"] = r.parameters["eps"].get<double>();
}
BENCHMARK(BM_dbscan<sp::index::kd_tree_policy>)->Arg(0)->Arg(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_dbscan<sp::index::brute_force_policy>)->Arg(0)->Arg(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_dbscan<sp::index::rtree_policy<4>>)->Arg(0)->Unit(benchmark::kMillisecond);

// Core detection alone on 10 PCA features, per index (the part scikit-learn
// spends its neighbor lists on).
template <class Policy>
void BM_core_points(benchmark::State& state) {
  const auto& s = bench_scene();
  const auto feat = part::standardized_features(sp::cube_view<const float>(s.normalized.view()), s.mask.view());
  for (auto _ : state) {
    auto idx = Policy{}.build(feat.features.view(), 0);
    auto r = part::dbscan_points(idx, 0.13, 23);
    benchmark::DoNotOptimize(r.cores);
  }
}
BENCHMARK(BM_core_points<sp::index::kd_tree_policy>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_core_points<sp::index::brute_force_policy>)->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------ --run mode

template <class Policy>
part::partition_report run_with(const part::dbscan_options& o, const dbscan_scene::scene& s,
                                sp::label_image& labels) {
  return part::dbscan<Policy>(o).partition(sp::cube_view<const float>(s.normalized.view()), s.mask.view(),
                                           labels.view());
}

int run_mode(int argc, char** argv) {
  index_t size = 400, bands = 160, needle = 10, components = 10, min_pts = 0;
  bool disc = true;
  std::uint64_t seed = 1;
  int threads = 0;
  std::string eps = "auto", index = "kdtree", features_out, labels_out, core_out;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--size") size = std::stol(v);
    else if (k == "--bands") bands = std::stol(v);
    else if (k == "--needle") needle = std::stol(v);
    else if (k == "--disc") disc = v != "0";
    else if (k == "--seed") seed = std::stoull(v);
    else if (k == "--components") components = std::stol(v);
    else if (k == "--eps") eps = v;
    else if (k == "--min-pts") min_pts = std::stol(v);
    else if (k == "--index") index = v;
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--features-out") features_out = v;
    else if (k == "--labels-out") labels_out = v;
    else if (k == "--core-out") core_out = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto s = dbscan_scene::make_scene(SPECTROMINE_DATA_DIR, size, bands, needle, seed, {}, threads);
  if (!disc) std::fill(s.mask.storage().begin(), s.mask.storage().end(), 1);
  const double t_scene = seconds_since(t0);

  part::dbscan_options o;
  o.components = components;
  o.min_pts = min_pts;
  o.threads = threads;
  if (eps != "auto") o.eps = std::stod(eps);
  sp::label_image labels(s.truth.shape());
  t0 = std::chrono::steady_clock::now();
  part::partition_report r;
  if (index == "kdtree") r = run_with<sp::index::kd_tree_policy>(o, s, labels);
  else if (index == "brute") r = run_with<sp::index::brute_force_policy>(o, s, labels);
  else if (index == "rtree4") r = run_with<sp::index::rtree_policy<4>>(o, s, labels);
  else {
    std::cerr << "unknown index " << index << "\n";
    return 2;
  }
  const double t_total = seconds_since(t0);
  nlohmann::json out = r.parameters;
  out["seconds_partition_total"] = t_total;
  out["seconds_scene"] = t_scene;
  out["clusters"] = r.clusters;
  out["peak_rss_mib"] = peak_rss_mib();
  out["size"] = size;
  out["bands"] = bands;
  out["threads"] = sp::resolve_threads(threads);

  if (!features_out.empty() || !labels_out.empty() || !core_out.empty()) {
    // Same features as the partitioner used (recomputed: deterministic), for the peer.
    auto feat = part::standardized_features(sp::cube_view<const float>(s.normalized.view()), s.mask.view(), threads);
    std::vector<float> f;
    index_t dim = feat.features.dim();
    if (components > 0) {
      const index_t n = feat.features.size();
      const sp::cube_view<const float> as_cube(feat.features.row_pointer(0), sp::image_shape{1, n}, dim,
                                               n * feat.features.stride(), feat.features.stride());
      sp::pca_options po;
      po.components = components;
      po.threads = threads;
      const auto model = sp::fit_pca(as_cube, sp::mask_view{}, po);
      sp::cube<float> scores(sp::image_shape{1, n}, components);
      sp::projection_options pj;
      pj.components = components;
      pj.threads = threads;
      sp::project(model, as_cube, scores.view(), sp::mask_view{}, pj);
      f = scores.storage();
      dim = components;
    } else {
      for (index_t i = 0; i < feat.features.size(); ++i)
        f.insert(f.end(), feat.features.row(i).begin(), feat.features.row(i).end());
    }
    const auto n = static_cast<std::size_t>(feat.features.size());
    if (!features_out.empty()) sp::io::write_npy(features_out, std::span<const float>(f), {n, static_cast<std::size_t>(dim)});
    std::vector<std::int32_t> l;
    for (index_t p : feat.pixel) l.push_back(labels[p]);
    if (!labels_out.empty()) sp::io::write_npy(labels_out, std::span<const std::int32_t>(l), {n});
    if (!core_out.empty()) {
      // Core flags from the point level on the same features (same eps, MinPts).
      sp::index::feature_matrix fm(static_cast<index_t>(n), dim);
      for (std::size_t i = 0; i < n; ++i)
        std::copy(f.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(dim)),
                  f.begin() + static_cast<std::ptrdiff_t>((i + 1) * static_cast<std::size_t>(dim)),
                  fm.row_pointer(static_cast<index_t>(i)));
      auto idx = sp::index::kd_tree(fm.view());
      const auto pr = part::dbscan_points(idx, r.parameters["eps"].get<double>(),
                                          r.parameters["min_pts"].get<index_t>(), {false, threads});
      std::vector<std::int32_t> c(pr.core.begin(), pr.core.end());
      if (pr.labels != l) out["warning"] = "point-level labels differ from the partitioner's";
      sp::io::write_npy(core_out, std::span<const std::int32_t>(c), {n});
    }
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--run") == 0) {
    try {
      return run_mode(argc, argv);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
