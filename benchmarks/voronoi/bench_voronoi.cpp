// Voronoi benchmarks (docs/voronoi.md, benchmarks/results/voronoi.md).
//
// Modes (whole-process measurements driven by benchmarks/peers/voronoi_numpy.py):
//   bench_voronoi label --sites S.csv --cube C.npy [--out L.npy] [--threads N]
//                 [--strategy pruned|brute_force] [--simd avx512|avx2|generic] [--components K]
//                 [--read mmap|copy]
//       read the cube (.npy, float32; mapped by default, or copied by
//       io::read_npy_cube), label every pixel, write labels (int32 .npy);
//       prints JSON: seconds per stage, spectra/s, fraction of site scores evaluated.
//   bench_voronoi stream [--mib 1024] [--threads N]
//       streaming-read bandwidth (sum of a float array larger than the caches).
//   bench_voronoi peak [--threads N]
//       float32 FMA throughput (AVX-512 if present, else AVX2), GFLOP/s.
//   bench_voronoi sites --refs DIR --energy E [--trials T] [--threads N] [--c-ref X]
//                 [--reduce 0|1] [--denseness-trials N] [--out SITES.csv]
//       site generation timing (as `spectromine sites`); --reduce 0 keeps every
//       candidate as a site (a larger realistic site set for labelling benchmarks).
// Without a mode: the Google Benchmark micro-benchmarks below.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <immintrin.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/random/normal_distribution.hpp>

#include <nlohmann/json.hpp>

#include "spectromine/core/cube.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/site_generation.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;
using clock_type = std::chrono::steady_clock;

namespace {

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 2; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  return a;
}

std::string get(const std::map<std::string, std::string>& a, const std::string& k,
                const std::string& d = "") {
  auto it = a.find(k);
  return it == a.end() ? d : it->second;
}

sp::nearest_site_options label_options(const std::map<std::string, std::string>& a) {
  sp::nearest_site_options o;
  o.threads = std::stoi(get(a, "--threads", "0"));
  const auto s = get(a, "--strategy", "automatic");
  o.strategy = s == "pruned" ? sp::nearest_site_strategy::pruned
               : s == "brute_force" ? sp::nearest_site_strategy::brute_force
                                    : sp::nearest_site_strategy::automatic;
  const auto v = get(a, "--simd", "automatic");
  o.simd = v == "avx512" ? sp::simd_level::avx512
           : v == "avx2" ? sp::simd_level::avx2
           : v == "generic" ? sp::simd_level::generic
                            : sp::simd_level::automatic;
  o.components = std::stoi(get(a, "--components", "16"));
  return o;
}

// A float32 .npy cube mapped read-only (MAP_POPULATE: the kernel maps the
// page-cache pages in bulk, so there is no copy, no zero-filled buffer and
// no per-page fault; the profile of the copying reader showed ~12% of the
// process in those). What an application labelling a cube on disk would do.
struct mapped_cube {
  void* base = MAP_FAILED;
  std::size_t bytes = 0;
  sm::cube_view<const float> view;
  explicit mapped_cube(const std::string& path) {
    const auto h = sm::io::read_npy_cube_header(path);
    if (h.dtype != sm::io::element_type::float32 || h.fortran_order || h.byte_swapped)
      throw std::runtime_error("--read mmap needs a C-order native float32 cube: " + path);
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error("cannot open " + path);
    bytes = h.data_offset + h.element_count() * sizeof(float);
    base = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (base == MAP_FAILED) throw std::runtime_error("cannot map " + path);
    ::madvise(base, bytes, MADV_SEQUENTIAL);
    view = sm::cube_view<const float>(
        reinterpret_cast<const float*>(static_cast<const char*>(base) + h.data_offset),
        sm::image_shape{static_cast<sm::index_t>(h.shape[0]), static_cast<sm::index_t>(h.shape[1])},
        static_cast<sm::index_t>(h.shape[2]));
  }
  mapped_cube(const mapped_cube&) = delete;
  mapped_cube& operator=(const mapped_cube&) = delete;
  ~mapped_cube() {
    if (base != MAP_FAILED) ::munmap(base, bytes);
  }
};

int run_label(const std::map<std::string, std::string>& a) {
  const auto t0 = clock_type::now();
  const auto sites = sp::read_sites_csv(get(a, "--sites"));
  const auto t1 = clock_type::now();
  // --read mmap (default): map the file; --read copy: io::read_npy_cube.
  const bool copy = get(a, "--read", "mmap") == "copy";
  std::unique_ptr<mapped_cube> mapped;
  sm::cube<float> owned;
  sm::cube_view<const float> cube;
  if (copy) {
    owned = sm::io::read_npy_cube<float>(get(a, "--cube"));
    cube = owned.view();
  } else {
    mapped = std::make_unique<mapped_cube>(get(a, "--cube"));
    cube = mapped->view;
  }
  const double read_s = since(t1);
  const auto t2 = clock_type::now();
  const sp::nearest_site_index index(sites, label_options(a));
  const double build_s = since(t2);
  sm::label_image labels(cube.shape(), 0);
  const auto t3 = clock_type::now();
  const auto st = index.assign(cube, sm::mask_view{}, labels.view());
  const double label_s = since(t3);
  const auto t4 = clock_type::now();
  if (!get(a, "--out").empty()) sm::io::write_npy_labels(get(a, "--out"), labels.view());
  const double write_s = since(t4);
  const double total = since(t0);
  const double px = static_cast<double>(cube.shape().pixels());
  nlohmann::json j = {{"pixels", cube.shape().pixels()},
                      {"read_mode", copy ? "copy" : "mmap"},
                      {"bands", cube.bands()},
                      {"sites", index.size()},
                      {"index", index.describe()},
                      {"threads", sm::resolve_threads(index.options().threads)},
                      {"seconds", {{"read", read_s}, {"build", build_s}, {"label", label_s},
                                   {"write", write_s}, {"total", total}}},
                      {"spectra_per_second_label", px / label_s},
                      {"spectra_per_second_total", px / total},
                      {"evaluated_fraction", st.evaluated_fraction()},
                      {"rechecked", st.rechecked},
                      {"fallback", st.fallback},
                      {"invalid", st.invalid}};
  std::cout << j.dump(2) << std::endl;
  return 0;
}

int run_stream(const std::map<std::string, std::string>& a) {
  const std::size_t n = std::stoul(get(a, "--mib", "1024")) * 1024 * 1024 / sizeof(float);
  const int threads = sm::resolve_threads(std::stoi(get(a, "--threads", "0")));
  std::vector<float> data(n);
  sm::parallel_for(static_cast<sm::index_t>(n), threads, 1 << 20, [&](sm::index_t b, sm::index_t e, int) {
    for (sm::index_t i = b; i < e; ++i) data[static_cast<std::size_t>(i)] = static_cast<float>(i & 7);
  });
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> partial(static_cast<std::size_t>(threads));
    const auto t = clock_type::now();
    sm::parallel_for(static_cast<sm::index_t>(n), threads, 1 << 20, [&](sm::index_t b, sm::index_t e, int w) {
      __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      sm::index_t i = b;
      for (; i + 32 <= e; i += 32) {
        acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(&data[static_cast<std::size_t>(i)]));
        acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(&data[static_cast<std::size_t>(i + 8)]));
        acc2 = _mm256_add_ps(acc2, _mm256_loadu_ps(&data[static_cast<std::size_t>(i + 16)]));
        acc3 = _mm256_add_ps(acc3, _mm256_loadu_ps(&data[static_cast<std::size_t>(i + 24)]));
      }
      float tmp[8];
      _mm256_storeu_ps(tmp, _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
      double s = 0;
      for (float v : tmp) s += v;
      for (; i < e; ++i) s += data[static_cast<std::size_t>(i)];
      partial[static_cast<std::size_t>(w)] = s;
    });
    const double sec = since(t);
    double s = 0;
    for (double v : partial) s += v;
    benchmark::DoNotOptimize(s);
    best = std::max(best, static_cast<double>(n * sizeof(float)) / sec / 1e9);
  }
  std::cout << nlohmann::json{{"stream_read_GBps", best}, {"threads", threads}, {"MiB", n * 4 / 1048576}}.dump(2)
            << std::endl;
  return 0;
}

__attribute__((target("avx512f"))) double fma_loop_avx512(long iters) {
  __m512 a[12];
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int k = 0; k < 12; ++k) a[k] = _mm512_set1_ps(static_cast<float>(k));
  for (long i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  float s = 0;
  for (int k = 0; k < 12; ++k) s += _mm512_reduce_add_ps(a[k]);
  return s;
}

int run_peak(const std::map<std::string, std::string>& a) {
  if (!sp::detail::cpu_has_avx512()) throw std::runtime_error("peak: needs AVX-512");
  const int threads = sm::resolve_threads(std::stoi(get(a, "--threads", "0")));
  const long iters = 100'000'000;
  const auto t = clock_type::now();
  std::vector<double> sink(static_cast<std::size_t>(threads));
  sm::parallel_for(threads, threads, 1, [&](sm::index_t b, sm::index_t e, int w) {
    for (sm::index_t k = b; k < e; ++k) sink[static_cast<std::size_t>(w)] += fma_loop_avx512(iters);
  });
  const double sec = since(t);
  const double flops = 2.0 * 16 * 12 * static_cast<double>(iters) * threads;
  std::cout << nlohmann::json{{"peak_fp32_GFLOPs", flops / sec / 1e9}, {"threads", threads}}.dump(2)
            << std::endl;
  return 0;
}

int run_sites(const std::map<std::string, std::string>& a) {
  const auto t = clock_type::now();
  const auto grid = sm::io::read_energy_list(get(a, "--energy"));
  const auto lib = sp::load_library(get(a, "--refs"), grid);
  sp::site_generation_options o;
  o.trials = std::stol(get(a, "--trials", "10000"));
  o.threads = std::stoi(get(a, "--threads", "0"));
  o.conditions.c_ref = std::stod(get(a, "--c-ref", std::to_string(o.conditions.c_ref)));
  o.reduce = get(a, "--reduce", "1") != "0";
  o.denseness_trials = std::stol(get(a, "--denseness-trials", "10000"));
  const auto r = sp::generate_sites(lib, o);
  auto j = r.report.to_json();
  j["seconds_total"] = since(t);
  j["threads"] = sm::resolve_threads(o.threads);
  j["parameters"] = o.to_json();
  if (!get(a, "--out").empty()) sp::write_sites_csv(get(a, "--out"), r.sites);
  std::cout << j.dump(2) << std::endl;
  return 0;
}

// ------------------------------------------------ Google Benchmark section
struct fixture_data {
  sp::site_set sites;
  sm::cube<float> cube;
};

const fixture_data& data() {
  static const fixture_data d = [] {
    fixture_data f;
    const auto grid = [] {
      sm::energy_grid g;
      for (int i = 0; i < 178; ++i) g.push_back(7009.2 + (7321.2 - 7009.2) * i / 177.0);
      return g;
    }();
    const auto lib = sp::load_library(std::filesystem::path(SPECTROMINE_DATA_DIR) / "references/Fe_K", grid);
    sp::site_generation_options o;
    o.trials = 2000;
    o.denseness_trials = 0;
    f.sites = sp::generate_sites(lib, o).sites;
    // pixels: mixtures of two library spectra + Gaussian noise (sigma 0.02)
    f.cube = sm::cube<float>({128, 128}, 178);
    auto eng = sm::make_engine(5);
    boost::random::uniform_int_distribution<int> pick(0, static_cast<int>(lib.spectra.size()) - 1);
    boost::random::uniform_real_distribution<double> u(0.0, 1.0);
    boost::random::normal_distribution<double> g(0.0, 0.02);
    auto v = f.cube.view();
    for (sm::index_t p = 0; p < v.pixel_count(); ++p) {
      const auto& a = lib.spectra[static_cast<std::size_t>(pick(eng))];
      const auto& b = lib.spectra[static_cast<std::size_t>(pick(eng))];
      const double w = u(eng);
      for (int i = 0; i < 178; ++i)
        v.spectrum(p)[static_cast<std::size_t>(i)] = static_cast<float>(w * a[i] + (1 - w) * b[i] + g(eng));
    }
    return f;
  }();
  return d;
}

void BM_label(benchmark::State& state) {
  const auto& d = data();
  sp::nearest_site_options o;
  o.threads = 1;
  o.strategy = state.range(0) ? sp::nearest_site_strategy::pruned : sp::nearest_site_strategy::brute_force;
  o.simd = state.range(1) == 16 ? sp::simd_level::avx512 : sp::simd_level::avx2;
  o.components = static_cast<int>(state.range(2));
  if (o.simd == sp::simd_level::avx512 && !sp::detail::cpu_has_avx512()) {
    state.SkipWithError("no AVX-512");
    return;
  }
  const sp::nearest_site_index index(d.sites, o);
  sm::label_image labels(d.cube.shape(), 0);
  sp::labelling_statistics st;
  for (auto _ : state) st = index.assign(d.cube.view(), sm::mask_view{}, labels.view());
  state.SetItemsProcessed(state.iterations() * d.cube.shape().pixels());
  state.counters["sites"] = static_cast<double>(index.size());
  state.counters["evaluated"] = st.evaluated_fraction();
}
BENCHMARK(BM_label)
    ->ArgNames({"pruned", "lanes", "k"})
    ->Args({0, 8, 16})
    ->Args({0, 16, 16})
    ->Args({1, 8, 16})
    ->Args({1, 16, 8})
    ->Args({1, 16, 12})
    ->Args({1, 16, 16})
    ->Args({1, 16, 24})
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && argv[1][0] != '-') {
    const std::string mode = argv[1];
    const auto a = parse(argc, argv);
    try {
      if (mode == "label") return run_label(a);
      if (mode == "stream") return run_stream(a);
      if (mode == "peak") return run_peak(a);
      if (mode == "sites") return run_sites(a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "error: unknown mode %s\n", mode.c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
