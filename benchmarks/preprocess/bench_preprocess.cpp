// Benchmarks of preprocess/: normalize_cube (float32, the paper's 178
// energies; shared e0 and per-pixel e0), mback_cube, the sample mask, and one
// larch spectrum through pre_edge.
//
// By default the cube is synthetic (SPECTROMINE_BENCH_PIXELS pixels, default
// 200000). benchmarks/peers/normalize_numpy.py writes a cube and its energy
// list to /tmp and runs this binary on them with
//   SPECTROMINE_BENCH_CUBE=/tmp/x.npy SPECTROMINE_BENCH_ENERGY=/tmp/x.txt
//   SPECTROMINE_BENCH_E0=7120
// so that C++ and NumPy time the same data in the same run.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "spectromine/preprocess/mback.hpp"
#include "spectromine/preprocess/normalize.hpp"

using namespace spectromine;

namespace {

std::vector<double> paper_grid() {  // 178 energies, 7009.2-7321.2 eV (Ito 2024)
  std::vector<double> e;
  for (int i = 0; i < 23; ++i) e.push_back(7009.2 + 4.0 * i);
  for (int i = 0; i < 120; ++i) e.push_back(7101.2 + 0.5 * i);
  for (int i = 0; i < 35; ++i) e.push_back(7161.2 + 160.0 * i / 34.0);
  return e;
}

struct bench_data {
  cube<float> mu;
  std::vector<double> energy;
  double e0 = 7120.0;
};

bench_data& data() {  // mutable: the in-place benchmark overwrites the cube
  static bench_data d = [] {
    bench_data b;
    if (const char* path = std::getenv("SPECTROMINE_BENCH_CUBE")) {
      b.mu = io::read_npy_cube<float>(path);
      b.energy = io::read_energy_list(std::getenv("SPECTROMINE_BENCH_ENERGY"));
      if (const char* e0 = std::getenv("SPECTROMINE_BENCH_E0")) b.e0 = std::stod(e0);
      return b;
    }
    index_t pixels = 200000;
    if (const char* n = std::getenv("SPECTROMINE_BENCH_PIXELS")) pixels = std::stoll(n);
    b.energy = paper_grid();
    b.mu = cube<float>(image_shape{1, pixels}, static_cast<index_t>(b.energy.size()));
    auto engine = make_engine(1, 0);
    std::normal_distribution<float> g(0.0f, 0.01f);
    for (index_t p = 0; p < pixels; ++p) {
      auto s = b.mu.spectrum(p);
      const float step = 0.5f + static_cast<float>(p % 7) * 0.2f;
      for (std::size_t i = 0; i < b.energy.size(); ++i)
        s[i] = 0.3f + step * static_cast<float>(0.5 + std::atan((b.energy[i] - 7120.0) / 2.0) / M_PI) +
               g(engine);
    }
    return b;
  }();
  return d;
}

normalize_cube_options bench_options(int threads, bool flat) {
  normalize_cube_options o;
  o.edge.e0 = data().e0;
  o.edge.pre1 = -150;
  o.edge.pre2 = -30;
  o.edge.norm1 = 50;
  o.edge.norm2 = 300;
  o.edge.nnorm = 2;
  o.output = flat ? normalized_output::flat : normalized_output::norm;
  o.threads = threads;
  o.keep_edge_step = false;
  return o;
}

// SPECTROMINE_BENCH_INPLACE=1: normalize the cube in place (memory = one
// cube; 1e7 x 178 float32 = 7.1 GB). Normalizing normalized spectra repeats
// the same arithmetic, so every iteration costs the same.
void BM_normalize_cube(benchmark::State& state) {
  auto& d = data();
  const bool inplace = std::getenv("SPECTROMINE_BENCH_INPLACE") != nullptr;
  cube<float> out = inplace ? cube<float>() : cube<float>(d.mu.shape(), d.mu.bands());
  const auto options = bench_options(static_cast<int>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) {
    auto target = inplace ? d.mu.view() : out.view();
    auto rep = normalize_cube(static_cast<const cube<float>&>(d.mu).view(), d.energy, options, target);
    benchmark::DoNotOptimize(rep.normalized);
  }
  state.SetBytesProcessed(state.iterations() * d.mu.pixel_count() * d.mu.bands() *
                          static_cast<int64_t>(sizeof(float)));
  state.counters["spectra"] = static_cast<double>(d.mu.pixel_count());
}
BENCHMARK(BM_normalize_cube)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "flat"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_normalize_cube_auto_e0(benchmark::State& state) {
  const auto& d = data();
  cube<float> out(d.mu.shape(), d.mu.bands());
  auto options = bench_options(2, false);
  options.edge.e0.reset();
  for (auto _ : state) {
    auto rep = normalize_cube(d.mu.view(), d.energy, options, out.view());
    benchmark::DoNotOptimize(rep.normalized);
  }
  state.SetBytesProcessed(state.iterations() * d.mu.pixel_count() * d.mu.bands() *
                          static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_normalize_cube_auto_e0)->Unit(benchmark::kMillisecond)->UseRealTime();

// Each pixel's own e0 (Gaussian-smoothed derivative, default sigma = the
// median energy step), then one plan per distinct e0.
void BM_normalize_cube_per_pixel_e0(benchmark::State& state) {
  const auto& d = data();
  cube<float> out(d.mu.shape(), d.mu.bands());
  auto options = bench_options(static_cast<int>(state.range(0)), false);
  options.edge.e0.reset();
  options.e0_source = cube_e0::per_pixel;
  index_t distinct = 0;
  for (auto _ : state) {
    auto rep = normalize_cube(d.mu.view(), d.energy, options, out.view());
    distinct = rep.distinct_e0;
    benchmark::DoNotOptimize(rep.normalized);
  }
  state.SetBytesProcessed(state.iterations() * d.mu.pixel_count() * d.mu.bands() *
                          static_cast<int64_t>(sizeof(float)));
  state.counters["distinct_e0"] = static_cast<double>(distinct);
}
BENCHMARK(BM_normalize_cube_per_pixel_e0)->Arg(1)->Arg(2)->ArgName("threads")
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// MBACK on every pixel (Fe K; xraylib's table when the component is built,
// else a step table of the same shape: the cost does not depend on it).
void BM_mback_cube(benchmark::State& state) {
  const auto& d = data();
  cube<float> out(d.mu.shape(), d.mu.bands());
#if defined(SPECTROMINE_HAS_XRAYLIB)
  const auto f2 = xraylib_f2(26, d.energy);
#else
  std::vector<double> f2;
  for (double e : d.energy) f2.push_back(e < 7112 ? 0.49 : 3.8 - 4e-4 * (e - 7112));
#endif
  mback_cube_options o;
  o.edge.e0 = d.e0;
  o.threads = static_cast<int>(state.range(0));
  o.keep_edge_step = false;
  for (auto _ : state) {
    auto rep = mback_cube(d.mu.view(), d.energy, f2, o, out.view());
    benchmark::DoNotOptimize(rep.normalized);
  }
  state.SetBytesProcessed(state.iterations() * d.mu.pixel_count() * d.mu.bands() *
                          static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_mback_cube)->Arg(1)->Arg(2)->ArgName("threads")
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_sample_mask(benchmark::State& state) {
  const auto& d = data();
  pre_edge_options edge;
  edge.e0 = d.e0;
  sample_mask_options m;
  m.threads = 2;
  for (auto _ : state) {
    auto r = sample_mask(d.mu.view(), d.energy, edge, m);
    benchmark::DoNotOptimize(r.report.sample);
  }
  state.SetBytesProcessed(state.iterations() * d.mu.pixel_count() * d.mu.bands() *
                          static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_sample_mask)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_pre_edge_one_spectrum(benchmark::State& state) {
  const auto s = io::read_reference_spectrum(std::string(SPECTROMINE_DATA_DIR) +
                                             "/references/Fe_K/Chromite.dat");
  for (auto _ : state) {
    auto r = pre_edge(s.energy, s.mu);
    benchmark::DoNotOptimize(r.edge_step);
  }
}
BENCHMARK(BM_pre_edge_one_spectrum)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
