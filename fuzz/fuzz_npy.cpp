// Fuzz the .npy readers: header parser, cube/label/mask readers, row bands.
// Only spectromine::error may escape a reader; anything else is a finding.
#include "fuzz_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace io = spectromine::io;
  const auto p = spectromine_fuzz::input_file(data, size, ".npy");
  try { (void)io::read_npy_header(p); } catch (const spectromine::error&) {}
  try { (void)io::read_npy_cube<float>(p); } catch (const spectromine::error&) {}
  try { (void)io::read_npy_cube<double>(p); } catch (const spectromine::error&) {}
  try { (void)io::read_npy_cube_rows<float>(p, 1, 1); } catch (const spectromine::error&) {}
  try { (void)io::read_npy_labels(p); } catch (const spectromine::error&) {}
  try { (void)io::read_npy_mask(p); } catch (const spectromine::error&) {}
  return 0;
}
