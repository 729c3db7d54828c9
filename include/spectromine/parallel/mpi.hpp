// spectromine/parallel/mpi.hpp: the tiled Voronoi pipeline over MPI ranks
// (component spectromine::mpi; empty without SPECTROMINE_HAS_MPI).
//
//   rank 0 reads the sites and broadcasts them; every rank builds the same
//   nearest_site_index; rank 0 creates the scratch label/mask files and the
//   output (temporary) and broadcasts their paths; rank r labels the bands
//   b with b % size == r (read -> normalize -> standardize -> label), writing
//   its rows into the shared files with positioned writes (the files must be
//   on a file system every rank sees: one node, or NFS/Lustre);
//   e0 from the mean spectrum is shared too (mpi_mean_finite_spectrum: block
//   partials folded on rank 0 in the in-memory order);
//   then rank 0 runs the exact tiled repair (parallel/tiled.hpp) on the label
//   image -- 4 bytes per pixel against the cube's 4 x E bytes, so the
//   labelling is where the time goes -- and commits the one output.
// Labels are identical to one process (tests/parallel, run under mpirun -np
// 2 and 4). A failure on any rank fails every rank (no rank waits forever)
// and leaves no output file.
#pragma once

#if defined(SPECTROMINE_HAS_MPI)

// The C API only: keep Open MPI / MPICH from dragging in their deprecated C++
// bindings (which need the libmpi_cxx library).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spectromine/error.hpp"
#include "spectromine/parallel/tiled.hpp"
#include "spectromine/parallel/tiled_statistics.hpp"
#include "spectromine/partition/sites.hpp"

namespace spectromine::parallel {

inline int mpi_rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
inline int mpi_size(MPI_Comm comm) {
  int s = 1;
  MPI_Comm_size(comm, &s);
  return s;
}

// Whether this process was started by an MPI launcher (mpirun/mpiexec of
// Open MPI, or a PMI-based one such as MPICH's hydra or Slurm's srun), so a
// program can use MPI only then and run as a plain program otherwise.
inline bool launched_under_mpi() noexcept {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

// MPI_Init_thread (funneled) when launched under MPI (else nothing),
// MPI_Finalize on exit.
class mpi_session {
 public:
  mpi_session(int& argc, char**& argv) {
    if (!launched_under_mpi()) return;
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    // FUNNELED: only the main thread calls MPI, but the library runs other
    // threads (parallel_for workers, the prefetching band reader).
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    owned_ = true;
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;
  ~mpi_session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized) MPI_Finalize();
  }
  // MPI is initialized and not finalized (by this session or the caller).
  static bool active() noexcept {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
  }

 private:
  bool owned_ = false;
};

namespace detail {

// Runs f on this rank; if it throws on ANY rank, every rank throws (the
// failing rank its own error), so no rank blocks in a later collective.
template <class F>
void mpi_collective(MPI_Comm comm, F&& f) {
  int failed = 0;
  std::string message;
  try {
    f();
  } catch (const std::exception& e) {
    failed = 1;
    message = e.what();
  }
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
  if (failed) throw spectromine::error(message);
  if (any) throw spectromine::error("mpi: another rank failed (see its error message)");
}

inline void mpi_broadcast_string(std::string& s, int root, MPI_Comm comm) {
  long long n = static_cast<long long>(s.size());
  MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm);
  s.resize(static_cast<std::size_t>(n));
  if (n > 0) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, comm);
}

inline void mpi_broadcast_doubles(std::vector<double>& v, int root, MPI_Comm comm) {
  long long n = static_cast<long long>(v.size());
  MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm);
  v.resize(static_cast<std::size_t>(n));
  if (n > 0) MPI_Bcast(v.data(), static_cast<int>(n), MPI_DOUBLE, root, comm);
}

}  // namespace detail

// Sends rank `root`'s site set to every rank (names, energies, spectra).
inline void broadcast_sites(partition::site_set& sites, MPI_Comm comm, int root = 0) {
  detail::mpi_broadcast_doubles(sites.energy, root, comm);
  long long count = static_cast<long long>(sites.spectra.size());
  MPI_Bcast(&count, 1, MPI_LONG_LONG, root, comm);
  sites.names.resize(static_cast<std::size_t>(count));
  sites.spectra.resize(static_cast<std::size_t>(count));
  for (std::size_t s = 0; s < static_cast<std::size_t>(count); ++s) {
    detail::mpi_broadcast_string(sites.names[s], root, comm);
    detail::mpi_broadcast_doubles(sites.spectra[s], root, comm);
  }
}

// tiled_mean_finite_spectrum over the ranks (collective; every rank returns
// the same mean, bit for bit the single-process and in-memory one). Rank r
// computes the mean units (parallel/tiled_statistics.hpp: the 4096-pixel
// blocks starting in band b, b % size == r) and sends each unit's block
// partials to rank 0, which folds them in band order -- the in-memory order;
// a fold in any other order would change the last bits. A rank that fails
// sends a poison message for each unit it still owes, so rank 0 never waits
// forever, and then every rank throws.
template <class Source>
  requires tile_source<Source>
std::vector<double> mpi_mean_finite_spectrum(MPI_Comm comm, Source& source,
                                             const npy_image_file<std::uint8_t>* mask, const tiling_options& t) {
  const int rank = mpi_rank(comm), size = mpi_size(comm);
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  constexpr int tag = 0x5e0;
  const auto bands = plan_row_bands(H, detail::cube_band_rows(source, t, 1));
  auto owner = [&](std::size_t b) { return static_cast<int>(b % static_cast<std::size_t>(size)); };
  auto blocks_of = [&](std::size_t b) { return detail::mean_unit_of(bands[b], W, H).blocks(); };
  detail::mean_accumulator acc(E);
  std::vector<double> msg;
  detail::mean_partials received;
  std::size_t next = 0;  // rank 0: the next band to fold
  bool poisoned = false;
  auto receive_until = [&](std::size_t end) {  // rank 0: fold the other ranks' units before `end`
    for (; next < end; ++next) {
      const index_t nb = blocks_of(next);
      if (nb == 0 || owner(next) == 0) continue;
      msg.assign(static_cast<std::size_t>(1 + nb * (1 + E)), 0.0);
      MPI_Recv(msg.data(), static_cast<int>(msg.size()), MPI_DOUBLE, owner(next), tag, comm, MPI_STATUS_IGNORE);
      if (msg[0] != 0 || poisoned) {
        poisoned = true;
        continue;
      }
      received.counts.assign(static_cast<std::size_t>(nb), 0);
      for (index_t k = 0; k < nb; ++k) received.counts[static_cast<std::size_t>(k)] = static_cast<index_t>(msg[1 + k]);
      received.sums.assign(msg.begin() + 1 + nb, msg.end());
      acc.add(received);
    }
  };
  std::size_t sent = 0;  // rank r > 0: bands up to here are sent
  std::string failure;
  try {
    detail::check_mean_inputs(H, W, mask, t);
    detail::mean_partials_pass(source, mask, t, band_share{rank, size},
                               [&](std::size_t b, const detail::mean_partials& p) {
                                 if (rank == 0) {
                                   receive_until(b);
                                   acc.add(p);
                                   next = b + 1;
                                   return;
                                 }
                                 msg.assign(1, 0.0);
                                 for (auto c : p.counts) msg.push_back(static_cast<double>(c));  // < 2^53: exact
                                 msg.insert(msg.end(), p.sums.begin(), p.sums.end());
                                 MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_DOUBLE, 0, tag, comm);
                                 sent = b + 1;
                               });
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "mpi_mean_finite_spectrum failed";
  }
  if (rank == 0) {
    receive_until(bands.size());  // also drains the others after a failure here
  } else if (!failure.empty()) {
    const double poison = 1;
    for (std::size_t b = sent; b < bands.size(); ++b)
      if (owner(b) == rank && blocks_of(b) > 0) MPI_Send(&poison, 1, MPI_DOUBLE, 0, tag, comm);
  }
  std::vector<double> mean;
  detail::mpi_collective(comm, [&] {
    if (!failure.empty()) throw spectromine::error(failure);
    if (rank == 0 && !poisoned) mean = acc.finish();
  });
  detail::mpi_broadcast_doubles(mean, 0, comm);
  return mean;
}

// tiled_voronoi over the ranks of `comm` (collective: every rank calls it
// with the same source file, energy, options and paths; `sites` is taken
// from rank 0). Every rank returns the same report.
template <class Source>
  requires tile_source<Source>
tiled_voronoi_report mpi_tiled_voronoi(MPI_Comm comm, Source& source, std::span<const double> energy,
                                       partition::site_set sites, const tiled_voronoi_options& options,
                                       const std::filesystem::path& labels_out,
                                       const std::filesystem::path& mask_out = {}) {
  const int rank = mpi_rank(comm), size = mpi_size(comm);
  const index_t H = source.rows(), W = source.cols(), E = source.bands();
  const image_shape shape{H, W};
  broadcast_sites(sites, comm);
  std::optional<partition::nearest_site_index> index;
  std::optional<npy_image_file<std::uint8_t>> sample;
  tiled_voronoi_report report;
  detail::mpi_collective(comm, [&] {
    detail::validate_voronoi(options, energy, E, sites);
    sample = detail::open_sample_mask(options.sample_mask, shape, "mpi_tiled_voronoi");
    index.emplace(detail::labelling_index(sites, energy, options));
  });
  // e0 from the mean spectrum: the ranks share the pass (block partials
  // folded in order on rank 0, see mpi_mean_finite_spectrum).
  std::optional<pre_edge_options> edge = options.normalize;
  if (edge && !edge->e0) {
    const auto mean = mpi_mean_finite_spectrum(comm, source, sample ? &*sample : nullptr, options.tiling);
    double e0 = 0;
    detail::mpi_collective(comm, [&] { e0 = find_e0(energy, mean); });
    edge->e0 = e0;
    report.e0_from_mean = true;
  }
  if (edge) report.e0 = edge->e0;
  report.band_rows = detail::voronoi_band_rows(options, H, W, E, detail::reader_factor(source));
  const auto bands = plan_row_bands(H, report.band_rows);
  report.bands = static_cast<index_t>(bands.size());

  // Rank 0 owns the files (atomic: removed unless committed).
  std::optional<io::atomic_file> labels_file, raw_file, mask_file;
  std::string raw_path, mask_path;
  detail::mpi_collective(comm, [&] {
    if (rank != 0) return;
    labels_file.emplace(labels_out);
    raw_file.emplace(labels_out.string() + ".raw");
    mask_file.emplace(mask_out.empty() ? std::filesystem::path(labels_out.string() + ".mask") : mask_out);
    npy_image_file<label_t>::create(raw_file->temp_path(), shape);
    npy_image_file<std::uint8_t>::create(mask_file->temp_path(), shape);
    raw_path = raw_file->temp_path().string();
    mask_path = mask_file->temp_path().string();
  });
  detail::mpi_broadcast_string(raw_path, 0, comm);
  detail::mpi_broadcast_string(mask_path, 0, comm);

  long long local[2] = {0, 0};
  detail::mpi_collective(comm, [&] {
    auto raw = npy_image_file<label_t>::open(raw_path, true);
    auto valid_file = npy_image_file<std::uint8_t>::open(mask_path, true);
    const auto lt = detail::label_bands(source, energy, *index, edge, sample ? &*sample : nullptr, bands,
                                       report.band_rows, band_share{rank, size}, options.tiling, raw, valid_file);
    local[0] = lt.valid;
    local[1] = lt.pixels;
    report.seconds_labelling = lt.seconds;
    report.seconds_read_wait = lt.read_wait;
    raw.sync();  // visible to rank 0 also across nodes
    valid_file.sync();
  });
  long long total[2] = {0, 0};
  MPI_Allreduce(local, total, 2, MPI_LONG_LONG, MPI_SUM, comm);
  report.valid = static_cast<index_t>(total[0]);
  report.pixels = static_cast<index_t>(total[1]);

  // Repair on rank 0, then everyone learns the result.
  std::vector<long long> numbers;
  detail::mpi_collective(comm, [&] {
    if (rank != 0) return;
    auto raw = npy_image_file<label_t>::open(raw_path);
    auto valid_file = npy_image_file<std::uint8_t>::open(mask_path);
    auto final_labels = npy_image_file<label_t>::create(labels_file->temp_path(), shape);
    report.repair = tiled_repair(raw, &valid_file, final_labels, labels_out.string() + ".cored",
                                 detail::repair_of(options), options.tiling);
    report.label_counts = detail::count_labels(final_labels, index->size());
    final_labels.sync();
    labels_file->commit();
    if (!mask_out.empty()) mask_file->commit();
  });
  if (rank == 0) {
    const auto& r = report.repair;
    numbers = {r.removed, r.filled, r.bands, r.border_components, r.fill_max_halo, r.fill_retries};
    numbers.insert(numbers.end(), report.label_counts.begin(), report.label_counts.end());
  }
  long long n = static_cast<long long>(numbers.size());
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, comm);
  numbers.resize(static_cast<std::size_t>(n));
  MPI_Bcast(numbers.data(), static_cast<int>(n), MPI_LONG_LONG, 0, comm);
  if (rank != 0) {
    report.repair = {numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5]};
    report.label_counts.assign(numbers.begin() + 6, numbers.end());
  }
  return report;
}

// tiled_sample_mask over the ranks (collective): the z pass (the cube
// reads) is shared by band, the threshold pass over the z file (8 B/pixel)
// runs on rank 0, which writes `mask_out` (plain, not atomic: a scratch file
// of the caller). Every rank returns rank 0's report.
template <class Source>
  requires tile_source<Source>
sample_mask_report mpi_sample_mask(MPI_Comm comm, Source& source, std::span<const double> energy,
                                   const pre_edge_plan& plan, const sample_mask_options& options,
                                   const std::filesystem::path& input_mask, const std::filesystem::path& mask_out,
                                   const std::filesystem::path& z_scratch, const tiling_options& t) {
  const int rank = mpi_rank(comm), size = mpi_size(comm);
  const image_shape shape{source.rows(), source.cols()};
  std::optional<io::atomic_file> zfile;  // rank 0's, never committed
  std::string z_path;
  detail::mpi_collective(comm, [&] {
    if (rank != 0) return;
    zfile.emplace(z_scratch);
    npy_image_file<double>::create(zfile->temp_path(), shape);
    npy_image_file<std::uint8_t>::create(mask_out, shape);
    z_path = zfile->temp_path().string();
  });
  detail::mpi_broadcast_string(z_path, 0, comm);
  detail::mpi_collective(comm, [&] {
    std::optional<npy_image_file<std::uint8_t>> in;
    if (!input_mask.empty()) in.emplace(npy_image_file<std::uint8_t>::open(input_mask));
    const auto zf = npy_image_file<double>::open(z_path, true);
    tiled_edge_jump_z(source, energy, plan, in ? &*in : nullptr, zf, t, band_share{rank, size});
    zf.sync();
  });
  sample_mask_report rep;
  detail::mpi_collective(comm, [&] {
    if (rank != 0) return;
    const auto zf = npy_image_file<double>::open(z_path);
    const auto m = npy_image_file<std::uint8_t>::open(mask_out, true);
    rep = tiled_mask_from_z(zf, plan, options, m, t);
    m.sync();
  });
  double numbers[2] = {rep.threshold, rep.otsu_applied ? 1.0 : 0.0};
  long long counts[5] = {rep.pixels, rep.sample, rep.masked_input, rep.masked_nonfinite, rep.masked_low_snr};
  MPI_Bcast(numbers, 2, MPI_DOUBLE, 0, comm);
  MPI_Bcast(counts, 5, MPI_LONG_LONG, 0, comm);
  if (rank != 0) {
    rep.threshold = numbers[0];
    rep.otsu_applied = numbers[1] != 0;
    rep.pixels = counts[0], rep.sample = counts[1], rep.masked_input = counts[2];
    rep.masked_nonfinite = counts[3], rep.masked_low_snr = counts[4];
    rep.windows = plan.windows;
    rep.floor = options.floor;
  }
  return rep;
}

}  // namespace spectromine::parallel

#endif  // SPECTROMINE_HAS_MPI
