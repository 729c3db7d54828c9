// `spectromine exafs`: chi(k) and chi(R) of one spectrum (docs/CLI.md).
//
//   spectromine exafs --input SPECTRUM.dat --out DIR [--e0 X] [--rbkg 1]
//       [--kmin 2 --kmax 6.5 --dk 1] [--kweight 2] [--window hanning|kaiser]
//   spectromine exafs --input RUN/spectra.csv --column 2 --out DIR ...
//
// Background removal by autobk over the whole k range of the data (kmin 0 to
// the last point, or --bkg-kmin/--bkg-kmax), then the forward transform over
// [kmin, kmax] (Duan 2016: k^2 weighting, k = 2-6.5 1/A). Outputs, written
// together (io::output_batch): DIR/chi_k.csv (k, chi, k^w chi), DIR/chi_r.csv
// (R, |chi(R)|, Re, Im) and DIR/exafs.json (every parameter used, including
// the derived e0, edge step and knot count).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/exafs/autobk.hpp"
#include "spectromine/exafs/xafsft.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/csv.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/version.hpp"

namespace spectromine::cli {

struct exafs_command_options {
  std::string input;
  std::string out;
  std::string column;  // spectra.csv: header name, else 1-based spectrum column
  std::optional<double> e0;
  std::optional<double> edge_step;
  double rbkg = 1.0;
  double kmin = 2.0, kmax = 6.5, dk = 1.0;
  double kweight = 2.0;
  std::string window = "hanning";
  double bkg_kmin = 0.0;
  std::optional<double> bkg_kmax;
  std::vector<double> pre, post;
  int post_order = 2;
  double rmax_out = 10.0;
  bool larch_stopping = false;
};

namespace detail {

// The spectrum to analyse: a two-column/XDI file, or one column of a CSV table.
inline io::reference_spectrum load_exafs_input(const exafs_command_options& o) {
  const std::filesystem::path path(o.input);
  std::string ext = path.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext != ".csv") {
    require(o.column.empty(), "exafs", "--column", "applies only to a .csv input", o.column);
    return io::read_reference_spectrum(path);
  }
  const auto table = io::read_spectra_csv(path);
  require(!o.column.empty(), "exafs", "--column",
          "is required for a .csv input (one of its " + std::to_string(table.names.size()) +
              " spectra)",
          o.column);
  std::size_t index = table.names.size();
  for (std::size_t i = 0; i < table.names.size(); ++i)
    if (table.names[i] == o.column) index = i;
  if (index == table.names.size()) {
    int n = 0;
    const auto r = std::from_chars(o.column.data(), o.column.data() + o.column.size(), n);
    require(r.ec == std::errc() && r.ptr == o.column.data() + o.column.size() && n >= 1 &&
                static_cast<std::size_t>(n) <= table.names.size(),
            "exafs", "--column",
            "must name a column of " + o.input + " or be a number 1.." +
                std::to_string(table.names.size()),
            o.column);
    index = static_cast<std::size_t>(n - 1);
  }
  io::reference_spectrum s;
  s.name = table.names[index];
  s.energy = table.energy;
  s.mu = table.columns[index];
  return s;
}

inline void run_exafs(const exafs_command_options& o) {
  const auto spectrum = load_exafs_input(o);

  exafs::autobk_options bk;
  bk.e0 = o.e0;
  bk.edge_step = o.edge_step;
  bk.rbkg = o.rbkg;
  bk.kweight = o.kweight;
  bk.kmin = o.bkg_kmin;
  bk.kmax = o.bkg_kmax;
  bk.larch_stopping = o.larch_stopping;
  if (!o.pre.empty()) {
    bk.pre_edge.pre1 = o.pre[0];
    bk.pre_edge.pre2 = o.pre[1];
  }
  if (!o.post.empty()) {
    bk.pre_edge.norm1 = o.post[0];
    bk.pre_edge.norm2 = o.post[1];
  }
  require(o.post_order >= 0 && o.post_order <= 2, "exafs", "--post-order", "must be 0, 1 or 2",
          o.post_order);
  bk.pre_edge.nnorm = o.post_order;

  exafs::xftf_options ft;
  ft.kmin = o.kmin;
  ft.kmax = o.kmax;
  ft.dk = o.dk;
  ft.kweight = o.kweight;
  ft.window = exafs::parse_window(o.window);
  ft.rmax_out = o.rmax_out;
  // Validate the transform before the (slower) background fit.
  require(std::isfinite(ft.kmin) && ft.kmin >= 0, "exafs", "--kmin", "must be >= 0", ft.kmin);
  require(std::isfinite(ft.kmax) && ft.kmax > ft.kmin, "exafs", "--kmax",
          "must be > --kmin = " + number_text(ft.kmin), ft.kmax);

  const auto chik = exafs::autobk(spectrum.energy, spectrum.mu, bk);
  require(ft.kmin < chik.kmax, "exafs", "--kmin",
          "must be below the data's last k = " + number_text(chik.kmax), ft.kmin);
  const auto chir = exafs::xftf(chik.k, chik.chi, ft);

  std::error_code ec;
  const std::filesystem::path dir(o.out);
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir)) throw io_error(dir, "cannot create the output folder");

  const std::string w = number_text(o.kweight);
  std::string k_text = "k,chi,k^" + w + "*chi\n";
  for (std::size_t i = 0; i < chik.k.size(); ++i)
    k_text += number_text(chik.k[i]) + "," + number_text(chik.chi[i]) + "," +
              number_text(chik.chi[i] * std::pow(chik.k[i], o.kweight)) + "\n";
  std::string r_text = "r,chir_mag,chir_re,chir_im\n";
  for (std::size_t i = 0; i < chir.r.size(); ++i)
    r_text += number_text(chir.r[i]) + "," + number_text(chir.mag[i]) + "," +
              number_text(chir.re[i]) + "," + number_text(chir.im[i]) + "\n";
  nlohmann::json summary = {
      {"version", version_string},
      {"input", o.input},
      {"spectrum", spectrum.name},
      {"e0", chik.e0},
      {"edge_step", chik.edge_step},
      {"autobk",
       {{"rbkg", chik.rbkg},
        {"kweight", o.kweight},
        {"kmin", chik.kmin},
        {"kmax", chik.kmax},
        {"nknots", chik.nspl},
        {"irbkg", chik.irbkg},
        {"converged", chik.converged},
        {"larch_stopping", o.larch_stopping},
        {"chisqr", chik.chisqr},
        {"evaluations", chik.evaluations}}},
      {"xftf",
       {{"kmin", ft.kmin},
        {"kmax", ft.kmax},
        {"dk", ft.dk},
        {"kweight", ft.kweight},
        {"window", std::string(exafs::window_name(ft.window))},
        {"nfft", ft.nfft},
        {"kstep", ft.kstep}}}};
  const std::string j_text = summary.dump(2) + "\n";

  io::output_batch batch;
  io::write_text(batch.add(dir / "chi_k.csv"), k_text);
  io::write_text(batch.add(dir / "chi_r.csv"), r_text);
  io::write_text(batch.add(dir / "exafs.json"), j_text);
  batch.commit();
}

}  // namespace detail

void add_exafs_command(CLI::App& app, global_options& /*options*/) {
  auto o = std::make_shared<exafs_command_options>();
  auto* cmd = app.add_subcommand(
      "exafs", "EXAFS of one spectrum: autobk background -> chi(k) -> chi(R) (larch conventions)");
  cmd->add_option("--input", o->input,
                  "Spectrum: two-column/XDI file (energy eV, mu), or a CSV table such as a "
                  "cluster run's spectra.csv (with --column)")
      ->required();
  cmd->add_option("--out", o->out, "Output folder (chi_k.csv, chi_r.csv, exafs.json)")->required();
  cmd->add_option("--column", o->column,
                  "CSV input: the spectrum column, by header name or 1-based number");
  cmd->add_option("--e0", o->e0, "Edge energy (eV); default: from the derivative (find_e0)");
  cmd->add_option("--edge-step", o->edge_step, "Edge step; default: from pre_edge");
  cmd->add_option("--rbkg", o->rbkg, "Background cut-off R (A)")->capture_default_str();
  cmd->add_option("--kmin", o->kmin, "FT window start (1/A)")->capture_default_str();
  cmd->add_option("--kmax", o->kmax, "FT window end (1/A)")->capture_default_str();
  cmd->add_option("--dk", o->dk, "FT window taper (1/A; Kaiser: shape)")->capture_default_str();
  cmd->add_option("--kweight", o->kweight, "k weight of chi(k) in the fit and the FT")
      ->capture_default_str();
  cmd->add_option("--window", o->window,
                  "FT window: hanning, kaiser, parzen, welch, sine, gaussian, fhanning, bessel")
      ->capture_default_str();
  cmd->add_option("--bkg-kmin", o->bkg_kmin, "Background spline k start (1/A)")
      ->capture_default_str();
  cmd->add_option("--bkg-kmax", o->bkg_kmax, "Background spline k end (1/A); default: last point");
  cmd->add_option("--pre", o->pre, "Pre-edge window A B (eV relative to E0), for the edge step")
      ->expected(2);
  cmd->add_option("--post", o->post, "Post-edge window C D (eV relative to E0), for the edge step")
      ->expected(2);
  cmd->add_option("--post-order", o->post_order, "Post-edge polynomial degree (0, 1, 2)")
      ->capture_default_str();
  cmd->add_option("--rmax", o->rmax_out, "Last R (A) written to chi_r.csv")->capture_default_str();
  cmd->add_flag("--larch-stopping", o->larch_stopping,
                "Stop the background fit where larch does (its lmfit tolerances) instead of at "
                "the least-squares minimum");
  cmd->callback([o] { detail::run_exafs(*o); });
}

}  // namespace spectromine::cli
