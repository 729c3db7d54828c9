// Label images for the repair benchmarks: ~n_labels cells on a jittered grid
// with wavy boundaries (real phase maps are blobby), plus salt-and-pepper
// pixels with random labels (the noise-born classes a repair removes).
#pragma once

#include <cmath>
#include <cstdint>

#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"

namespace bench {

inline spectromine::label_image make_scene(spectromine::index_t rows, spectromine::index_t cols,
                                           int n_labels, double noise, std::uint64_t seed,
                                           int threads = 0) {
  using namespace spectromine;
  const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n_labels))));
  const double cell_r = static_cast<double>(rows) / side, cell_c = static_cast<double>(cols) / side;
  label_image img({rows, cols});
  parallel_for(rows, threads, 64, [&](index_t r0, index_t r1, int) {
    for (index_t r = r0; r < r1; ++r) {
      // A per-row stream keeps the scene independent of the thread count.
      std::uint64_t state = derive_seed(seed, static_cast<std::uint64_t>(r));
      for (index_t c = 0; c < cols; ++c) {
        const double wr = r + 0.3 * cell_r * std::sin(c * 0.05 + r * 0.002);
        const double wc = c + 0.3 * cell_c * std::sin(r * 0.04 + c * 0.003);
        int gr = static_cast<int>(std::floor(wr / cell_r));
        int gc = static_cast<int>(std::floor(wc / cell_c));
        gr = gr < 0 ? 0 : (gr >= side ? side - 1 : gr);
        gc = gc < 0 ? 0 : (gc >= side ? side - 1 : gc);
        label_t l = static_cast<label_t>((gr * side + gc) % n_labels + 1);
        state = derive_seed(state, 1);
        const double u = static_cast<double>(state >> 11) * 0x1.0p-53;
        if (u < noise) l = static_cast<label_t>(1 + (state & 0x7ff) % static_cast<unsigned>(n_labels));
        img(r, c) = l;
      }
    }
  });
  return img;
}

}  // namespace bench
