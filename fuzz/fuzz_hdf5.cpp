// Fuzz the HDF5 cube reader. Note: findings inside libhdf5 itself (1.10 is
// not hardened against hostile files) are reported upstream, not fixed here.
#include "fuzz_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/hdf5.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace io = spectromine::io;
  const auto p = spectromine_fuzz::input_file(data, size, ".h5");
  try { (void)io::read_hdf5_cube<float>(p, "/data", io::axis_order::hwe); } catch (const spectromine::error&) {}
  try { (void)io::read_hdf5_cube<float>(p, "/data", io::axis_order::ehw); } catch (const spectromine::error&) {}
  try { (void)io::read_hdf5_vector(p, "/energy"); } catch (const spectromine::error&) {}
  return 0;
}
