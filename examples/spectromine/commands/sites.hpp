// `spectromine sites`: Voronoi sites from a folder of reference spectra
// (Ito 2024; docs/CLI.md, docs/voronoi.md).
//
//   spectromine sites --refs DIR --energy E --out SITES.csv
//       [--c-ref 2.7e4 --mut-low 0.36 --mut-high 1.56]
//       [--trials 10000 --gen-limit 2.326 --reduce-limit 3.719 --seed 0]
//       [--components 3] [--denseness-trials 10000] [--flat] [--max-extrapolation 100]
//
// Reads every reference of DIR, normalizes it on its own grid (larch
// pre_edge `norm`, as `spectromine cluster` normalizes cubes; --flat: the
// flattened spectrum), interpolates it onto E, generates the candidates
// (pairs + densification), reduces them, and writes SITES.csv
// (energy + one column per site named by its composition). Prints one JSON
// object on stdout: counts at every stage, the denseness check (fraction of
// random 3-5-component mixtures within the reduction limit of some site),
// references whose data were extended to cover E, and the wall time.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/partition/site_generation.hpp"
#include "spectromine/partition/sites.hpp"
#include "spectromine/version.hpp"

namespace spectromine::cli {

struct sites_command_options {
  std::string refs, energy, out;
  partition::site_generation_options generation{};
  bool flat = false;
  double max_extrapolation = 100.0;
};

inline nlohmann::json run_sites(const sites_command_options& o, const global_options& global) {
  const auto start = std::chrono::steady_clock::now();
  const auto grid = io::read_energy_list(o.energy);
  partition::library_options lo;
  lo.flat = o.flat;
  lo.max_extrapolation = o.max_extrapolation;
  const auto library = partition::load_library(o.refs, grid, lo);
  auto gen = o.generation;
  gen.threads = global.threads;
  stderr_progress progress(global);
  const auto result = partition::generate_sites(library, gen, progress);
  partition::write_sites_csv(o.out, result.sites);
  nlohmann::json extended = nlohmann::json::array();
  for (std::size_t k = 0; k < library.names.size(); ++k)
    if (library.extrapolated[k].first > 0 || library.extrapolated[k].second > 0)
      extended.push_back({{"reference", library.names[k]},
                          {"below_eV", library.extrapolated[k].first},
                          {"above_eV", library.extrapolated[k].second}});
  nlohmann::json j = result.report.to_json();
  j["version"] = version_string;
  j["out"] = o.out;
  j["energies"] = grid.size();
  j["energy_range"] = {grid.front(), grid.back()};
  j["parameters"] = gen.to_json();
  j["parameters"]["normalization"] = o.flat ? "flat" : "norm";
  j["references_extended"] = extended;
  j["seconds_total"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return j;
}

void add_sites_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<sites_command_options>();
  auto& g = o->generation;
  auto* sub = app.add_subcommand(
      "sites", "Generate noise-spaced Voronoi sites from reference spectra (Ito 2024)");
  sub->add_option("--refs", o->refs, "Folder of reference spectra (two columns: eV, mu; or XDI)")
      ->required();
  sub->add_option("--energy", o->energy, "Energy grid of the cube (one eV per line)")->required();
  sub->add_option("--out", o->out, "Output SITES.csv (energy + one column per site)")->required();
  sub->add_option("--c-ref", g.conditions.c_ref, "Reference counts per pixel and energy")
      ->capture_default_str();
  sub->add_option("--mut-low", g.conditions.mut_low, "Mean mu*t of the pre-edge region")
      ->capture_default_str();
  sub->add_option("--mut-high", g.conditions.mut_high, "Mean mu*t of the post-edge region")
      ->capture_default_str();
  sub->add_option("--trials", g.trials, "Densification trials (random 3-component mixtures)")
      ->capture_default_str();
  sub->add_option("--gen-limit", g.generation_limit,
                  "Accept a mixture when its percent point to every candidate exceeds this")
      ->capture_default_str();
  sub->add_option("--reduce-limit", g.reduction_limit,
                  "Cut of the average-linkage reduction (percent point)")
      ->capture_default_str();
  sub->add_option("--seed", g.seed, "Random seed")->capture_default_str();
  sub->add_option("--components", g.mixture_components, "Components per densification mixture")
      ->capture_default_str();
  sub->add_option("--denseness-trials", g.denseness_trials,
                  "Random mixtures per component count (3, 4, 5) for the denseness check; 0 = skip")
      ->capture_default_str();
  sub->add_flag("--flat", o->flat, "Use the flattened (not the normalized) reference spectra");
  sub->add_option("--max-extrapolation", o->max_extrapolation,
                  "eV a reference may be extended (end values held) to cover the grid")
      ->capture_default_str();
  sub->add_option("--threads", options.threads, "Threads (0 = all cores)")->capture_default_str();
  sub->callback([o, &options] {
    std::cout << io::to_json_text(run_sites(*o, options)) << std::endl;
  });
}

}  // namespace spectromine::cli
