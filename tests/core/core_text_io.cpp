#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "spectromine/io/text.hpp"

using namespace spectromine;
namespace fs = std::filesystem;

namespace {
fs::path write_temp(const std::string& name, const std::string& content) {
  auto dir = fs::temp_directory_path() / "spectromine_text_test";
  fs::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p) << content;
  return p;
}
}  // namespace

TEST_CASE("energy lists: read, round-trip, and every malformed case rejected") {
  auto p = write_temp("e.txt", "# energies\n7000\n7000.5\n\n7001.25\n");
  auto e = io::read_energy_list(p);
  REQUIRE(e.size() == 3);
  CHECK(e[2] == 7001.25);
  auto q = p.parent_path() / "e2.txt";
  io::write_energy_list(q, e);
  CHECK(io::read_energy_list(q) == e);

  CHECK_THROWS_AS(io::read_energy_list(write_temp("bad1.txt", "7000\nabc\n")), format_error);
  CHECK_THROWS_AS(io::read_energy_list(write_temp("bad2.txt", "7000\n6999\n")), format_error);
  CHECK_THROWS_AS(io::read_energy_list(write_temp("bad3.txt", "7000\n7000\n")), format_error);
  CHECK_THROWS_AS(io::read_energy_list(write_temp("bad4.txt", "# only comments\n")), format_error);
  CHECK_THROWS_AS(io::read_energy_list(write_temp("bad5.txt", "7000 1\n")), format_error);
  CHECK_THROWS_AS(io::read_energy_list(write_temp("bad6.txt", "7000\ninf\n")), format_error);
  CHECK_THROWS_AS(io::read_energy_list(p.parent_path() / "missing.txt"), io_error);
  try {
    io::read_energy_list(write_temp("bad7.txt", "7000\n7001\nxyz\n"));
  } catch (const format_error& err) {
    CHECK(std::string(err.what()).find("bad7.txt: line 3") != std::string::npos);
  }
}

TEST_CASE("reference spectra: two-column files from the bundled data") {
  auto s = io::read_reference_spectrum(fs::path(SPECTROMINE_TEST_DATA_DIR) /
                                       "references/Fe_K/fe2o3_rt1_xmu.dat");
  CHECK(s.name == "fe2o3_rt1_xmu");
  REQUIRE(s.energy.size() > 100);
  CHECK(s.energy.front() == doctest::Approx(6911.8277));
  CHECK(s.mu.front() == doctest::Approx(0.80926541));
  auto all = io::read_reference_folder(fs::path(SPECTROMINE_TEST_DATA_DIR) / "references/Fe_K");
  CHECK(all.size() == 41);
}

TEST_CASE("reference spectra: XDI column names pick energy and mu") {
  auto p = write_temp("x.xdi",
                      "# XDI/1.0\n# Column.1: energy eV\n# Column.2: i0\n# Column.3: mutrans\n"
                      "#----\n7000 100 0.5\n7001 101 0.7\n7002 99 0.9\n");
  auto s = io::read_reference_spectrum(p);
  CHECK(s.energy == std::vector<double>{7000, 7001, 7002});
  CHECK(s.mu == std::vector<double>{0.5, 0.7, 0.9});
}

TEST_CASE("reference spectra: malformed files are rejected naming the file") {
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r1.dat", "7000\n7001\n")), format_error);
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r2.dat", "7000 1\n7001 x\n")),
                  format_error);
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r3.dat", "7000 1\n7001 1 2\n")),
                  format_error);
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r4.dat", "7001 1\n7000 1\n")),
                  format_error);
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r5.dat", "# nothing\n")), format_error);
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r6.dat", "7000 1\n")), format_error);
  CHECK_THROWS_AS(io::read_reference_spectrum(write_temp("r7.dat", "7000 nan\n7001 1\n")),
                  format_error);
  CHECK_THROWS_AS(io::read_reference_folder(write_temp("file_not_folder", "x")), io_error);
}
