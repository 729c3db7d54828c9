// Accuracy of register_stack on synthetic stacks crossing an absorption edge
// (tests/align/synthetic_stack.hpp: phase A flips contrast, phase B
// brightens, drifts up to ~6 px, Gaussian noise), for scene seeds 1..N:
// the worst and RMS error over bands of the recovered shifts, reference vs
// chain mode. The numbers behind register_stack's default (docs/align.md).
//
//   bench_align_accuracy [--size 160] [--bands 40] [--noise 0.02] [--seeds 10]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "spectromine/align/register_stack.hpp"
#include "synthetic_stack.hpp"

using namespace spectromine;
using namespace align_test;

int main(int argc, char** argv) {
  index_t size = 160, bands = 40;
  double noise = 0.02;
  int seeds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--size") size = std::atol(argv[i + 1]);
    else if (key == "--bands") bands = std::atol(argv[i + 1]);
    else if (key == "--noise") noise = std::atof(argv[i + 1]);
    else if (key == "--seeds") seeds = std::atoi(argv[i + 1]);
  }
  const index_t margin = 10;
  std::vector<drift> d;
  for (index_t b = 0; b < bands; ++b)
    d.push_back({3.0 * std::sin(static_cast<double>(b) * 0.21) + 0.03 * static_cast<double>(b),
                 -2.5 + 5.0 * static_cast<double>(b) / static_cast<double>(bands) +
                     0.4 * std::cos(static_cast<double>(b) * 0.7)});
  std::printf("size %lld x %lld, %lld bands, noise %.3f\n", static_cast<long long>(size),
              static_cast<long long>(size + 16), static_cast<long long>(bands), noise);
  std::printf("seed | reference worst | reference rms | chain worst | chain rms\n");
  double sum[4] = {0, 0, 0, 0};
  for (int seed = 1; seed <= seeds; ++seed) {
    const auto stack = make_stack(make_scene({size + 2 * margin, size + 16 + 2 * margin},
                                             static_cast<std::uint64_t>(seed)),
                                  d, noise, 11, margin);
    double row[4];
    int k = 0;
    for (auto mode : {align::stack_reference::reference, align::stack_reference::chain}) {
      align::stack_registration_options o;
      o.mode = mode;
      const auto r = align::register_stack(stack, o);
      const auto& ref = d[static_cast<std::size_t>(r.reference_band)];
      double worst = 0, ss = 0;
      for (std::size_t b = 0; b < d.size(); ++b) {
        const double ey = r.shifts[b].dy + d[b].dy - ref.dy, ex = r.shifts[b].dx + d[b].dx - ref.dx;
        worst = std::max({worst, std::abs(ey), std::abs(ex)});
        ss += ey * ey + ex * ex;
      }
      row[k++] = worst;
      row[k++] = std::sqrt(ss / static_cast<double>(2 * d.size()));
    }
    std::printf("%4d | %.3f | %.3f | %.3f | %.3f\n", seed, row[0], row[1], row[2], row[3]);
    for (int i = 0; i < 4; ++i) sum[i] += row[i];
  }
  std::printf("mean | %.3f | %.3f | %.3f | %.3f\n", sum[0] / seeds, sum[1] / seeds, sum[2] / seeds,
              sum[3] / seeds);
  return 0;
}
