// Streaming benchmark of parallel::tiled_voronoi (benchmarks/results/parallel.md).
//
//   bench_parallel_stream generate CUBE.npy ROWS COLS [SEED]
//       writes a ROWS x COLS x 178 float32 cube, streaming, seeded: Fe K-edge
//       reference spectra (data/references/Fe_K) in blob regions, scaled by a
//       random thickness, plus Gaussian noise.
//   bench_parallel_stream run CUBE.npy OUT_LABELS.npy BUDGET [THREADS] [PREFETCH]
//       normalize -> standardize -> label -> window_core + fill, tiled within
//       BUDGET (e.g. 256M); prints spectra/s, the stage times (labelling,
//       read wait, repair) and the projection to 450 M pixels. PREFETCH 1
//       (default) reads the next band on a reader thread while this one is
//       labelled; 0 reads and labels in turn (the session-2 schedule).
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "spectromine/core/memory_size.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/parallel/tiled.hpp"
#include "spectromine/preprocess/interpolate.hpp"
#include "spectromine/preprocess/normalize.hpp"

using namespace spectromine;

namespace {

const char* const kRefs[] = {"Chromite", "Hercynite", "LW_0", "MI5"};

std::vector<double> grid() {
  std::vector<double> e;
  for (int i = 0; i < 178; ++i) e.push_back(7070.0 + 330.0 * i / 177.0);
  return e;
}

std::vector<std::vector<double>> reference_mu(const std::vector<double>& e) {
  std::vector<std::vector<double>> out;
  for (const char* name : kRefs) {
    const auto r = io::read_reference_spectrum(std::string(SPECTROMINE_DATA_DIR) + "/references/Fe_K/" + name + ".dat");
    out.push_back(interpolate_linear(r.energy, r.mu, e));
  }
  return out;
}

double edge_e0(const std::vector<double>& e, const std::vector<std::vector<double>>& mu) {
  std::vector<double> mean(e.size(), 0.0);
  for (const auto& m : mu)
    for (std::size_t i = 0; i < e.size(); ++i) mean[i] += m[i] / static_cast<double>(mu.size());
  return find_e0(e, mean);
}

int generate(const std::string& path, index_t rows, index_t cols, std::uint64_t seed) {
  const auto e = grid();
  const auto mu = reference_mu(e);
  const std::string pre = io::detail::npy_preamble<float>(
      {static_cast<std::size_t>(rows), static_cast<std::size_t>(cols), e.size()});
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 1;
  std::fwrite(pre.data(), 1, pre.size(), f);
  const auto E = static_cast<index_t>(e.size());
  std::vector<float> row(static_cast<std::size_t>(cols * E));
  for (index_t r = 0; r < rows; ++r) {
    auto eng = make_engine(seed, static_cast<std::uint64_t>(r));  // per row: reproducible
    boost::random::normal_distribution<float> noise(0.0f, 0.02f);
    boost::random::uniform_real_distribution<double> u(0.5, 1.5);
    for (index_t c = 0; c < cols; ++c) {
      // blobs: a coarse checker of 4 phases with wavy borders
      const double w = 40.0 * std::sin(0.013 * static_cast<double>(r + 2 * c));
      const auto ph = static_cast<std::size_t>(((static_cast<index_t>(r + w) / 150) + (c / 150)) % 4);
      const double t = u(eng);
      for (index_t b = 0; b < E; ++b)
        row[static_cast<std::size_t>(c * E + b)] =
            static_cast<float>(t * mu[ph][static_cast<std::size_t>(b)]) + noise(eng);
    }
    std::fwrite(row.data(), sizeof(float), row.size(), f);
  }
  return std::fclose(f) == 0 ? 0 : 1;
}

int run(const std::string& cube_path, const std::string& out, const std::string& budget, int threads,
        bool prefetch) {
  const auto e = grid();
  const auto mu = reference_mu(e);
  pre_edge_options edge;
  edge.e0 = edge_e0(e, mu);
  partition::site_set sites;
  sites.energy = e;
  for (std::size_t k = 0; k < mu.size(); ++k) {
    sites.names.push_back(kRefs[k]);
    sites.spectra.push_back(pre_edge(e, mu[k], edge).norm);
  }
  parallel::npy_tile_source src(cube_path);
  parallel::tiled_voronoi_options o;
  o.normalize = edge;
  o.tiling.memory_budget = parse_memory_size(budget, "bench_parallel_stream", "BUDGET");
  o.tiling.threads = threads;
  o.tiling.prefetch = prefetch;
  const auto t0 = std::chrono::steady_clock::now();
  const auto rep = parallel::tiled_voronoi(src, e, sites, o, out);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double px = static_cast<double>(rep.pixels);
  std::printf("pixels %.0f  bands(energies) %zu  band_rows %lld  bands %lld  e0 %.2f\n", px, e.size(),
              static_cast<long long>(rep.band_rows), static_cast<long long>(rep.bands), *edge.e0);
  std::printf("valid %lld  removed %lld  filled %lld  border_components %lld  fill_max_halo %lld  fill_retries %lld\n",
              static_cast<long long>(rep.valid), static_cast<long long>(rep.repair.removed),
              static_cast<long long>(rep.repair.filled), static_cast<long long>(rep.repair.border_components),
              static_cast<long long>(rep.repair.fill_max_halo), static_cast<long long>(rep.repair.fill_retries));
  std::printf("prefetch %d  labelling %.2f s (read wait %.2f s)  repair %.2f s\n", prefetch ? 1 : 0,
              rep.seconds_labelling, rep.seconds_read_wait, rep.seconds_repair);
  std::printf("wall %.2f s  spectra/s %.0f  projected 450M pixels: %.1f min\n", s, px / s, 450e6 / (px / s) / 60.0);
  for (std::size_t l = 0; l < rep.label_counts.size(); ++l)
    std::printf("label %zu: %lld\n", l, static_cast<long long>(rep.label_counts[l]));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "generate" && argc >= 5)
      return generate(argv[2], std::stoll(argv[3]), std::stoll(argv[4]), argc > 5 ? std::stoull(argv[5]) : 0);
    if (mode == "run" && argc >= 5)
      return run(argv[2], argv[3], argv[4], argc > 5 ? std::stoi(argv[5]) : 0, argc > 6 ? std::stoi(argv[6]) != 0 : true);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 1;
  }
  std::fprintf(stderr, "usage: %s generate CUBE.npy ROWS COLS [SEED] | run CUBE.npy OUT.npy BUDGET [THREADS] [PREFETCH]\n", argv[0]);
  return 2;
}
