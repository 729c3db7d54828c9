// Reading cubes: npy (one fread when the dtype matches; converted otherwise),
// multi-page TIFF and HDF5 (hwe straight, ehw transposed), against a memcpy
// of the same bytes. Files come from SPECTROMINE_BENCH_DIR (written by
// benchmarks/peers/io_numpy.py with NumPy / tifffile / h5py, so both sides
// read the same files), or are written here into a temporary folder:
//   cube_f32.npy, cube_f64.npy, cube.tif, cube.h5 (/data hwe, /data_ehw ehw)
// Size: SPECTROMINE_BENCH_SHAPE="rows,cols,bands" (default 256,256,256 = 64 MiB).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "spectromine/io/hdf5.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/tiff.hpp"

namespace fs = std::filesystem;
using namespace spectromine;

namespace {

struct bench_files {
  fs::path dir;
  index_t rows = 256, cols = 256, bands = 256;
  std::size_t bytes() const { return static_cast<std::size_t>(rows * cols * bands) * sizeof(float); }
};

const bench_files& files() {
  static const bench_files f = [] {
    bench_files b;
    if (const char* s = std::getenv("SPECTROMINE_BENCH_SHAPE"))
      std::sscanf(s, "%td,%td,%td", &b.rows, &b.cols, &b.bands);
    if (const char* d = std::getenv("SPECTROMINE_BENCH_DIR")) {
      b.dir = d;
      const auto info = io::read_npy_cube_header(b.dir / "cube_f32.npy");
      b.rows = static_cast<index_t>(info.shape[0]);
      b.cols = static_cast<index_t>(info.shape[1]);
      b.bands = static_cast<index_t>(info.shape[2]);
      return b;
    }
    b.dir = fs::temp_directory_path() / "spectromine_bench_io";
    fs::create_directories(b.dir);
    cube<float> c(image_shape{b.rows, b.cols}, b.bands);
    for (std::size_t i = 0; i < c.storage().size(); ++i) c.storage()[i] = static_cast<float>(i % 1000) * 0.001f;
    io::write_npy_cube(b.dir / "cube_f32.npy", c.view());
    cube<double> d(c.shape(), c.bands());
    for (std::size_t i = 0; i < c.storage().size(); ++i) d.storage()[i] = c.storage()[i];
    io::write_npy_cube(b.dir / "cube_f64.npy", d.view());
    io::write_tiff_cube(b.dir / "cube.tif", c.view());
    io::write_hdf5_cube(b.dir / "cube.h5", "/data", c.view());
    io::hdf5_write_options ehw;
    ehw.axes = io::axis_order::ehw;
    io::write_hdf5_cube(b.dir / "cube_ehw.h5", "/data", c.view(), ehw);
    return b;
  }();
  return f;
}

void report(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(files().bytes()));
}

void BM_memcpy(benchmark::State& state) {
  std::vector<float> a(files().bytes() / 4, 1.0f), b(a.size());
  for (auto _ : state) {
    std::vector<float> fresh(a.size());  // a fresh allocation, as a reader makes
    std::memcpy(fresh.data(), a.data(), files().bytes());
    benchmark::DoNotOptimize(fresh.data());
  }
  report(state);
}
BENCHMARK(BM_memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_read_npy_float32(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(io::read_npy_cube<float>(files().dir / "cube_f32.npy").data());
  report(state);
}
BENCHMARK(BM_read_npy_float32)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_read_npy_float64_to_float32(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(io::read_npy_cube<float>(files().dir / "cube_f64.npy").data());
  report(state);
}
BENCHMARK(BM_read_npy_float64_to_float32)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_read_npy_row_band(benchmark::State& state) {  // an eighth of the rows
  const index_t rows = std::max<index_t>(1, files().rows / 8);
  for (auto _ : state)
    benchmark::DoNotOptimize(io::read_npy_cube_rows<float>(files().dir / "cube_f32.npy", files().rows / 2, rows).data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(files().bytes() / static_cast<std::size_t>(files().rows) * static_cast<std::size_t>(rows)));
}
BENCHMARK(BM_read_npy_row_band)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_read_tiff(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(io::read_tiff_cube<float>(files().dir / "cube.tif").data());
  report(state);
}
BENCHMARK(BM_read_tiff)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_read_hdf5_hwe(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(io::read_hdf5_cube<float>(files().dir / "cube.h5", "/data").data());
  report(state);
}
BENCHMARK(BM_read_hdf5_hwe)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_read_hdf5_ehw(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(io::read_hdf5_cube<float>(files().dir / "cube_ehw.h5", "/data", io::axis_order::ehw).data());
  report(state);
}
BENCHMARK(BM_read_hdf5_ehw)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_write_npy_float32(benchmark::State& state) {
  const auto c = io::read_npy_cube<float>(files().dir / "cube_f32.npy");
  for (auto _ : state) io::write_npy_cube(files().dir / "written.npy", c.view());
  report(state);
}
BENCHMARK(BM_write_npy_float32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
