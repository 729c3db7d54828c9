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

// Non-dependent vector typedefs (GCC mishandles vector_size on dependent
// integer typedefs inside templates).
template <int W>
struct vector_types;
template <>
struct vector_types<4> {
  typedef float vf __attribute__((vector_size(16)));
  typedef std::int32_t vi __attribute__((vector_size(16)));
  typedef float vfu __attribute__((vector_size(16), aligned(4)));
  typedef std::int32_t viu __attribute__((vector_size(16), aligned(4)));
};
template <>
struct vector_types<8> {
  typedef float vf __attribute__((vector_size(32)));
  typedef std::int32_t vi __attribute__((vector_size(32)));
  typedef float vfu __attribute__((vector_size(32), aligned(4)));
  typedef std::int32_t viu __attribute__((vector_size(32), aligned(4)));
};
template <>
struct vector_types<16> {
  typedef float vf __attribute__((vector_size(64)));
  typedef std::int32_t vi __attribute__((vector_size(64)));
  typedef float vfu __attribute__((vector_size(64), aligned(4)));
  typedef std::int32_t viu __attribute__((vector_size(64), aligned(4)));
};

template <int W>
struct simd {
  static_assert(W == 4 || W == 8 || W == 16, "spectromine: simd width must be 4, 8 or 16 lanes");
  static constexpr int width = W;
  using vf = typename vector_types<W>::vf;
  using vi = typename vector_types<W>::vi;

  using vfu = typename vector_types<W>::vfu;  // unaligned access
  using viu = typename vector_types<W>::viu;
  // Vectors are never passed or returned by value (references only), so no
  // function here has a vector in its calling convention (-Wpsabi).
  [[gnu::always_inline]] static inline const vfu& at(const float* p) noexcept {
    return *reinterpret_cast<const vfu*>(p);
  }
  [[gnu::always_inline]] static inline vfu& at(float* p) noexcept {
    return *reinterpret_cast<vfu*>(p);
  }
  [[gnu::always_inline]] static inline const viu& iota() noexcept {
    alignas(64) static constexpr std::int32_t lanes[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                           8, 9, 10, 11, 12, 13, 14, 15};
    return *reinterpret_cast<const viu*>(lanes);
  }
  // Lane mask (all ones / zero) -> bit l set for lane l (GCC turns the loop
  // into a compare-mask move and an OR tree; no branches).
  [[gnu::always_inline]] static inline unsigned bits(const vi& m) noexcept {
#if defined(__AVX__)
    // vmovmskps on 8-lane halves (a vector cast reinterprets the bits; AVX
    // is in every target these kernels are compiled for when the baseline
    // has it).
    typedef float v8f __attribute__((vector_size(32)));
    if constexpr (W == 16) {
      const auto lo = __builtin_shufflevector(m, m, 0, 1, 2, 3, 4, 5, 6, 7);
      const auto hi = __builtin_shufflevector(m, m, 8, 9, 10, 11, 12, 13, 14, 15);
      return static_cast<unsigned>(__builtin_ia32_movmskps256((v8f)lo)) |
             (static_cast<unsigned>(__builtin_ia32_movmskps256((v8f)hi))
              << 8);
    } else if constexpr (W == 8) {
      return static_cast<unsigned>(__builtin_ia32_movmskps256((v8f)m));
    }
#endif
    unsigned b = 0;
    for (int l = 0; l < W; ++l) b |= (static_cast<unsigned>(m[l]) >> 31) << l;
    return b;
  }
  [[gnu::always_inline]] static inline bool any(const vi& m) noexcept { return bits(m) != 0; }
  // Bit l set where a[l] >= b[l] (ordered; NaN lanes clear). At W = 16 the
  // compare goes straight to a k-mask (vcmpps k, __mmask16): through a lane
  // mask vector, GCC materialized the mask (vpmovm2d) and bits() rebuilt it
  // with two vmovmskps, ~20% of the pruned kernel (benchmarks/results/voronoi.md).
  // The builtin (not the intrinsic, which GCC refuses to inline into a
  // function not compiled for AVX-512) is expanded only in the AVX-512 entry
  // point, where this is inlined.
  // (Arguments must be registers or aligned: pass loaded values, not at().)
  [[gnu::always_inline]] static inline unsigned ge_bits(const vf& a, const vf& b) noexcept {
#if defined(__x86_64__) && !defined(__clang__)
    if constexpr (W == 16)
      return static_cast<unsigned>(__builtin_ia32_cmpps512_mask(a, b, 13 /* _CMP_GE_OS */,
                                                                static_cast<unsigned short>(0xFFFF),
                                                                4 /* _MM_FROUND_CUR_DIRECTION */));
#endif
    return bits(a >= b);
  }
  // Pairwise (tree) horizontal sum: halves added log2(W) times.
  [[gnu::always_inline]] static inline float hsum(const vf& v) noexcept {
    if constexpr (W == 16) {
      const auto h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                     __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
      const auto q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
      const auto d = __builtin_shufflevector(q, q, 0, 1) + __builtin_shufflevector(q, q, 2, 3);
      return d[0] + d[1];
    } else if constexpr (W == 8) {
      const auto q = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
      const auto d = __builtin_shufflevector(q, q, 0, 1) + __builtin_shufflevector(q, q, 2, 3);
      return d[0] + d[1];
    } else {
      const auto d = __builtin_shufflevector(v, v, 0, 1) + __builtin_shufflevector(v, v, 2, 3);
      return d[0] + d[1];
    }
  }
  [[gnu::always_inline]] static inline float hmax(const vf& v) noexcept {
    float a[W];
    std::memcpy(a, &v, sizeof a);
    for (int s = W / 2; s > 0; s /= 2)
      for (int l = 0; l < s; ++l) a[l] = a[l] > a[l + s] ? a[l] : a[l + s];
    return a[0];
  }
};

}  // namespace spectromine::partition::detail
