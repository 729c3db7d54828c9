// `spectromine normalize`: pre-edge / post-edge normalization (docs/CLI.md).
//
//   spectromine normalize --input CUBE --energy E --out OUT.npy
//   spectromine normalize --input SPECTRUM.dat --out OUT.dat   (energies from the file)
//       [--e0 X] [--pre A B] [--post C D] [--post-order 1|2]   (eV relative to E0)
//
// A cube (.npy, .tif/.tiff, .h5/.hdf5) is normalized pixel by pixel with one
// e0 (--e0, else find_e0 of the mean spectrum) and larch's windows; pixels
// without sample (--mask auto, the default: edge jump not significant against
// the pixel's own noise), NaN pixels and edgeless pixels are written as zeros
// and counted on stderr. A spectrum file gets larch's pre_edge and is written
// as columns `energy norm flat` with a `#` header carrying e0, the windows and
// the edge step.
//
// Extensions (docs/CLI.md allows adding flags):
//   --method mback --element Fe [--mback-order 3]   MBACK (Weng 2005) against
//       xraylib's cross-sections (needs the xraylib component); --pre/--post
//       set its windows; a spectrum's `flat` column equals `norm` (MBACK has
//       no separate flattening).
//   --e0-per-pixel [--e0-smoothing SIGMA_EV]   cubes, pre_edge: each pixel's
//       own e0 (smoothed derivative), instead of one e0 for the field.
#pragma once

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "cube_input.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/load.hpp"
#include "spectromine/io/npy.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/preprocess/mask.hpp"
#include "spectromine/preprocess/mback.hpp"
#include "spectromine/preprocess/normalize.hpp"

namespace spectromine::cli {

struct normalize_command_options {
  std::string input, energy, out;
  std::optional<double> e0;
  std::vector<double> pre, post;
  int post_order = 2;
  bool flat = false;             // cubes: write the flattened spectra
  std::string mask = "auto";     // cubes: auto | none | FILE.npy
  std::string mask_out;          // cubes: write the pixels normalized (uint8 npy)
  std::string dataset = "/data";
  std::string axes = "hwe";
  std::string method = "pre_edge";  // pre_edge | mback
  std::string element;              // mback: absorber symbol (Fe, Mn, ...)
  int mback_order = 3;
  bool e0_per_pixel = false;        // cubes, pre_edge
  std::optional<double> e0_smoothing;
};

namespace detail {

inline bool is_cube_path(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".npy" || ext == ".tif" || ext == ".tiff" || ext == ".h5" || ext == ".hdf5";
}

// --e0, --pre A B and --post C D onto pre_edge or MBACK options (same names).
template <class Options>
void set_edge_windows(Options& w, const normalize_command_options& o) {
  w.e0 = o.e0;
  if (!o.pre.empty()) {
    w.pre1 = o.pre[0];
    w.pre2 = o.pre[1];
  }
  if (!o.post.empty()) {
    w.norm1 = o.post[0];
    w.norm2 = o.post[1];
  }
}

inline pre_edge_options edge_options_from(const normalize_command_options& o) {
  pre_edge_options edge;
  set_edge_windows(edge, o);
  require(o.post_order == 1 || o.post_order == 2, "normalize", "--post-order", "must be 1 or 2",
          o.post_order);
  edge.nnorm = o.post_order;
  return edge;
}

inline void check_method(const normalize_command_options& o) {
  require(o.method == "pre_edge" || o.method == "mback", "normalize", "--method",
          "must be pre_edge or mback", o.method);
  if (o.method == "mback") {
#if !defined(SPECTROMINE_HAS_XRAYLIB)
    require(false, "normalize", "--method",
            "mback needs tabulated cross-sections: rebuild with the xraylib component (libxrl-dev)",
            o.method);
#endif
    require(!o.element.empty(), "normalize", "--element",
            "is required with --method mback (the absorbing element, e.g. Fe)", o.element);
    require(!o.e0_per_pixel, "normalize", "--e0-per-pixel", "applies to --method pre_edge only",
            o.method);
  } else {
    require(o.element.empty(), "normalize", "--element", "applies to --method mback only",
            o.element);
  }
}

inline mback_options mback_options_from(const normalize_command_options& o) {
  mback_options m;
  set_edge_windows(m, o);
  m.order = o.mback_order;
  return m;
}

// A spectrum file's output: `# header` lines, then columns energy norm flat.
inline void write_spectrum_columns(const std::filesystem::path& path, const std::string& header,
                                   std::span<const double> energy, std::span<const double> norm,
                                   std::span<const double> flat) {
  std::string text = header;
  for (std::size_t i = 0; i < energy.size(); ++i)
    text += number_text(energy[i]) + " " + number_text(norm[i]) + " " + number_text(flat[i]) + "\n";
  io::write_text_file(path, text);
}

#if defined(SPECTROMINE_HAS_XRAYLIB)
inline void mback_spectrum_file(const normalize_command_options& o) {
  const auto s = io::read_reference_spectrum(o.input);
  const auto r = mback(s.energy, s.mu, atomic_number(o.element), mback_options_from(o));
  const std::string header =
      "# spectromine normalize --method mback --element " + o.element + " " + o.input +
      "\n# e0=" + number_text(r.e0) + " pre1=" + number_text(r.pre1) + " pre2=" +
      number_text(r.pre2) + " norm1=" + number_text(r.norm1) + " norm2=" + number_text(r.norm2) +
      " order=" + std::to_string(o.mback_order) + " scale=" + number_text(r.scale) +
      "\n# edge_step=" + number_text(r.edge_step) + "\n# flat = norm (MBACK)\n# energy norm flat\n";
  write_spectrum_columns(o.out, header, s.energy, r.norm, r.norm);
}
#endif

inline void normalize_spectrum_file(const normalize_command_options& o) {
  require(o.energy.empty(), "normalize", "--energy",
          "applies to cubes only (a spectrum file carries its own energies)", o.energy);
  require(!o.e0_per_pixel, "normalize", "--e0-per-pixel", "applies to cubes only", o.input);
#if defined(SPECTROMINE_HAS_XRAYLIB)
  if (o.method == "mback") return mback_spectrum_file(o);
#endif
  const auto s = io::read_reference_spectrum(o.input);
  const auto r = pre_edge(s.energy, s.mu, edge_options_from(o));
  const std::string header =
      "# spectromine normalize " + o.input + "\n# e0=" + number_text(r.e0) + " pre1=" +
      number_text(r.windows.pre1) + " pre2=" + number_text(r.windows.pre2) + " norm1=" +
      number_text(r.windows.norm1) + " norm2=" + number_text(r.windows.norm2) +
      " nnorm=" + std::to_string(r.windows.nnorm) + "\n# edge_step=" + number_text(r.edge_step) +
      "\n# energy norm flat\n";
  write_spectrum_columns(o.out, header, s.energy, r.norm, r.flat);
}

// The normalized cube and, with --mask-out, its valid pixels: both or neither.
inline void write_cube_outputs(const normalize_command_options& o, const cube<float>& data,
                               const pixel_mask& valid) {
  io::output_batch batch;
  io::write_npy_cube(batch.add(o.out).temp_path(), data);
  if (!o.mask_out.empty()) io::write_npy_mask(batch.add(o.mask_out).temp_path(), valid.view());
  batch.commit();
}

inline void normalize_cube_file(const normalize_command_options& o, const global_options& g) {
  require(!o.energy.empty(), "normalize", "--energy", "is required for a cube input", o.input);
  const io::cube_source_options source = user_cube_source(o.dataset, o.axes, "normalize");
  const energy_grid energy = io::read_energy_list(o.energy);
  cube<float> data = io::load_cube<float>(o.input, source);
  validate_energy_grid(energy, "normalize", data.bands());

  normalize_cube_options options;
  options.edge = edge_options_from(o);
  options.output = o.flat ? normalized_output::flat : normalized_output::norm;
  options.threads = g.threads;
  if (o.e0_per_pixel) {
    require(!o.e0, "normalize", "--e0", "cannot be combined with --e0-per-pixel", o.e0.value_or(0));
    options.e0_source = cube_e0::per_pixel;
    options.e0_smoothing = o.e0_smoothing;
  }
  require(o.method == "pre_edge" || !o.flat, "normalize", "--flat",
          "applies to --method pre_edge only (MBACK has no flattening)", o.method);

  pixel_mask mask;
  std::string mask_note = "none";
  if (o.mask == "auto") {
    sample_mask_options m;
    m.threads = g.threads;
    auto result = sample_mask(data.view(), energy, options.edge, m);
    if (!o.e0_per_pixel) options.edge.e0 = result.report.windows.e0;  // one e0 for mask and normalization
    mask = std::move(result.mask);
    mask_note = "auto: z > " + number_text(result.report.threshold) + ", " +
                std::to_string(result.report.masked_low_snr) + " without sample, " +
                std::to_string(result.report.masked_nonfinite) + " non-finite";
  } else if (o.mask != "none") {
    mask = io::read_npy_mask(o.mask);
    require(mask.shape() == data.shape(), "normalize", "--mask",
            "must have the cube's image shape", o.mask);
    mask_note = o.mask;
  }
  stderr_progress progress(g);
#if defined(SPECTROMINE_HAS_XRAYLIB)
  if (o.method == "mback") {
    mback_cube_options mo;
    mo.edge = mback_options_from(o);
    if (!mo.edge.e0 && options.edge.e0) mo.edge.e0 = options.edge.e0;  // the mask's e0
    mo.threads = g.threads;
    const auto f2 = xraylib_f2(atomic_number(o.element), energy);
    const auto mrep = mback_cube(data.view(), energy, f2, mo, data.view(),
                                 mask.pixel_count() > 0 ? mask_view(mask.view()) : mask_view{},
                                 progress);
    write_cube_outputs(o, data, mrep.valid);
    if (!g.quiet)
      std::fprintf(stderr,
                   "normalize (mback, %s): e0 %.4f eV, %lld pixels: %lld normalized, %lld masked "
                   "(mask %s), %lld non-finite, %lld not matchable to the table\n",
                   o.element.c_str(), mrep.e0, static_cast<long long>(mrep.pixels),
                   static_cast<long long>(mrep.normalized),
                   static_cast<long long>(mrep.masked_input), mask_note.c_str(),
                   static_cast<long long>(mrep.masked_nonfinite),
                   static_cast<long long>(mrep.masked_no_edge));
    return;
  }
#endif
  const auto rep = normalize_cube(data.view(), energy, options, data.view(),
                                  mask.pixel_count() > 0 ? mask_view(mask.view()) : mask_view{},
                                  progress);
  write_cube_outputs(o, data, rep.valid);
  if (!g.quiet)
    std::fprintf(stderr,
                 "normalize: e0 %s, %lld pixels: %lld normalized, %lld masked (mask %s), "
                 "%lld non-finite, %lld without edge, %lld without an e0 of their own\n",
                 (o.e0_per_pixel ? "per pixel (" + std::to_string(rep.distinct_e0) + " distinct)"
                                 : number_text(rep.windows.e0) + " eV" +
                                       (o.e0 ? "" : " (find_e0 of the mean spectrum)"))
                     .c_str(),
                 static_cast<long long>(rep.pixels), static_cast<long long>(rep.normalized),
                 static_cast<long long>(rep.masked_input), mask_note.c_str(),
                 static_cast<long long>(rep.masked_nonfinite),
                 static_cast<long long>(rep.masked_no_edge),
                 static_cast<long long>(rep.masked_no_e0));
}

}  // namespace detail

void add_normalize_command(CLI::App& app, global_options& options) {
  auto o = std::make_shared<normalize_command_options>();
  auto* cmd = app.add_subcommand(
      "normalize", "Pre-edge / post-edge normalization (larch pre_edge) of a cube or a spectrum");
  cmd->add_option("--input", o->input,
                  "Cube (.npy, .tif/.tiff, .h5/.hdf5) or spectrum file (two columns: energy eV, mu)")
      ->required();
  cmd->add_option("--energy", o->energy, "Energy list of the cube (one eV per line)");
  cmd->add_option("--out", o->out, "Output: OUT.npy (cube, float32) or OUT.dat (spectrum)")
      ->required();
  cmd->add_option("--e0", o->e0, "Edge energy in eV (default: larch find_e0; cubes: of the mean spectrum)");
  cmd->add_option("--pre", o->pre, "Pre-edge window A B in eV relative to E0 (default: larch's)")
      ->expected(2);
  cmd->add_option("--post", o->post, "Post-edge window C D in eV relative to E0 (default: larch's)")
      ->expected(2);
  cmd->add_option("--post-order", o->post_order, "Post-edge polynomial: 1 (line) or 2 (quadratic)")
      ->capture_default_str();
  cmd->add_flag("--flat", o->flat, "Cubes: write the flattened spectra instead of the normalized");
  cmd->add_option("--mask", o->mask,
                  "Cubes: auto (drop pixels without a significant edge jump), none, or FILE.npy")
      ->capture_default_str();
  cmd->add_option("--mask-out", o->mask_out, "Cubes: also write the normalized pixels as uint8 .npy");
  cmd->add_option("--dataset", o->dataset, "HDF5 dataset of the cube")->capture_default_str();
  cmd->add_option("--axes", o->axes, "HDF5 axis order: hwe or ehw")->capture_default_str();
  cmd->add_option("--threads", options.threads, "Threads (0 = all cores)");
  cmd->add_option("--method", o->method,
                  "pre_edge (larch pre_edge) or mback (Weng 2005; needs the xraylib component)")
      ->capture_default_str();
  cmd->add_option("--element", o->element, "mback: absorbing element symbol (e.g. Fe)");
  cmd->add_option("--mback-order", o->mback_order, "mback: background polynomial degree 0..6")
      ->capture_default_str();
  cmd->add_flag("--e0-per-pixel", o->e0_per_pixel,
                "Cubes, pre_edge: each pixel's own e0 (its smoothed derivative)");
  cmd->add_option("--e0-smoothing", o->e0_smoothing,
                  "With --e0-per-pixel: Gaussian sigma (eV) of the derivative (default: median energy step)");
  cmd->callback([o, &options] {
    detail::check_method(*o);
    if (detail::is_cube_path(o->input)) {
      detail::normalize_cube_file(*o, options);
    } else {
      detail::normalize_spectrum_file(*o);
    }
  });
}

}  // namespace spectromine::cli
