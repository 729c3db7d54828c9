// Fuzz the multi-page TIFF cube reader (and the label reader).
#include "fuzz_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/tiff.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace io = spectromine::io;
  const auto p = spectromine_fuzz::input_file(data, size, ".tif");
  try { (void)io::read_tiff_cube<float>(p); } catch (const spectromine::error&) {}
  try { (void)io::read_tiff_cube_rows<float>(p, 1, 1); } catch (const spectromine::error&) {}
  try { (void)io::read_tiff_labels(p); } catch (const spectromine::error&) {}
  return 0;
}
