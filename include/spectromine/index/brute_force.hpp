// spectromine/index/brute_force.hpp: exhaustive radius search by blocked
// float32 matrix products -- a production index for high-dimensional
// features and the oracle every other index is tested against.
//
// For a block of queries Q and a block of points P, one Eigen GEMM gives all
// dot products; ||q - p||^2 = ||q||^2 + ||p||^2 - 2 q.p (for standardized
// spectra, unit vectors: 2 - 2 q.p). The float32 value only FILTERS: a pair
// whose float32 estimate is within eps^2 + margin is decided by the canonical
// double distance (index/concept.hpp), so the answer is exact. The margin
// (index/detail/gemm_filter.hpp) bounds the float rounding; only pairs within
// that thin shell around eps pay a canonical distance, which is why the
// filter costs nothing in accuracy.
//
// Early exit: a batch of queries stops scanning point blocks once every
// query's visitor has said stop (DBSCAN core detection stops at MinPts).
// Erasure: erased points leave a packed copy of the live rows (repacked when
// half of it is dead, amortized O(n d) in total), so DBSCAN's expansion scans
// only the not-yet-clustered cores.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/index/detail/gemm_filter.hpp"

namespace spectromine::index {

struct brute_force_options {
  index_t query_block = 64;   // queries per GEMM
  index_t point_block = 1024; // points per GEMM (query_block x point_block floats of scratch)
  void validate() const {
    require(query_block > 0, "brute_force", "query_block", "must be > 0", query_block);
    require(point_block > 0, "brute_force", "point_block", "must be > 0", point_block);
  }
};

class brute_force {
 public:
  static constexpr const char* name = "brute";

  explicit brute_force(feature_view f, brute_force_options options = {})
      : f_(f), options_(options) {
    validate_features(f, "brute_force");
    options_.validate();
    const index_t n = f.size;
    margin_ = detail::gemm_distance_margin(f.dim, detail::row_squared_norms(f, norms_));
    live_.assign(static_cast<std::size_t>(n), 1);
    live_count_ = n;
    packed_ids_.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) packed_ids_[static_cast<std::size_t>(i)] = i;
    packed_rows_ = f.data;
    packed_stride_ = f.stride;
    packed_norms_ = norms_;
  }

  index_t size() const noexcept { return f_.size; }
  feature_view features() const noexcept { return f_; }
  bool is_live(index_t id) const noexcept { return live_[static_cast<std::size_t>(id)] != 0; }
  index_t live_count() const noexcept { return live_count_; }

  void erase(index_t id) {
    auto& flag = live_[static_cast<std::size_t>(id)];
    if (!flag) return;
    flag = 0;
    --live_count_;
    const auto packed = static_cast<index_t>(packed_ids_.size());
    if (live_count_ * 2 < packed && packed > 2 * options_.point_block) repack();
  }

  template <neighbor_sink S>
  void radius_search(index_t q, double eps, S&& sink) const {
    const index_t qs[1] = {q};
    auto visit = [&](std::size_t, index_t j, double d) -> bool { return sink(j, d); };
    radius_search_batch(std::span<const index_t>(qs, 1), eps, visit);
  }

  template <batch_visitor V>
  void radius_search_batch(std::span<const index_t> queries, double eps, V&& visit) const {
    validate_radius(eps, "brute_force");
    using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using col_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    using mapped = Eigen::Map<const row_matrix, 0, Eigen::OuterStride<>>;
    const double eps2 = squared_radius(eps);
    const float filter2 = detail::gemm_filter_threshold(eps2, margin_);
    const index_t dim = f_.dim;
    const auto packed = static_cast<index_t>(packed_ids_.size());
    row_matrix qmat;
    col_matrix dots;
    std::vector<std::uint8_t> active;
    for (std::size_t q0 = 0; q0 < queries.size(); q0 += static_cast<std::size_t>(options_.query_block)) {
      const auto bq = static_cast<index_t>(
          std::min<std::size_t>(static_cast<std::size_t>(options_.query_block), queries.size() - q0));
      qmat.resize(bq, dim);
      for (index_t k = 0; k < bq; ++k) {
        const float* r = f_.row_pointer(queries[q0 + static_cast<std::size_t>(k)]);
        std::copy(r, r + dim, qmat.row(k).data());
      }
      active.assign(static_cast<std::size_t>(bq), 1);
      index_t remaining = bq;
      for (index_t p0 = 0; p0 < packed && remaining > 0; p0 += options_.point_block) {
        const index_t bp = std::min(options_.point_block, packed - p0);
        mapped pmat(packed_rows_ + p0 * packed_stride_, bp, dim, Eigen::OuterStride<>(packed_stride_));
        dots.resize(bp, bq);
        dots.noalias() = pmat * qmat.transpose();
        for (index_t k = 0; k < bq; ++k) {
          if (!active[static_cast<std::size_t>(k)]) continue;
          const index_t q = queries[q0 + static_cast<std::size_t>(k)];
          const float nq = norms_[static_cast<std::size_t>(q)];
          const float* col = dots.col(k).data();
          for (index_t t = 0; t < bp; ++t) {
            const float approx = nq + packed_norms_[static_cast<std::size_t>(p0 + t)] - 2.0f * col[t];
            if (approx > filter2) continue;
            const index_t j = packed_ids_[static_cast<std::size_t>(p0 + t)];
            if (!live_[static_cast<std::size_t>(j)]) continue;
            const double d2 = canonical_squared_distance(f_, q, j);
            if (!(d2 <= eps2)) continue;  // NaN-safe: only a distance <= eps is a neighbor
            if (!visit(q0 + static_cast<std::size_t>(k), j, std::sqrt(d2))) {
              active[static_cast<std::size_t>(k)] = 0;
              --remaining;
              break;
            }
          }
        }
      }
    }
  }

 private:
  // Compacts the live rows: the first repack copies out of the caller's
  // matrix (never written); later ones compact our own copy in place (rows
  // only move towards the front, so a forward copy is safe).
  void repack() {
    const index_t dim = f_.dim;
    std::vector<index_t> ids;
    ids.reserve(static_cast<std::size_t>(live_count_));
    for (index_t id : packed_ids_)
      if (live_[static_cast<std::size_t>(id)]) ids.push_back(id);
    const index_t stride = (dim + 15) / 16 * 16;
    if (own_rows_.empty()) {
      std::vector<float> rows(static_cast<std::size_t>(static_cast<index_t>(ids.size()) * stride), 0.0f);
      for (std::size_t k = 0; k < ids.size(); ++k)
        std::copy(f_.row_pointer(ids[k]), f_.row_pointer(ids[k]) + dim,
                  rows.data() + static_cast<index_t>(k) * stride);
      own_rows_ = std::move(rows);
    } else {
      // In place: packed position of each live id is >= its new position.
      std::size_t out = 0;
      for (std::size_t k = 0; k < packed_ids_.size(); ++k) {
        const index_t id = packed_ids_[k];
        if (!live_[static_cast<std::size_t>(id)]) continue;
        if (out != k)
          std::copy(own_rows_.data() + static_cast<index_t>(k) * stride,
                    own_rows_.data() + static_cast<index_t>(k) * stride + dim,
                    own_rows_.data() + static_cast<index_t>(out) * stride);
        ++out;
      }
      own_rows_.resize(out * static_cast<std::size_t>(stride));
      own_rows_.shrink_to_fit();
    }
    packed_norms_.resize(ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k)
      packed_norms_[k] = norms_[static_cast<std::size_t>(ids[k])];
    packed_ids_ = std::move(ids);
    packed_rows_ = own_rows_.data();
    packed_stride_ = stride;
  }

  feature_view f_;
  brute_force_options options_;
  std::vector<float> norms_;         // squared norms, by id
  double margin_ = 0;                // float32 rounding bound on squared distances
  std::vector<std::uint8_t> live_;   // by id
  index_t live_count_ = 0;
  std::vector<index_t> packed_ids_;  // ids of packed rows (live or recently erased)
  std::vector<float> own_rows_;      // our packed copy once we have repacked
  const float* packed_rows_ = nullptr;
  index_t packed_stride_ = 0;
  std::vector<float> packed_norms_;
};

// The policy: builds a brute_force index over the features.
struct brute_force_policy {
  static constexpr const char* name = "brute";
  brute_force_options options{};
  brute_force build(feature_view f, int /*threads*/ = 0) const { return brute_force(f, options); }
};

static_assert(check_radius_searchable<brute_force>());
static_assert(batch_radius_searchable<brute_force>);
static_assert(erasable_index<brute_force>);
static_assert(check_index_policy<brute_force_policy>());

}  // namespace spectromine::index
