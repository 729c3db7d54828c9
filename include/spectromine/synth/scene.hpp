// spectromine/synth/scene.hpp: a synthetic scene as a value: which phases,
// which shapes, how thick; and its ground truth.
//
// A scene is painted in order: every pixel starts as `background` (a phase
// label, or 0 = empty field of view: no sample), then each layer paints its
// rim (pixels at distance (0, rim_width] outside the shape) with rim_phase
// and its inside with `phase`. Labels are 1-based indices into `phases`;
// label 0 is "no sample" (labels::unlabeled), as in a phase map. A rim of a
// 50:50 mixture is simply a phase made by synth::mixture, so the truth says
// which pixels are mixed.
//
// Thickness: mu*t scales with the sample thickness, and a real specimen is
// not uniformly thick (Ito 2024 merged clusters "distorted by thickness").
// thickness_profile is a smooth, strictly positive field multiplying mu*t:
//   t(r, c) = base (1 + gradient (c / (W - 1) - 1/2)
//                     + amplitude sin(2 pi r / period) cos(2 pi c / period)).
#pragma once

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spectromine/core/energy.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/synth/phase.hpp"
#include "spectromine/synth/shape.hpp"

namespace spectromine::synth {

struct layer {
  synth::shape shape;
  label_t phase = 1;        // inside the shape; 0 = empty field (a hole in the sample)
  double rim_width = 0;     // pixels; 0 = no rim
  label_t rim_phase = 0;    // painted at distance (0, rim_width]
};

struct thickness_profile {
  double base = 1.0;
  double gradient = 0.0;    // relative change across the columns
  double amplitude = 0.0;   // relative amplitude of the undulation
  double period = 100.0;    // pixels

  bool uniform() const noexcept { return gradient == 0 && amplitude == 0; }
  double at(index_t r, index_t c, index_t cols) const noexcept {
    const double x = cols > 1 ? static_cast<double>(c) / static_cast<double>(cols - 1) - 0.5 : 0.0;
    const double w = 2 * std::numbers::pi / period;
    return base * (1 + gradient * x +
                   amplitude * std::sin(w * static_cast<double>(r)) *
                       std::cos(w * static_cast<double>(c)));
  }
  void validate() const {
    require(std::isfinite(base) && base > 0, "synth::thickness", "base", "must be finite and > 0",
            base);
    require(std::isfinite(period) && period > 0, "synth::thickness", "period",
            "must be finite and > 0", period);
    require(std::isfinite(gradient) && std::isfinite(amplitude) &&
                std::abs(gradient) / 2 + std::abs(amplitude) < 1,
            "synth::thickness", "|gradient| / 2 + |amplitude|",
            "must be < 1 (thickness must stay positive)",
            std::abs(gradient) / 2 + std::abs(amplitude));
  }
};

struct scene {
  image_shape shape{};
  energy_grid energy;
  std::vector<phase> phases;  // label k is phases[k - 1]
  label_t background = 1;     // 0 = empty field
  std::vector<layer> layers;
  thickness_profile thickness{};

  // Adds a phase and returns its label.
  label_t add_phase(phase p) {
    phases.push_back(std::move(p));
    return static_cast<label_t>(phases.size());
  }
  index_t bands() const noexcept { return static_cast<index_t>(energy.size()); }

  void validate() const {
    constexpr std::string_view c = "synth::scene";
    require(shape.rows > 0, c, "rows", "must be > 0", shape.rows);
    require(shape.cols > 0, c, "cols", "must be > 0", shape.cols);
    validate_energy_grid(energy, c);
    require(!phases.empty(), c, "phases", "must not be empty", 0);
    for (const auto& p : phases) {
      require(p.spectrum.size() == energy.size(), c, "phase \"" + p.name + "\" length",
              "must equal the energy count " + std::to_string(energy.size()), p.spectrum.size());
      for (double v : p.spectrum)
        require(std::isfinite(v), c, "phase \"" + p.name + "\" value", "must be finite", v);
    }
    const auto n = static_cast<label_t>(phases.size());
    auto check_label = [&](label_t l, const char* what) {
      require(l >= 0 && l <= n, c, what,
              "must be 0 (no sample) or a phase label 1.." + std::to_string(n), l);
    };
    check_label(background, "background");
    for (const auto& l : layers) {
      synth::validate(l.shape);
      check_label(l.phase, "layer phase");
      require(std::isfinite(l.rim_width) && l.rim_width >= 0, c, "rim_width",
              "must be finite and >= 0", l.rim_width);
      if (l.rim_width > 0) check_label(l.rim_phase, "rim phase");
    }
    thickness.validate();
  }

  nlohmann::json to_json() const {
    nlohmann::json names = nlohmann::json::object();
    names["0"] = "no sample";
    for (std::size_t k = 0; k < phases.size(); ++k) names[std::to_string(k + 1)] = phases[k].name;
    return {{"rows", shape.rows},
            {"cols", shape.cols},
            {"bands", energy.size()},
            {"labels", names},
            {"background", background},
            {"layers", layers.size()},
            {"thickness",
             {{"base", thickness.base},
              {"gradient", thickness.gradient},
              {"amplitude", thickness.amplitude},
              {"period", thickness.period}}}};
  }
};

// The ground-truth label image (0 = no sample).
inline label_image rasterize(const scene& s) {
  s.validate();
  label_image truth(s.shape, s.background);
  for (const auto& l : s.layers)
    for (index_t r = 0; r < s.shape.rows; ++r)
      for (index_t c = 0; c < s.shape.cols; ++c) {
        const double d = distance(l.shape, r, c);
        if (d == 0)
          truth(r, c) = l.phase;
        else if (l.rim_width > 0 && d <= l.rim_width)
          truth(r, c) = l.rim_phase;
      }
  return truth;
}

// The thickness at every pixel.
inline image<float> thickness_map(const scene& s) {
  s.thickness.validate();
  image<float> t(s.shape);
  for (index_t r = 0; r < s.shape.rows; ++r)
    for (index_t c = 0; c < s.shape.cols; ++c)
      t(r, c) = static_cast<float>(s.thickness.at(r, c, s.shape.cols));
  return t;
}

// Pixels per label (index = label, 0 = no sample).
inline std::vector<index_t> label_counts(const_label_view truth, label_t labels) {
  std::vector<index_t> n(static_cast<std::size_t>(labels) + 1, 0);
  for (index_t r = 0; r < truth.rows(); ++r)
    for (index_t c = 0; c < truth.cols(); ++c) {
      const label_t l = truth(r, c);
      if (l >= 0 && l <= labels) ++n[static_cast<std::size_t>(l)];
    }
  return n;
}

}  // namespace spectromine::synth
