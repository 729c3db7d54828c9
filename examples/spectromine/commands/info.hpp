// `spectromine info`: what a cube file holds (docs/CLI.md).
//
//   spectromine info CUBE [--energy E | --energy-dataset /energy]
//       [--dataset /data] [--axes hwe|ehw] [--png OUT.png] [--band-memory 64M]
//
// Prints one JSON object on stdout: file, format, dtype, shape H x W x E,
// pixel count, min / max / mean / std of the finite values and the count of
// non-finite ones, and the energy range when energies are given (validated:
// finite, strictly increasing, one per band). The cube is streamed in bands
// of rows, so a cube larger than memory is fine. --png writes a picture of
// the sample: per pixel, the mean of the top quarter of the bands minus the
// mean of the bottom quarter (the edge jump for a cube spanning an edge),
// scaled from its 1st to 99th percentile to 8-bit grey.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "cube_input.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/memory_size.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/load.hpp"
#if defined(SPECTROMINE_HAS_PNG)
#include "spectromine/io/png.hpp"
#endif

namespace spectromine::cli {

struct info_command_options {
  std::string cube;
  std::string energy;          // text file, one eV per line
  std::string energy_dataset;  // or: a 1-D dataset of an HDF5 cube file
  std::string dataset = "/data";
  std::string axes = "hwe";
  std::string png;
  std::string band_memory = "64M";
};

namespace detail {

inline nlohmann::ordered_json json_number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

// The per-pixel preview value: mean of the top quarter of the bands minus
// mean of the bottom quarter (finite values only; NaN when either is empty).
inline float edge_jump(std::span<const float> s) {
  const std::size_t q = std::max<std::size_t>(1, s.size() / 4);
  double lo = 0, hi = 0;
  std::size_t nlo = 0, nhi = 0;
  for (std::size_t i = 0; i < q; ++i)
    if (std::isfinite(s[i])) lo += s[i], ++nlo;
  for (std::size_t i = s.size() - q; i < s.size(); ++i)
    if (std::isfinite(s[i])) hi += s[i], ++nhi;
  if (nlo == 0 || nhi == 0) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(hi / static_cast<double>(nhi) - lo / static_cast<double>(nlo));
}

}  // namespace detail

// Runs `info` and returns the JSON object it prints.
inline nlohmann::ordered_json run_info(const info_command_options& o, const global_options& global) {
  const io::cube_source_options source = user_cube_source(o.dataset, o.axes, "info");
  require(o.energy.empty() || o.energy_dataset.empty(), "info", "--energy",
          "cannot be combined with --energy-dataset", o.energy);
  const std::filesystem::path path(o.cube);
  const io::cube_info info = io::probe_cube(path, source);

  nlohmann::ordered_json out;
  out["file"] = path.string();
  out["format"] = info.format;
  out["dtype"] = io::to_string(info.dtype);
  if (info.format == "hdf5") {
    out["dataset"] = info.dataset;
    out["axes"] = io::to_string(info.axes);
  }
  out["shape"] = {info.shape.rows, info.shape.cols, info.bands};
  out["rows"] = info.shape.rows;
  out["cols"] = info.shape.cols;
  out["bands"] = info.bands;
  out["pixels"] = info.pixel_count();

  // Energies first: a wrong energy file fails before the (long) scan.
  const std::string energy_source = !o.energy.empty() ? o.energy : o.energy_dataset;
  if (!energy_source.empty()) {
    if (!o.energy_dataset.empty())
      require(info.format == "hdf5", "info", "--energy-dataset", "needs an HDF5 cube", o.energy_dataset);
    const energy_grid e = io::load_energy(energy_source, path, info.bands, "info", source);
    double min_step = std::numeric_limits<double>::infinity(), max_step = 0;
    for (std::size_t i = 1; i < e.size(); ++i) {
      min_step = std::min(min_step, e[i] - e[i - 1]);
      max_step = std::max(max_step, e[i] - e[i - 1]);
    }
    out["energy"] = {{"source", energy_source},
                     {"count", e.size()},
                     {"first", e.front()},
                     {"last", e.back()},
                     {"min_step", detail::json_number(min_step)},
                     {"max_step", detail::json_number(e.size() > 1 ? max_step : std::nan(""))}};
  }

#if !defined(SPECTROMINE_HAS_PNG)
  require(o.png.empty(), "info", "--png", "needs the spectromine::png component (libpng), absent from this build",
          o.png);
#endif
  const bool want_png = !o.png.empty();
  image<float> preview(want_png ? info.shape : image_shape{});
  io::cube_statistics stats;
  stderr_progress progress(global);
  io::for_each_row_band<float>(
      path, source, parse_memory_size(o.band_memory, "info", "--band-memory"),
      [&](const cube<float>& band, index_t row0) {
        io::accumulate_statistics(stats, band.view());  // row by row: independent of the band size
        if (want_png)
          for (index_t p = 0; p < band.pixel_count(); ++p)
            preview[row0 * info.shape.cols + p] = detail::edge_jump(band.spectrum(p));
      },
      progress);
  out["values"] = {{"finite", stats.finite},
                   {"non_finite", stats.non_finite},
                   {"min", detail::json_number(stats.min)},
                   {"max", detail::json_number(stats.max)},
                   {"mean", detail::json_number(stats.mean)},
                   {"std", detail::json_number(stats.stddev())}};

#if defined(SPECTROMINE_HAS_PNG)
  if (want_png) {
    std::vector<float> finite;
    finite.reserve(preview.storage().size());
    for (float v : preview.storage())
      if (std::isfinite(v)) finite.push_back(v);
    io::gray_png_options png_options;
    if (!finite.empty()) {
      const auto at = [&](double q) {
        auto k = static_cast<std::size_t>(q * static_cast<double>(finite.size() - 1));
        std::nth_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(k), finite.end());
        return static_cast<double>(finite[k]);
      };
      png_options.low = at(0.01);
      png_options.high = at(0.99);
    }
    io::write_gray_png(o.png, preview.view(), png_options);
    out["png"] = {{"path", o.png},
                  {"shows", "per pixel: mean of the top quarter of the bands minus mean of the bottom quarter"},
                  {"black", detail::json_number(png_options.low.value_or(std::nan("")))},
                  {"white", detail::json_number(png_options.high.value_or(std::nan("")))}};
  }
#endif
  return out;
}

void add_info_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<info_command_options>();
  auto* sub = app.add_subcommand("info", "Describe a cube file: format, shape, value statistics, energies");
  sub->add_option("CUBE", o->cube, "Cube file: .npy (H x W x E), .tif/.tiff (one page per energy), .h5/.hdf5")
      ->required();
  sub->add_option("--energy", o->energy, "Energy list (one eV per line); checked against the band count");
  sub->add_option("--energy-dataset", o->energy_dataset, "HDF5 cube: dataset holding the energies (e.g. /energy)");
  sub->add_option("--dataset", o->dataset, "HDF5 cube: dataset path")->capture_default_str();
  sub->add_option("--axes", o->axes, "HDF5 cube: axis order, hwe (rows x cols x energies) or ehw")
      ->capture_default_str();
  sub->add_option("--png", o->png, "Write a grey picture of the cube (edge jump per pixel) to this file");
  sub->add_option("--band-memory", o->band_memory, "Memory per band of rows while scanning (e.g. 64M, 1G)")
      ->capture_default_str();
  sub->callback([o, &options] {
    const nlohmann::ordered_json result = run_info(*o, options);
    std::cout << io::to_json_text(result) << std::endl;
  });
}

}  // namespace spectromine::cli
