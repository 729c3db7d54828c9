// Fuzz the text readers: reference spectra (two columns / XDI), energy
// lists, spectra CSV tables and SITES.csv.
#include "fuzz_common.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/csv.hpp"
#include "spectromine/io/text.hpp"
#include "spectromine/partition/sites.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace io = spectromine::io;
  const auto p = spectromine_fuzz::input_file(data, size, ".dat");
  try { (void)io::read_reference_spectrum(p); } catch (const spectromine::error&) {}
  try { (void)io::read_energy_list(p); } catch (const spectromine::error&) {}
  try { (void)io::read_spectra_csv(p); } catch (const spectromine::error&) {}
  try { (void)spectromine::partition::read_sites_csv(p); } catch (const spectromine::error&) {}
  return 0;
}
