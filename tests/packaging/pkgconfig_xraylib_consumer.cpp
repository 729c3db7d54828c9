// Built by tests/packaging/run_pkgconfig_test.cmake with the component recipe
// of cmake/spectromine.pc.in:
//   c++ $(pkg-config --cflags spectromine libxrl) -DSPECTROMINE_HAS_XRAYLIB=1 \
//       pkgconfig_xraylib_consumer.cpp $(pkg-config --libs spectromine libxrl)
// It checks that <xraylib.h> is found, libxrl links, and the xraylib section of
// preprocess/mback.hpp is compiled in and gives the Fe K edge where it is.
#include <spectromine/preprocess/mback.hpp>

#if !defined(SPECTROMINE_HAS_XRAYLIB)
#error "the xraylib recipe must define SPECTROMINE_HAS_XRAYLIB"
#endif

#include <cstdio>
#include <vector>

int main() {
  const int z = spectromine::atomic_number("Fe");
  // Fe K edge at 7112 eV: the photo cross-section (so f2) jumps several-fold.
  const std::vector<double> energy = {7000.0, 7100.0, 7130.0, 7200.0};
  const auto f2 = spectromine::xraylib_f2(z, energy);
  const double jump = f2[2] / f2[1];
  std::printf("xraylib: Fe z = %d, f2 jump across 7112 eV = %.3f\n", z, jump);
  return (z == 26 && f2[0] > 0 && jump > 4.0 && jump < 12.0) ? 0 : 1;
}
