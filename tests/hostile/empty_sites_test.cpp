// An empty site set is rejected everywhere a site set enters the library
// (issue #12, docs/reliability.md): site_set::validate, the index and the
// partitioner built on it, the writer, and the SITES.csv reader (a file with
// only an energy column, or with an unnamed column). Each ends in a
// spectromine error naming the component (or the file) and the parameter;
// no partial file is left by the writer.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "spectromine/error.hpp"
#include "spectromine/partition/nearest_site.hpp"
#include "spectromine/partition/sites.hpp"

namespace sm = spectromine;
namespace sp = spectromine::partition;
namespace fs = std::filesystem;

namespace {

sp::site_set grid_only() {
  sp::site_set s;
  for (int i = 0; i < 10; ++i) s.energy.push_back(7100.0 + i);
  return s;
}

// The message of the spectromine::error thrown by f ("" if none was thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sm::error& e) {
    return e.what();
  }
  return "";
}

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("spectromine_hostile_" + name);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("site_set::validate rejects an empty set, naming the component and the count") {
  for (const auto& s : {sp::site_set{}, grid_only()}) {
    CHECK_THROWS_AS(s.validate("my_component"), sm::invalid_argument);
    try {
      s.validate("my_component");
    } catch (const sm::invalid_argument& e) {
      CHECK(e.component() == "my_component");
      CHECK(e.parameter() == "site count");
      CHECK(std::string(e.what()).find("must be > 0") != std::string::npos);
    }
  }
  // The same grid with one real site passes: the rejection is about the count.
  auto one = grid_only();
  one.names.push_back("a");
  one.spectra.push_back({0, 0, 0, 0.2, 0.6, 1, 1.1, 1, 1, 1});
  CHECK_NOTHROW(one.validate());
}

TEST_CASE("an index, a partitioner or a writer over an empty site set is refused") {
  const auto empty = grid_only();
  CHECK(error_of([&] { sp::nearest_site_index index(empty); }).find("nearest_site: site count") !=
        std::string::npos);
  CHECK(error_of([&] { sp::nearest_site_partitioner p(empty); }).find("site count") !=
        std::string::npos);
  const auto dir = scratch_dir("empty_sites_write");
  const auto path = dir / "SITES.csv";
  CHECK(error_of([&] { sp::write_sites_csv(path, empty); }).find("write_sites_csv: site count") !=
        std::string::npos);
  CHECK(fs::is_empty(dir));  // no partial (or temporary) file
  fs::remove_all(dir);
}

TEST_CASE("read_sites_csv rejects a SITES.csv without a site column, naming the file") {
  const auto dir = scratch_dir("empty_sites_read");
  struct hostile {
    const char* name;
    const char* text;
  };
  const hostile files[] = {
      {"energy_only.csv", "energy\n7100\n7101\n7102\n"},
      {"energy_only_trailing_comma.csv", "energy,\n7100,0\n7101,1\n7102,0.5\n"},
      {"header_only.csv", "energy,a,b\n"},
      {"empty.csv", ""},
  };
  for (const auto& h : files) {
    CAPTURE(h.name);
    const auto path = dir / h.name;
    write_text(path, h.text);
    CHECK_THROWS_AS(sp::read_sites_csv(path), sm::format_error);
    const auto message = error_of([&] { (void)sp::read_sites_csv(path); });
    CHECK(message.find(h.name) != std::string::npos);
  }
  // Control: the same reader accepts a valid one-site file.
  write_text(dir / "one.csv", "energy,a\n7100,0\n7101,1\n7102,0.5\n");
  CHECK(sp::read_sites_csv(dir / "one.csv").size() == 1);
  fs::remove_all(dir);
}
