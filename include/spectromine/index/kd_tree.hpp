// spectromine/index/kd_tree.hpp: a kd-tree over PCA-projected features,
// used as an exact filter for radius search in the full feature space.
//
// WHEN IS IT EXACT? Always. The tree indexes y = P^T (x - mean), P the top-K
// principal axes (orthonormal, see index/detail/projection.hpp). Projection
// never lengthens a difference vector, so a projected range search of radius
// eps (plus a rounding slack) returns every true neighbor; each candidate is
// then accepted only if its canonical full-space distance is <= eps. The
// neighbor sets -- hence DBSCAN labels -- equal brute force's for every K.
// K only trades tree pruning (larger K: projected distances closer to the
// true ones, fewer candidates) against the curse of dimension of kd-trees
// (K <= ~12 prunes well). When features already have dim <= K (e.g. DBSCAN on
// K PCA features), no projection is made and the tree is over the features.
//
// Structure: median splits on the widest box side, leaves of <= leaf_size
// points, nodes in one array with bounding boxes; points stored in tree order
// (queries read leaves contiguously). Queries descend nearer child first, so
// a core-detection query usually meets MinPts neighbors in its own leaf and
// stops. Erasure keeps a live count per node: subtrees with no live point are
// skipped, which makes DBSCAN's expansion O(reported neighbors).
// Memory: n K floats + O(n) ids + O(n / leaf_size) nodes.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/index/detail/projection.hpp"

namespace spectromine::index {

struct kd_tree_options {
  index_t components = 8;      // K: dimension of the projected filter space
  index_t leaf_size = 64;      // points per leaf (<= 256)
  index_t pca_sample = 16384;  // points used to fit the projection
  void validate() const {
    require(components > 0 && components <= 64, "kd_tree", "components", "must be in 1..64",
            components);
    require(leaf_size > 0 && leaf_size <= 256, "kd_tree", "leaf_size", "must be in 1..256",
            leaf_size);
    require(pca_sample > 0, "kd_tree", "pca_sample", "must be > 0", pca_sample);
  }
};

class kd_tree {
 public:
  static constexpr const char* name = "kdtree";

  kd_tree(feature_view f, kd_tree_options options = {}, int threads = 0) : f_(f) {
    validate_features(f, "kd_tree");
    options.validate();
    proj_ = detail::fit_projection(f, options.components, options.pca_sample);
    k_ = proj_.basis.cols();
    std::vector<float> y = detail::project_points(f, proj_, threads);
    build(y, options.leaf_size);
  }

  index_t size() const noexcept { return f_.size; }
  feature_view features() const noexcept { return f_; }
  index_t projected_dimension() const noexcept { return k_; }
  // Ids in tree order (leaf by leaf): neighbors in the tree are near in it.
  std::span<const index_t> locality_order() const noexcept { return ids_; }
  const detail::projection& projection() const noexcept { return proj_; }
  bool is_live(index_t id) const noexcept {
    return live_[static_cast<std::size_t>(pos_of_[static_cast<std::size_t>(id)])] != 0;
  }

  void erase(index_t id) {
    const index_t pos = pos_of_[static_cast<std::size_t>(id)];
    auto& flag = live_[static_cast<std::size_t>(pos)];
    if (!flag) return;
    flag = 0;
    for (std::int32_t node = leaf_of_[static_cast<std::size_t>(id)]; node >= 0;
         node = nodes_[static_cast<std::size_t>(node)].parent)
      --nodes_[static_cast<std::size_t>(node)].live;
  }

  template <neighbor_sink S>
  void radius_search(index_t q, double eps, S&& sink) const {
    validate_radius(eps, "kd_tree");
    const double eps2 = squared_radius(eps);
    const double r = detail::filter_radius(eps, max_norm_);
    const float r2 = static_cast<float>(r * r * (1.0 + 1e-5));
    float yq[64];
    const index_t qpos = pos_of_[static_cast<std::size_t>(q)];
    for (index_t k = 0; k < k_; ++k) yq[k] = y_[static_cast<std::size_t>(k * n_ + qpos)];
    float acc[256];
    std::array<std::int32_t, 256> stack;
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const node& nd = nodes_[static_cast<std::size_t>(stack[--top])];
      if (nd.live == 0) continue;
      if (nd.left < 0) {
        // Leaf: coordinates are stored dimension-major, so the squared
        // distances of all the leaf's points accumulate in SIMD lanes.
        const index_t len = nd.end - nd.begin;
        std::fill(acc, acc + len, 0.0f);
        for (index_t k = 0; k < k_; ++k) {
          const float* col = y_.data() + k * n_ + nd.begin;
          const float c = yq[k];
          for (index_t t = 0; t < len; ++t) {
            const float d = col[t] - c;
            acc[t] += d * d;
          }
        }
        for (index_t t = 0; t < len; ++t) {
          if (acc[t] > r2) continue;
          const index_t pos = nd.begin + t;
          if (!live_[static_cast<std::size_t>(pos)]) continue;
          const index_t j = ids_[static_cast<std::size_t>(pos)];
          if (certainly_outside(f_.row_pointer(q), f_.row_pointer(j), f_.dim, eps2)) continue;
          const double d2 = canonical_squared_distance(f_, q, j);
          if (d2 <= eps2 && !sink(j, std::sqrt(d2))) return;
        }
        continue;
      }
      const float dl = box_distance2(nd.left, yq);
      const float dr = box_distance2(nd.right, yq);
      // Push the farther child first so that the nearer one is searched first.
      if (dl <= dr) {
        if (dr <= r2) stack[top++] = nd.right;
        if (dl <= r2) stack[top++] = nd.left;
      } else {
        if (dl <= r2) stack[top++] = nd.left;
        if (dr <= r2) stack[top++] = nd.right;
      }
    }
  }

 private:
  struct node {
    index_t begin = 0, end = 0;  // range of tree positions
    std::int32_t left = -1, right = -1, parent = -1;
    index_t live = 0;
  };

  float box_distance2(std::int32_t n, const float* yq) const noexcept {
    const float* lo = lo_.data() + static_cast<index_t>(n) * k_;
    const float* hi = hi_.data() + static_cast<index_t>(n) * k_;
    float s = 0;
    for (index_t k = 0; k < k_; ++k) {
      const float t = yq[k] < lo[k] ? lo[k] - yq[k] : (yq[k] > hi[k] ? yq[k] - hi[k] : 0.0f);
      s += t * t;
    }
    return s;
  }

  void build(const std::vector<float>& y, index_t leaf_size) {
    const index_t n = f_.size;
    std::vector<index_t> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), index_t{0});
    max_norm_ = 0;
    for (index_t i = 0; i < n; ++i) {
      double s = 0;
      for (index_t k = 0; k < k_; ++k) s += static_cast<double>(y[static_cast<std::size_t>(i * k_ + k)]) * y[static_cast<std::size_t>(i * k_ + k)];
      max_norm_ = std::max(max_norm_, std::sqrt(s));
    }
    leaf_of_.assign(static_cast<std::size_t>(n), -1);
    nodes_.clear();
    nodes_.reserve(static_cast<std::size_t>(2 * (n / std::max<index_t>(leaf_size, 1)) + 2));
    nodes_.push_back(node{0, n, -1, -1, -1, n});
    std::vector<std::int32_t> todo{0};
    auto coord = [&](index_t id, index_t k) { return y[static_cast<std::size_t>(id * k_ + k)]; };
    std::vector<float> lo(static_cast<std::size_t>(k_)), hi(static_cast<std::size_t>(k_));
    // Boxes are computed per node after the split (tight boxes prune best).
    while (!todo.empty()) {
      const std::int32_t ni = todo.back();
      todo.pop_back();
      const index_t b = nodes_[static_cast<std::size_t>(ni)].begin;
      const index_t e = nodes_[static_cast<std::size_t>(ni)].end;
      std::fill(lo.begin(), lo.end(), std::numeric_limits<float>::infinity());
      std::fill(hi.begin(), hi.end(), -std::numeric_limits<float>::infinity());
      for (index_t t = b; t < e; ++t)
        for (index_t k = 0; k < k_; ++k) {
          const float v = coord(perm[static_cast<std::size_t>(t)], k);
          lo[static_cast<std::size_t>(k)] = std::min(lo[static_cast<std::size_t>(k)], v);
          hi[static_cast<std::size_t>(k)] = std::max(hi[static_cast<std::size_t>(k)], v);
        }
      box_lo_.resize(nodes_.size() * static_cast<std::size_t>(k_));
      box_hi_.resize(nodes_.size() * static_cast<std::size_t>(k_));
      std::copy(lo.begin(), lo.end(), box_lo_.begin() + ni * k_);
      std::copy(hi.begin(), hi.end(), box_hi_.begin() + ni * k_);
      if (e - b <= leaf_size) {
        for (index_t t = b; t < e; ++t) leaf_of_[static_cast<std::size_t>(perm[static_cast<std::size_t>(t)])] = ni;
        continue;
      }
      index_t split_dim = 0;
      float widest = -1;
      for (index_t k = 0; k < k_; ++k)
        if (hi[static_cast<std::size_t>(k)] - lo[static_cast<std::size_t>(k)] > widest) {
          widest = hi[static_cast<std::size_t>(k)] - lo[static_cast<std::size_t>(k)];
          split_dim = k;
        }
      const index_t mid = b + (e - b) / 2;
      std::nth_element(perm.begin() + b, perm.begin() + mid, perm.begin() + e,
                       [&](index_t a, index_t c) {
                         const float va = coord(a, split_dim), vc = coord(c, split_dim);
                         return va < vc || (va == vc && a < c);
                       });
      const auto left = static_cast<std::int32_t>(nodes_.size());
      nodes_.push_back(node{b, mid, -1, -1, ni, mid - b});
      nodes_.push_back(node{mid, e, -1, -1, ni, e - mid});
      nodes_[static_cast<std::size_t>(ni)].left = left;
      nodes_[static_cast<std::size_t>(ni)].right = left + 1;
      todo.push_back(left + 1);
      todo.push_back(left);
    }
    lo_ = std::move(box_lo_);
    hi_ = std::move(box_hi_);
    // Points in tree order.
    // Dimension-major (k * n + position): leaves scan in SIMD.
    n_ = n;
    y_.resize(static_cast<std::size_t>(n * k_));
    ids_ = perm;
    pos_of_.resize(static_cast<std::size_t>(n));
    for (index_t t = 0; t < n; ++t) {
      const index_t id = perm[static_cast<std::size_t>(t)];
      pos_of_[static_cast<std::size_t>(id)] = t;
      for (index_t k = 0; k < k_; ++k) y_[static_cast<std::size_t>(k * n + t)] = coord(id, k);
    }
    live_.assign(static_cast<std::size_t>(n), 1);
  }

  feature_view f_;
  detail::projection proj_;
  index_t k_ = 0;
  index_t n_ = 0;
  double max_norm_ = 0;
  std::vector<float> y_;             // projected points in tree order, dimension-major
  std::vector<index_t> ids_;         // tree position -> id
  std::vector<index_t> pos_of_;      // id -> tree position
  std::vector<std::int32_t> leaf_of_;  // id -> leaf node
  std::vector<std::uint8_t> live_;   // by tree position
  std::vector<node> nodes_;
  std::vector<float> lo_, hi_, box_lo_, box_hi_;  // boxes, K floats per node
};

// The policy: fits the projection and builds the tree (threads used for the projection).
struct kd_tree_policy {
  static constexpr const char* name = "kdtree";
  kd_tree_options options{};
  kd_tree build(feature_view f, int threads = 0) const { return kd_tree(f, options, threads); }
};

static_assert(check_radius_searchable<kd_tree>());
static_assert(erasable_index<kd_tree>);
static_assert(locality_ordered<kd_tree>);
static_assert(check_index_policy<kd_tree_policy>());

}  // namespace spectromine::index
