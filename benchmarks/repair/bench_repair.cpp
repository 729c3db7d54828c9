// Benchmarks of repair/: the all-clusters-at-once window-core + fill against
// the per-cluster formulation, the structure-keeping variant, and the giant
// case of the brief (20,000 x 20,000 labels, 1,500 clusters, 2 threads).
//
//   bench_repair --benchmark_filter='small'    ratio vs per-cluster (1024^2)
//   bench_repair --benchmark_filter='scaling'  4096^2, 1 and 2 threads
//   bench_repair --benchmark_filter='giant'    20000^2 (1.6 GB labels; ~3.5 GB peak)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <ctime>
#include <map>
#include <tuple>

#include "per_cluster.hpp"
#include "scene.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/structure_core.hpp"
#include "spectromine/repair/window_core.hpp"

using namespace spectromine;

namespace {

const label_image& scene(index_t n, int labels, double noise) {
  static std::map<std::tuple<index_t, int, double>, label_image> cache;
  auto key = std::make_tuple(n, labels, noise);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, bench::make_scene(n, n, labels, noise, 42)).first;
  return it->second;
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void set_counters(benchmark::State& state, index_t pixels) {
  state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(pixels) * state.iterations() / 1e6,
                                                benchmark::Counter::kIsRate);
}

// Args: size, labels, threads
void small_window_core(benchmark::State& state) {
  const auto& img = scene(state.range(0), static_cast<int>(state.range(1)), 0.05);
  for (auto _ : state) {
    state.PauseTiming();
    label_image work = img;
    state.ResumeTiming();
    auto r = repair::window_core{5, 23, static_cast<int>(state.range(2))}.apply(work.view());
    benchmark::DoNotOptimize(r.removed);
  }
  set_counters(state, img.pixel_count());
}

void small_per_cluster(benchmark::State& state) {
  const auto& img = scene(state.range(0), static_cast<int>(state.range(1)), 0.05);
  for (auto _ : state) {
    state.PauseTiming();
    label_image work = img;
    state.ResumeTiming();
    benchmark::DoNotOptimize(bench::per_cluster_window_core(work.view(), 5, 23));
  }
  set_counters(state, img.pixel_count());
}

template <class Repair>
void scaling(benchmark::State& state, Repair repair) {
  const auto& img = scene(state.range(0), 1500, 0.05);
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    label_image work = img;
    state.ResumeTiming();
    const double c0 = process_cpu_seconds();
    auto r = repair.apply(work.view());
    cpu += process_cpu_seconds() - c0;
    benchmark::DoNotOptimize(r.removed);
  }
  set_counters(state, img.pixel_count());
  state.counters["cpu_s_per_iter"] = cpu / static_cast<double>(state.iterations());
}

void scaling_window_core_fill(benchmark::State& state) {
  const int t = static_cast<int>(state.range(1));
  scaling(state, repair::compose(repair::window_core{5, 23, t},
                                 repair::fill{repair::fill_rule::majority, false, t}));
}
void scaling_structure_core_fill(benchmark::State& state) {
  const int t = static_cast<int>(state.range(1));
  repair::structure_core sc;
  sc.threads = t;
  scaling(state, repair::compose(sc, repair::fill{repair::fill_rule::majority, false, t}));
}

// The brief's case, once (the scene is generated in place, not copied).
void giant(benchmark::State& state) {
  const index_t n = state.range(0);
  const int t = static_cast<int>(state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    label_image img = bench::make_scene(n, n, 1500, 0.05, 42, t);
    state.ResumeTiming();
    const double c0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    auto a = repair::window_core{5, 23, t}.apply(img.view());
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = process_cpu_seconds();
    auto b = repair::fill{repair::fill_rule::majority, false, t}.apply(img.view());
    const auto t2 = std::chrono::steady_clock::now();
    const double c2 = process_cpu_seconds();
    state.counters["window_core_s"] = std::chrono::duration<double>(t1 - t0).count();
    state.counters["fill_s"] = std::chrono::duration<double>(t2 - t1).count();
    // CPU seconds of all threads: on a shared, oversubscribed machine, cpu / threads
    // is what the wall time would be with the cores to ourselves.
    state.counters["window_core_cpu_s"] = c1 - c0;
    state.counters["fill_cpu_s"] = c2 - c1;
    state.counters["removed"] = static_cast<double>(a.removed);
    state.counters["filled"] = static_cast<double>(b.filled);
  }
}

}  // namespace

BENCHMARK(small_window_core)->Args({1024, 150, 1})->Args({1024, 1500, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(small_per_cluster)->Args({1024, 150, 1})->Args({1024, 1500, 1})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(scaling_window_core_fill)->Args({4096, 1})->Args({4096, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(scaling_structure_core_fill)->Args({4096, 1})->Args({4096, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(giant)->Args({20000, 2})->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// File mode for the peer script (peer_repair.py): repairs a labels.npy and
// prints the wall time, so both sides time THE SAME input in the same run.
//   bench_repair --labels IN.npy --out OUT.npy --threads N [--keep-thin]
int main(int argc, char** argv) {
  std::string in, out;
  int threads = 0;
  bool thin = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--labels" && i + 1 < argc) in = argv[++i];
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--keep-thin") thin = true;
  }
  if (!in.empty()) {
    label_image img = io::read_npy_labels(in);
    const auto t0 = std::chrono::steady_clock::now();
    repair::repair_report r;
    if (thin) {
      repair::structure_core sc;
      sc.threads = threads;
      r = repair::compose(sc, repair::fill{repair::fill_rule::majority, false, threads}).apply(img.view());
    } else {
      r = repair::compose(repair::window_core{5, 23, threads},
                          repair::fill{repair::fill_rule::lowest_label, false, threads})
              .apply(img.view());
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!out.empty()) io::write_npy_labels(out, img.view());
    std::printf("{\"seconds\": %.6f, \"removed\": %lld, \"filled\": %lld}\n", s,
                static_cast<long long>(r.removed), static_cast<long long>(r.filled));
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
