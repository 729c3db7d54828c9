// Built by tests/packaging/run_pkgconfig_test.cmake with nothing but
//   c++ $(pkg-config --cflags spectromine) pkgconfig_consumer.cpp $(pkg-config --libs spectromine)
// It checks that the installed headers, Eigen (Requires: eigen3) and
// nlohmann_json (Requires: nlohmann_json) are all reachable.
#include <spectromine/core/cube.hpp>
#include <spectromine/partition/concept.hpp>
#include <spectromine/preprocess/standardize.hpp>
#include <spectromine/version.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  spectromine::cube<float> c({2, 3}, 4);
  for (spectromine::index_t p = 0; p < c.pixel_count(); ++p)
    for (spectromine::index_t b = 0; b < c.bands(); ++b) c.spectrum(p)[static_cast<std::size_t>(b)] = float(p + b * b);
  std::vector<double> z(4);
  if (!spectromine::standardize(c.spectrum(1), std::span<double>(z))) return 1;
  const double norm = Eigen::Map<const Eigen::VectorXd>(z.data(), 4).norm();
  spectromine::partition::partition_report report;
  report.method = "pkg-config";
  std::printf("spectromine %s: %s, |z| = %.6f\n", spectromine::version_string, report.method.c_str(), norm);
  return std::abs(norm - 1.0) < 1e-9 ? 0 : 1;
}
