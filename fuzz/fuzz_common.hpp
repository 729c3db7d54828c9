// Shared by the libFuzzer targets: the readers take paths, so each input is
// written to a per-process file in /dev/shm (RAM) and read back from there.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace spectromine_fuzz {

inline std::filesystem::path input_file(const uint8_t* data, size_t size, const char* extension) {
  const std::filesystem::path dir =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  std::filesystem::path p = dir / ("spectromine_fuzz_" + std::to_string(::getpid()) + extension);
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) std::abort();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return p;
}

}  // namespace spectromine_fuzz
