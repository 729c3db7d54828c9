// The Voronoi route (Ito 2024) on your own data: a cube + a folder of raw
// reference spectra -> noise-calibrated sites -> nearest-site labels ->
// window-core repair -> labels.npy, phase_map.png, sites.csv, summary.json.
//   example_voronoi_user_data CUBE ENERGY.txt REFERENCE_FOLDER OUT_DIR
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
  if (argc != 5) {
    std::fprintf(stderr, "usage: example_voronoi_user_data CUBE ENERGY.txt REFERENCE_FOLDER OUT_DIR\n");
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
  } catch (const sm::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
