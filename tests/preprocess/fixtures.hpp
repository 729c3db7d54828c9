// Fixtures shared by the preprocess suite's files.
#pragma once

#include <filesystem>
#include <vector>

namespace preprocess_test {

// The repo's data/ folder (references, larch outputs).
inline const std::filesystem::path data_dir{SPECTROMINE_TEST_DATA_DIR};

// A non-uniform energy grid, as beamline scans are: 5 eV pre-edge, 0.5 eV
// across the Fe K edge, 4 eV after.
inline std::vector<double> beamline_grid() {
  std::vector<double> e;
  for (double v = 6980; v < 7100; v += 5) e.push_back(v);
  for (double v = 7100; v < 7160; v += 0.5) e.push_back(v);
  for (double v = 7160; v <= 7420; v += 4) e.push_back(v);
  return e;
}

}  // namespace preprocess_test
