// Fuzz the HDF5 cube reader with the guarantee the spectromine CLI gives a
// user's file: it is opened in a child process first (isolate_hdf5), since
// libhdf5 1.10 is not hardened against hostile files (fuzzing found SEGVs
// inside H5Dopen2) and a crash there must come back as a spectromine::error.
// One child tries every read of this input (fork costs ~15 ms under ASan,
// so one per read would cut the rate threefold); the reads then run here
// unguarded. A crash in this process is a finding: in our code, or in
// libhdf5 past what the child tried. The per-read isolation itself is
// covered by the io suite and the CLI tests.
#include "fuzz_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/detail/survive_in_child.hpp"
#include "spectromine/io/load.hpp"

namespace {

void read_all(const std::filesystem::path& p) {
  namespace io = spectromine::io;
  io::cube_source_options source;
  for (const auto axes : {io::axis_order::hwe, io::axis_order::ehw}) {
    source.axes = axes;
    try { (void)io::load_cube<float>(p, source); } catch (const spectromine::error&) {}
  }
  try { (void)io::load_energy("/energy", p, -1, "fuzz", source); } catch (const spectromine::error&) {}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = spectromine_fuzz::input_file(data, size, ".h5");
  try {
    spectromine::io::detail::survive_in_child(p, "reading", [&] { read_all(p); });
  } catch (const spectromine::error&) {
    return 0;  // libhdf5 crashed or hung in the child: the CLI reports an error here
  }
  read_all(p);
  return 0;
}
