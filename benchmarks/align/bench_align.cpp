// Google Benchmark suite of the align family.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "spectromine/align/apply_shifts.hpp"
#include "spectromine/align/energy_shift.hpp"
#include "spectromine/align/phase_correlation.hpp"
#include "spectromine/align/stitch.hpp"
#include "spectromine/core/random.hpp"

#include <boost/random/uniform_real_distribution.hpp>

using namespace spectromine;

namespace {

// A smooth random texture (sum of cosines), cheap to make at any size.
image<float> texture(image_shape shape, std::uint64_t seed) {
  auto engine = make_engine(seed);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> fy(24), fx(24), ph(24);
  for (int k = 0; k < 24; ++k) {
    fy[k] = 0.002 + 0.08 * u(engine);
    fx[k] = 0.002 + 0.08 * u(engine);
    ph[k] = 6.28 * u(engine);
  }
  image<float> img(shape);
  for (index_t r = 0; r < shape.rows; ++r)
    for (index_t c = 0; c < shape.cols; ++c) {
      double v = 0;
      for (int k = 0; k < 24; ++k) v += std::cos(fy[k] * r * 6.28 + fx[k] * c * 6.28 + ph[k]);
      img(r, c) = static_cast<float>(v);
    }
  return img;
}

}  // namespace

// One frame registered against a kept reference (the per-frame cost of register_stack).
static void BM_register_frame(benchmark::State& state) {
  const index_t n = state.range(0);
  const auto ref = texture({n + 8, n + 8}, 1);
  image<float> a({n, n}), b({n, n});
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c < n; ++c) {
      a(r, c) = ref(r + 4, c + 4);
      b(r, c) = ref(r + 1, c + 6);
    }
  align::registration_options o;
  o.threads = static_cast<int>(state.range(1));
  o.upsample = static_cast<int>(state.range(2));
  align::phase_correlator pc({n, n}, o);
  pc.set_reference(a.view());
  for (auto _ : state) benchmark::DoNotOptimize(pc.register_frame(b.view()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_register_frame)
    ->ArgsProduct({{512, 1024, 2048}, {1, 2}, {20}})
    ->Args({1024, 1, 100})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Resampling a stack by per-band shifts (bilinear), float32.
static void BM_apply_shifts(benchmark::State& state) {
  const index_t n = state.range(0), bands = 178;
  cube<float> in({n, n}, bands, 1.0f), out({n, n}, bands);
  std::vector<align::frame_shift> shifts(static_cast<std::size_t>(bands));
  for (index_t b = 0; b < bands; ++b) shifts[static_cast<std::size_t>(b)] = {0.01 * b - 0.7, 1.3 - 0.02 * b, 1};
  align::apply_shift_options o;
  o.threads = static_cast<int>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(align::apply_shifts(in, shifts, out.view(), o));
  state.SetBytesProcessed(state.iterations() * n * n * bands * 4);
}
BENCHMARK(BM_apply_shifts)->ArgsProduct({{512, 1024}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// Energy-shift estimate between two 178-point spectra.
static void BM_energy_shift(benchmark::State& state) {
  std::vector<double> e, a, b;
  for (int i = 0; i < 178; ++i) e.push_back(7009.2 + 1.75 * i);
  for (double x : e) {
    a.push_back(std::atan((x - 7120) / 3) + 0.3 * std::exp(-(x - 7130) * (x - 7130) / 20));
    b.push_back(std::atan((x - 7121.3) / 3) + 0.3 * std::exp(-(x - 7131.3) * (x - 7131.3) / 20));
  }
  for (auto _ : state) benchmark::DoNotOptimize(align::estimate_energy_shift(e, a, e, b));
}
BENCHMARK(BM_energy_shift)->Unit(benchmark::kMicrosecond);

// Rendering a 2 x 2 mosaic of 512 x 512 x 64 fields (placement given).
static void BM_render_stitch(benchmark::State& state) {
  const index_t n = 512, bands = 64, step = 448;
  std::vector<cube<float>> tiles;
  std::vector<align::memory_field<float>> fields;
  std::vector<align::field_position> pos;
  for (int i = 0; i < 4; ++i) tiles.emplace_back(image_shape{n, n}, bands, static_cast<float>(i));
  for (int i = 0; i < 4; ++i) {
    fields.emplace_back(tiles[static_cast<std::size_t>(i)].view());
    pos.push_back({(i / 2) * step, (i % 2) * step});
  }
  const auto plan = align::nominal_plan(std::span<const align::memory_field<float>>(fields),
                                        std::span<const align::field_position>(pos));
  align::stitch_options o;
  o.threads = static_cast<int>(state.range(0));
  for (auto _ : state)
    align::render_stitch(std::span<const align::memory_field<float>>(fields), plan,
                         [](index_t, cube_view<const float> band) { benchmark::DoNotOptimize(band.data()); }, o);
  state.SetBytesProcessed(state.iterations() * plan.shape.pixels() * bands * 4);
}
BENCHMARK(BM_render_stitch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
