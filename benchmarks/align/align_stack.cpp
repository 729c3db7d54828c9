// Times register_stack on an H x W x E .npy stack and prints one JSON object
// (seconds of registration alone, the shifts). Driven by
// benchmarks/peers/register_skimage.py.
//
//   bench_align_stack STACK.npy [--threads N] [--mode reference|chain]
//                     [--upsample U] [--filter gradient|none] [--window tukey|none]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "spectromine/align/register_stack.hpp"
#include "spectromine/io/npy.hpp"

using namespace spectromine;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s STACK.npy [--threads N] [--mode reference|chain] [--upsample U] "
                         "[--filter gradient|none] [--window tukey|none]\n", argv[0]);
    return 2;
  }
  align::stack_registration_options o;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--threads") o.registration.threads = std::atoi(value.c_str());
    else if (key == "--mode") o.mode = value == "chain" ? align::stack_reference::chain : align::stack_reference::reference;
    else if (key == "--upsample") o.registration.upsample = std::atoi(value.c_str());
    else if (key == "--filter") o.registration.filter = value == "none" ? align::frame_filter::none : align::frame_filter::gradient_magnitude;
    else if (key == "--window") o.registration.window = value == "none" ? align::window_kind::none : align::window_kind::tukey;
    else { std::fprintf(stderr, "unknown option %s\n", key.c_str()); return 2; }
  }
  try {
    const auto stack = io::read_npy_cube<float>(argv[1]);
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();  // process CPU time, all threads
    const auto r = align::register_stack(stack, o);
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"seconds\": %.6f, \"cpu_seconds\": %.6f, \"frames\": %lld, \"reference_band\": %lld, \"shifts\": [",
                seconds, cpu, static_cast<long long>(r.shifts.size()), static_cast<long long>(r.reference_band));
    for (std::size_t b = 0; b < r.shifts.size(); ++b)
      std::printf("%s[%.6f, %.6f]", b ? ", " : "", r.shifts[b].dy, r.shifts[b].dx);
    std::printf("]}\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
