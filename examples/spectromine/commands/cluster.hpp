// `spectromine cluster`: the one pipeline every clustering method shares
// (docs/CLI.md, "Outputs of cluster").
//
//   load cube (--input, --dataset, --axes) and energies (--energy)
//   -> sample mask (--mask auto|none|FILE.npy)
//   -> normalize (larch pre_edge; --e0 --pre --post --post-order; --no-normalize
//      for cubes that are already normalized)
//   -> standardize (mean 0, norm 1: squared distance = 2 (1 - Pearson r))
//   -> partition (--method, chosen at run time through std::variant)
//   -> repair (--repair K,P | --no-repair; --keep-thin keeps structures
//      narrower than K, repair::structure_core)
//   -> relabel by size + summaries (mean normalized spectrum per cluster)
//   -> DIR/labels.npy, labels.tif, phase_map.png, spectra.csv, summary.json,
//      written as one io::output_batch: a failure leaves none of them.
//
// ADDING A METHOD (a small change in this file only):
//   1. include the partitioner's header below (it must satisfy
//      partition::partitioner<P, float>, partition/concept.hpp);
//   2. add its type to `cluster_method` (the std::variant);
//   3. add its flags to `cluster_options` (a field or a small struct) and
//      register them in `add_method_options`;
//   4. add one entry to `method_table()`: its --method name, whether the
//      spatial repair runs by default, whether it partitions the normalized
//      rather than the standardized spectra, and `make`, which builds the
//      partitioner value from the parsed options and the pipeline context
//      (energies, normalized cube, mask, threads).
// The pipeline calls p.partition(standardized or normalized cube, mask, labels) through
// std::visit and writes p's partition_report parameters (incl. derived ones)
// into summary.json. Sentinel labels (labels::outlier, labels::unexplained)
// become their own positive labels and are named in summary.json.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "cube_input.hpp"
#include "commands/cluster_tiled.hpp"  // --tile / --memory-budget / mpirun (voronoi)
#include "spectromine/analysis/summaries.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/energy.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/csv.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"
#if defined(SPECTROMINE_HAS_TIFF)
#include "spectromine/io/tiff.hpp"
#endif
#if defined(SPECTROMINE_HAS_PNG)
#include "spectromine/io/png.hpp"
#endif
#include "spectromine/partition/concept.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "spectromine/preprocess/normalize.hpp"
#include "spectromine/preprocess/standardize.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/structure_core.hpp"
#include "spectromine/repair/window_core.hpp"
#include "spectromine/version.hpp"
// Partitioners (step 1 of ADDING A METHOD):
#include "spectromine/analysis/pca_baseline.hpp"
#include "spectromine/partition/kmeans.hpp"
#include "spectromine/index/any.hpp"
#include "spectromine/partition/dbscan.hpp"
#include "spectromine/partition/nearest_site.hpp"

namespace spectromine::cli {

// Step 2: every method the pipeline can run.
using cluster_method =
    std::variant<partition::kmeans, partition::dbscan<index::any_policy>, analysis::pca_baseline,
                 partition::nearest_site_partitioner>;

// Step 3: the flags of the pipeline and of every method.
struct cluster_options {
  std::string method;
  std::string input, energy, out;
  std::string dataset = "/data", axes = "hwe";
  std::string mask = "auto";
  bool no_normalize = false;
  std::optional<double> e0;
  std::vector<double> pre, post;
  int post_order = 2;
  std::string repair;       // "K,P"; empty = the method's default
  bool no_repair = false;
  bool keep_thin = false;   // repair::structure_core instead of window_core
  bool pc1 = false;         // also write spectra_pc1.csv
  index_t tile = 0;              // out of core: rows per band (commands/cluster_tiled.hpp)
  std::string memory_budget;     // out of core: e.g. 256M (empty = in memory unless too big)
  // kmeans
  struct {
    int k = 0;
    int max_iterations = 300;
    double tolerance = 1e-4;
    std::uint64_t seed = 0;
  } kmeans;
  // dbscan (docs/dbscan.md)
  struct {
    std::string eps = "auto";  // "auto" (noise model) or a radius in standardized units
    int min_pts = 0;           // 0 = auto: --smallest-region
    int smallest_region = 23;
    int components = 0;        // 0 = full standardized spectra
    std::string index = "kdtree";
    bool star = false;
    double quantile = 0.999;
    double c_ref = 2.7e4, mut_low = 0.36, mut_high = 1.56;
  } dbscan;
  // pca (Duan 2016's baseline, analysis/pca_baseline.hpp)
  struct {
    index_t components = 2;
    double outlier_z = 5.0;
  } pca;
  // voronoi (docs/voronoi.md; noise conditions: --c-ref --mut-low --mut-high)
  struct {
    std::string sites;               // SITES.csv from `spectromine sites`
    bool unexplained = false;        // label pixels no site explains as their own class
    double unexplained_probability = 1e-4;
  } voronoi;
};

// What `make` may use to build a partitioner.
struct cluster_context {
  const energy_grid& energy;
  cube_view<const float> normalized;  // normalized spectra (0 outside the mask)
  mask_view mask;                     // 1 = sample
  int threads;
};

struct method_entry {
  std::string name;
  bool repair_by_default;
  bool normalized_input;  // partition the normalized spectra instead of the standardized
  std::function<cluster_method(const cluster_options&, const cluster_context&)> make;
};

inline void add_method_options(CLI::App* cmd, cluster_options& o) {
  // dbscan
  cmd->add_option("--eps", o.dbscan.eps, "dbscan: radius (standardized units) or auto (noise model)")
      ->capture_default_str();
  cmd->add_option("--min-pts", o.dbscan.min_pts, "dbscan: MinPts incl. the point (0 = --smallest-region)")
      ->capture_default_str();
  cmd->add_option("--smallest-region", o.dbscan.smallest_region,
                  "dbscan: smallest phase worth reporting, pixels (auto MinPts)")
      ->capture_default_str();
  cmd->add_option("--components", o.dbscan.components,
                  "dbscan: cluster K PCA features of the standardized spectra (0 = full spectra)")
      ->capture_default_str();
  cmd->add_option("--index", o.dbscan.index, "dbscan: radius-search index brute|kdtree|rtree (same labels)")
      ->capture_default_str();
  cmd->add_flag("--dbscan-star", o.dbscan.star, "dbscan: DBSCAN* (border points become outliers)");
  cmd->add_option("--eps-quantile", o.dbscan.quantile,
                  "dbscan: quantile of same-spectrum noise distances for --eps auto")
      ->capture_default_str();
  cmd->add_option("--c-ref", o.dbscan.c_ref, "noise model: reference counts (dbscan --eps auto)")
      ->capture_default_str();
  cmd->add_option("--mut-low", o.dbscan.mut_low, "noise model: pre-edge mu*t (dbscan --eps auto)")
      ->capture_default_str();
  cmd->add_option("--mut-high", o.dbscan.mut_high, "noise model: post-edge mu*t (dbscan --eps auto)")
      ->capture_default_str();
  // kmeans
  cmd->add_option("--k", o.kmeans.k, "kmeans: number of clusters");
  cmd->add_option("--max-iterations", o.kmeans.max_iterations, "kmeans: Lloyd iterations at most")
      ->capture_default_str();
  cmd->add_option("--tolerance", o.kmeans.tolerance,
                  "kmeans: stop when the summed squared centre shift < this x mean band variance")
      ->capture_default_str();
  cmd->add_option("--seed", o.kmeans.seed, "kmeans: seed of the k-means++ seeding")
      ->capture_default_str();
  // pca
  cmd->add_option("--pca-components", o.pca.components, "pca: principal components kept")
      ->capture_default_str();
  cmd->add_option("--outlier-z", o.pca.outlier_z,
                  "pca: robust z of the fit residual beyond which a pixel is the third class")
      ->capture_default_str();
  // voronoi
  cmd->add_option("--sites", o.voronoi.sites, "voronoi: SITES.csv (from `spectromine sites`)");
  cmd->add_flag("--unexplained", o.voronoi.unexplained,
                "voronoi: pixels no site explains within the noise (--c-ref...) become their own class");
  cmd->add_option("--unexplained-probability", o.voronoi.unexplained_probability,
                  "voronoi: false-alarm probability of --unexplained per pixel")
      ->capture_default_str();
}

// Step 4: one entry per method.
inline const std::vector<method_entry>& method_table() {
  static const std::vector<method_entry> table = {
      {"kmeans", false, false,
       [](const cluster_options& o, const cluster_context& c) -> cluster_method {
         require(o.kmeans.k >= 1, "cluster", "--k", "is required for --method kmeans (>= 1)",
                 o.kmeans.k);
         partition::kmeans_options k;
         k.k = o.kmeans.k;
         k.max_iterations = o.kmeans.max_iterations;
         k.tolerance = o.kmeans.tolerance;
         k.seed = o.kmeans.seed;
         k.threads = c.threads;
         return partition::kmeans(k);
       }},
      {"dbscan", false, false,
       [](const cluster_options& o, const cluster_context& c) -> cluster_method {
         partition::dbscan_options d;
         if (o.dbscan.eps != "auto") {
           double eps = 0;
           try {
             std::size_t used = 0;
             eps = std::stod(o.dbscan.eps, &used);
             require(used == o.dbscan.eps.size(), "cluster", "--eps", "must be auto or a number > 0", o.dbscan.eps);
           } catch (const std::logic_error&) {
             throw_invalid("cluster", "--eps", "must be auto or a number > 0", o.dbscan.eps);
           }
           d.eps = eps;
         }
         require(o.dbscan.min_pts >= 0, "cluster", "--min-pts", "must be >= 1 (or 0 = auto)", o.dbscan.min_pts);
         d.min_pts = o.dbscan.min_pts;
         d.smallest_region = o.dbscan.smallest_region;
         require(o.dbscan.components >= 0, "cluster", "--components", "must be >= 0", o.dbscan.components);
         d.components = o.dbscan.components;
         d.star = o.dbscan.star;
         d.threads = c.threads;
         d.auto_eps.quantile = o.dbscan.quantile;
         d.auto_eps.conditions = {o.dbscan.c_ref, o.dbscan.mut_low, o.dbscan.mut_high};
         d.noise_source = c.normalized;  // the pipeline partitions standardized spectra
         d.validate();
         return partition::dbscan<index::any_policy>(d, index::any_policy::from_name(o.dbscan.index));
       }},
      // Linear-combination fitting of the normalized spectra (not standardized ones).
      {"pca", false, true,
       [](const cluster_options& o, const cluster_context& c) -> cluster_method {
         analysis::pca_baseline_options p;
         p.components = o.pca.components;
         p.outlier_z = o.pca.outlier_z;
         p.threads = c.threads;
         return analysis::pca_baseline(p);
       }},
      // Nearest noise-spaced site (Ito 2024); normalized input so that
      // --unexplained sees the noise scale (labels do not depend on it).
      {"voronoi", true, true,
       [](const cluster_options& o, const cluster_context& c) -> cluster_method {
         require(!o.voronoi.sites.empty(), "cluster", "--sites",
                 "is required for --method voronoi (make one with `spectromine sites`)", o.voronoi.sites);
         auto sites = partition::sites_on_grid(partition::read_sites_csv(o.voronoi.sites), c.energy);
         partition::nearest_site_options v;
         v.threads = c.threads;
         v.unexplained.enabled = o.voronoi.unexplained;
         v.unexplained.conditions = {o.dbscan.c_ref, o.dbscan.mut_low, o.dbscan.mut_high};
         v.unexplained.probability = o.voronoi.unexplained_probability;
         return partition::nearest_site_partitioner(std::move(sites), v);
       }},
  };
  return table;
}

namespace detail {

inline std::string method_names() {
  std::string s;
  for (const auto& m : method_table()) s += (s.empty() ? "" : "|") + m.name;
  return s;
}

inline std::pair<int, int> parse_repair(const std::string& text) {
  const auto comma = text.find(',');
  require(comma != std::string::npos, "cluster", "--repair", "must be K,P (e.g. 5,23)", text);
  int k = 0, p = 0;
  try {
    std::size_t used = 0;
    k = std::stoi(text.substr(0, comma), &used);
    require(used == comma, "cluster", "--repair", "must be K,P (e.g. 5,23)", text);
    p = std::stoi(text.substr(comma + 1), &used);
    require(used == text.size() - comma - 1, "cluster", "--repair", "must be K,P (e.g. 5,23)", text);
  } catch (const std::logic_error&) {
    throw_invalid("cluster", "--repair", "must be K,P (e.g. 5,23)", text);
  }
  return {k, p};
}

class stage_timer {
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

inline void run_cluster(const cluster_options& o, const global_options& g) {
  stage_timer timer;
  const method_entry* method = nullptr;
  for (const auto& m : method_table())
    if (m.name == o.method) method = &m;
  require(method != nullptr, "cluster", "--method", "must be one of " + method_names(), o.method);
  require(!(o.no_repair && !o.repair.empty()), "cluster", "--repair",
          "cannot be combined with --no-repair", o.repair);
  require(o.post_order == 1 || o.post_order == 2, "cluster", "--post-order", "must be 1 or 2",
          o.post_order);
  const bool do_repair = o.no_repair ? false : (!o.repair.empty() || method->repair_by_default);
  std::pair<int, int> kp{5, 23};
  if (!o.repair.empty()) kp = parse_repair(o.repair);
  if (do_repair) {  // validate before the expensive steps
    require(kp.first >= 1 && kp.first % 2 == 1, "cluster", "--repair K", "must be an odd number >= 1",
            kp.first);
    // K^2 in 64 bits: K is not bounded yet here (the repair itself caps it).
    require(kp.second >= 1 && kp.second <= std::int64_t{kp.first} * kp.first, "cluster", "--repair P",
            "must lie in 1..K^2", kp.second);
  }
  const std::filesystem::path dir(o.out);
  {  // Out of core / MPI (commands/cluster_tiled.hpp): voronoi and dbscan, same labels.
    const io::cube_source_options src = user_cube_source(o.dataset, o.axes, "cluster");
    if (!tiled_method_supported(o.method)) {
      require(o.tile == 0, "cluster", "--tile",
              std::string("works only with --method ") + tiled_method_names() +
                  ": no out-of-core path for --method", o.method);
      require(o.memory_budget.empty(), "cluster", "--memory-budget",
              std::string("works only with --method ") + tiled_method_names() +
                  ": no out-of-core path for --method", o.method);
      require(!tiled_detail::under_mpi(), "cluster", "mpirun",
              "runs only --method voronoi across ranks: no MPI path for --method", o.method);
    } else if (tiled_route_wanted(o.tile, o.memory_budget, o.input, src)) {
      require(!o.keep_thin, "cluster", "--keep-thin", "has no out-of-core path (drop --tile/--memory-budget)", "set");
      require(!o.pc1, "cluster", "--pc1", "has no out-of-core path (drop --tile/--memory-budget)", "set");
      require(!o.voronoi.unexplained, "cluster", "--unexplained",
              "has no out-of-core path (drop --tile/--memory-budget)", "set");
      tiled_cluster_request q;
      q.input = o.input, q.energy = o.energy, q.out = o.out, q.sites = o.voronoi.sites;
      q.source = src;
      q.mask = o.mask;
      q.normalize = !o.no_normalize;
      q.edge.e0 = o.e0;
      if (!o.pre.empty()) q.edge.pre1 = o.pre[0], q.edge.pre2 = o.pre[1];
      if (!o.post.empty()) q.edge.norm1 = o.post[0], q.edge.norm2 = o.post[1];
      q.edge.nnorm = o.post_order;
      q.repair = do_repair;
      q.k_size = kp.first, q.p_num = kp.second;
      q.tile = o.tile;
      q.memory_budget = o.memory_budget;
      q.method = o.method;
      if (o.method == "dbscan") {  // the in-memory make() parses and validates the flags
        const energy_grid no_energy;
        const cluster_context none{no_energy, {}, {}, g.threads};
        q.dbscan = std::get<partition::dbscan<index::any_policy>>(method->make(o, none)).options();
      }
      run_tiled_cluster(q, g);
      return;
    }
  }
  require_output_folder(o.out);  // commands/cluster_tiled.hpp, shared with the tiled route
  nlohmann::ordered_json summary;
  summary["version"] = version_string;
  summary["method"] = o.method;

  // Load.
  timer.stage("load");
  const io::cube_source_options source = user_cube_source(o.dataset, o.axes, "cluster");
  cube<float> data = io::load_cube<float>(o.input, source);
  const energy_grid energy = io::load_energy(o.energy, o.input, data.bands(), "cluster", source);
  require(data.pixel_count() > 0, "cluster", "--input", "holds no pixel", o.input);
  const image_shape shape = data.shape();

  // Mask and normalization.
  timer.stage("mask");
  pre_edge_options edge;
  edge.e0 = o.e0;
  if (!o.pre.empty()) edge.pre1 = o.pre[0], edge.pre2 = o.pre[1];
  if (!o.post.empty()) edge.norm1 = o.post[0], edge.norm2 = o.post[1];
  edge.nnorm = o.post_order;
  pixel_mask mask;
  nlohmann::ordered_json mask_json;
  mask_json["mode"] = o.mask;
  if (o.mask == "auto") {
    sample_mask_options m;
    m.threads = g.threads;
    auto r = sample_mask(data.view(), energy, edge, m);
    if (!edge.e0) edge.e0 = r.report.windows.e0;  // one e0 for mask and normalization
    mask = std::move(r.mask);
    mask_json["threshold_z"] = r.report.threshold;
    mask_json["otsu_applied"] = r.report.otsu_applied;
    mask_json["low_snr_pixels"] = r.report.masked_low_snr;
    mask_json["nonfinite_pixels"] = r.report.masked_nonfinite;
  } else if (o.mask == "none") {
    mask = pixel_mask(shape, 1);
  } else {
    mask = io::read_npy_mask(o.mask);
    require(mask.shape() == shape, "cluster", "--mask", "must have the cube's image shape " +
            std::to_string(shape.rows) + " x " + std::to_string(shape.cols), o.mask);
  }
  nlohmann::ordered_json norm_json;
  if (!o.no_normalize) {
    timer.stage("normalize");
    normalize_cube_options n;
    n.edge = edge;
    n.threads = g.threads;
    n.keep_edge_step = false;
    stderr_progress progress(g);
    auto rep = normalize_cube(data.view(), energy, n, data.view(), mask_view(mask.view()), progress);
    norm_json["e0"] = rep.windows.e0;
    norm_json["e0_from_mean"] = rep.e0_from_mean;
    norm_json["pre"] = {rep.windows.pre1, rep.windows.pre2};
    norm_json["post"] = {rep.windows.norm1, rep.windows.norm2};
    norm_json["post_order"] = rep.windows.nnorm;
    norm_json["nonfinite_pixels"] = rep.masked_nonfinite;
    norm_json["no_edge_pixels"] = rep.masked_no_edge;
    mask = std::move(rep.valid);
  } else {
    norm_json = "skipped (--no-normalize)";
  }

  // Standardize a copy for the partitioner (Pearson geometry).
  timer.stage("standardize");
  cube<float> z(shape, data.bands());
  auto srep = standardize_cube(data.view(), z.view(), mask_view(mask.view()), g.threads);
  mask = std::move(srep.valid);
  index_t sample = 0;
  for (auto v : mask.storage()) sample += v != 0;
  require(sample > 0, "cluster", "--input",
          "has no usable sample pixel after masking and normalization", o.input);

  // Partition.
  timer.stage("partition");
  const cluster_context ctx{energy, cube_view<const float>(data.view()), mask_view(mask.view()),
                            g.threads};
  cluster_method partitioner = method->make(o, ctx);
  label_image labels(shape, 0);
  const partition::partition_report prep = std::visit(
      [&](const auto& p) {
        const cube_view<const float> input = method->normalized_input ? data.view() : z.view();
        return partition::partition_report(p.partition(input, mask_view(mask.view()), labels.view()));
      },
      partitioner);

  // Repair.
  nlohmann::ordered_json repair_json;
  if (do_repair) {
    timer.stage("repair");
    repair::repair_report rr;
    if (o.keep_thin) {
      repair::structure_core sc;
      sc.k_size = kp.first;
      sc.p_num = kp.second;
      sc.threads = g.threads;
      rr = repair::compose(sc, repair::fill{repair::fill_rule::majority, false, g.threads})
               .apply(labels.view(), mask.view());
    } else {
      rr = repair::compose(repair::window_core{kp.first, kp.second, g.threads},
                           repair::fill{repair::fill_rule::majority, false, g.threads})
               .apply(labels.view(), mask.view());
    }
    repair_json["method"] = rr.method;
    repair_json["parameters"] = rr.parameters;
    repair_json["removed_pixels"] = rr.removed;
    repair_json["filled_pixels"] = rr.filled;
  } else {
    repair_json = "none";
  }

  // Relabel and summarize.
  timer.stage("summaries");
  const auto relabel = analysis::relabel_by_size(labels.view(), g.threads);
  analysis::summary_options so;
  so.pc1 = o.pc1;
  so.threads = g.threads;
  const auto sums = analysis::summarize(cube_view<const float>(data.view()), labels.view(), so);

  // Outputs, all or nothing.
  timer.stage("write");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw io_error(dir, "cannot create the output folder: " + ec.message());
  io::output_batch batch;
  io::write_npy_labels(batch.add(dir / "labels.npy").temp_path(), labels.view());
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
#if defined(SPECTROMINE_HAS_TIFF)
  io::write_tiff_labels(batch.add(dir / "labels.tif").temp_path(), labels.view());
#else
  skipped.push_back("labels.tif (built without spectromine::tiff)");
#endif
  std::vector<std::string> names;
  std::vector<std::vector<double>> means, pc1s;
  for (const auto& c : sums.clusters) {
    std::string name = std::to_string(c.label);
    names.push_back(name);
    means.push_back(c.mean);
    if (o.pc1) pc1s.push_back(c.pc1);
  }
#if defined(SPECTROMINE_HAS_PNG)
  {
    std::vector<std::string> legend(names.size());
    if (relabel.outlier_label > 0) legend[static_cast<std::size_t>(relabel.outlier_label - 1)] = "outliers";
    if (relabel.unexplained_label > 0)
      legend[static_cast<std::size_t>(relabel.unexplained_label - 1)] = "unexplained";
    io::write_label_png(batch.add(dir / "phase_map.png").temp_path(), labels.view(), legend);
  }
#else
  skipped.push_back("phase_map.png (built without spectromine::png)");
#endif
  io::write_spectra_csv(batch.add(dir / "spectra.csv").temp_path(), energy, names, means);
  if (o.pc1) io::write_spectra_csv(batch.add(dir / "spectra_pc1.csv").temp_path(), energy, names, pc1s);

  summary["input"] = {{"cube", o.input}, {"energy", o.energy}, {"rows", shape.rows},
                      {"cols", shape.cols}, {"bands", data.bands()}};
  summary["parameters"] = {{"method", prep.parameters},
                           {"mask", mask_json},
                           {"normalize", norm_json},
                           {"standardize", {{"constant_pixels", srep.constant},
                                            {"nonfinite_pixels", srep.nonfinite}}},
                           {"repair", repair_json},
                           {"threads", resolve_threads(g.threads)}};
  summary["pixels"] = {{"total", shape.pixels()},
                       {"sample", sample},
                       {"masked", shape.pixels() - sample},
                       {"clustered", sums.labelled_pixels},
                       {"unlabeled_in_sample", sample - sums.labelled_pixels}};
  summary["clusters_found"] = relabel.phases();
  summary["clusters"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < sums.clusters.size(); ++i) {
    const auto& c = sums.clusters[i];
    nlohmann::ordered_json cj = {{"label", c.label},
                                 {"pixels", c.pixels},
                                 {"fraction", c.fraction},
                                 {"partition_label", relabel.old_label[i]}};
    summary["clusters"].push_back(cj);
  }
  if (relabel.outlier_label > 0) summary["outlier_label"] = relabel.outlier_label;
  if (relabel.unexplained_label > 0) summary["unexplained_label"] = relabel.unexplained_label;
  if (!skipped.empty()) summary["skipped_outputs"] = skipped;
  auto& summary_file = batch.add(dir / "summary.json");
  summary["wall_time_s"] = timer.finish();
  io::write_json(summary_file.temp_path(), summary);
  batch.commit();
  if (!g.quiet)
    std::fprintf(stderr, "cluster: %s, %lld sample pixels, %d clusters -> %s\n", o.method.c_str(),
                 static_cast<long long>(sample), static_cast<int>(sums.clusters.size()),
                 dir.string().c_str());
}

}  // namespace detail

void add_cluster_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<cluster_options>();
  auto* cmd = app.add_subcommand("cluster", "Cluster a cube into a chemical phase map");
  cmd->add_option("--method", o->method, "Clustering method: " + detail::method_names())->required();
  cmd->add_option("--input", o->input, "Cube (.npy, .tif/.tiff, .h5/.hdf5)")->required();
  cmd->add_option("--energy", o->energy,
                  "Energy list (one eV per line); for HDF5 also a dataset path of the cube's file")
      ->required();
  cmd->add_option("--out", o->out, "Output folder (created if missing)")->required();
  cmd->add_option("--dataset", o->dataset, "HDF5 dataset of the cube")->capture_default_str();
  cmd->add_option("--axes", o->axes, "HDF5 axis order: hwe or ehw")->capture_default_str();
  cmd->add_option("--mask", o->mask, "Sample pixels: auto (significant edge jump), none, or FILE.npy")
      ->capture_default_str();
  cmd->add_flag("--no-normalize", o->no_normalize, "The cube is already normalized");
  cmd->add_option("--e0", o->e0, "Edge energy in eV (default: larch find_e0 of the mean spectrum)");
  cmd->add_option("--pre", o->pre, "Pre-edge window A B in eV relative to E0")->expected(2);
  cmd->add_option("--post", o->post, "Post-edge window C D in eV relative to E0")->expected(2);
  cmd->add_option("--post-order", o->post_order, "Post-edge polynomial: 1 or 2")->capture_default_str();
  cmd->add_option("--repair", o->repair,
                  "Spatial repair window K,P (Ito 2024; default 5,23 where the method repairs by "
                  "default; kmeans: no repair unless given)");
  cmd->add_flag("--no-repair", o->no_repair, "No spatial repair");
  cmd->add_flag("--keep-thin", o->keep_thin,
                "Repair that keeps real structures narrower than K (repair::structure_core)");
  cmd->add_flag("--pc1", o->pc1, "Also write spectra_pc1.csv (first principal component per cluster)");
  cmd->add_option("--threads", options.threads, "Threads (0 = all cores)");
  cmd->add_option("--tile", o->tile,
                  "Out of core (voronoi, dbscan): rows per band / block read from disk; same labels as in memory");
  cmd->add_option("--memory-budget", o->memory_budget,
                  "Out of core (voronoi, dbscan): memory budget, e.g. 256M, 2G (band / block height from it)");
  add_method_options(cmd, *o);
  cmd->callback([o, &options] { detail::run_cluster(*o, options); });
}

}  // namespace spectromine::cli
