// `spectromine cluster --method voronoi|dbscan` out of core (--tile N,
// --memory-budget 256M, a cube larger than the available memory) and, for
// voronoi, across MPI ranks (`mpirun -np N spectromine cluster ...`). The
// same pipeline as the in-memory route of cluster.hpp, with the same
// labels.npy byte for byte and the same counts (tests/parallel/cli_tiled.cmake):
//
//   e0     given, or find_e0 of the mean spectrum (a streaming pass, equal to
//          the in-memory mean: parallel/tiled_statistics.hpp)
//   mask   auto: edge-jump z per pixel -> scratch file -> Otsu + lower-class
//          median -> mask file (exact twin of sample_mask); none; FILE.npy
//   label  voronoi, per band: normalize -> standardize (validity) -> nearest
//          site; dbscan: block pairs over the whole sample
//          (parallel/tiled_dbscan.hpp; --components refused)
//   repair exact tiled window-core + fill (parallel/tiled.hpp)
//   relabel by size (in place), mean spectrum per cluster (one more pass)
//   -> DIR/labels.npy, labels.tif, phase_map.png, spectra.csv, summary.json
//      as one io::output_batch (labels.tif / phase_map.png need the label
//      image in memory: written when it fits the budget, else listed in
//      summary.json "skipped_outputs").
// Under MPI every rank runs this function: ranks share the cube bands of the
// mask and label passes; rank 0 runs the e0 pass, the repair, the means pass
// and writes the outputs; an error on any rank fails all ranks.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "spectromine/core/memory_size.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/csv.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"
#if defined(SPECTROMINE_HAS_MPI)
#include "spectromine/parallel/mpi.hpp"
#endif
#if defined(SPECTROMINE_HAS_TIFF)
#include "spectromine/io/tiff.hpp"
#endif
#if defined(SPECTROMINE_HAS_PNG)
#include "spectromine/io/png.hpp"
#endif
#include "spectromine/parallel/tiled.hpp"
#include "spectromine/parallel/tiled_dbscan.hpp"
#include "spectromine/parallel/tiled_statistics.hpp"
#include "spectromine/partition/sites.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "spectromine/version.hpp"

namespace spectromine::cli {

// What the tiled route needs from `cluster`'s flags.
struct tiled_cluster_request {
  std::string method = "voronoi";  // voronoi | dbscan (tiled_method_supported)
  std::string input, energy, out, sites;
  partition::dbscan_options dbscan;  // --method dbscan (as the in-memory make() builds it)
  io::cube_source_options source;
  std::string mask = "auto";
  bool normalize = true;
  pre_edge_options edge;          // e0 unset = from the mean spectrum
  bool repair = true;
  int k_size = 5, p_num = 23;
  index_t tile = 0;               // rows per band; 0 = from the budget
  std::string memory_budget;      // empty = 256M
};

// Methods with an out-of-core path.
inline bool tiled_method_supported(const std::string& method) { return method == "voronoi" || method == "dbscan"; }
inline const char* tiled_method_names() { return "voronoi or dbscan"; }

// `--out` must be a folder (or not exist yet): one check for both routes.
inline void require_output_folder(const std::string& out) {
  std::error_code ec;
  require(!std::filesystem::exists(out, ec) || std::filesystem::is_directory(out, ec), "cluster", "--out",
          "must be a folder (it is an existing file)", out);
}

namespace tiled_detail {

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
inline std::size_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

// Whether MPI runs this process (mpirun/srun launch, built with the MPI component).
inline bool under_mpi() {
#if defined(SPECTROMINE_HAS_MPI)
  return parallel::mpi_session::active();
#else
  return false;
#endif
}

// One process, or the ranks of MPI_COMM_WORLD.
struct rank_group {
  int rank = 0, size = 1;
  rank_group() {
#if defined(SPECTROMINE_HAS_MPI)
    if (under_mpi()) {
      rank = parallel::mpi_rank(MPI_COMM_WORLD);
      size = parallel::mpi_size(MPI_COMM_WORLD);
    }
#endif
  }
  bool mpi() const { return under_mpi(); }
  // f on every rank; an exception on any rank throws on all.
  template <class F>
  void collective(F&& f) const {
#if defined(SPECTROMINE_HAS_MPI)
    if (mpi()) return parallel::detail::mpi_collective(MPI_COMM_WORLD, f);
#endif
    f();
  }
  template <class F>
  void on_root(F&& f) const {
    collective([&] {
      if (rank == 0) f();
    });
  }
  void broadcast(double& v) const {
#if defined(SPECTROMINE_HAS_MPI)
    if (mpi()) MPI_Bcast(&v, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
#endif
    (void)v;
  }
  void broadcast(std::string& s) const {
#if defined(SPECTROMINE_HAS_MPI)
    if (mpi()) parallel::detail::mpi_broadcast_string(s, 0, MPI_COMM_WORLD);
#endif
    (void)s;
  }
};

class stopwatch {
 public:
  void stage(const std::string& name) {
    const auto now = std::chrono::steady_clock::now();
    if (!current_.empty()) times_[current_] = std::chrono::duration<double>(now - start_).count();
    current_ = name;
    start_ = now;
  }
  nlohmann::ordered_json finish() {
    stage("");
    return times_;
  }

 private:
  std::string current_;
  std::chrono::steady_clock::time_point start_{};
  nlohmann::ordered_json times_ = nlohmann::ordered_json::object();
};

}  // namespace tiled_detail

// Whether `cluster` must take the tiled route: --tile or --memory-budget
// given, launched under MPI, or the in-memory pipeline (the cube as float
// twice: normalized + standardized) would not fit the available memory.
inline bool tiled_route_wanted(index_t tile, const std::string& memory_budget, const std::string& input,
                               const io::cube_source_options& source) {
  if (tile > 0 || !memory_budget.empty() || tiled_detail::under_mpi()) return true;
  std::error_code ec;
  if (!std::filesystem::exists(input, ec)) return false;  // the in-memory route reports it
  const io::cube_info info = io::probe_cube(input, source);
  const double need = static_cast<double>(info.pixel_count()) * static_cast<double>(info.bands) * 4.0 * 2.5;
  const std::size_t avail = tiled_detail::available_memory();
  return avail > 0 && need > static_cast<double>(avail);
}

inline void run_tiled_cluster(const tiled_cluster_request& q, const global_options& g) {
  namespace fs = std::filesystem;
  using nlohmann::ordered_json;
  const tiled_detail::rank_group ranks;
  tiled_detail::stopwatch timer;
  const bool dbscan = q.method == "dbscan";
  require(tiled_method_supported(q.method), "cluster", "--method",
          std::string("has an out-of-core path only for ") + tiled_method_names(), q.method);
  require(!(dbscan && ranks.mpi()), "cluster", "mpirun",
          "runs only --method voronoi across ranks: no MPI path for --method", q.method);
  require(q.tile >= 0, "cluster", "--tile", "must be >= 1 rows per band (or 0 = from --memory-budget)", q.tile);
  require(dbscan || !q.sites.empty(), "cluster", "--sites",
          "is required for --method voronoi (make one with `spectromine sites`)", q.sites);
  if (dbscan) q.dbscan.validate();
  require_output_folder(q.out);
  parallel::tiling_options tiling;
  tiling.band_rows = q.tile;
  tiling.memory_budget = parse_memory_size(q.memory_budget.empty() ? "256M" : q.memory_budget, "cluster", "--memory-budget");
  tiling.threads = g.threads;
  tiling.validate();
  const fs::path dir(q.out);

  timer.stage("open");
  std::optional<parallel::cube_file_tile_source> src;
  energy_grid energy;
  partition::site_set sites;
  ranks.collective([&] {
    src.emplace(q.input, q.source);
    require(src->rows() * src->cols() > 0, "cluster", "--input", "holds no pixel", q.input);
    energy = io::load_energy(q.energy, q.input, src->bands(), "cluster", q.source);
    if (!dbscan) sites = partition::read_sites_csv(q.sites);
  });
  const image_shape shape{src->rows(), src->cols()};
  // A failed run leaves nothing behind: the folder this run created is
  // removed again while still empty. Declared before the atomic files below,
  // so it is destroyed after they have removed their temporaries.
  struct created_folder {
    fs::path path;
    ~created_folder() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);  // fails, harmlessly, unless empty
    }
  } created;
  ranks.on_root([&] {
    std::error_code ec;
    const bool existed = fs::exists(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) throw io_error(dir, "cannot create the output folder: " + ec.message());
    if (!existed) created.path = dir;
  });

  // Scratch files live in DIR (a folder every rank sees); rank 0's atomic
  // files remove them on return, also on error.
  std::optional<io::atomic_file> mask_scratch;
  std::optional<io::output_batch> batch;
  std::string labels_tmp, mask_path;
  ranks.on_root([&] {
    batch.emplace();
    labels_tmp = batch->add(dir / "labels.npy").temp_path().string();
    mask_scratch.emplace(dir / "sample_mask.npy");
    mask_path = mask_scratch->temp_path().string();
  });
  ranks.broadcast(labels_tmp);
  ranks.broadcast(mask_path);

  // e0 and the sample mask.
  pre_edge_options edge = q.edge;
  ordered_json mask_json;
  mask_json["mode"] = q.mask;
  parallel::tiled_voronoi_options vo;
  if (q.mask == "auto") {
    timer.stage("e0");
    if (!edge.e0) {  // sample_mask: find_e0 of the mean of every finite pixel
      // Under mpirun the ranks share the reads; every rank gets the same mean.
      std::vector<double> mean;
      if (ranks.mpi()) {
#if defined(SPECTROMINE_HAS_MPI)
        mean = parallel::mpi_mean_finite_spectrum(MPI_COMM_WORLD, *src, nullptr, tiling);
#endif
      } else {
        mean = parallel::tiled_mean_finite_spectrum(*src, nullptr, tiling);
      }
      edge.e0 = find_e0(energy, mean);
    }
    timer.stage("mask");
    sample_mask_report mr;
    ranks.collective([&] {
      const pre_edge_plan plan = make_pre_edge_plan(energy, *edge.e0, edge);
      sample_mask_options mo;
      mo.threads = g.threads;
      if (!ranks.mpi()) {
        const auto m = parallel::npy_image_file<std::uint8_t>::create(mask_path, shape);
        mr = parallel::tiled_sample_mask(*src, energy, plan, mo, nullptr, m,
                                         dir / "edge_jump_z.npy", tiling);
        return;
      }
#if defined(SPECTROMINE_HAS_MPI)
      mr = parallel::mpi_sample_mask(MPI_COMM_WORLD, *src, energy, plan, mo,
                                     {}, mask_path, dir / "edge_jump_z.npy", tiling);
#endif
    });
    mask_json["threshold_z"] = mr.threshold;
    mask_json["otsu_applied"] = mr.otsu_applied;
    mask_json["low_snr_pixels"] = mr.masked_low_snr;
    mask_json["nonfinite_pixels"] = mr.masked_nonfinite;
    vo.sample_mask = mask_path;
  } else if (q.mask != "none") {
    vo.sample_mask = q.mask;  // shape checked when opened
  }

  // Label and repair.
  timer.stage("label_repair");
  if (q.normalize) vo.normalize = edge;
  if (q.repair) {
    vo.repair = parallel::tiled_repair_options{};
    vo.repair->k_size = q.k_size;
    vo.repair->p_num = q.p_num;
  } else {
    vo.repair.reset();
  }
  vo.tiling = tiling;
  parallel::tiled_voronoi_report vr;
  parallel::tiled_dbscan_report dr;
  if (dbscan) {
    // Checked before the (quadratic) clustering, as the in-memory route does.
    parallel::tiled_dbscan_options dopt;
    dopt.normalize = vo.normalize;
    dopt.sample_mask = vo.sample_mask;
    dopt.dbscan = q.dbscan;
    dopt.repair = vo.repair;
    dopt.tiling = tiling;
    dr = parallel::tiled_dbscan(*src, energy, dopt, labels_tmp);
    vr.valid = dr.valid;
    vr.e0 = dr.e0;
    vr.repair = dr.repair;
    vr.band_rows = dr.block_rows;
    vr.bands = dr.blocks;
  } else if (ranks.mpi()) {
#if defined(SPECTROMINE_HAS_MPI)
    vr = parallel::mpi_tiled_voronoi(MPI_COMM_WORLD, *src, energy, sites, vo, labels_tmp);
#endif
  } else {
    vr = parallel::tiled_voronoi(*src, energy, sites, vo, labels_tmp);
  }
  require(vr.valid > 0, "cluster", "--input", "has no usable sample pixel after masking and normalization",
          q.input);

  // Relabel, summaries and outputs: rank 0.
  ranks.on_root([&] {
    timer.stage("summaries");
    const auto labels = parallel::npy_image_file<label_t>::open(labels_tmp, true);
    const auto relabel = parallel::tiled_relabel_by_size(labels, tiling);
    std::optional<pre_edge_options> norm_edge;
    if (q.normalize) {
      norm_edge = edge;
      norm_edge->e0 = vr.e0;
    }
    const auto sums = parallel::tiled_cluster_means(*src, energy, norm_edge, labels, relabel.clusters, tiling);
    labels.sync();

    timer.stage("write");
    ordered_json skipped = ordered_json::array();
    std::vector<std::string> names;
    std::vector<std::vector<double>> means;
    for (const auto& c : sums.clusters) {
      names.push_back(std::to_string(c.label));
      means.push_back(c.mean);
    }
    const bool image_fits = static_cast<std::size_t>(shape.pixels()) * sizeof(label_t) <= tiling.memory_budget;
    if (image_fits) {
      const label_image map = io::read_npy_labels(labels_tmp);
#if defined(SPECTROMINE_HAS_TIFF)
      io::write_tiff_labels(batch->add(dir / "labels.tif").temp_path(), map.view());
#else
      skipped.push_back("labels.tif (built without spectromine::tiff)");
#endif
#if defined(SPECTROMINE_HAS_PNG)
      std::vector<std::string> legend(names.size());
      if (relabel.outlier_label > 0) legend[static_cast<std::size_t>(relabel.outlier_label - 1)] = "outliers";
      io::write_label_png(batch->add(dir / "phase_map.png").temp_path(), map.view(), legend);
#else
      skipped.push_back("phase_map.png (built without spectromine::png)");
#endif
    } else {
      skipped.push_back("labels.tif (the label image exceeds --memory-budget; labels.npy holds the map)");
      skipped.push_back("phase_map.png (the label image exceeds --memory-budget)");
    }
    io::write_spectra_csv(batch->add(dir / "spectra.csv").temp_path(), energy, names, means);

    ordered_json summary;
    summary["version"] = version_string;
    summary["method"] = q.method;
    summary["input"] = {{"cube", q.input}, {"energy", q.energy}, {"rows", shape.rows},
                        {"cols", shape.cols}, {"bands", src->bands()}};
    ordered_json norm_json = "skipped (--no-normalize)";
    if (q.normalize) norm_json = {{"e0", *vr.e0}, {"e0_from_mean", !q.edge.e0.has_value()}};
    ordered_json repair_json = "none";
    if (q.repair)
      repair_json = {{"method", "window_core+fill"},
                     {"parameters", vo.repair->parameters()},
                     {"removed_pixels", vr.repair.removed},
                     {"filled_pixels", vr.repair.filled}};
    ordered_json method_json = {{"sites", static_cast<index_t>(sites.spectra.size())},
                                {"site_names", sites.names}};
    if (dbscan) method_json = dr.parameters;
    summary["parameters"] = {{"method", method_json},
                             {"mask", mask_json},
                             {"normalize", norm_json},
                             {"repair", repair_json},
                             {"threads", resolve_threads(g.threads)},
                             {"tiling", {{"route", ranks.mpi() ? "mpi" : "tiled"},
                                         {"ranks", ranks.size},
                                         {"band_rows", vr.band_rows},
                                         {"bands", vr.bands},
                                         {"memory_budget", tiling.memory_budget},
                                         {"fill_max_halo", vr.repair.fill_max_halo},
                                         {"fill_retries", vr.repair.fill_retries}}}};
    summary["pixels"] = {{"total", shape.pixels()},
                         {"sample", vr.valid},
                         {"masked", shape.pixels() - vr.valid},
                         {"clustered", sums.labelled_pixels},
                         {"unlabeled_in_sample", vr.valid - sums.labelled_pixels}};
    summary["clusters_found"] = relabel.phases();
    summary["clusters"] = ordered_json::array();
    for (std::size_t i = 0; i < sums.clusters.size(); ++i) {
      const auto& c = sums.clusters[i];
      summary["clusters"].push_back({{"label", c.label},
                                     {"pixels", c.pixels},
                                     {"fraction", c.fraction},
                                     {"partition_label", relabel.old_label[i]}});
    }
    if (relabel.outlier_label > 0) summary["outlier_label"] = relabel.outlier_label;
    if (!skipped.empty()) summary["skipped_outputs"] = skipped;
    auto& summary_file = batch->add(dir / "summary.json");
    summary["wall_time_s"] = timer.finish();
    io::write_json(summary_file.temp_path(), summary);
    batch->commit();
    if (!g.quiet)
      std::fprintf(stderr, "cluster: %s (%s, %d rank%s, %lld bands of %lld rows), %lld sample pixels, %d clusters -> %s\n",
                   q.method.c_str(), ranks.mpi() ? "mpi" : "tiled", ranks.size, ranks.size == 1 ? "" : "s",
                   static_cast<long long>(vr.bands), static_cast<long long>(vr.band_rows),
                   static_cast<long long>(vr.valid), static_cast<int>(sums.clusters.size()), dir.string().c_str());
  });
}

}  // namespace spectromine::cli
