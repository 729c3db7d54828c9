// `spectromine distinguish`: can two spectra be told apart at a given noise?
// (Ito 2024 Eqs. 1, 4, 5; docs/CLI.md, docs/noise_and_metrics.md)
//
//   spectromine distinguish A.dat B.dat --energy E
//       [--c-ref 2.7e4 --mut-low 0.36 --mut-high 1.56]
//       [--noise scmos|poisson] [--scmos-a 9.3131 --scmos-b 63.003] [--gain 1]
//       [--target-probability 1e-4] [--norm] [--max-extrapolation 100]
//
// A and B are raw reference spectra (two columns eV, mu; or XDI). Both are
// normalized on their own grid (larch pre_edge, flattened unless --norm) and
// interpolated onto E, exactly as `spectromine sites` builds its library.
// Prints one JSON object: percent_point_ab (noise of A, misclassified as B),
// percent_point_ba, symmetric = (ab + ba) / 2, misclassification_probability
// = Phi(-symmetric) (and per direction), and c_ref_for_target: the reference
// counts at which the symmetric percent point reaches the target probability
// (1e-4 -> 3.719), solved for the noise model (not assumed sqrt(dose); the
// shot-noise extrapolation c_ref (d*/d)^2 is printed next to it).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/metric/dose.hpp"
#include "spectromine/metric/percent_point.hpp"
#include "spectromine/noise/conditions.hpp"
#include "spectromine/noise/poisson.hpp"
#include "spectromine/noise/scmos.hpp"
#include "spectromine/partition/site_generation.hpp"
#include "spectromine/version.hpp"

namespace spectromine::cli {

struct distinguish_command_options {
  std::string a, b, energy;
  measurement_conditions conditions{};
  std::string noise = "scmos";
  scmos_noise scmos{};
  double gain = 1.0;
  double target_probability = 1e-4;
  bool norm = false;
  double max_extrapolation = 100.0;
};

namespace detail {
inline nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

template <class N>
nlohmann::json distinguish_with(const N& model, const distinguish_command_options& o,
                                const partition::site_library& lib) {
  model.validate();
  const auto& c = o.conditions;
  const std::span<const double> a(lib.spectra[0]), b(lib.spectra[1]);
  const double ab = percent_point_between(model, c, a, b);
  const double ba = percent_point_between(model, c, b, a);
  const double sym = 0.5 * (ab + ba);
  const double target = percent_point_for_probability(o.target_probability);
  const double needed = c_ref_for_percent_point(model, c, a, b, target);
  nlohmann::json j;
  j["version"] = version_string;
  j["a"] = lib.names[0];
  j["b"] = lib.names[1];
  j["energies"] = lib.energy.size();
  j["energy_range"] = {lib.energy.front(), lib.energy.back()};
  j["normalization"] = o.norm ? "norm" : "flat";
  j["conditions"] = c.to_json();
  j["noise_model"] = model.parameters();
  j["percent_point_ab"] = finite_or_null(ab);
  j["percent_point_ba"] = finite_or_null(ba);
  j["symmetric"] = finite_or_null(sym);
  j["misclassification_probability"] = misclassification_probability(sym);
  j["misclassification_probability_ab"] = misclassification_probability(ab);
  j["misclassification_probability_ba"] = misclassification_probability(ba);
  j["distinguishable_at_target"] = sym >= target;
  j["target_probability"] = o.target_probability;
  j["target_percent_point"] = target;
  // null when the spectra are identical after standardization (never distinguishable).
  j["c_ref_for_target"] = finite_or_null(needed);
  j["dose_factor_for_target"] = finite_or_null(needed / c.c_ref);
  j["c_ref_for_target_shot_noise_scaling"] =
      sym > 0 ? finite_or_null(c.c_ref * (target / sym) * (target / sym)) : nlohmann::json(nullptr);
  nlohmann::json ext = nlohmann::json::array();
  for (std::size_t k = 0; k < 2; ++k)
    if (lib.extrapolated[k].first > 0 || lib.extrapolated[k].second > 0)
      ext.push_back({{"reference", lib.names[k]},
                     {"below_eV", lib.extrapolated[k].first},
                     {"above_eV", lib.extrapolated[k].second}});
  j["references_extended"] = ext;
  return j;
}
}  // namespace detail

inline nlohmann::json run_distinguish(const distinguish_command_options& o) {
  constexpr std::string_view component = "distinguish";
  o.conditions.validate(component);
  require(o.target_probability > 0 && o.target_probability < 0.5, component, "--target-probability",
          "must be in (0, 0.5)", o.target_probability);
  const auto grid = io::read_energy_list(o.energy);
  partition::library_options lo;
  lo.flat = !o.norm;
  lo.max_extrapolation = o.max_extrapolation;
  const auto lib = partition::make_library(
      {io::read_reference_spectrum(o.a), io::read_reference_spectrum(o.b)}, grid, lo);
  if (o.noise == "scmos") return detail::distinguish_with(o.scmos, o, lib);
  if (o.noise == "poisson") return detail::distinguish_with(poisson_noise{o.gain}, o, lib);
  throw_invalid(component, "--noise", "must be scmos or poisson", o.noise);
}

void add_distinguish_command(CLI::App& app, global_options& /*options*/) {
  auto o = std::make_shared<distinguish_command_options>();
  auto* sub = app.add_subcommand(
      "distinguish",
      "Misclassification percent point of two reference spectra under the measurement noise "
      "(Ito 2024 Eq. 5), and the reference counts needed to tell them apart");
  sub->add_option("A", o->a, "First spectrum (two columns eV, mu; or XDI)")->required();
  sub->add_option("B", o->b, "Second spectrum")->required();
  sub->add_option("--energy", o->energy, "Energy grid (one eV per line)")->required();
  sub->add_option("--c-ref", o->conditions.c_ref, "Reference counts per pixel and energy")
      ->capture_default_str();
  sub->add_option("--mut-low", o->conditions.mut_low, "Mean mu*t of the pre-edge region")
      ->capture_default_str();
  sub->add_option("--mut-high", o->conditions.mut_high, "Mean mu*t of the post-edge region")
      ->capture_default_str();
  sub->add_option("--noise", o->noise, "Camera noise model: scmos (sigma^2 = A N - B) or poisson")
      ->capture_default_str();
  sub->add_option("--scmos-a", o->scmos.a, "sCMOS A (counts)")->capture_default_str();
  sub->add_option("--scmos-b", o->scmos.b, "sCMOS B (counts^2)")->capture_default_str();
  sub->add_option("--gain", o->gain, "Poisson: counts per photon")->capture_default_str();
  sub->add_option("--target-probability", o->target_probability,
                  "Misclassification probability for c_ref_for_target")
      ->capture_default_str();
  sub->add_flag("--norm", o->norm, "Use the normalized (not flattened) spectra");
  sub->add_option("--max-extrapolation", o->max_extrapolation,
                  "eV a spectrum may be extended (end values held) to cover the grid")
      ->capture_default_str();
  sub->callback([o] { std::cout << io::to_json_text(run_distinguish(*o)) << std::endl; });
}

}  // namespace spectromine::cli
