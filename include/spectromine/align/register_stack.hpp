// spectromine/align/register_stack.hpp: registration of every energy frame
// of a full-field stack.
//
// Full-field transmission stacks drift from energy to energy (stage and
// optics move while the monochromator steps); Duan 2016 had to crop their
// stack to 602 x 643 pixels to keep it registered (TXM-Wizard). A pixel's
// spectrum only means something when every frame is registered, so this is
// upstream of both clustering routes.
//
// Two ways to choose what each frame is registered to:
//  - reference (default): every frame against one reference frame. Each
//    shift is one independent measurement, so errors do not accumulate, and
//    it is the cheapest (one forward transform and one correlation per
//    frame). The gradient-magnitude filter (phase_correlation.hpp) makes
//    frames across the edge, whose contrast changed or flipped, still match
//    the reference's shapes.
//  - chain: frame b against its neighbours b - 1, b - 2, b - 4
//    (chain_offsets), shifts from the least-squares fit of all those steps
//    anchored at the reference band. Neighbours in energy have nearly the
//    same contrast, so each step is less biased; but the small biases of the
//    steps across the edge add up (they share a sign), and plain
//    accumulation of neighbour steps is a random walk (the skips of 2 and 4
//    average that part out). Use it when no frame resembles a distant one.
// Why reference is the default: on ten synthetic stacks crossing an edge
// (contrast flip, noise; benchmarks/align/align_accuracy.cpp) its mean worst
// error was lower than chain's (benchmarks/results/align.md), at a third
// of the correlations. Neither removes all of the bias of matching frames
// whose phases changed brightness: a particle that brightens on a sloped
// background moves its gradient ridge by a fraction of a pixel.
// The reference band defaults to the middle of the stack: with drift that
// grows monotonically with acquisition time, it halves the largest shift to
// measure; in chain mode it halves the longest chain.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>

#include "spectromine/align/frame.hpp"
#include "spectromine/align/phase_correlation.hpp"
#include "spectromine/align/shifts.hpp"
#include "spectromine/core/concepts.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

enum class stack_reference { reference, chain };

struct stack_registration_options {
  registration_options registration{};
  stack_reference mode = stack_reference::reference;
  index_t reference_band = -1;  // -1: the middle band (bands / 2)
  index_t band_block = 16;      // bands extracted per pass over the cube (16 floats = a cache line)
  // chain mode: each frame is registered to the frames these many bands
  // before it; the shifts are the least-squares fit of all those steps.
  std::vector<index_t> chain_offsets{1, 2, 4};
};

struct stack_registration {
  std::vector<frame_shift> shifts;  // one per band; the reference band's is (0, 0)
  index_t reference_band = 0;
  stack_reference mode = stack_reference::reference;
};

namespace detail {

// Least squares over pairwise steps: minimise sum over pairs of
// |s_to - s_from - step|^2 with s_reference = 0 (rows and columns separately,
// same normal matrix: a graph Laplacian with the reference removed). The
// per-frame peak reported is the mean peak of the pairs the frame is in.
template <class Pairs>
void solve_chain(const Pairs& pairs, index_t bands, index_t reference,
                 std::vector<frame_shift>& shifts) {
  const index_t n = bands - 1;
  shifts.assign(static_cast<std::size_t>(bands), frame_shift{});
  if (n == 0) return;
  auto unknown = [&](index_t b) { return b < reference ? b : b - 1; };
  std::vector<Eigen::Triplet<double>> entries;
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(n, 2);
  std::vector<double> peak_sum(static_cast<std::size_t>(bands), 0.0);
  std::vector<int> peak_count(static_cast<std::size_t>(bands), 0);
  for (const auto& p : pairs) {
    const index_t a = p.from, b = p.to;
    for (index_t v : {a, b}) {
      peak_sum[static_cast<std::size_t>(v)] += p.step.peak;
      ++peak_count[static_cast<std::size_t>(v)];
    }
    if (b != reference) {
      entries.emplace_back(unknown(b), unknown(b), 1.0);
      rhs(unknown(b), 0) += p.step.dy;
      rhs(unknown(b), 1) += p.step.dx;
    }
    if (a != reference) {
      entries.emplace_back(unknown(a), unknown(a), 1.0);
      rhs(unknown(a), 0) -= p.step.dy;
      rhs(unknown(a), 1) -= p.step.dx;
    }
    if (a != reference && b != reference) {
      entries.emplace_back(unknown(a), unknown(b), -1.0);
      entries.emplace_back(unknown(b), unknown(a), -1.0);
    }
  }
  Eigen::SparseMatrix<double> normal(n, n);
  normal.setFromTriplets(entries.begin(), entries.end());
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(normal);
  require(solver.info() == Eigen::Success, "register_stack", "chain_offsets",
          "must connect every band to the reference", bands);
  const Eigen::MatrixXd solution = solver.solve(rhs);
  for (index_t b = 0; b < bands; ++b) {
    auto& s = shifts[static_cast<std::size_t>(b)];
    if (b != reference) {
      s.dy = solution(unknown(b), 0);
      s.dx = solution(unknown(b), 1);
    }
    const int c = peak_count[static_cast<std::size_t>(b)];
    s.peak = c > 0 ? peak_sum[static_cast<std::size_t>(b)] / c : 1.0;
  }
}

}  // namespace detail

// Measures the shift of every band of `cube`. Progress: ("register", done, bands).
template <spectral_cube C, progress_observer P = no_progress>
stack_registration register_stack(const C& source, const stack_registration_options& options = {},
                                  P&& progress = {}) {
  static_assert(check_spectral_cube<C>());
  static_assert(check_progress_observer<P>());
  const auto cube = view_of(source);
  const index_t bands = cube.bands();
  require(bands >= 1, "register_stack", "bands", "must be >= 1", bands);
  require(cube.rows() >= 2 && cube.cols() >= 2, "register_stack", "frame shape",
          "must be at least 2 x 2 pixels", std::to_string(cube.rows()) + " x " +
                                               std::to_string(cube.cols()));
  require(options.band_block >= 1, "register_stack", "band_block", "must be >= 1",
          options.band_block);

  const index_t reference = options.reference_band < 0 ? bands / 2 : options.reference_band;
  require(reference < bands, "register_stack", "reference_band",
          "must be < the band count " + std::to_string(bands), options.reference_band);
  validate_registration_options(options.registration, "register_stack");
  if (options.mode == stack_reference::chain) {
    require(!options.chain_offsets.empty(), "register_stack", "chain_offsets",
            "must not be empty", 0);
    for (index_t off : options.chain_offsets)
      require(off >= 1 && off <= 64, "register_stack", "chain_offsets",
              "must hold offsets in [1, 64]", off);
    require(std::find(options.chain_offsets.begin(), options.chain_offsets.end(), index_t{1}) !=
                options.chain_offsets.end(),
            "register_stack", "chain_offsets", "must contain 1 (so every band is connected)", 0);
  }

  stack_registration result;
  result.shifts.assign(static_cast<std::size_t>(bands), frame_shift{});
  result.reference_band = reference;
  result.mode = options.mode;

  const image_shape shape = cube.shape();
  const index_t pixels = shape.pixels();
  const int threads = options.registration.threads;
  phase_correlator correlator(shape, options.registration);
  const index_t block = std::min(options.band_block, bands);
  std::vector<float> frames(static_cast<std::size_t>(block * pixels));
  auto frame_view = [&](index_t k) {
    return image_view<const float>(frames.data() + k * pixels, shape);
  };
  auto checked = [&](index_t k, index_t band) {
    const auto f = frame_view(k);
    require_finite_frame(f, "register_stack", "frame[" + std::to_string(band) + "]");
    return f;
  };
  index_t done = 0;

  if (options.mode == stack_reference::reference) {
    extract_frames(cube, reference, 1, std::span<float>(frames), threads);
    correlator.set_reference(checked(0, reference));
    for (index_t b0 = 0; b0 < bands; b0 += block) {
      const index_t count = std::min(block, bands - b0);
      extract_frames(cube, b0, count, std::span<float>(frames), threads);
      for (index_t k = 0; k < count; ++k) {
        const index_t b = b0 + k;
        if (b != reference) {
          const auto r = correlator.register_frame(checked(k, b));
          result.shifts[static_cast<std::size_t>(b)] = {r.dy, r.dx, r.peak};
        }
        progress("register", ++done, bands);
      }
    }
    return result;
  }

  // Chain: every frame is registered to the frames `offsets` bands before
  // it (each frame transformed once; the last max(offset) spectra are kept),
  // and the shifts are the least-squares solution of
  //   shift_b - shift_a = step(a -> b)   for every measured pair,
  // anchored at shift_reference = 0. With offsets {1} this is the plain
  // accumulation (shift_b = shift_{b-1} + step_b); skips of 2 and 4 tie each
  // frame to several neighbours, which averages the per-step noise and stops
  // the random walk while every pair still has nearly the same contrast.
  const auto& offsets = options.chain_offsets;
  const index_t keep = *std::max_element(offsets.begin(), offsets.end());
  std::vector<phase_correlator::spectrum> ring(static_cast<std::size_t>(keep + 1));
  struct pair_step {
    index_t from, to;
    registration_result step;
  };
  std::vector<pair_step> pairs;
  for (index_t b0 = 0; b0 < bands; b0 += block) {
    const index_t count = std::min(block, bands - b0);
    extract_frames(cube, b0, count, std::span<float>(frames), threads);
    for (index_t k = 0; k < count; ++k) {
      const index_t b = b0 + k;
      auto& current = ring[static_cast<std::size_t>(b % (keep + 1))];
      correlator.transform(checked(k, b), current);
      for (index_t off : offsets)
        if (b - off >= 0)
          pairs.push_back({b - off, b,
                           correlator.correlate(
                               ring[static_cast<std::size_t>((b - off) % (keep + 1))], current)});
      progress("register", ++done, bands);
    }
  }
  detail::solve_chain(pairs, bands, reference, result.shifts);
  return result;
}

}  // namespace spectromine::align
