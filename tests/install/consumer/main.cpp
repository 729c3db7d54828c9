// A downstream project: uses the installed headers through find_package.
#include <spectromine/spectromine.hpp>

#include <cstdio>
#include <vector>

int main() {
  std::vector<float> data(2 * 3 * 4, 1.0f);
  spectromine::cube_view<const float> cube(data.data(), {2, 3}, 4);
  if (cube.pixel_count() != 6 || cube.spectrum(5).size() != 4) return 1;
  std::printf("spectromine %s: %td pixels\n", spectromine::version_string, cube.pixel_count());
  return 0;
}
