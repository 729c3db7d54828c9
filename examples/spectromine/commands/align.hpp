// `spectromine align`: register every energy frame of a stack (docs/CLI.md).
//
//   spectromine align --input CUBE --energy E --out ALIGNED.npy
//       [--mode reference|chain] [--reference-energy X] [--upsample 20]
//       [--filter gradient|highpass|none] [--interpolation linear|cubic]
//       [--max-shift PX] [--energy-reference SPECTRUM.dat [--energy-max-shift 5]]
//
// Writes, as one batch (all or nothing):
//   ALIGNED.npy         float32 H x W x E, every frame resampled by its shift
//                       (NaN where a frame does not cover the pixel);
//   ALIGNED.shifts.csv  energy,dy,dx: the shift applied to each energy's
//                       image, in pixels (aligned(y, x) = frame(y - dy, x - dx));
//   ALIGNED.valid.npy   uint8 H x W, 1 = valid at every energy (pass it to
//                       `cluster --mask` so edge pixels are ignored).
// With --energy-reference, the energy scale is also corrected: the shift of
// the valid pixels' mean spectrum against the reference is estimated
// (derivative cross-correlation) and every spectrum is resampled onto the
// cube's energy grid; the shift is printed and written to
// ALIGNED.energy_shift.txt.
#pragma once

#include <CLI/CLI.hpp>

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
#include "spectromine/align/apply_shifts.hpp"
#include "spectromine/align/energy_shift.hpp"
#include "spectromine/align/register_stack.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"

namespace spectromine::cli {

struct align_command_options {
  std::string input, energy, out;
  std::string mode = "reference";
  std::optional<double> reference_energy;
  int upsample = 20;
  std::string filter = "gradient";
  std::string interpolation = "linear";
  double max_shift = 0;
  std::string energy_reference;
  double energy_max_shift = 5.0;
  std::string dataset = "/data";
  std::string axes = "hwe";
};

namespace align_detail {

inline index_t nearest_band(const energy_grid& energy, double e) {
  index_t best = 0;
  for (index_t b = 1; b < static_cast<index_t>(energy.size()); ++b)
    if (std::abs(energy[static_cast<std::size_t>(b)] - e) <
        std::abs(energy[static_cast<std::size_t>(best)] - e))
      best = b;
  return best;
}

inline void run_align(const align_command_options& o, const global_options& g) {
  const io::cube_source_options source = user_cube_source(o.dataset, o.axes, "align");
  require(std::filesystem::path(o.out).extension() == ".npy", "align", "--out",
          "must name an .npy file", o.out);
  const cube<float> data = io::load_cube<float>(o.input, source);
  const energy_grid energy = io::load_energy(o.energy, o.input, data.bands(), "align", source);

  align::stack_registration_options options;
  require(o.mode == "reference" || o.mode == "chain", "align", "--mode",
          "must be reference or chain", o.mode);
  options.mode = o.mode == "chain" ? align::stack_reference::chain : align::stack_reference::reference;
  if (o.reference_energy) options.reference_band = nearest_band(energy, *o.reference_energy);
  options.registration.upsample = o.upsample;
  options.registration.max_shift = o.max_shift;
  options.registration.threads = g.threads;
  if (o.filter == "gradient") options.registration.filter = align::frame_filter::gradient_magnitude;
  else if (o.filter == "highpass") options.registration.filter = align::frame_filter::high_pass;
  else if (o.filter == "none") options.registration.filter = align::frame_filter::none;
  else throw_invalid("align", "--filter", "must be gradient, highpass or none", o.filter);
  align::apply_shift_options apply;
  require(o.interpolation == "linear" || o.interpolation == "cubic", "align", "--interpolation",
          "must be linear or cubic", o.interpolation);
  apply.method = o.interpolation == "cubic" ? align::interpolation::cubic : align::interpolation::linear;
  apply.threads = g.threads;

  stderr_progress progress(g);
  const auto reg = align::register_stack(data, options, progress);
  cube<float> aligned(data.shape(), data.bands());
  const pixel_mask valid = align::apply_shifts(data, reg.shifts, aligned.view(), apply);
  index_t valid_pixels = 0;
  for (index_t p = 0; p < valid.pixel_count(); ++p) valid_pixels += valid[p];
  require(valid_pixels > 0, "align", "drift",
          "must leave some pixels covered at every energy (the shifts exceed the frame)",
          valid_pixels);

  // Optional energy-scale correction against a reference spectrum.
  std::optional<align::energy_shift_result> eshift;
  if (!o.energy_reference.empty()) {
    const auto ref = io::read_reference_spectrum(o.energy_reference);
    std::vector<double> mean(static_cast<std::size_t>(aligned.bands()), 0.0);
    for (index_t p = 0; p < aligned.pixel_count(); ++p)
      if (valid[p]) {
        const auto s = aligned.spectrum(p);
        for (std::size_t b = 0; b < mean.size(); ++b) mean[b] += s[b];
      }
    for (auto& m : mean) m /= static_cast<double>(valid_pixels);
    align::energy_shift_options eo;
    eo.max_shift = o.energy_max_shift;
    eshift = align::estimate_energy_shift(ref.energy, ref.mu, energy, mean, eo);
    cube<float> corrected(aligned.shape(), aligned.bands());
    align::energy_resample_options ro;
    ro.threads = g.threads;
    align::shift_cube_energy(aligned, energy, eshift->shift, energy, corrected.view(), ro);
    aligned = std::move(corrected);
  }

  io::output_batch batch;
  io::write_npy_cube(batch.add(o.out).temp_path(), aligned);
  std::string csv = "energy,dy,dx\n";  // exactly the columns of docs/CLI.md
  for (std::size_t b = 0; b < reg.shifts.size(); ++b)
    csv += number_text(energy[b]) + "," + number_text(reg.shifts[b].dy) + "," + number_text(reg.shifts[b].dx) + "\n";
  io::write_text(batch.add(sibling(o.out, ".shifts.csv")), csv);
  io::write_npy_mask(batch.add(sibling(o.out, ".valid.npy")).temp_path(), valid.view());
  if (eshift)
    io::write_text(batch.add(sibling(o.out, ".energy_shift.txt")),
               "# energy shift of the mean spectrum against " + o.energy_reference +
                   " (eV; corrected energy = E - shift)\nshift " + number_text(eshift->shift) +
                   "\ncorrelation " + number_text(eshift->correlation) + "\ngrid_step " +
                   number_text(eshift->grid_step) + "\n");
  batch.commit();

  if (!g.quiet) {
    double largest = 0, weakest = 1;
    index_t weakest_band = 0;
    for (std::size_t b = 0; b < reg.shifts.size(); ++b) {
      const auto& s = reg.shifts[b];
      largest = std::max({largest, std::abs(s.dy), std::abs(s.dx)});
      if (s.peak < weakest) {
        weakest = s.peak;
        weakest_band = static_cast<index_t>(b);
      }
    }
    std::fprintf(stderr,
                 "align: %lld frames registered to band %lld (%.4f eV, %s mode), largest shift "
                 "%.2f px, weakest match %.3f (band %lld), %lld of %lld pixels valid at every "
                 "energy%s%s\n",
                 static_cast<long long>(reg.shifts.size()), static_cast<long long>(reg.reference_band),
                 energy[static_cast<std::size_t>(reg.reference_band)], o.mode.c_str(), largest,
                 weakest, static_cast<long long>(weakest_band),
                 static_cast<long long>(valid_pixels), static_cast<long long>(valid.pixel_count()),
                 eshift ? ", energy shift " : "",
                 eshift ? (number_text(eshift->shift) + " eV").c_str() : "");
  }
}

}  // namespace align_detail

void add_align_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<align_command_options>();
  auto* cmd = app.add_subcommand(
      "align", "Register every energy frame of a stack (sub-pixel phase correlation); writes "
               "ALIGNED.npy, ALIGNED.shifts.csv, ALIGNED.valid.npy");
  cmd->add_option("--input", o->input, "Cube (.npy, .tif/.tiff, .h5/.hdf5)")->required();
  cmd->add_option("--energy", o->energy, "Energy list (one eV per line)")->required();
  cmd->add_option("--out", o->out, "Output ALIGNED.npy (float32)")->required();
  cmd->add_option("--mode", o->mode,
                  "reference: every frame to one frame; chain: to neighbours b-1, b-2, b-4, "
                  "least squares")
      ->capture_default_str();
  cmd->add_option("--reference-energy", o->reference_energy,
                  "Energy (eV) of the reference frame (default: the middle band)");
  cmd->add_option("--upsample", o->upsample, "Sub-pixel precision 1/N pixel")->capture_default_str();
  cmd->add_option("--filter", o->filter,
                  "What is correlated: gradient (robust to contrast flips), highpass, none")
      ->capture_default_str();
  cmd->add_option("--interpolation", o->interpolation, "linear or cubic")->capture_default_str();
  cmd->add_option("--max-shift", o->max_shift, "Largest drift searched, px (0 = anywhere)")
      ->capture_default_str();
  cmd->add_option("--energy-reference", o->energy_reference,
                  "Also correct the energy scale against this spectrum (two columns: eV, mu)");
  cmd->add_option("--energy-max-shift", o->energy_max_shift,
                  "Largest energy shift searched, eV")
      ->capture_default_str();
  cmd->add_option("--dataset", o->dataset, "HDF5 dataset of the cube")->capture_default_str();
  cmd->add_option("--axes", o->axes, "HDF5 axis order: hwe or ehw")->capture_default_str();
  cmd->add_option("--threads", options.threads, "Threads (0 = all cores)");
  cmd->callback([o, &options] { align_detail::run_align(*o, options); });
}

}  // namespace spectromine::cli
