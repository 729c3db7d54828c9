// mpi_tiled_voronoi == the in-memory pipeline, run under mpirun -np 2 / 4.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "spectromine/parallel/mpi.hpp"  // first: it includes <mpi.h> (C API only)
#include "spectromine/io/npy.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "synthetic.hpp"

using namespace spectromine;
namespace fs = std::filesystem;

TEST_CASE("mpi_tiled_voronoi equals the in-memory pipeline for any band height") {
  const MPI_Comm comm = MPI_COMM_WORLD;
  const int rank = parallel::mpi_rank(comm), size = parallel::mpi_size(comm);
  CHECK(size >= 1);
  // One shared folder named by rank 0.
  std::string dir_name;
  if (rank == 0) {
    dir_name = (fs::temp_directory_path() / ("spectromine_mpi_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_name);
  }
  parallel::detail::mpi_broadcast_string(dir_name, 0, comm);
  const fs::path dir(dir_name);
  const image_shape s{29, 17};
  const auto sc = parallel_test::make_scene(s, 11);
  if (rank == 0) io::write_npy_cube(dir / "cube.npy", sc.data.view());
  MPI_Barrier(comm);
  const auto ref = parallel_test::reference_pipeline(sc);
  for (index_t band : {1, 2, 4, 7, 29}) {
    CAPTURE(band);
    parallel::npy_tile_source src(dir / "cube.npy");
    parallel::tiled_voronoi_options o;
    o.normalize = parallel_test::scene_edge();
    o.tiling.band_rows = band;
    o.tiling.threads = 1;
    // Only rank 0's sites count (broadcast): the others pass an empty set.
    const partition::site_set sites = rank == 0 ? sc.sites : partition::site_set{};
    auto rep = parallel::mpi_tiled_voronoi(comm, src, sc.energy, sites, o, dir / "labels.npy", dir / "valid.npy");
    CHECK(rep.pixels == s.pixels());
    index_t labelled = 0;
    for (auto v : ref.repaired.storage()) labelled += v > 0;
    index_t counted = 0;
    for (std::size_t l = 1; l < rep.label_counts.size(); ++l) counted += rep.label_counts[l];
    CHECK(counted == labelled);  // every rank got rank 0's report
    if (rank == 0) {
      CHECK(io::read_npy_labels(dir / "labels.npy").storage() == ref.repaired.storage());
      CHECK(io::read_npy_mask(dir / "valid.npy").storage() == ref.valid.storage());
    }
    MPI_Barrier(comm);
  }
  // A failure on one rank fails all ranks and writes nothing.
  {
    parallel::npy_tile_source src(dir / "cube.npy");
    parallel::tiled_voronoi_options o;
    o.tiling.band_rows = 3;
    std::vector<double> bad = sc.energy;
    bad[3] = bad[2];  // not strictly increasing
    const partition::site_set sites = rank == 0 ? sc.sites : partition::site_set{};
    CHECK_THROWS(parallel::mpi_tiled_voronoi(comm, src, bad, sites, o, dir / "bad.npy"));
    MPI_Barrier(comm);
    CHECK_FALSE(fs::exists(dir / "bad.npy"));
  }
  MPI_Barrier(comm);
  if (rank == 0) fs::remove_all(dir);
}

TEST_CASE("mpi_sample_mask and e0 from the mean equal the in-memory sample_mask and normalize_cube") {
  const MPI_Comm comm = MPI_COMM_WORLD;
  const int rank = parallel::mpi_rank(comm);
  std::string dir_name;
  if (rank == 0) {
    dir_name = (fs::temp_directory_path() / ("spectromine_mpi_mask_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_name);
  }
  parallel::detail::mpi_broadcast_string(dir_name, 0, comm);
  const fs::path dir(dir_name);
  const image_shape s{31, 27};
  auto sc = parallel_test::make_scene(s, 13);
  for (index_t r = 0; r < s.rows; ++r)  // a no-sample stripe: flat, no edge
    for (index_t c = 0; c < 8; ++c)
      for (index_t b = 0; b < sc.data.bands(); ++b) sc.data(r, c, b) = 0.05f + 0.001f * static_cast<float>((r * 7 + c * 3 + b) % 11);
  if (rank == 0) io::write_npy_cube(dir / "cube.npy", sc.data.view());
  MPI_Barrier(comm);
  pre_edge_options edge;
  edge.e0 = 7120.0;
  const pre_edge_plan plan = make_pre_edge_plan(sc.energy, *edge.e0, edge);
  sample_mask_options mo;
  mo.threads = 1;
  const auto ref = sample_mask(cube_view<const float>(sc.data.view()), sc.energy, plan, mo);
  CHECK(ref.report.masked_low_snr > 0);
  parallel::npy_tile_source src(dir / "cube.npy");
  parallel::tiling_options t;
  t.band_rows = 2;
  t.threads = 1;
  const auto rep = parallel::mpi_sample_mask(comm, src, sc.energy, plan, mo, {}, dir / "mask.npy", dir / "z.npy", t);
  CHECK(rep.threshold == ref.report.threshold);
  CHECK(rep.sample == ref.report.sample);
  CHECK(rep.masked_low_snr == ref.report.masked_low_snr);
  if (rank == 0) CHECK(io::read_npy_mask(dir / "mask.npy").storage() == ref.mask.storage());
  // e0 from the mean spectrum (rank 0's pass, broadcast) = normalize_cube's.
  cube<float> norm = sc.data;
  normalize_cube_options n;
  n.threads = 1;
  const auto nrep = normalize_cube(cube_view<const float>(norm.view()), sc.energy, n, norm.view());
  parallel::tiled_voronoi_options o;
  o.normalize = pre_edge_options{};
  o.tiling = t;
  const partition::site_set sites = rank == 0 ? sc.sites : partition::site_set{};
  const auto vr = parallel::mpi_tiled_voronoi(comm, src, sc.energy, sites, o, dir / "labels.npy");
  REQUIRE(vr.e0.has_value());
  CHECK(*vr.e0 == nrep.windows.e0);
  MPI_Barrier(comm);
  if (rank == 0) fs::remove_all(dir);
}

TEST_CASE("mpi_mean_finite_spectrum is the in-memory mean bit for bit (ranks share the pass)") {
  const MPI_Comm comm = MPI_COMM_WORLD;
  const int rank = parallel::mpi_rank(comm);
  std::string dir_name;
  if (rank == 0) {
    dir_name = (fs::temp_directory_path() / ("spectromine_mpi_mean_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_name);
  }
  parallel::detail::mpi_broadcast_string(dir_name, 0, comm);
  const fs::path dir(dir_name);
  // 9 blocks of 4096 pixels, straddling band borders; NaN pixels; a mask.
  // Pixels scaled over 12 decades: sums of floats of similar size are exact
  // in double (any order gives the same bits), these are not.
  const image_shape s{150, 241};
  auto sc = parallel_test::make_scene(s, 17);
  for (index_t p = 0; p < s.pixels(); ++p)
    for (auto& v : sc.data.view().spectrum(p)) v *= static_cast<float>(std::pow(10.0, static_cast<double>((p * 7) % 13 - 6)));
  pixel_mask m(s, 1);
  for (index_t i = 0; i < s.pixels(); ++i) m[i] = (i * 7919) % 13 == 0 ? 0 : 1;
  if (rank == 0) {
    io::write_npy_cube(dir / "cube.npy", sc.data.view());
    io::write_npy_mask(dir / "mask.npy", m.view());
  }
  MPI_Barrier(comm);
  const auto file_mask = parallel::npy_image_file<std::uint8_t>::open(dir / "mask.npy");
  {
    // The test can fail: folding the same block partials in another order
    // (reversed) changes the last bits of this mean.
    const index_t E = sc.data.bands(), n = s.pixels(), blocks = (n + 4095) / 4096;
    std::vector<double> part(static_cast<std::size_t>(blocks * E), 0.0), reversed(static_cast<std::size_t>(E), 0.0);
    index_t count = 0;
    for (index_t p = 0; p < n; ++p) {
      const auto x = sc.data.view().spectrum(p);
      bool finite = true;
      for (float v : x) finite = finite && std::isfinite(v);
      if (!finite) continue;
      ++count;
      for (index_t j = 0; j < E; ++j) part[static_cast<std::size_t>((p / 4096) * E + j)] += static_cast<double>(x[j]);
    }
    for (index_t b = blocks - 1; b >= 0; --b)
      for (index_t j = 0; j < E; ++j) reversed[static_cast<std::size_t>(j)] += part[static_cast<std::size_t>(b * E + j)];
    const auto expected = spectromine::detail::mean_finite_spectrum(cube_view<const float>(sc.data.view()), mask_view(), 1);
    index_t differ = 0;
    for (index_t j = 0; j < E; ++j) differ += reversed[static_cast<std::size_t>(j)] / static_cast<double>(count) != expected[static_cast<std::size_t>(j)];
    CHECK(differ > 0);
  }
  for (bool use_mask : {false, true}) {
    const auto expected = spectromine::detail::mean_finite_spectrum(
        cube_view<const float>(sc.data.view()), use_mask ? mask_view(m.view()) : mask_view(), 1);
    for (index_t band : {1, 3, 17, 150}) {
      for (bool prefetch : {true, false}) {
        CAPTURE(use_mask); CAPTURE(band); CAPTURE(prefetch);
        parallel::npy_tile_source src(dir / "cube.npy");
        parallel::tiling_options t;
        t.band_rows = band;
        t.threads = 1;
        t.prefetch = prefetch;
        const auto got = parallel::mpi_mean_finite_spectrum(comm, src, use_mask ? &file_mask : nullptr, t);
        REQUIRE(got.size() == expected.size());
        index_t diff = 0;
        for (std::size_t j = 0; j < got.size(); ++j) diff += got[j] != expected[j];  // bitwise
        CHECK(diff == 0);
      }
    }
  }
  // No finite sample pixel: every rank fails (none hangs).
  if (rank == 0) io::write_npy_mask(dir / "none.npy", pixel_mask(s, 0).view());
  MPI_Barrier(comm);
  {
    const auto none = parallel::npy_image_file<std::uint8_t>::open(dir / "none.npy");
    parallel::npy_tile_source src(dir / "cube.npy");
    parallel::tiling_options t;
    t.band_rows = 5;
    CHECK_THROWS(parallel::mpi_mean_finite_spectrum(comm, src, &none, t));
  }
  MPI_Barrier(comm);
  if (rank == 0) fs::remove_all(dir);
}

int main(int argc, char** argv) {
  int provided = 0;  // as mpi_session: worker and reader threads, MPI from the main thread only
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  doctest::Context context(argc, argv);
  int failed = context.run() != 0 ? 1 : 0;
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
