// spectromine/core/random.hpp: where every random number comes from.
//
// All randomness is seeded explicitly; nothing reads the clock. Independent
// streams (per tile, per thread, per trial block) are derived from one user
// seed with SplitMix64, so results do not depend on how work is scheduled.
// Distributions come from Boost.Random, whose algorithms are fixed (unlike
// std::normal_distribution, which differs between standard libraries), so a
// seed gives the same scene on every platform.
#pragma once

#include <cstdint>
#include <random>

namespace spectromine {

using random_engine = std::mt19937_64;

// SplitMix64 finalizer: a well-mixed 64-bit value from (seed, stream).
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream = 0) noexcept {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline random_engine make_engine(std::uint64_t seed, std::uint64_t stream = 0) {
  return random_engine(derive_seed(seed, stream));
}

}  // namespace spectromine
