// spectromine/partition/kmeans.hpp: k-means, the baseline partitioner.
//
// Seeding: greedy k-means++ (Arthur & Vassilvitskii 2007; the greedy variant
// of scikit-learn): the first centre is a uniformly drawn sample pixel; for
// each next one, `seeding_trials` (default 2 + ln k) pixels are drawn with
// probability proportional to their squared distance to the nearest centre so
// far, and the one lowering the total squared distance most is kept. Random
// numbers come from core/random.hpp (seed, stream 0) through Boost.Random, so a
// seed gives the same centres on every platform and for any thread count.
// Then Lloyd iterations until no label changes, the centres move less than
// `tolerance` (scikit-learn's criterion: sum of squared centre shifts <=
// tolerance x mean per-band variance of the data), or max_iterations. A cluster that empties is re-seeded at the pixel farthest
// from its centre (ties: lowest pixel index).
//
// Distances: ||x||^2 - 2 x.c + ||c||^2 with x.C computed for blocks of 256
// pixels as one matrix product (Eigen GEMM), in float for float cubes (read
// in place when the cube is contiguous; as scikit-learn does for float32) and
// in double otherwise; norms and centre sums are always accumulated in double. Blocks are fixed by pixel index,
// not by thread, and centre sums are accumulated per band in pixel order, so
// labels are identical for any thread count. Ties between centres go to the
// lower label.
//
// Pixels: masked pixels and pixels with a non-finite value get
// labels::unlabeled (the report counts the latter). Labels are 1..k.
// The CLI standardizes spectra first (mean 0, norm 1: squared Euclidean
// distance is then 2 (1 - Pearson r), the metric of both papers).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Dense>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <nlohmann/json.hpp>

#include "spectromine/core/concepts.hpp"
#include "spectromine/core/cube_view.hpp"
#include "spectromine/core/image.hpp"
#include "spectromine/core/parallel.hpp"
#include "spectromine/core/random.hpp"
#include "spectromine/error.hpp"
#include "spectromine/partition/concept.hpp"

namespace spectromine::partition {

struct kmeans_options {
  int k = 8;
  int max_iterations = 300;
  double tolerance = 1e-4;   // sum of squared centre shifts / mean band variance
  std::uint64_t seed = 0;
  int threads = 0;
  int seeding_trials = 0;    // candidates per new centre; 0 = 2 + ln(k) (scikit-learn), 1 = classic
};

class kmeans {
 public:
  kmeans() = default;
  explicit kmeans(kmeans_options options) : options_(options) {}

  const kmeans_options& options() const noexcept { return options_; }

  // Centres of the last run are not kept: partition() is const and reentrant;
  // use fit() to get them.
  struct fit_result {
    Eigen::MatrixXd centers;   // k x bands
    int iterations = 0;
    bool converged = false;
    double inertia = 0;        // sum of squared distances to the assigned centre
    index_t skipped = 0;       // masked or non-finite pixels
    index_t nonfinite = 0;
  };

  template <class T>
  fit_result fit(cube_view<const T> cube, mask_view mask, label_view labels) const {
    const kmeans_options& o = options_;
    require(o.k >= 1, "kmeans", "k", "must be >= 1", o.k);
    require(o.max_iterations >= 1, "kmeans", "max_iterations", "must be >= 1", o.max_iterations);
    require(o.tolerance >= 0, "kmeans", "tolerance", "must be >= 0", o.tolerance);
    require(labels.shape() == cube.shape(), "kmeans", "label image shape",
            "must equal the cube's image shape", labels.rows());
    const bool has_mask = mask.data() != nullptr || mask.pixel_count() != 0;
    if (has_mask)
      require(mask.shape() == cube.shape(), "kmeans", "mask shape",
              "must equal the cube's image shape", mask.rows());
    const index_t n = cube.pixel_count(), bands = cube.bands();
    require(bands >= 1, "kmeans", "bands", "must be >= 1", bands);
    const int workers = resolve_threads(o.threads);
    fit_result res;

    // Which pixels take part.
    std::vector<index_t> pix;
    pix.reserve(static_cast<std::size_t>(n));
    for (index_t p = 0; p < n; ++p) {
      labels[p] = labels::unlabeled;
      if (has_mask && mask[p] == 0) {
        ++res.skipped;
        continue;
      }
      const T* x = cube.pixel_pointer(p);
      bool finite = true;
      for (index_t b = 0; b < bands; ++b) finite &= std::isfinite(static_cast<double>(x[b]));
      if (!finite) {
        ++res.skipped;
        ++res.nonfinite;
        continue;
      }
      pix.push_back(p);
    }
    const index_t m = static_cast<index_t>(pix.size());
    require(m >= o.k, "kmeans", "k",
            "must not exceed the number of usable pixels " + std::to_string(m), o.k);
    const int k = o.k;
    std::vector<double> sqn(static_cast<std::size_t>(m));
    std::vector<double> band_sum(static_cast<std::size_t>(bands), 0.0), band_sq(band_sum);
    for (index_t i = 0; i < m; ++i) {
      const T* x = cube.pixel_pointer(pix[static_cast<std::size_t>(i)]);
      double s = 0;
      for (index_t b = 0; b < bands; ++b) {
        const double v = static_cast<double>(x[b]);
        s += v * v;
        band_sum[static_cast<std::size_t>(b)] += v;
        band_sq[static_cast<std::size_t>(b)] += v * v;
      }
      sqn[static_cast<std::size_t>(i)] = s;
    }
    double mean_var = 0;
    for (index_t b = 0; b < bands; ++b) {
      const double mu = band_sum[static_cast<std::size_t>(b)] / static_cast<double>(m);
      mean_var += std::max(0.0, band_sq[static_cast<std::size_t>(b)] / static_cast<double>(m) - mu * mu);
    }
    mean_var /= static_cast<double>(bands);
    Eigen::MatrixXd centers(k, bands);
    auto copy_pixel = [&](index_t i, int c) {
      const T* x = cube.pixel_pointer(pix[static_cast<std::size_t>(i)]);
      for (index_t b = 0; b < bands; ++b) centers(c, b) = static_cast<double>(x[b]);
    };

    // Blocked distance kernel: for every usable pixel i and every row j of
    // `cs` (c x bands) calls visit(i, j, squared distance), in parallel over
    // fixed blocks of pixels.
    constexpr index_t block = 256;
    const index_t blocks = (m + block - 1) / block;
    using W = std::conditional_t<std::is_same_v<T, float>, float, double>;
    using wmat = Eigen::Matrix<W, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const bool direct = std::is_same_v<T, W> && cube.is_contiguous() && !has_mask && m == n;
    auto for_distances = [&](const Eigen::MatrixXd& cs, auto&& visit) {
      const int c = static_cast<int>(cs.rows());
      const Eigen::Matrix<W, Eigen::Dynamic, Eigen::Dynamic> ct = cs.transpose().template cast<W>();
      Eigen::VectorXd cn(c);
      for (int j = 0; j < c; ++j) cn(j) = cs.row(j).squaredNorm();
      parallel_for(blocks, workers, 1, [&](index_t b0, index_t b1, int) {
        wmat xb(block, bands);
        Eigen::Matrix<W, Eigen::Dynamic, Eigen::Dynamic> dots;
        for (index_t blk = b0; blk < b1; ++blk) {
          const index_t i0 = blk * block, len = std::min(block, m - i0);
          if constexpr (std::is_same_v<T, W>) {
            if (direct) {  // every pixel usable, contiguous: multiply in place
              Eigen::Map<const wmat> x(cube.pixel_pointer(i0), len, bands);
              dots.noalias() = x * ct;
            }
          }
          if (!direct) {
            for (index_t i = 0; i < len; ++i) {
              const T* x = cube.pixel_pointer(pix[static_cast<std::size_t>(i0 + i)]);
              for (index_t b = 0; b < bands; ++b) xb(i, b) = static_cast<W>(x[b]);
            }
            dots.noalias() = xb.topRows(len) * ct;
          }
          for (index_t i = 0; i < len; ++i)
            for (int j = 0; j < c; ++j)
              visit(i0 + i, j,
                    std::max(0.0, sqn[static_cast<std::size_t>(i0 + i)] -
                                      2 * static_cast<double>(dots(i, j)) + cn(j)));
        }
      });
    };

    // Greedy k-means++ seeding (as scikit-learn): each new centre is the best,
    // by resulting potential sum_i min(d2_i, |x_i - cand|^2), of `trials`
    // candidates drawn with probability proportional to d2. Potentials are
    // summed per fixed block of pixels, then blocks in order: thread-independent.
    random_engine eng = make_engine(o.seed, 0);
    {
      const int trials = o.seeding_trials > 0
                             ? o.seeding_trials
                             : 2 + static_cast<int>(std::floor(std::log(static_cast<double>(k))));
      boost::random::uniform_int_distribution<index_t> first(0, m - 1);
      copy_pixel(first(eng), 0);
      std::vector<double> d2(static_cast<std::size_t>(m), std::numeric_limits<double>::infinity());
      for_distances(centers.topRows(1), [&](index_t i, int, double d) {
        d2[static_cast<std::size_t>(i)] = d;
      });
      std::vector<double> partial;
      std::vector<index_t> cand_idx;
      auto draw = [&](double sum) {  // one pixel with probability d2 / sum
        boost::random::uniform_real_distribution<double> u(0.0, sum);
        const double target = u(eng);
        double run = 0;
        for (index_t i = 0; i < m; ++i) {
          run += d2[static_cast<std::size_t>(i)];
          if (run > target) return i;
        }
        return m - 1;
      };
      for (int c = 1; c < k; ++c) {
        double sum = 0;
        for (double d : d2) sum += d;
        if (!(sum > 0)) {  // fewer distinct pixels than k: take the next pixel in order
          copy_pixel(c % m, c);
          continue;
        }
        cand_idx.clear();
        for (int t = 0; t < trials; ++t) cand_idx.push_back(draw(sum));
        Eigen::MatrixXd cands(trials, bands);
        for (int t = 0; t < trials; ++t) {
          const T* x = cube.pixel_pointer(pix[static_cast<std::size_t>(cand_idx[static_cast<std::size_t>(t)])]);
          for (index_t b = 0; b < bands; ++b) cands(t, b) = static_cast<double>(x[b]);
        }
        partial.assign(static_cast<std::size_t>(blocks * trials), 0.0);
        for_distances(cands, [&](index_t i, int j, double d) {
          partial[static_cast<std::size_t>((i / block) * trials + j)] +=
              std::min(d2[static_cast<std::size_t>(i)], d);
        });
        int best_t = 0;
        double best_pot = std::numeric_limits<double>::infinity();
        for (int t = 0; t < trials; ++t) {
          double pot = 0;
          for (index_t b = 0; b < blocks; ++b) pot += partial[static_cast<std::size_t>(b * trials + t)];
          if (pot < best_pot) {
            best_pot = pot;
            best_t = t;
          }
        }
        centers.row(c) = cands.row(best_t);
        for_distances(centers.row(c), [&](index_t i, int, double d) {
          double& cur = d2[static_cast<std::size_t>(i)];
          cur = std::min(cur, d);
        });
      }
    }

    // Lloyd iterations.
    std::vector<int> assign(static_cast<std::size_t>(m), -1);
    std::vector<double> best(static_cast<std::size_t>(m));
    std::vector<index_t> changed(static_cast<std::size_t>(workers));
    for (int it = 1; it <= o.max_iterations; ++it) {
      std::fill(best.begin(), best.end(), std::numeric_limits<double>::infinity());
      std::vector<int> next(static_cast<std::size_t>(m), 0);
      for_distances(centers, [&](index_t i, int j, double d) {
        if (d < best[static_cast<std::size_t>(i)]) {  // strict: ties keep the lower label
          best[static_cast<std::size_t>(i)] = d;
          next[static_cast<std::size_t>(i)] = j;
        }
      });
      index_t moved = 0;
      for (index_t i = 0; i < m; ++i) moved += next[static_cast<std::size_t>(i)] != assign[static_cast<std::size_t>(i)];
      assign.swap(next);
      res.iterations = it;
      // New centres: per-band sums in pixel order (threads split the bands).
      std::vector<index_t> count(static_cast<std::size_t>(k), 0);
      for (int a : assign) ++count[static_cast<std::size_t>(a)];
      Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(k, bands);
      parallel_for(bands, workers, 8, [&](index_t b0, index_t b1, int) {
        for (index_t i = 0; i < m; ++i) {
          const T* x = cube.pixel_pointer(pix[static_cast<std::size_t>(i)]);
          const int a = assign[static_cast<std::size_t>(i)];
          for (index_t b = b0; b < b1; ++b) sums(a, b) += static_cast<double>(x[b]);
        }
      });
      double shift = 0;  // sum of squared centre shifts
      std::vector<char> taken(static_cast<std::size_t>(m), 0);
      for (int c = 0; c < k; ++c) {
        Eigen::RowVectorXd nc(bands);
        if (count[static_cast<std::size_t>(c)] > 0) {
          nc = sums.row(c) / static_cast<double>(count[static_cast<std::size_t>(c)]);
        } else {
          // Empty cluster: the pixel farthest from its centre (ties: lowest index).
          index_t far = -1;
          double fd = -1;
          for (index_t i = 0; i < m; ++i)
            if (!taken[static_cast<std::size_t>(i)] && best[static_cast<std::size_t>(i)] > fd) {
              fd = best[static_cast<std::size_t>(i)];
              far = i;
            }
          taken[static_cast<std::size_t>(far)] = 1;
          const T* x = cube.pixel_pointer(pix[static_cast<std::size_t>(far)]);
          for (index_t b = 0; b < bands; ++b) nc(b) = static_cast<double>(x[b]);
          moved += 1;
        }
        shift += (nc - centers.row(c)).squaredNorm();
        centers.row(c) = nc;
      }
      if (moved == 0 || shift <= o.tolerance * mean_var) {
        res.converged = true;
        break;
      }
    }
    // Final assignment to the final centres.
    std::fill(best.begin(), best.end(), std::numeric_limits<double>::infinity());
    for_distances(centers, [&](index_t i, int j, double d) {
      if (d < best[static_cast<std::size_t>(i)]) {
        best[static_cast<std::size_t>(i)] = d;
        assign[static_cast<std::size_t>(i)] = j;
      }
    });
    for (index_t i = 0; i < m; ++i) {
      labels[pix[static_cast<std::size_t>(i)]] = assign[static_cast<std::size_t>(i)] + 1;
      res.inertia += best[static_cast<std::size_t>(i)];
    }
    res.centers = std::move(centers);
    return res;
  }

  template <class T>
  partition_report partition(cube_view<const T> cube, mask_view mask, label_view labels) const {
    const fit_result f = fit(cube, mask, labels);
    partition_report r;
    r.method = "kmeans";
    r.parameters = {{"k", options_.k},
                    {"max_iterations", options_.max_iterations},
                    {"tolerance", options_.tolerance},
                    {"seed", options_.seed},
                    {"seeding", "greedy k-means++"},
                    {"seeding_trials", options_.seeding_trials},
                    {"iterations", f.iterations},
                    {"converged", f.converged},
                    {"inertia", f.inertia},
                    {"nonfinite_pixels", f.nonfinite}};
    r.clusters = options_.k;
    return r;
  }

  // Any spectral cube (cube, non-const views, adapted containers).
  template <spectral_cube C>
  fit_result fit(const C& cube, mask_view mask, label_view labels) const {
    return fit(view_of(cube), mask, labels);
  }
  template <spectral_cube C>
  partition_report partition(const C& cube, mask_view mask, label_view labels) const {
    return partition(view_of(cube), mask, labels);
  }

 private:
  kmeans_options options_{};
};

static_assert(check_partitioner<kmeans, float>());
static_assert(check_partitioner<kmeans, double>());

}  // namespace spectromine::partition
