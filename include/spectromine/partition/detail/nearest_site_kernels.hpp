// spectromine/partition/detail/nearest_site_kernels.hpp: the float32 kernels
// behind partition::nearest_site_index (private; see nearest_site.hpp for the
// contract and the error analysis).
//
// Two strategies label a run of pixels (all of one image row, or part of it):
//   - brute force: a GEMM-like micro-kernel (MR pixels x NR site vectors,
//     reduction over energies) fused with a running top-2 per lane, so the
//     pixel x site score matrix never leaves the registers;
//   - pruned: project the centred pixel on the top principal directions of
//     the sites, bound every site's score from above by
//         a_s . b + rho_s rho_x   (Cauchy-Schwarz on the residuals)
//     and evaluate exactly (float) only the sites whose bound reaches the
//     exact score of the best approximate site. Sites live near a ~3-D
//     manifold (Ito 2024), so most sites are never touched.
// Both return, per pixel, either a site whose float score beats every other
// site by more than twice the rigorous float error bound, or a short list of
// near-tied candidates (or "fall back") that the caller settles in double
// precision against the original pixel values.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/partition/detail/simd.hpp"

namespace spectromine::partition::detail {

// Site data packed for one vector width W (built once by nearest_site_index).
struct packed_sites {
  int width = 0;                // W: lanes of the kernel this packing is for
  index_t sites = 0;            // S
  index_t bands = 0;            // E
  index_t bands_padded = 0;     // E rounded up to 16 (zero padded)
  index_t panel_count = 0;      // ceil(S / W)
  const float* rows = nullptr;    // S x bands_padded, unit standardized sites
  const float* panels = nullptr;  // panel_count x (E x W): site vectors transposed
  index_t components = 0;         // k (0 = no pruning data)
  index_t components_padded = 0;  // k rounded up to W
  const float* basis_t = nullptr;     // bands_padded x components_padded
  const float* basis = nullptr;       // components x bands_padded
  const float* coef_panels = nullptr; // panel_count x (k x W): a_s = V^T z_s
  const float* rho = nullptr;         // panel_count * W: ||z_s - V a_s||, rounded up (0 pad)
  float delta_factor = 0;   // |float score - exact score| <= delta_factor * ||x||_2
  // Pruning margin, per pixel (nearest_site.hpp, "the pruning margin"):
  //   exact z_s . x <= float bound_s + m_xc |x_c| + m_b |b| + m_r rho_x + m_x |x|.
  float margin_xc = 0, margin_b = 0, margin_r = 0, margin_x = 0;
};

// Per-thread scratch and the kernel's report on what is left to the caller.
struct kernel_scratch {
  std::vector<float> x;         // MR x bands_padded pixel copies
  std::vector<float> xc;        // centred pixel
  std::vector<float> b;         // projection coefficients
  std::vector<float> ub;        // per-site upper bounds of one pixel
  std::vector<float> state;     // brute force: per-lane top-2 state
  // Fixed-size (sized once per thread by nearest_site_index, reused for
  // every pixel: no allocation on the hot path).
  std::vector<std::int32_t> ids;  // candidate sites of one pixel (panel_count * W)
  std::vector<std::int32_t> cand;     // evaluated sites of one pixel (sites)
  std::vector<float> cand_score;      // their float scores
  // Pixels (indices in the run) whose float pass was inconclusive:
  std::vector<index_t> fallback;         // settle against every site in double
  std::vector<index_t> recheck;          // settle among recheck_sites[offsets[i]..offsets[i+1])
  std::vector<index_t> recheck_offsets;  // size recheck.size() + 1 once non-empty
  std::vector<std::int32_t> recheck_sites;
  // Counters (statistics for the report and the benchmarks).
  std::int64_t pixels = 0;
  std::int64_t exact_evaluations = 0;

  void reset_run() {
    fallback.clear();
    recheck.clear();
    recheck_offsets.assign(1, 0);
    recheck_sites.clear();
  }
};

// Broadcasts are written `x - vf{}`: x - 0 == x for every x (even -0), so
// GCC folds it to one vbroadcastss; `vf{} + x` needs a real add (0 + -0 is
// +0), which cost ~9% of the pruned kernel in the projection loop.

// A pixel the float path cannot handle reliably: non-finite values, float
// overflow/underflow of the norm, or constant after conversion to float.
template <int W>
[[gnu::always_inline]] inline bool load_pixel(const float* src, index_t bands, index_t padded,
                                              float* dst, float& sum, float& sumsq) noexcept {
  using V = simd<W>;
  using vf = typename V::vf;
  vf s{}, q{}, lo = ((src[0]) - vf{}), hi = lo;
  index_t i = 0;
  for (; i + W <= bands; i += W) {
    const vf v = V::at(src + i);
    V::at(dst + i) = v;
    s += v;
    q += v * v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  float ssum = V::hsum(s), ssq = V::hsum(q), mn = V::hmax(-lo), mx = V::hmax(hi);
  mn = -mn;
  for (; i < bands; ++i) {
    const float v = src[i];
    dst[i] = v;
    ssum += v;
    ssq += v * v;
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  for (; i < padded; ++i) dst[i] = 0.0f;
  sum = ssum;
  sumsq = ssq;
  // NaN fails every comparison below; overflow makes ssq infinite; tiny
  // values make the relative error analysis invalid (subnormals).
  return std::isfinite(ssum) && std::isfinite(ssq) && ssq > 1e-30f && mx > mn;
}

template <int W>
[[gnu::always_inline]] inline float dot_padded(const float* a, const float* b,
                                               index_t padded) noexcept {
  using V = simd<W>;
  using vf = typename V::vf;
  vf acc0{}, acc1{};
  index_t i = 0;
  for (; i + 2 * W <= padded; i += 2 * W) {
    acc0 += V::at(a + i) * V::at(b + i);
    acc1 += V::at(a + i + W) * V::at(b + i + W);
  }
  for (; i < padded; i += W) acc0 += V::at(a + i) * V::at(b + i);
  return V::hsum(acc0 + acc1);
}

template <int W>
[[gnu::always_inline]] inline void dot4(const float* rows, const std::int32_t* ids, const float* x,
                                        index_t padded, float* out) noexcept {
  using V = simd<W>;
  using vf = typename V::vf;
  const float* r0 = rows + ids[0] * padded;
  const float* r1 = rows + ids[1] * padded;
  const float* r2 = rows + ids[2] * padded;
  const float* r3 = rows + ids[3] * padded;
  // The same two-accumulator order as dot_padded, so every score carries the
  // same rounding chain (the delta of nearest_site.hpp is computed for it:
  // one accumulator per row would make the chain twice as long).
  vf a0{}, a1{}, a2{}, a3{}, c0{}, c1{}, c2{}, c3{};
  index_t i = 0;
  for (; i + 2 * W <= padded; i += 2 * W) {
    const vf xv = V::at(x + i), xw = V::at(x + i + W);
    a0 += V::at(r0 + i) * xv;
    a1 += V::at(r1 + i) * xv;
    a2 += V::at(r2 + i) * xv;
    a3 += V::at(r3 + i) * xv;
    c0 += V::at(r0 + i + W) * xw;
    c1 += V::at(r1 + i + W) * xw;
    c2 += V::at(r2 + i + W) * xw;
    c3 += V::at(r3 + i + W) * xw;
  }
  for (; i < padded; i += W) {
    const vf xv = V::at(x + i);
    a0 += V::at(r0 + i) * xv;
    a1 += V::at(r1 + i) * xv;
    a2 += V::at(r2 + i) * xv;
    a3 += V::at(r3 + i) * xv;
  }
  out[0] = V::hsum(a0 + c0);
  out[1] = V::hsum(a1 + c1);
  out[2] = V::hsum(a2 + c2);
  out[3] = V::hsum(a3 + c3);
}

// Settles one pixel from its n evaluated candidates (sc.cand / sc.cand_score):
// a unique winner when every other candidate is more than 2 delta below the
// best, else a recheck list.
inline void settle(kernel_scratch& sc, index_t n, index_t pixel, float delta, label_t* out) {
  const std::int32_t* cand = sc.cand.data();
  const float* score = sc.cand_score.data();
  float best = -std::numeric_limits<float>::infinity();
  std::int32_t best_site = -1;
  for (index_t c = 0; c < n; ++c) {
    const float t = score[c];
    if (t > best || (t == best && cand[c] < best_site)) {
      best = t;
      best_site = cand[c];
    }
  }
  const float floor = best - 2.0f * delta;
  index_t near = 0;
  for (index_t c = 0; c < n; ++c) near += score[c] >= floor;
  if (near <= 1) {
    out[pixel] = best_site + 1;
    return;
  }
  // Rare (near-ties): the only allocation left in the kernels.
  sc.recheck.push_back(pixel);
  for (index_t c = 0; c < n; ++c)
    if (score[c] >= floor) sc.recheck_sites.push_back(cand[c]);
  sc.recheck_offsets.push_back(static_cast<index_t>(sc.recheck_sites.size()));
  out[pixel] = -1;
}

// Every site, float, exactly as the brute-force kernel would (used when the
// fused top-2 of the brute-force kernel saw a near tie). Returns the count.
template <int W>
[[gnu::always_inline]] inline index_t all_candidates(const packed_sites& ps, const float* x,
                                                     kernel_scratch& sc) {
  for (index_t s = 0; s < ps.sites; ++s) {
    sc.cand[static_cast<std::size_t>(s)] = static_cast<std::int32_t>(s);
    sc.cand_score[static_cast<std::size_t>(s)] =
        dot_padded<W>(ps.rows + s * ps.bands_padded, x, ps.bands_padded);
  }
  sc.exact_evaluations += ps.sites;
  return ps.sites;
}

// ---------------------------------------------------------------- pruned
// Accumulators of the fixed-k projection b = V^T x_c: interleaved over
// energies, so each product goes through at most E / 8 + 10 roundings (the
// margin in nearest_site.hpp counts exactly this chain) and the FMA latency
// chain is 8x shorter than with one accumulator.
inline constexpr int projection_accumulators = 8;

// K > 0: the component count is a compile-time constant (the projection
// coefficients then stay in registers across the whole site loop); K = 0:
// any count, read from ps.
template <int W, int K>
[[gnu::always_inline]] inline void label_run_pruned(const packed_sites& ps, const float* first,
                                                    index_t stride, index_t count,
                                                    const std::uint8_t* mask, label_t* out,
                                                    kernel_scratch& sc) {
  using V = simd<W>;
  using vf = typename V::vf;
  using vi = typename V::vi;
  const index_t E = ps.bands, Ep = ps.bands_padded, k = K > 0 ? K : ps.components,
                kp = ps.components_padded, S = ps.sites, panels = ps.panel_count;
  float* x = sc.x.data();
  float* xc = sc.xc.data();
  float* b = sc.b.data();
  float* ub = sc.ub.data();
  std::int32_t* ids = sc.ids.data();
  std::int32_t* cand = sc.cand.data();
  float* cand_score = sc.cand_score.data();
  for (index_t p = 0; p < count; ++p) {
    if (mask && !mask[p]) {
      out[p] = labels::unlabeled;
      continue;
    }
    float sum = 0, sumsq = 0;
    const float* src = first + p * stride;
    if (!load_pixel<W>(src, E, Ep, x, sum, sumsq)) {
      sc.fallback.push_back(p);
      out[p] = -1;
      continue;
    }
    if (p + 1 < count) {  // the next pixel's first lines (the hardware prefetcher does the rest)
      __builtin_prefetch(src + stride);
      __builtin_prefetch(src + stride + 16);
    }
    ++sc.pixels;
    const float norm = std::sqrt(sumsq);
    const float delta = ps.delta_factor * norm;
    const float mean = sum / static_cast<float>(E);
    // Centre (the sites are centred, so only the centred pixel's residual
    // outside the principal subspace can raise a score); |x_c|^2 on the way
    // (the margin is proportional to it, not to |x|).
    float xc_norm;
    {
      const vf m = ((mean) - vf{});
      vf q{};
      index_t i = 0;
      for (; i + W <= E; i += W) {
        const vf v = V::at(x + i) - m;
        V::at(xc + i) = v;
        q += v * v;
      }
      float qs = V::hsum(q);
      for (; i < E; ++i) {
        xc[i] = x[i] - mean;
        qs += xc[i] * xc[i];
      }
      for (; i < Ep; ++i) xc[i] = 0.0f;
      xc_norm = std::sqrt(qs) * 1.0001f;  // an upper bound (relative error << 1e-4)
    }
    // b = V^T xc, vectorized over components (register accumulators when
    // the count is a compile-time constant: no store-to-load chain).
    if constexpr (K > 0) {
      constexpr int KV = (K + W - 1) / W;
      constexpr int U = projection_accumulators;
      vf acc[U][KV];
      _Pragma("GCC unroll 8") for (int u = 0; u < U; ++u)
        _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) acc[u][v] = vf{};
      index_t i = 0;
      for (; i + U <= E; i += U) {
        _Pragma("GCC unroll 8") for (int u = 0; u < U; ++u) {
          const vf xi = xc[i + u] - vf{};
          const float* row = ps.basis_t + (i + u) * kp;
          _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) acc[u][v] += xi * V::at(row + v * W);
        }
      }
      for (; i < E; ++i) {
        const vf xi = xc[i] - vf{};
        const float* row = ps.basis_t + i * kp;
        _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) acc[0][v] += xi * V::at(row + v * W);
      }
      _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v)
        V::at(b + v * W) = ((acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v])) +
                           ((acc[4][v] + acc[5][v]) + (acc[6][v] + acc[7][v]));
    } else {
      for (index_t j = 0; j < kp; j += W) V::at(b + j) = vf{};
      for (index_t i = 0; i < E; ++i) {
        const vf xi = xc[i] - vf{};
        const float* row = ps.basis_t + i * kp;
        for (index_t j = 0; j < kp; j += W) V::at(b + j) = V::at(b + j) + xi * V::at(row + j);
      }
    }
    float b_norm;
    {
      vf q{};
      for (index_t j = 0; j < kp; j += W) q += V::at(b + j) * V::at(b + j);
      b_norm = std::sqrt(V::hsum(q)) * 1.0001f;
    }
    // rho_x = ||xc - V b||, vectorized over energies.
    float rho_x;
    {
      vf q{};
      for (index_t i = 0; i < Ep; i += W) {
        vf r = V::at(xc + i);
        for (index_t j = 0; j < k; ++j) r -= ((b[j]) - vf{}) * V::at(ps.basis + j * Ep + i);
        q += r * r;
      }
      rho_x = std::sqrt(V::hsum(q));
    }
    const float margin =
        ps.margin_xc * xc_norm + ps.margin_b * b_norm + ps.margin_r * rho_x + ps.margin_x * norm;
    // Pass 1: upper bounds of every site; seed = best approximate score.
    const vf vrho = ((rho_x) - vf{});
    vf best_approx = ((-std::numeric_limits<float>::infinity() - vf{}));
    vi best_idx = (vi{} + (0));
    vi idx = V::iota();
    const vi step = (vi{} + (W));
    auto pass1 = [&](auto&& approx) {
      for (index_t q = 0; q < panels; ++q) {
        vf acc;
        approx(ps.coef_panels + q * k * W, acc);
        V::at(ub + q * W) = acc + V::at(ps.rho + q * W) * vrho;
        const vi gt = acc > best_approx;
        best_approx = gt ? acc : best_approx;
        best_idx = gt ? idx : best_idx;
        idx += step;
      }
    };
    if constexpr (K > 0) {
      vf bj[K];
      _Pragma("GCC unroll 32") for (int j = 0; j < K; ++j) bj[j] = b[j] - vf{};
      pass1([&](const float* cp, vf& out) {
        vf acc0{}, acc1{};
        _Pragma("GCC unroll 32") for (int j = 0; j + 1 < K; j += 2) {
          acc0 += bj[j] * V::at(cp + j * W);
          acc1 += bj[j + 1] * V::at(cp + (j + 1) * W);
        }
        if constexpr (K % 2) acc0 += bj[K - 1] * V::at(cp + (K - 1) * W);
        out = acc0 + acc1;
      });
    } else {
      pass1([&](const float* cp, vf& out) {
        vf acc{};
        for (index_t j = 0; j < k; ++j) acc += ((b[j]) - vf{}) * V::at(cp + j * W);
        out = acc;
      });
    }
    std::int32_t seed = 0;
    {
      float bv = -std::numeric_limits<float>::infinity();
      for (int l = 0; l < W; ++l)
        if (best_idx[l] < S && best_approx[l] > bv) {
          bv = best_approx[l];
          seed = best_idx[l];
        }
    }
    const float t_seed = dot_padded<W>(ps.rows + seed * Ep, x, Ep);
    cand[0] = seed;
    cand_score[0] = t_seed;
    // Pass 2: exact float scores only where the bound can reach the seed.
    // Site s cannot win when ub_s + margin < t_seed - delta (its exact score
    // is below the seed's); see nearest_site.hpp for the error analysis.
    // Padding lanes have bound 0 * rho_x + 0 = 0 and are dropped by s < S.
    const vf thr = ((t_seed - delta - margin) - vf{});
    index_t found = 0;
    for (index_t q = 0; q < panels; ++q) {
      const vf u = V::at(ub + q * W);  // unaligned load into a register first
      unsigned hit = V::ge_bits(u, thr);
      while (hit) {
        const auto s = static_cast<std::int32_t>(q * W + __builtin_ctz(hit));
        hit &= hit - 1;
        ids[found] = s;
        found += (s < S) & (s != seed);  // branch-free append
      }
    }
    for (index_t c = 0; c < found; ++c) __builtin_prefetch(ps.rows + ids[c] * Ep);
    // Exact scores, four rows at a time (independent FMA chains).
    index_t n = 1, c = 0;
    for (; c + 4 <= found; c += 4) {
      dot4<W>(ps.rows, ids + c, x, Ep, cand_score + n);
      for (int u = 0; u < 4; ++u) cand[n + u] = ids[c + u];
      n += 4;
    }
    for (; c < found; ++c, ++n) {
      cand[n] = ids[c];
      cand_score[n] = dot_padded<W>(ps.rows + ids[c] * Ep, x, Ep);
    }
    sc.exact_evaluations += static_cast<std::int64_t>(n);
    settle(sc, n, p, delta, out);
  }
}

// ----------------------------------------------------------- brute force
inline constexpr index_t brute_block = 32;

// MR pixels x NR vectors of W sites per register tile.
template <int W, int MR, int NR>
[[gnu::always_inline]] inline void brute_tile(const packed_sites& ps, const float* xs,
                                              index_t q0, float* state) {
  using V = simd<W>;
  using vf = typename V::vf;
  using vi = typename V::vi;
  const index_t E = ps.bands, Ep = ps.bands_padded;
  // Energies in blocks of brute_block: a fresh register accumulator per
  // block, added to the running sum after it. Each product then goes through
  // at most brute_block + E / brute_block + 1 roundings instead of E, which
  // tightens the error bound (fewer near-ties to settle in double).
  vf total[MR][NR];
  _Pragma("GCC unroll 16") for (int p = 0; p < MR; ++p)
    _Pragma("GCC unroll 16") for (int v = 0; v < NR; ++v) total[p][v] = vf{};
  const float* pan = ps.panels + q0 * E * W;
  for (index_t e0 = 0; e0 < E; e0 += brute_block) {
    const index_t e1 = std::min<index_t>(E, e0 + brute_block);
    vf acc[MR][NR];
    _Pragma("GCC unroll 16") for (int p = 0; p < MR; ++p)
      _Pragma("GCC unroll 16") for (int v = 0; v < NR; ++v) acc[p][v] = vf{};
    for (index_t e = e0; e < e1; ++e) {
      vf sv[NR];
      _Pragma("GCC unroll 16") for (int v = 0; v < NR; ++v) sv[v] = V::at(pan + (v * E + e) * W);
      _Pragma("GCC unroll 16") for (int p = 0; p < MR; ++p) {
        const vf xe = ((xs[p * Ep + e]) - vf{});
        _Pragma("GCC unroll 16") for (int v = 0; v < NR; ++v) acc[p][v] += xe * sv[v];
      }
    }
    _Pragma("GCC unroll 16") for (int p = 0; p < MR; ++p)
      _Pragma("GCC unroll 16") for (int v = 0; v < NR; ++v) total[p][v] += acc[p][v];
  }
  auto& acc = total;
  // Fused top-2 per lane: state per pixel = best1[W], best2[W], idx1[W].
  const vi S = (vi{} + (static_cast<std::int32_t>(ps.sites)));
  _Pragma("GCC unroll 16") for (int v = 0; v < NR; ++v) {
    const vi sid = (vi{} + (static_cast<std::int32_t>((q0 + v) * W))) + V::iota();
    const vi valid = sid < S;
    _Pragma("GCC unroll 16") for (int p = 0; p < MR; ++p) {
      float* st = state + p * 3 * W;
      const vf b1 = V::at(st), b2 = V::at(st + W);
      vi i1;
      std::memcpy(&i1, st + 2 * W, sizeof i1);
      const vf t = acc[p][v];
      const vf lo = t < b1 ? t : b1;
      const vf nb2 = (valid & (lo > b2)) ? lo : b2;
      const vi gt = valid & (t > b1);
      const vf nb1 = gt ? t : b1;
      const vi ni1 = gt ? sid : i1;
      V::at(st) = nb1;
      V::at(st + W) = nb2;
      std::memcpy(st + 2 * W, &ni1, sizeof ni1);
    }
  }
}

template <int W, int MR, int NR>
[[gnu::always_inline]] inline void label_run_brute(const packed_sites& ps, const float* first,
                                                   index_t stride, index_t count,
                                                   const std::uint8_t* mask, label_t* out,
                                                   kernel_scratch& sc) {
  const index_t E = ps.bands, Ep = ps.bands_padded, panels = ps.panel_count;
  float* state = sc.state.data();
  index_t p = 0;
  while (p < count) {
    // Gather up to MR valid pixels.
    index_t ids[MR];
    float norms[MR];
    int m = 0;
    for (; p < count && m < MR; ++p) {
      if (mask && !mask[p]) {
        out[p] = labels::unlabeled;
        continue;
      }
      float sum = 0, sumsq = 0;
      if (!load_pixel<W>(first + p * stride, E, Ep, sc.x.data() + m * Ep, sum, sumsq)) {
        sc.fallback.push_back(p);
        out[p] = -1;
        continue;
      }
      ids[m] = p;
      norms[m] = std::sqrt(sumsq);
      ++m;
    }
    if (m == 0) continue;
    for (int i = m; i < MR; ++i)  // idle rows compute on a copy of row 0
      std::copy_n(sc.x.data(), Ep, sc.x.data() + i * Ep);
    for (int i = 0; i < MR; ++i) {
      float* st = state + i * 3 * W;
      for (int l = 0; l < W; ++l) {
        st[l] = -std::numeric_limits<float>::infinity();
        st[W + l] = -std::numeric_limits<float>::infinity();
        const std::int32_t zero = 0;
        std::memcpy(st + 2 * W + l, &zero, sizeof zero);
      }
    }
    index_t q = 0;
    for (; q + NR <= panels; q += NR) brute_tile<W, MR, NR>(ps, sc.x.data(), q, state);
    for (; q < panels; ++q) brute_tile<W, MR, 1>(ps, sc.x.data(), q, state);
    for (int i = 0; i < m; ++i) {
      ++sc.pixels;
      const float* st = state + i * 3 * W;
      float best = -std::numeric_limits<float>::infinity(), second = best;
      std::int32_t best_site = 0;
      int best_lane = -1;
      for (int l = 0; l < W; ++l) {
        std::int32_t id;
        std::memcpy(&id, st + 2 * W + l, sizeof id);
        if (st[l] > best || (st[l] == best && id < best_site)) {
          best = st[l];
          best_site = id;
          best_lane = l;
        }
      }
      for (int l = 0; l < W; ++l) {
        second = std::max(second, st[W + l]);
        if (l != best_lane) second = std::max(second, st[l]);
      }
      sc.exact_evaluations += ps.sites;
      const float delta = ps.delta_factor * norms[i];
      if (second < best - 2.0f * delta) {
        out[ids[i]] = best_site + 1;
      } else {
        const index_t n = all_candidates<W>(ps, sc.x.data() + i * Ep, sc);
        settle(sc, n, ids[i], delta, out);
      }
    }
  }
}

// ------------------------------------------------------- entry points
// Labels `count` pixels starting at `first` (pixel stride `stride` floats),
// `mask` (may be null) 1 = sample. out[p] = site id + 1, labels::unlabeled
// for masked pixels, or -1 with p listed in sc.fallback / sc.recheck.
using run_function = void (*)(const packed_sites&, const float*, index_t, index_t,
                              const std::uint8_t*, label_t*, kernel_scratch&);

#define SPECTROMINE_AVX512_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define SPECTROMINE_AVX2_TARGET __attribute__((target("avx2,fma")))

// Pruned kernels dispatch on the component count: 8, 12 and 16 are
// compiled with k fixed (the fast paths); any other count uses the loop.
#define SPECTROMINE_PRUNED_DISPATCH(W)                        \
  switch (ps.components) {                                     \
    case 8: label_run_pruned<W, 8>(ps, f, st, n, m, o, sc); break;   \
    case 12: label_run_pruned<W, 12>(ps, f, st, n, m, o, sc); break; \
    case 16: label_run_pruned<W, 16>(ps, f, st, n, m, o, sc); break; \
    default: label_run_pruned<W, 0>(ps, f, st, n, m, o, sc); break;  \
  }

SPECTROMINE_AVX512_TARGET inline void run_pruned_avx512(const packed_sites& ps, const float* f,
                                                        index_t st, index_t n,
                                                        const std::uint8_t* m, label_t* o,
                                                        kernel_scratch& sc) {
  SPECTROMINE_PRUNED_DISPATCH(16)
}
SPECTROMINE_AVX512_TARGET inline void run_brute_avx512(const packed_sites& ps, const float* f,
                                                       index_t st, index_t n,
                                                       const std::uint8_t* m, label_t* o,
                                                       kernel_scratch& sc) {
  label_run_brute<16, 4, 4>(ps, f, st, n, m, o, sc);
}
SPECTROMINE_AVX2_TARGET inline void run_pruned_avx2(const packed_sites& ps, const float* f,
                                                    index_t st, index_t n, const std::uint8_t* m,
                                                    label_t* o, kernel_scratch& sc) {
  SPECTROMINE_PRUNED_DISPATCH(8)
}
SPECTROMINE_AVX2_TARGET inline void run_brute_avx2(const packed_sites& ps, const float* f,
                                                   index_t st, index_t n, const std::uint8_t* m,
                                                   label_t* o, kernel_scratch& sc) {
  label_run_brute<8, 4, 2>(ps, f, st, n, m, o, sc);
}
// Portable builds (no AVX2 at compile time): 4-lane vectors, whatever the
// compiler's baseline makes of them.
inline void run_pruned_generic(const packed_sites& ps, const float* f, index_t st, index_t n,
                               const std::uint8_t* m, label_t* o, kernel_scratch& sc) {
  label_run_pruned<4, 0>(ps, f, st, n, m, o, sc);
}
inline void run_brute_generic(const packed_sites& ps, const float* f, index_t st, index_t n,
                              const std::uint8_t* m, label_t* o, kernel_scratch& sc) {
  label_run_brute<4, 2, 2>(ps, f, st, n, m, o, sc);
}

#undef SPECTROMINE_AVX512_TARGET
#undef SPECTROMINE_AVX2_TARGET
#undef SPECTROMINE_PRUNED_DISPATCH

inline bool cpu_has_avx512() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}
inline bool cpu_has_avx2() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace spectromine::partition::detail
