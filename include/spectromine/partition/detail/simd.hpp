// spectromine/partition/detail/simd.hpp: portable fixed-width float vectors
// for the nearest-site kernels (private).
//
// The kernels are written once as templates over the lane count W using GCC /
// Clang vector extensions (plain +, *, comparisons, ?:), then instantiated in
// entry points compiled with __attribute__((target(...))) for AVX2+FMA (W = 8)
// and AVX-512 (W = 16); the always_inline helpers here are inlined into those
// entry points and compiled for their instruction set. Intrinsics cannot be
// used in such shared templates (GCC refuses to inline an AVX-512 intrinsic
// into a function not itself compiled for AVX-512), vector extensions can.
// The build never uses -march=native: the choice is made at run time.
#pragma once

#include <cstdint>
#include <cstring>

#if !defined(__GNUC__)
#error "spectromine/partition/detail/simd.hpp needs GCC or Clang vector extensions"
#endif

namespace spectromine::partition::detail {

// -Wpsabi: passing 64-byte vectors between always_inline helpers compiled
// for different targets "changes the ABI"; they are always inlined, so no
// call ever crosses that boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

// Non-dependent vector typedefs (GCC mishandles vector_size on dependent
// integer typedefs inside templates).
template <int W>
struct vector_types;
template <>
struct vector_types<4> {
  typedef float vf __attribute__((vector_size(16)));
  typedef std::int32_t vi __attribute__((vector_size(16)));
};
template <>
struct vector_types<8> {
  typedef float vf __attribute__((vector_size(32)));
  typedef std::int32_t vi __attribute__((vector_size(32)));
};
template <>
struct vector_types<16> {
  typedef float vf __attribute__((vector_size(64)));
  typedef std::int32_t vi __attribute__((vector_size(64)));
};

template <int W>
struct simd {
  static_assert(W == 4 || W == 8 || W == 16, "spectromine: simd width must be 4, 8 or 16 lanes");
  static constexpr int width = W;
  using vf = typename vector_types<W>::vf;
  using vi = typename vector_types<W>::vi;

  [[gnu::always_inline]] static inline vf load(const float* p) noexcept {
    vf v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static inline void store(float* p, vf v) noexcept {
    std::memcpy(p, &v, sizeof v);
  }
  [[gnu::always_inline]] static inline vi load_i(const std::int32_t* p) noexcept {
    vi v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static inline void store_i(std::int32_t* p, vi v) noexcept {
    std::memcpy(p, &v, sizeof v);
  }
  [[gnu::always_inline]] static inline vf splat(float x) noexcept { return vf{} + x; }
  [[gnu::always_inline]] static inline vi splat_i(std::int32_t x) noexcept { return vi{} + x; }
  [[gnu::always_inline]] static inline vi iota() noexcept {
    vi v;
    for (int l = 0; l < W; ++l) v[l] = l;
    return v;
  }
  // Lane mask (all ones / zero) -> true when any lane is set.
  [[gnu::always_inline]] static inline bool any(vi m) noexcept {
    std::int32_t acc = 0;
    for (int l = 0; l < W; ++l) acc |= m[l];
    return acc != 0;
  }
  // Pairwise (tree) horizontal sum: W/2 + W/4 + ... additions.
  [[gnu::always_inline]] static inline float hsum(vf v) noexcept {
    float a[W];
    std::memcpy(a, &v, sizeof a);
    for (int s = W / 2; s > 0; s /= 2)
      for (int l = 0; l < s; ++l) a[l] += a[l + s];
    return a[0];
  }
  [[gnu::always_inline]] static inline float hmax(vf v) noexcept {
    float a[W];
    std::memcpy(a, &v, sizeof a);
    for (int s = W / 2; s > 0; s /= 2)
      for (int l = 0; l < s; ++l) a[l] = a[l] > a[l + s] ? a[l] : a[l + s];
    return a[0];
  }
};

#pragma GCC diagnostic pop

}  // namespace spectromine::partition::detail
