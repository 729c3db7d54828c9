// spectromine/align/stitch.hpp: several fields of view into one cube.
//
// Large samples are imaged as a mosaic (Ito 2024 stitched 56 fields, ~450 M
// pixels). Stage positions are known only to a few pixels, so:
//  1. plan_stitch: every pair of fields that overlaps at the nominal
//     positions (row0, col0) is registered on the overlap (phase
//     correlation, phase_correlation.hpp, on the band-mean image or one
//     chosen band), giving a measured offset pos_b - pos_a; the placement is
//     the least-squares solution of all those offsets with the first field
//     anchored at its nominal position (a loop of pairwise offsets that do
//     not close is spread evenly instead of accumulating), rounded to whole
//     pixels so that no field is resampled;
//  2. render_stitch: the output is produced row band by row band; for each
//     band only the fields that intersect it are read, and only their rows
//     inside the band, so the stitched cube never sits in memory whole. In
//     overlaps the fields are blended by linear feathering: a field's weight
//     falls linearly to its borders, w = min(r + 1, H - r) * min(c + 1, W - c),
//     which cross-fades linearly across an overlap and hides seams from
//     illumination differences. Each band goes to a sink (stitch_io.hpp
//     writes it to an .npy opened with the final shape).
//
// A field is anything modelling field_source: its shape, band count and
// rows on demand (in memory: memory_field; files: stitch_io.hpp file_field).
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>

#include "spectromine/align/phase_correlation.hpp"
#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"

namespace spectromine::align {

// A field of view the stitcher can read: shape(), bands(), and
// read_rows(row0, rows) returning any spectral cube of rows x cols x bands
// (a copy read from disk, or a view into memory).
template <class S>
concept field_source = requires(const S& s, index_t row0, index_t rows) {
  { s.shape() } -> std::convertible_to<image_shape>;
  { s.bands() } -> std::convertible_to<index_t>;
  { s.read_rows(row0, rows) } -> spectral_cube;
};

template <class S>
constexpr bool check_field_source() {
  static_assert(field_source<S>,
                "spectromine::align: a field source needs shape() -> image_shape, bands() -> "
                "index_t and read_rows(index_t row0, index_t rows) returning a spectral cube "
                "(see memory_field in align/stitch.hpp).");
  return field_source<S>;
}

// A field already in memory (no copy: read_rows returns a view).
template <class T>
class memory_field {
 public:
  explicit memory_field(cube_view<const T> cube) : cube_(cube) {}
  image_shape shape() const noexcept { return cube_.shape(); }
  index_t bands() const noexcept { return cube_.bands(); }
  cube_view<const T> read_rows(index_t row0, index_t rows) const {
    return cube_.subview(row0, 0, rows, cube_.cols());
  }

 private:
  cube_view<const T> cube_;
};

// Position of a field's pixel (0, 0) in the mosaic, in pixels.
struct field_position {
  index_t row0 = 0;
  index_t col0 = 0;
  friend bool operator==(const field_position&, const field_position&) = default;
};

enum class stitch_blend {
  feather,  // linear ramps to each field's borders (default)
  first,    // the first field (in list order) covering a pixel wins: no mixing
};

struct stitch_options {
  // Overlaps are narrow strips: a Hann window (strong taper) suppresses the
  // strip each crop does not share; gradients are robust to the
  // illumination differences between fields.
  registration_options registration = [] {
    registration_options o;
    o.window = window_kind::hann;
    return o;
  }();
  index_t reference_band = -1;  // band registered; -1 = the band-mean image
  index_t min_overlap = 16;     // px in both directions, at nominal positions, to refine a pair
  // Largest correction of a pair's nominal offset, px; 0 = a quarter of the
  // overlap's smaller side (beyond that the overlap shares too little).
  double max_correction = 0;
  stitch_blend blend = stitch_blend::feather;
  std::size_t memory_budget = std::size_t{256} << 20;  // bytes of output band buffers
  int threads = 0;
};

// One refined pair of overlapping fields.
struct stitch_pair {
  index_t a = 0, b = 0;
  double nominal_dy = 0, nominal_dx = 0;    // nominal pos_b - pos_a
  double measured_dy = 0, measured_dx = 0;  // refined pos_b - pos_a
  double peak = 0;                          // normalized correlation of the overlaps
  double residual_dy = 0, residual_dx = 0;  // placed offset - measured offset
};

struct stitch_plan {
  image_shape shape{};                      // output rows x cols
  index_t bands = 0;
  std::vector<field_position> placements;   // each field's (row0, col0) in the output
  field_position origin{};                  // output (0, 0) in nominal coordinates
  std::vector<stitch_pair> pairs;
};

namespace detail {

inline std::string field_name(std::size_t i) { return "field[" + std::to_string(i) + "]"; }

inline std::string position_text(index_t row0, index_t col0) {
  std::string text = "(";
  text += std::to_string(row0);
  text += ", ";
  text += std::to_string(col0);
  text += ")";
  return text;
}

struct overlap_rect {
  index_t row0, row1, col0, col1;
  index_t rows() const { return row1 - row0; }
  index_t cols() const { return col1 - col0; }
};

inline overlap_rect intersect(field_position pa, image_shape sa, field_position pb,
                              image_shape sb) {
  return {std::max(pa.row0, pb.row0), std::min(pa.row0 + sa.rows, pb.row0 + sb.rows),
          std::max(pa.col0, pb.col0), std::min(pa.col0 + sa.cols, pb.col0 + sb.cols)};
}

// The image a field is registered by: the mean over bands of each pixel's
// finite values (or one band), read row band by row band.
template <field_source S>
image<float> representative_image(const S& field, index_t band, std::size_t budget) {
  const image_shape shape = field.shape();
  const index_t bands = field.bands();
  image<float> img(shape);
  const std::size_t row_bytes =
      std::max<std::size_t>(1, static_cast<std::size_t>(shape.cols * bands) * sizeof(float));
  const index_t step = static_cast<index_t>(std::max<std::size_t>(1, budget / row_bytes));
  for (index_t r0 = 0; r0 < shape.rows; r0 += step) {
    const index_t n = std::min(step, shape.rows - r0);
    const auto rows = field.read_rows(r0, n);
    const auto v = view_of(rows);
    for (index_t r = 0; r < n; ++r)
      for (index_t c = 0; c < shape.cols; ++c) {
        const auto s = v.spectrum(r, c);
        double sum = 0;
        index_t count = 0;
        if (band >= 0) {
          sum = static_cast<double>(s[static_cast<std::size_t>(band)]);
          count = std::isfinite(sum) ? 1 : 0;
        } else {
          for (auto x : s)
            if (std::isfinite(static_cast<double>(x))) {
              sum += static_cast<double>(x);
              ++count;
            }
        }
        img(r0 + r, c) = count > 0 ? static_cast<float>(sum / static_cast<double>(count))
                                   : std::numeric_limits<float>::quiet_NaN();
      }
  }
  return img;
}

// A crop with non-finite pixels replaced by the crop's finite mean (a hole
// must not register).
inline image<float> finite_crop(const image<float>& img, index_t row0, index_t col0,
                                index_t rows, index_t cols) {
  image<float> out({rows, cols});
  double sum = 0;
  index_t count = 0;
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      const float v = img(row0 + r, col0 + c);
      out(r, c) = v;
      if (std::isfinite(v)) {
        sum += v;
        ++count;
      }
    }
  const float mean = count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
  for (index_t p = 0; p < out.pixel_count(); ++p)
    if (!std::isfinite(out[p])) out[p] = mean;
  return out;
}

}  // namespace detail

// Refines the nominal positions into a placement (see the header comment).
// Progress: ("stitch: overlaps", pairs done, pairs).
template <field_source S, progress_observer P = no_progress>
stitch_plan plan_stitch(std::span<const S> fields, std::span<const field_position> nominal,
                        const stitch_options& options = {}, P&& progress = {}) {
  static_assert(check_field_source<S>());
  static_assert(check_progress_observer<P>());
  constexpr std::string_view component = "stitch";
  const std::size_t n = fields.size();
  require(n >= 1, component, "fields", "must hold at least one field", n);
  require(nominal.size() == n, component, "positions",
          "must give one (row0, col0) per field (" + std::to_string(n) + ")", nominal.size());
  require(options.min_overlap >= 2, component, "min_overlap", "must be >= 2", options.min_overlap);
  require(std::isfinite(options.max_correction) && options.max_correction >= 0, component,
          "max_correction", "must be >= 0 (0 = automatic)", options.max_correction);
  require(options.memory_budget >= 1, component, "memory_budget", "must be > 0",
          options.memory_budget);
  validate_registration_options(options.registration, component);
  const index_t bands = fields[0].bands();
  for (std::size_t i = 0; i < n; ++i) {
    const image_shape s = fields[i].shape();
    require(s.rows >= 1 && s.cols >= 1, component, detail::field_name(i) + " shape",
            "must not be empty", s.rows * s.cols);
    require(fields[i].bands() == bands, component, detail::field_name(i) + " bands",
            "must equal field[0]'s band count " + std::to_string(bands), fields[i].bands());
  }
  require(options.reference_band < bands, component, "reference_band",
          "must be < the band count " + std::to_string(bands), options.reference_band);

  stitch_plan plan;
  plan.bands = bands;
  // Pairs that overlap enough at the nominal positions.
  struct candidate {
    std::size_t a, b;
    detail::overlap_rect rect;
  };
  std::vector<candidate> candidates;
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = a + 1; b < n; ++b) {
      const auto rect = detail::intersect(nominal[a], fields[a].shape(), nominal[b], fields[b].shape());
      if (rect.rows() >= options.min_overlap && rect.cols() >= options.min_overlap)
        candidates.push_back({a, b, rect});
    }
  // Every field must be connected to field 0 through overlaps.
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (const auto& c : candidates) parent[root(c.a)] = root(c.b);
  for (std::size_t i = 1; i < n; ++i)
    if (root(i) != root(0))
      throw_invalid(component, detail::field_name(i) + " position",
                    "must overlap the other fields by at least min_overlap = " +
                        std::to_string(options.min_overlap) +
                        " pixels in both directions (no chain of overlaps joins it to field[0])",
                    detail::position_text(nominal[i].row0, nominal[i].col0));

  // Representative images, only of fields that take part in a pair.
  std::vector<image<float>> images(n);
  const std::size_t read_budget = std::max<std::size_t>(options.memory_budget / 4, 1);
  for (const auto& c : candidates)
    for (std::size_t f : {c.a, c.b})
      if (images[f].pixel_count() == 0)
        images[f] = detail::representative_image(fields[f], options.reference_band, read_budget);

  index_t done = 0;
  for (const auto& c : candidates) {
    const auto& pa = nominal[c.a];
    const field_position pb0 = nominal[c.b];
    // Two passes: the nominal overlap, then the overlap at the corrected
    // offset, where both crops hold the same content (a few pixels of error
    // in a narrow overlap otherwise leave a strip each crop does not share).
    double dy = static_cast<double>(pb0.row0 - pa.row0), dx = static_cast<double>(pb0.col0 - pa.col0);
    double peak = 0;
    for (int pass = 0; pass < 2; ++pass) {
      const field_position pb{pa.row0 + static_cast<index_t>(std::llround(dy)),
                              pa.col0 + static_cast<index_t>(std::llround(dx))};
      const auto rect = detail::intersect(pa, fields[c.a].shape(), pb, fields[c.b].shape());
      if (rect.rows() < 2 || rect.cols() < 2) break;  // the correction left no overlap: keep the last
      const auto crop_a = detail::finite_crop(images[c.a], rect.row0 - pa.row0, rect.col0 - pa.col0,
                                              rect.rows(), rect.cols());
      const auto crop_b = detail::finite_crop(images[c.b], rect.row0 - pb.row0, rect.col0 - pb.col0,
                                              rect.rows(), rect.cols());
      registration_options ro = options.registration;
      ro.max_shift = options.max_correction > 0
                         ? options.max_correction
                         : static_cast<double>(std::min(rect.rows(), rect.cols())) / 4.0;
      // crop_b(t) = crop_a(t + e_b - e_a) for true positions = assumed + e,
      // so the shift registering b onto a is the correction e_b - e_a.
      const auto r = register_images(crop_a.view(), crop_b.view(), ro);
      dy = static_cast<double>(pb.row0 - pa.row0) + r.dy;
      dx = static_cast<double>(pb.col0 - pa.col0) + r.dx;
      peak = r.peak;
    }
    stitch_pair p;
    p.a = static_cast<index_t>(c.a);
    p.b = static_cast<index_t>(c.b);
    p.nominal_dy = static_cast<double>(pb0.row0 - pa.row0);
    p.nominal_dx = static_cast<double>(pb0.col0 - pa.col0);
    p.measured_dy = dy;
    p.measured_dx = dx;
    p.peak = peak;
    plan.pairs.push_back(p);
    progress("stitch: overlaps", ++done, static_cast<index_t>(candidates.size()));
  }

  // Least squares: pos_b - pos_a = measured for every pair, pos_0 = nominal_0.
  std::vector<double> py(n, static_cast<double>(nominal[0].row0)),
      px(n, static_cast<double>(nominal[0].col0));
  if (n > 1) {
    const auto m = static_cast<index_t>(n - 1);
    std::vector<Eigen::Triplet<double>> entries;
    Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(m, 2);
    const double y0 = static_cast<double>(nominal[0].row0), x0 = static_cast<double>(nominal[0].col0);
    for (const auto& p : plan.pairs) {
      const index_t a = p.a, b = p.b;  // a < b, so b >= 1
      entries.emplace_back(b - 1, b - 1, 1.0);
      rhs(b - 1, 0) += p.measured_dy;
      rhs(b - 1, 1) += p.measured_dx;
      if (a == 0) {
        rhs(b - 1, 0) += y0;
        rhs(b - 1, 1) += x0;
      } else {
        entries.emplace_back(a - 1, a - 1, 1.0);
        entries.emplace_back(a - 1, b - 1, -1.0);
        entries.emplace_back(b - 1, a - 1, -1.0);
        rhs(a - 1, 0) -= p.measured_dy;
        rhs(a - 1, 1) -= p.measured_dx;
      }
    }
    Eigen::SparseMatrix<double> normal(m, m);
    normal.setFromTriplets(entries.begin(), entries.end());
    Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver(normal);
    require(solver.info() == Eigen::Success, component, "positions",
            "must connect every field to field[0]", n);
    const Eigen::MatrixXd solution = solver.solve(rhs);
    for (std::size_t i = 1; i < n; ++i) {
      py[i] = solution(static_cast<index_t>(i) - 1, 0);
      px[i] = solution(static_cast<index_t>(i) - 1, 1);
    }
  }
  std::vector<field_position> placed(n);
  for (std::size_t i = 0; i < n; ++i)
    placed[i] = {static_cast<index_t>(std::llround(py[i])), static_cast<index_t>(std::llround(px[i]))};
  for (auto& p : plan.pairs) {
    p.residual_dy = static_cast<double>(placed[static_cast<std::size_t>(p.b)].row0 -
                                        placed[static_cast<std::size_t>(p.a)].row0) - p.measured_dy;
    p.residual_dx = static_cast<double>(placed[static_cast<std::size_t>(p.b)].col0 -
                                        placed[static_cast<std::size_t>(p.a)].col0) - p.measured_dx;
  }
  index_t rmin = placed[0].row0, cmin = placed[0].col0, rmax = rmin, cmax = cmin;
  for (std::size_t i = 0; i < n; ++i) {
    rmin = std::min(rmin, placed[i].row0);
    cmin = std::min(cmin, placed[i].col0);
    rmax = std::max(rmax, placed[i].row0 + fields[i].shape().rows);
    cmax = std::max(cmax, placed[i].col0 + fields[i].shape().cols);
  }
  plan.origin = {rmin, cmin};
  plan.shape = {rmax - rmin, cmax - cmin};
  plan.placements.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    plan.placements[i] = {placed[i].row0 - rmin, placed[i].col0 - cmin};
  return plan;
}

// The plan of fields placed exactly at their nominal positions (no refinement).
template <field_source S>
stitch_plan nominal_plan(std::span<const S> fields, std::span<const field_position> nominal) {
  static_assert(check_field_source<S>());
  require(!fields.empty() && nominal.size() == fields.size(), "stitch", "positions",
          "must give one (row0, col0) per field", nominal.size());
  stitch_plan plan;
  plan.bands = fields[0].bands();
  index_t rmin = nominal[0].row0, cmin = nominal[0].col0, rmax = rmin, cmax = cmin;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    require(fields[i].bands() == plan.bands, "stitch", detail::field_name(i) + " bands",
            "must equal field[0]'s band count " + std::to_string(plan.bands), fields[i].bands());
    rmin = std::min(rmin, nominal[i].row0);
    cmin = std::min(cmin, nominal[i].col0);
    rmax = std::max(rmax, nominal[i].row0 + fields[i].shape().rows);
    cmax = std::max(cmax, nominal[i].col0 + fields[i].shape().cols);
  }
  plan.origin = {rmin, cmin};
  plan.shape = {rmax - rmin, cmax - cmin};
  for (const auto& p : nominal) plan.placements.push_back({p.row0 - rmin, p.col0 - cmin});
  return plan;
}

// Pixels of the output covered by at least one field.
inline pixel_mask stitch_coverage(const stitch_plan& plan, std::span<const image_shape> shapes) {
  require(shapes.size() == plan.placements.size(), "stitch", "shapes",
          "must give one shape per placed field", shapes.size());
  pixel_mask mask(plan.shape, 0);
  for (std::size_t i = 0; i < shapes.size(); ++i)
    for (index_t r = 0; r < shapes[i].rows; ++r)
      for (index_t c = 0; c < shapes[i].cols; ++c)
        mask(plan.placements[i].row0 + r, plan.placements[i].col0 + c) = 1;
  return mask;
}

// Produces the stitched cube row band by row band:
// sink(index_t row0, cube_view<const float> band) receives consecutive
// bands of rows covering the output, top to bottom. Pixels no field covers
// are NaN. A field pixel with a non-finite value in any band does not
// contribute (its neighbours' fields fill it when they overlap).
// Progress: ("stitch: rows", rows done, rows).
template <field_source S, class Sink, progress_observer P = no_progress>
void render_stitch(std::span<const S> fields, const stitch_plan& plan, Sink&& sink,
                   const stitch_options& options = {}, P&& progress = {}) {
  static_assert(check_field_source<S>());
  static_assert(check_progress_observer<P>());
  static_assert(std::invocable<Sink&, index_t, cube_view<const float>>,
                "spectromine::align::render_stitch: the sink must be callable as "
                "sink(index_t row0, cube_view<const float> band).");
  constexpr std::string_view component = "stitch";
  require(fields.size() == plan.placements.size(), component, "fields",
          "must be the fields the plan was made for (" + std::to_string(plan.placements.size()) + ")",
          fields.size());
  const index_t bands = plan.bands, cols = plan.shape.cols;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    require(fields[i].bands() == bands, component, detail::field_name(i) + " bands",
            "must equal the plan's band count " + std::to_string(bands), fields[i].bands());
    const auto& p = plan.placements[i];
    const auto s = fields[i].shape();
    require(p.row0 >= 0 && p.col0 >= 0 && p.row0 + s.rows <= plan.shape.rows &&
                p.col0 + s.cols <= plan.shape.cols,
            component, detail::field_name(i) + " placement", "must lie inside the output",
            detail::position_text(p.row0, p.col0));
  }
  if (plan.shape.rows == 0 || cols == 0) return;
  const std::size_t row_bytes =
      static_cast<std::size_t>(cols) * (static_cast<std::size_t>(bands) + 1) * sizeof(float);
  const index_t band_rows = static_cast<index_t>(
      std::clamp<std::size_t>(options.memory_budget / std::max<std::size_t>(row_bytes, 1), 1,
                              static_cast<std::size_t>(plan.shape.rows)));
  cube<float> sum(image_shape{band_rows, cols}, bands);
  image<float> weight(image_shape{band_rows, cols});
  const bool feather = options.blend == stitch_blend::feather;

  for (index_t r0 = 0; r0 < plan.shape.rows; r0 += band_rows) {
    const index_t rows = std::min(band_rows, plan.shape.rows - r0);
    std::fill(sum.storage().begin(), sum.storage().end(), 0.0f);
    std::fill(weight.storage().begin(), weight.storage().end(), 0.0f);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const auto& p = plan.placements[i];
      const image_shape s = fields[i].shape();
      const index_t a = std::max(r0, p.row0), b = std::min(r0 + rows, p.row0 + s.rows);
      if (a >= b) continue;  // this field does not reach the band: not read
      const auto piece = fields[i].read_rows(a - p.row0, b - a);
      const auto v = view_of(piece);
      parallel_for(b - a, options.threads, 4, [&](index_t k0, index_t k1, int) {
        for (index_t k = k0; k < k1; ++k) {
          const index_t local_r = a - p.row0 + k, out_r = a - r0 + k;
          const float wr = static_cast<float>(std::min(local_r + 1, s.rows - local_r));
          for (index_t c = 0; c < s.cols; ++c) {
            const auto spectrum = v.spectrum(k, c);
            bool finite = true;
            for (auto x : spectrum) finite = finite && std::isfinite(static_cast<double>(x));
            if (!finite) continue;
            const index_t out_c = p.col0 + c;
            float& wsum = weight(out_r, out_c);
            float w = 1.0f;
            if (feather) {
              w = wr * static_cast<float>(std::min(c + 1, s.cols - c));
            } else if (wsum > 0) {
              continue;  // first field wins
            }
            wsum += w;
            float* dst = sum.view().pixel_pointer(out_r, out_c);
            for (index_t e = 0; e < bands; ++e)
              dst[e] += w * static_cast<float>(spectrum[static_cast<std::size_t>(e)]);
          }
        }
      });
    }
    parallel_for(rows, options.threads, 4, [&](index_t k0, index_t k1, int) {
      for (index_t k = k0; k < k1; ++k)
        for (index_t c = 0; c < cols; ++c) {
          float* dst = sum.view().pixel_pointer(k, c);
          const float w = weight(k, c);
          for (index_t e = 0; e < bands; ++e)
            dst[e] = w > 0 ? dst[e] / w : std::numeric_limits<float>::quiet_NaN();
        }
    });
    sink(r0, cube_view<const float>(sum.data(), image_shape{rows, cols}, bands));
    progress("stitch: rows", r0 + rows, plan.shape.rows);
  }
}

}  // namespace spectromine::align
