// `spectromine stitch`: several fields of view into one cube (docs/CLI.md).
//
//   spectromine stitch --fields LIST.csv --energy E --out CUBE.npy
//       [--reference-energy X] [--no-refine] [--blend feather|first]
//       [--min-overlap 16] [--max-correction PX] [--memory-budget 256M]
//
// LIST.csv: one field per line, "path,row0,col0" (nominal stage position of
// the field's pixel (0, 0) in pixels; relative paths from the list's folder;
// an optional header line "path,row0,col0"). Overlaps are registered (on the
// band-mean image, or the band nearest --reference-energy), placements
// solved by least squares anchored at the first field, and the output is
// written row band by row band (never the whole cube in memory). Writes, as
// one batch: CUBE.npy (float32, NaN where no field covers),
// CUBE.placement.csv (path,row0,col0,placed_row0,placed_col0 in output
// pixels) and CUBE.valid.npy (uint8, 1 = covered).
#pragma once

#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "cube_input.hpp"
#include "spectromine/align/stitch.hpp"
#include "spectromine/align/stitch_io.hpp"
#include "spectromine/core/memory_size.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"

namespace spectromine::cli {

struct stitch_command_options {
  std::string fields, energy, out;
  std::optional<double> reference_energy;
  bool no_refine = false;
  std::string blend = "feather";
  index_t min_overlap = 16;
  double max_correction = 0;
  std::string memory_budget = "256M";
  std::string dataset = "/data";
  std::string axes = "hwe";
};

namespace stitch_detail {

inline void run_stitch(const stitch_command_options& o, const global_options& g) {
  const io::cube_source_options source = user_cube_source(o.dataset, o.axes, "stitch");
  require(std::filesystem::path(o.out).extension() == ".npy", "stitch", "--out",
          "must name an .npy file", o.out);
  const auto entries = align::read_field_list(o.fields);
  std::vector<align::file_field> fields;
  std::vector<align::field_position> nominal;
  std::vector<image_shape> shapes;
  for (const auto& e : entries) {
    fields.emplace_back(e.path, source);
    nominal.push_back(e.position);
    shapes.push_back(fields.back().shape());
  }
  const energy_grid energy = io::read_energy_list(o.energy);
  validate_energy_grid(energy, "stitch", fields.front().bands());

  align::stitch_options options;
  options.min_overlap = o.min_overlap;
  options.max_correction = o.max_correction;
  options.memory_budget = parse_memory_size(o.memory_budget, "stitch", "--memory-budget");
  options.threads = g.threads;
  options.registration.threads = g.threads;
  require(o.blend == "feather" || o.blend == "first", "stitch", "--blend",
          "must be feather or first", o.blend);
  options.blend = o.blend == "first" ? align::stitch_blend::first : align::stitch_blend::feather;
  if (o.reference_energy) {
    index_t best = 0;
    for (index_t b = 1; b < static_cast<index_t>(energy.size()); ++b)
      if (std::abs(energy[static_cast<std::size_t>(b)] - *o.reference_energy) <
          std::abs(energy[static_cast<std::size_t>(best)] - *o.reference_energy))
        best = b;
    options.reference_band = best;
  }

  stderr_progress progress(g);
  const std::span<const align::file_field> span(fields);
  const std::span<const align::field_position> positions(nominal);
  const align::stitch_plan plan = o.no_refine ? align::nominal_plan(span, positions)
                                              : align::plan_stitch(span, positions, options, progress);

  io::output_batch batch;
  align::write_stitched_npy(batch.add(o.out).temp_path(), span, plan, options, progress);
  std::string csv = "path,row0,col0,placed_row0,placed_col0\n";
  for (std::size_t i = 0; i < entries.size(); ++i)
    csv += entries[i].path.string() + "," + std::to_string(nominal[i].row0) + "," +
           std::to_string(nominal[i].col0) + "," + std::to_string(plan.placements[i].row0) + "," +
           std::to_string(plan.placements[i].col0) + "\n";
  io::write_text(batch.add(sibling(o.out, ".placement.csv")), csv);
  const pixel_mask covered = align::stitch_coverage(plan, shapes);
  io::write_npy_mask(batch.add(sibling(o.out, ".valid.npy")).temp_path(), covered.view());
  batch.commit();

  if (!g.quiet) {
    double worst = 0;
    for (const auto& p : plan.pairs) worst = std::max({worst, std::abs(p.residual_dy), std::abs(p.residual_dx)});
    std::fprintf(stderr,
                 "stitch: %zu fields, %zu overlaps refined, output %lld x %lld x %lld, largest "
                 "placement residual %s px\n",
                 fields.size(), plan.pairs.size(), static_cast<long long>(plan.shape.rows),
                 static_cast<long long>(plan.shape.cols), static_cast<long long>(plan.bands),
                 number_text(worst).c_str());
  }
}

}  // namespace stitch_detail

void add_stitch_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<stitch_command_options>();
  auto* cmd = app.add_subcommand(
      "stitch", "Stitch fields of view (LIST.csv: path,row0,col0) into one cube, refining the "
                "overlaps; streamed band by band");
  cmd->add_option("--fields", o->fields, "Field list LIST.csv: path,row0,col0 per line")->required();
  cmd->add_option("--energy", o->energy, "Energy list (one eV per line)")->required();
  cmd->add_option("--out", o->out, "Output CUBE.npy (float32)")->required();
  cmd->add_option("--reference-energy", o->reference_energy,
                  "Register overlaps on the band nearest this energy (default: band mean)");
  cmd->add_flag("--no-refine", o->no_refine, "Place fields at their nominal positions");
  cmd->add_option("--blend", o->blend, "feather (linear ramps) or first (first field wins)")
      ->capture_default_str();
  cmd->add_option("--min-overlap", o->min_overlap, "Smallest overlap refined, px")->capture_default_str();
  cmd->add_option("--max-correction", o->max_correction,
                  "Largest correction of a nominal offset, px (0 = a quarter of the overlap)")
      ->capture_default_str();
  cmd->add_option("--memory-budget", o->memory_budget, "Output band buffer size (e.g. 256M)")
      ->capture_default_str();
  cmd->add_option("--dataset", o->dataset, "HDF5 dataset of the fields")->capture_default_str();
  cmd->add_option("--axes", o->axes, "HDF5 axis order: hwe or ehw")->capture_default_str();
  cmd->add_option("--threads", options.threads, "Threads (0 = all cores)");
  cmd->callback([o, &options] { stitch_detail::run_stitch(*o, options); });
}

}  // namespace spectromine::cli
