#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "spectromine/align/phase_correlation.hpp"
#include "synthetic_stack.hpp"

using namespace spectromine;
using namespace spectromine::align;
using namespace align_test;

TEST_CASE("phase correlation recovers a sub-pixel Fourier shift") {
  const auto s = make_scene({96, 112}, 7);
  const auto ref = scene_frame(s, 0.2);
  for (auto [dy, dx] : {std::pair{1.3, -2.7}, std::pair{-4.45, 0.35}, std::pair{0.0, 0.0}}) {
    auto moving = fourier_shift(ref, dy, dx);
    add_noise(moving, 0.02, 3, 1);
    const auto r = register_images(ref.view(), moving.view());
    std::printf("%g %g -> %g %g peak %g\n", dy, dx, r.dy, r.dx, r.peak);
    CHECK(std::abs(r.dy + dy) < 0.1);
    CHECK(std::abs(r.dx + dx) < 0.1);
  }
}
