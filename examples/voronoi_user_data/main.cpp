// The Voronoi route (Ito 2024) on your own data: a cube + a folder of raw
// reference spectra -> noise-calibrated sites -> nearest-site labels ->
// window-core repair -> labels.npy, phase_map.png, sites.csv, summary.json.
//   example_voronoi_user_data CUBE ENERGY.txt REFERENCE_FOLDER OUT_DIR [TRUTH.npy]
// With TRUTH (int32 phase labels, e.g. data/demo/truth.npy) it also prints the
// adjusted Rand index of the map against it, over the pixels both label
// (ctest: must exceed 0.8).
#include <spectromine/analysis/compare.hpp>
#include <spectromine/io/json.hpp>
#include <spectromine/io/load.hpp>
#include <spectromine/io/npy.hpp>
#include <spectromine/io/png.hpp>
#include <spectromine/partition/nearest_site.hpp>
#include <spectromine/partition/site_generation.hpp>
#include <spectromine/partition/sites.hpp>
#include <spectromine/preprocess/mask.hpp>
#include <spectromine/preprocess/normalize.hpp>
#include <spectromine/repair/window_core.hpp>

#include <cstdio>
#include <filesystem>

namespace sm = spectromine;

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: example_voronoi_user_data CUBE ENERGY.txt REFERENCE_FOLDER OUT_DIR [TRUTH.npy]\n");
    return 2;
  }
  try {
    const std::filesystem::path out = argv[4];
    std::filesystem::create_directories(out);
    // 1. Load, mask the sample, normalize each spectrum (edge step 1).
    auto cube = sm::io::load_cube<float>(argv[1]);
    const auto energy = sm::io::load_energy(argv[2], argv[1], cube.bands());
    auto masked = sm::sample_mask(cube.view(), energy);
    sm::normalize_cube_options n;
    n.edge.e0 = masked.report.windows.e0;
    auto norm = sm::normalize_cube(cube.view(), energy, n, cube.view(), sm::mask_view(masked.mask.view()));

    // 2. Sites: the references normalized the same way, densified with
    // mixtures until every pair is distinguishable from the noise (percent
    // points, METHODS.md); nothing hand-tuned, seeded.
    const auto library = sm::partition::load_library(argv[3], energy);
    sm::partition::site_generation_options g;
    g.trials = 2000;            // paper: 10000; fewer keep the example quick
    g.denseness_trials = 0;     // skip the denseness report
    auto generated = sm::partition::generate_sites(library, g);

    // 3. Label each pixel with its nearest site (exact; Pearson geometry).
    const sm::partition::nearest_site_partitioner voronoi(generated.sites);
    sm::label_image labels(cube.shape());
    const auto report = voronoi.partition(sm::cube_view<const float>(cube.view()),
                                          sm::mask_view(norm.valid.view()), labels.view());

    // 4. Repair: keep a label only where a 5 x 5 window holds >= 23 of it.
    const sm::repair::window_core repair{};
    repair.apply(labels.view(), sm::mask_view(norm.valid.view()));

    // 5. Outputs (each written atomically).
    sm::io::write_npy_labels(out / "labels.npy", labels.view());
    sm::io::write_label_png(out / "phase_map.png", labels.view(), generated.sites.names);
    sm::partition::write_sites_csv(out / "sites.csv", generated.sites);
    sm::io::write_json(out / "summary.json", nlohmann::json{{"sites", generated.sites.size()},
                                                            {"partition", report.parameters},
                                                            {"repair", repair.parameters()}});
    std::printf("%td references -> %td sites; labels in %s\n", sm::index_t(library.names.size()),
                generated.sites.size(), out.c_str());
    if (generated.sites.size() < sm::index_t(library.names.size())) return 1;
    if (argc == 6) {
      // Over the pixels both maps label (label 0 is not a class here): the
      // window-core repair unlabels what it rejects and fills nothing.
      const auto truth = sm::io::read_npy_labels(argv[5]);
      const double ari = sm::analysis::adjusted_rand_index(truth.view(), labels.view());
      std::printf("adjusted Rand index vs truth: %.4f\n", ari);
      if (!(ari > 0.8)) return 1;
    }
  } catch (const sm::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
