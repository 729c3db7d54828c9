// Benchmarks of noise/, metric/ and analysis/pca.hpp.
//
//   BM_symmetric_percent_point_matrix<T>: the site-reduction matrix of Ito
//       2024 (n x n symmetric percent points, 178 energies; n = 6,000 by
//       default, SPECTROMINE_BENCH_SET_SIZE), upper block triangle only.
//   BM_percent_point_matrix<T>: the full one-directional n x n matrix (the
//       same work NumPy's GEMM form does, before symmetrizing).
//   BM_fit_pca / BM_project: covariance pass + eigensolver, and projection of
//       N spectra x 178 (float32) onto 10 components (N = 2e6 by default,
//       SPECTROMINE_BENCH_PIXELS).
//   BM_noisy_cube: seeded sCMOS realizations, spectra per second.
// Inputs are synthetic by default; the peers (benchmarks/peers/
// percent_point_numpy.py, pca_numpy.py) pass THE SAME arrays via
//   SPECTROMINE_BENCH_SPECTRA=x.npy SPECTROMINE_BENCH_SIGMA=s.npy [SPECTROMINE_BENCH_OUT=rows.npy]
//   SPECTROMINE_BENCH_CUBE=c.npy SPECTROMINE_BENCH_COMPONENTS=c.npy SPECTROMINE_BENCH_MEAN=m.npy
//   [SPECTROMINE_BENCH_FIT_PIXELS=n] [SPECTROMINE_BENCH_SCORES_OUT=s.npy]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spectromine/analysis/pca.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/metric/percent_point.hpp"
#include "spectromine/noise/realization.hpp"
#include "spectromine/noise/scmos.hpp"

#include <boost/random/uniform_real_distribution.hpp>

using namespace spectromine;

namespace {

index_t env_index(const char* name, index_t fallback) {
  const char* v = std::getenv(name);
  return v ? static_cast<index_t>(std::stoll(v)) : fallback;
}

// Smooth edge-like spectra on the paper's grid: random mixtures of 6 shapes.
row_matrix<double> synthetic_spectra(index_t n, index_t bands, std::uint64_t seed) {
  auto eng = make_engine(seed);
  boost::random::uniform_real_distribution<double> uni(0, 1);
  row_matrix<double> basis(6, bands);
  for (index_t k = 0; k < 6; ++k)
    for (index_t b = 0; b < bands; ++b) {
      const double x = 7009.2 + 312.0 * double(b) / double(bands - 1) - (7118 + 1.5 * double(k));
      basis(k, b) = 0.5 * (1 + std::tanh(x / 3)) + 0.3 * std::exp(-0.5 * (x - 8 - k) * (x - 8 - k) / 30) +
                    (x > 15 ? 0.05 * std::sin(x / (7 + k)) : 0.0);
    }
  row_matrix<double> out(n, bands);
  for (index_t i = 0; i < n; ++i) {
    double w[6], sum = 0;
    for (double& v : w) sum += (v = uni(eng));
    out.row(i).setZero();
    for (index_t k = 0; k < 6; ++k) out.row(i) += (w[k] / sum) * basis.row(k);
  }
  return out;
}

struct set_input {
  row_matrix<double> spectra, sigma;
};

const set_input& percent_point_input() {
  static const set_input input = [] {
    set_input in;
    if (const char* path = std::getenv("SPECTROMINE_BENCH_SPECTRA")) {
      auto a = io::read_npy<double>(path);
      in.spectra = Eigen::Map<row_matrix<double>>(a.data.data(), index_t(a.shape[0]), index_t(a.shape[1]));
      auto s = io::read_npy<double>(std::getenv("SPECTROMINE_BENCH_SIGMA"));
      in.sigma = Eigen::Map<row_matrix<double>>(s.data.data(), index_t(s.shape[0]), index_t(s.shape[1]));
      return in;
    }
    in.spectra = synthetic_spectra(env_index("SPECTROMINE_BENCH_SET_SIZE", 6000), 178, 1);
    in.sigma.resize(in.spectra.rows(), in.spectra.cols());
    const scmos_noise model;
    const measurement_conditions cond{};
    for (index_t i = 0; i < in.spectra.rows(); ++i)
      for (index_t b = 0; b < in.spectra.cols(); ++b)
        in.sigma(i, b) = normalized_sigma(model, cond, in.spectra(i, b));
    return in;
  }();
  return input;
}

template <class T>
void BM_symmetric_percent_point_matrix(benchmark::State& state) {
  const auto& in = percent_point_input();
  const index_t n = in.spectra.rows();
  row_matrix<T> out(n, n);
  percent_point_options opt{.threads = static_cast<int>(state.range(0))};
  for (auto _ : state) {
    // Preparation (standardization, weights) is part of the work, as in NumPy.
    const auto set = make_percent_point_set<T>(in.spectra, in.sigma);
    symmetric_percent_point_matrix(set, Eigen::Ref<row_matrix<T>>(out), opt);
    benchmark::DoNotOptimize(out.data());
  }
  if (const char* path = std::getenv("SPECTROMINE_BENCH_OUT")) {
    const index_t rows = std::min<index_t>(100, n);
    std::vector<double> first(static_cast<std::size_t>(rows * n));
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < n; ++j) first[static_cast<std::size_t>(i * n + j)] = double(out(i, j));
    io::write_npy<double>(std::string(path) + (std::is_same_v<T, float> ? ".f32.npy" : ".f64.npy"),
                         std::span<const double>(first), {std::size_t(rows), std::size_t(n)});
  }
  state.counters["pairs_per_s"] = benchmark::Counter(double(n) * double(n), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["n"] = double(n);
}

template <class T>
void BM_percent_point_matrix(benchmark::State& state) {
  const auto& in = percent_point_input();
  const index_t n = in.spectra.rows();
  row_matrix<T> out(n, n);
  percent_point_options opt{.threads = static_cast<int>(state.range(0))};
  for (auto _ : state) {
    const auto set = make_percent_point_set<T>(in.spectra, in.sigma);
    percent_point_matrix(set, set, Eigen::Ref<row_matrix<T>>(out), opt);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["pairs_per_s"] = benchmark::Counter(double(n) * double(n), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_TEMPLATE(BM_symmetric_percent_point_matrix, double)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_symmetric_percent_point_matrix, float)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_percent_point_matrix, double)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---------------------------------------------------------------------- PCA

struct pca_input {
  cube<float> data;
  pca_model model;  // components/mean to project with (from the peer, or fitted)
};

pca_input& pca_data() {
  static pca_input input = [] {
    pca_input in;
    if (const char* path = std::getenv("SPECTROMINE_BENCH_CUBE")) {
      in.data = io::read_npy_cube<float>(path);
      auto c = io::read_npy<double>(std::getenv("SPECTROMINE_BENCH_COMPONENTS"));
      auto m = io::read_npy<double>(std::getenv("SPECTROMINE_BENCH_MEAN"));
      in.model.components = Eigen::Map<row_matrix<double>>(c.data.data(), index_t(c.shape[0]), index_t(c.shape[1]));
      in.model.mean = Eigen::Map<Eigen::VectorXd>(m.data.data(), index_t(m.data.size()));
      return in;
    }
    const index_t pixels = env_index("SPECTROMINE_BENCH_PIXELS", 2000000);
    const auto base = synthetic_spectra(256, 178, 2);
    in.data = cube<float>(image_shape{1, pixels}, 178);
    auto eng = make_engine(3);
    boost::random::uniform_real_distribution<double> uni(-0.01, 0.01);
    for (index_t p = 0; p < pixels; ++p)
      for (index_t b = 0; b < 178; ++b)
        in.data.spectrum(p)[std::size_t(b)] = float(base(p % 256, b) + uni(eng));
    in.model = fit_pca(in.data.view(), mask_view{}, pca_options{.components = 10});
    return in;
  }();
  return input;
}

void BM_fit_pca(benchmark::State& state) {
  auto& in = pca_data();
  const index_t fit_pixels = std::min(in.data.pixel_count(), env_index("SPECTROMINE_BENCH_FIT_PIXELS", in.data.pixel_count()));
  const auto view = cube_view<const float>(in.data.data(), image_shape{1, fit_pixels}, 178);
  pca_model m;
  for (auto _ : state) {
    m = fit_pca(view, mask_view{}, pca_options{.components = 10, .threads = static_cast<int>(state.range(0))});
    benchmark::DoNotOptimize(m.components.data());
  }
  state.counters["spectra_per_s"] = benchmark::Counter(double(fit_pixels), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pixels"] = double(fit_pixels);
}

void BM_project(benchmark::State& state) {
  auto& in = pca_data();
  cube<float> scores(in.data.shape(), 10);
  for (auto _ : state) {
    project(in.model, cube_view<const float>(in.data.view()), scores.view(), mask_view{},
            {.components = 10, .threads = static_cast<int>(state.range(0))});
    benchmark::DoNotOptimize(scores.data());
  }
  if (const char* path = std::getenv("SPECTROMINE_BENCH_SCORES_OUT")) {
    const index_t rows = std::min<index_t>(1000, scores.pixel_count());
    io::write_npy<float>(path, std::span<const float>(scores.data(), std::size_t(rows * 10)), {std::size_t(rows), 10});
  }
  state.counters["spectra_per_s"] = benchmark::Counter(double(in.data.pixel_count()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB_per_s"] = benchmark::Counter(double(in.data.pixel_count()) * 178 * 4 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pixels"] = double(in.data.pixel_count());
}

BENCHMARK(BM_fit_pca)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_project)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_noisy_cube(benchmark::State& state) {
  const auto base = synthetic_spectra(1, 178, 4);
  cube<float> clean(image_shape{100, 1000}, 178), out(image_shape{100, 1000}, 178);
  for (index_t p = 0; p < clean.pixel_count(); ++p)
    for (index_t b = 0; b < 178; ++b) clean.spectrum(p)[std::size_t(b)] = float(base(0, b));
  const scmos_noise model;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    noisy_cube(model, measurement_conditions{}, cube_view<const float>(clean.view()), out.view(),
               realization_output::normalized, {.seed = seed++, .threads = static_cast<int>(state.range(0))});
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["spectra_per_s"] = benchmark::Counter(double(clean.pixel_count()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_noisy_cube)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
