// Helpers shared by the io tests: a scratch folder per process, raw files,
// and a seeded test cube.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <system_error>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "spectromine/core/cube.hpp"
#include "spectromine/error.hpp"

namespace io_test {

namespace fs = std::filesystem;

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The message of the io_error f throws ("" if it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const spectromine::io_error& e) {
    return e.what();
  }
  return "";
}

// A scratch folder for this process, removed at exit.
inline fs::path scratch() {
  struct folder {
    fs::path path;
    folder() : path(fs::temp_directory_path() / ("spectromine_io_test_" + std::to_string(::getpid()))) {
      fs::remove_all(path);
      fs::create_directories(path);
    }
    ~folder() {
      std::error_code ec;
      if (!std::getenv("SPECTROMINE_KEEP_TEST_FILES")) fs::remove_all(path, ec);
    }
  };
  static const folder dir;
  return dir.path;
}

inline fs::path write_bytes(const std::string& name, const std::string& bytes) {
  auto p = scratch() / name;
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A hand-made .npy: version 1 or 2 header with the given dict text, then data.
inline std::string make_npy(const std::string& dict, const std::string& data, int version = 1) {
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(version);
  out += '\0';
  const std::size_t fixed = version == 1 ? 10 : 12;
  std::string d = dict;
  while ((fixed + d.size() + 1) % 64 != 0) d += ' ';
  d += '\n';
  for (std::size_t b = 0; b < (version == 1 ? 2u : 4u); ++b) out += static_cast<char>((d.size() >> (8 * b)) & 0xff);
  return out + d + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A seeded cube with a few NaNs, values of both signs.
inline spectromine::cube<float> test_cube(spectromine::index_t rows, spectromine::index_t cols,
                                          spectromine::index_t bands, unsigned seed = 7,
                                          bool with_nan = true) {
  spectromine::cube<float> c(spectromine::image_shape{rows, cols}, bands);
  std::mt19937 rng(seed);
  // mt19937's output is fixed by the standard (distributions are not).
  for (auto& v : c.storage()) v = static_cast<float>(static_cast<int>(rng() % 200001) - 100000) / 1000.0f;
  if (with_nan && c.storage().size() > 10) {
    c.storage()[3] = std::numeric_limits<float>::quiet_NaN();
    c.storage()[c.storage().size() / 2] = std::numeric_limits<float>::infinity();
  }
  return c;
}

}  // namespace io_test
