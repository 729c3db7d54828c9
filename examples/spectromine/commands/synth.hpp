// `spectromine synth`: a synthetic scene with ground truth, measured through
// the physical noise model (Ito 2024; docs/CLI.md).
//
//   spectromine synth --refs DIR --energy E --out DIR [--size HxW] [--seed N]
//       [--c-ref X --mut-low Y --mut-high Z]
//       [--scene needle|blobs|rims|demo] [--phases A,B,...] [--needle N]
//       [--grains N --radius R --rim W --mix F] [--thickness-gradient G
//        --thickness-amplitude A] [--empty-mut M] [--no-noise] [--png]
//
// Writes, as one batch (all or nothing): cube.npy (H x W x E float32 mu*t),
// truth.npy (int32 labels, 0 = no sample), energy.txt, scene.json (label ->
// phase name, every parameter), and with --png truth.png. Prints scene.json
// on stdout. Phases are reference file stems; default: fe2o3_rt1_xmu and
// feo_rt1_xmu when DIR has them (the Fe K pair of the reproduce benchmarks),
// else the first references in name order.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/synth/phase.hpp"
#include "spectromine/synth/presets.hpp"
#include "spectromine/synth/render.hpp"
#include "spectromine/version.hpp"
#ifdef SPECTROMINE_HAS_PNG
#include "spectromine/io/png.hpp"
#endif

namespace spectromine::cli {

struct synth_command_options {
  std::string refs, energy, out, size = "128x128", scene = "needle", phases;
  synth::render_options render{};
  index_t needle = 10;
  index_t grains = 9;
  double radius = 0;  // 0 = size / 12
  double rim = 3;
  double mix = 0.5;
  double thickness_gradient = 0, thickness_amplitude = 0;
  bool no_noise = false, png = false;
};

inline image_shape parse_size(const std::string& text) {
  const auto x = text.find_first_of("xX");
  long long h = 0, w = 0;
  bool ok = x != std::string::npos;
  if (ok) {
    std::size_t n1 = 0, n2 = 0;
    try {
      h = std::stoll(text.substr(0, x), &n1);
      w = std::stoll(text.substr(x + 1), &n2);
    } catch (...) {
      ok = false;
    }
    ok = ok && n1 == x && n2 == text.size() - x - 1;
  }
  require(ok && h > 0 && w > 0, "synth", "--size", "must be HxW with positive integers", text);
  return {static_cast<index_t>(h), static_cast<index_t>(w)};
}

inline std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

inline nlohmann::json run_synth(const synth_command_options& o, const global_options& global) {
  const auto start = std::chrono::steady_clock::now();
  const image_shape shape = parse_size(o.size);
  const auto grid = io::read_energy_list(o.energy);
  validate_energy_grid(grid, "synth");
  // Only the chosen references are normalized: a folder may hold spectra of
  // other ranges that could not be put on this grid.
  const auto refs = io::read_reference_folder(o.refs);
  std::vector<io::reference_spectrum> chosen;
  auto pick = [&](const std::string& name) {
    for (const auto& r : refs)
      if (r.name == name) return chosen.push_back(r);
    std::string names;
    for (const auto& r : refs) names += (names.empty() ? "" : ", ") + r.name;
    throw_invalid("synth", "--phases", "must name references of " + o.refs + " (" + names + ")",
                  name);
  };
  auto has = [&](const char* name) {
    return std::any_of(refs.begin(), refs.end(), [&](const auto& r) { return r.name == name; });
  };
  if (!o.phases.empty()) {
    for (const auto& name : split_commas(o.phases)) pick(name);
  } else if (has("fe2o3_rt1_xmu") && has("feo_rt1_xmu")) {
    pick("fe2o3_rt1_xmu");
    pick("feo_rt1_xmu");
  } else {
    for (std::size_t k = 0; k < std::min<std::size_t>(3, refs.size()); ++k) chosen.push_back(refs[k]);
  }
  const auto phases = synth::phases_from_references(chosen, grid);
  require(phases.size() >= 2, "synth", "--phases", "must name at least 2 phases",
          phases.size());
  const double radius =
      o.radius > 0 ? o.radius : static_cast<double>(std::min(shape.rows, shape.cols)) / 12;
  synth::scene s;
  if (o.scene == "needle") {
    s = synth::needle_scene(grid, phases[0], phases[1], {shape, o.needle});
  } else if (o.scene == "blobs" || o.scene == "rims") {
    synth::grain_options g;
    g.shape = shape;
    g.grains = o.grains;
    g.radius = radius;
    g.seed = o.render.seed;
    if (o.scene == "blobs") {
      s = synth::blobs_scene(grid, phases, g);
    } else {
      g.rim_width = o.rim;
      require(o.mix >= 0 && o.mix <= 1, "synth", "--mix", "must lie in [0, 1]", o.mix);
      s = synth::rims_scene(grid, phases[0], phases[1], g, o.mix);
    }
  } else if (o.scene == "demo") {
    s = synth::demo_scene(grid, phases, shape, o.render.seed);
  } else {
    throw_invalid("synth", "--scene", "must be needle, blobs, rims or demo", o.scene);
  }
  if (o.thickness_gradient != 0 || o.thickness_amplitude != 0) {
    s.thickness.gradient = o.thickness_gradient;
    s.thickness.amplitude = o.thickness_amplitude;
    s.thickness.period = static_cast<double>(std::max(shape.rows, shape.cols));
  }
  auto ro = o.render;
  ro.noise = !o.no_noise;
  ro.threads = global.threads;
  const auto cube = synth::render(s, ro);

  nlohmann::json j = s.to_json();
  j["version"] = version_string;
  j["scene"] = o.scene;
  j["render"] = ro.to_json();
  j["noise_model"] = scmos_noise{}.parameters();
  const auto counts = synth::label_counts(cube.truth.view(), static_cast<label_t>(s.phases.size()));
  nlohmann::json jc = nlohmann::json::object();
  for (std::size_t k = 0; k < counts.size(); ++k) jc[std::to_string(k)] = counts[k];
  j["pixels_per_label"] = jc;

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (!std::filesystem::is_directory(o.out)) throw io_error(o.out, "cannot create the output folder");
  const std::filesystem::path dir(o.out);
  io::output_batch batch;
  auto& f_cube = batch.add(dir / "cube.npy");
  auto& f_truth = batch.add(dir / "truth.npy");
  auto& f_energy = batch.add(dir / "energy.txt");
  auto& f_json = batch.add(dir / "scene.json");
  io::write_npy_cube(f_cube.temp_path(), cube.mut);
  io::write_npy_labels(f_truth.temp_path(), cube.truth.view());
  io::write_energy_list(f_energy.temp_path(), grid);
  j["seconds_total"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  io::write_json(f_json.temp_path(), j);
  if (o.png) {
#ifdef SPECTROMINE_HAS_PNG
    auto& f_png = batch.add(dir / "truth.png");
    std::vector<std::string> names{"no sample"};
    for (const auto& p : s.phases) names.push_back(p.name);
    io::write_label_png(f_png.temp_path(), cube.truth.view(), names);
#else
    throw_invalid("synth", "--png", "needs a build with the png component", 1);
#endif
  }
  batch.commit();
  return j;
}

void add_synth_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<synth_command_options>();
  auto& c = o->render.conditions;
  auto* sub = app.add_subcommand(
      "synth", "Synthetic scene with ground truth through the sCMOS noise model (Ito 2024)");
  sub->add_option("--refs", o->refs, "Folder of reference spectra (two columns: eV, mu; or XDI)")
      ->required();
  sub->add_option("--energy", o->energy, "Energy grid (one eV per line)")->required();
  sub->add_option("--out", o->out, "Output folder (cube.npy, truth.npy, energy.txt, scene.json)")
      ->required();
  sub->add_option("--size", o->size, "Image size HxW")->capture_default_str();
  sub->add_option("--seed", o->render.seed, "Random seed (noise and grain placement)")
      ->capture_default_str();
  sub->add_option("--c-ref", c.c_ref, "Reference counts per pixel and energy")
      ->capture_default_str();
  sub->add_option("--mut-low", c.mut_low, "mu*t of the pre-edge region")->capture_default_str();
  sub->add_option("--mut-high", c.mut_high, "mu*t of the post-edge region")->capture_default_str();
  sub->add_option("--scene", o->scene, "needle | blobs | rims | demo")->capture_default_str();
  sub->add_option("--phases", o->phases,
                  "Comma-separated reference names; the first is the majority phase");
  sub->add_option("--needle", o->needle, "Side of the central needle square (scene needle)")
      ->capture_default_str();
  sub->add_option("--grains", o->grains, "Grains (scenes blobs, rims)")->capture_default_str();
  sub->add_option("--radius", o->radius, "Grain radius in pixels (0 = min(H, W) / 12)")
      ->capture_default_str();
  sub->add_option("--rim", o->rim, "Rim width in pixels (scene rims)")->capture_default_str();
  sub->add_option("--mix", o->mix, "Rim composition: fraction of the majority phase")
      ->capture_default_str();
  sub->add_option("--thickness-gradient", o->thickness_gradient,
                  "Relative thickness change across the columns")
      ->capture_default_str();
  sub->add_option("--thickness-amplitude", o->thickness_amplitude,
                  "Relative amplitude of a smooth thickness undulation")
      ->capture_default_str();
  sub->add_option("--empty-mut", o->render.empty_mut, "mu*t of no-sample pixels")
      ->capture_default_str();
  sub->add_flag("--no-noise", o->no_noise, "Write the clean mu*t (no detector noise)");
  sub->add_flag("--png", o->png, "Also write truth.png (labels in colour with a legend)");
  sub->add_option("--threads", options.threads, "Threads (0 = all cores)")->capture_default_str();
  sub->callback([o, &options] {
    const auto j = run_synth(*o, options);
    if (!options.quiet) std::cout << io::to_json_text(j) << std::endl;
  });
}

}  // namespace spectromine::cli
