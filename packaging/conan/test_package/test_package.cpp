// Smallest use of the packaged headers: a cube, a standardized spectrum, a report.
#include <spectromine/core/cube.hpp>
#include <spectromine/partition/concept.hpp>
#include <spectromine/preprocess/standardize.hpp>
#include <spectromine/version.hpp>

#include <cstdio>
#include <vector>

int main() {
  spectromine::cube<float> c({2, 2}, 3);
  for (spectromine::index_t b = 0; b < c.bands(); ++b) c.spectrum(0)[static_cast<std::size_t>(b)] = float(b);
  std::vector<double> z(3);
  const bool ok = spectromine::standardize(c.spectrum(0), std::span<double>(z));
  spectromine::partition::partition_report report;
  report.method = "conan test_package";
  std::printf("spectromine %s: %s %s\n", spectromine::version_string, report.method.c_str(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
