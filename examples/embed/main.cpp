// Embedding spectromine: load a cube (any supported format), check its
// energies, average the spectra of all pixels, write a CSV and a JSON summary.
// README.md and docs/user_guide.md quote the lines between the [embed]
// markers (tests/packaging/check_docs.py keeps them equal).
// [embed]
#include <spectromine/io/csv.hpp>
#include <spectromine/io/json.hpp>
#include <spectromine/io/load.hpp>

#include <cstdio>
#include <filesystem>
#include <vector>

int main(int argc, char** argv) {
  namespace io = spectromine::io;
  if (argc != 4) {
    std::fprintf(stderr, "usage: example_embed CUBE ENERGY.txt OUT_DIR\n");
    return 2;
  }
  try {
    const auto cube = io::load_cube<float>(argv[1]);                     // H x W x E, each spectrum contiguous
    const auto energy = io::load_energy(argv[2], argv[1], cube.bands());  // validated: one per band
    std::vector<double> mean(energy.size(), 0.0);
    for (spectromine::index_t p = 0; p < cube.pixel_count(); ++p) {
      const auto spectrum = cube.spectrum(p);
      for (std::size_t b = 0; b < spectrum.size(); ++b) mean[b] += spectrum[b] / double(cube.pixel_count());
    }
    const auto stats = io::compute_statistics(cube);  // finite values only
    const std::filesystem::path out = argv[3];
    io::write_spectra_csv(out / "mean_spectrum.csv", energy, {"mean"}, {mean});  // atomic writes
    io::write_json(out / "summary.json", {{"pixels", cube.pixel_count()}, {"bands", cube.bands()},
                                          {"mean", stats.mean}, {"std", stats.stddev()}});
    std::printf("%td pixels x %td energies; mean %.4f\n", cube.pixel_count(), cube.bands(), stats.mean);
  } catch (const spectromine::error& e) {  // io_error / format_error / invalid_argument: one clear line
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
// [embed]
