// spectromine/index/any.hpp: an index policy chosen at run time (the CLI's
// --index brute|kdtree|rtree), as one type: a std::variant of the policies
// and of the indexes they build. The per-query dispatch is one switch on the
// variant's index, negligible next to a radius query; code that knows its
// policy at compile time uses that policy directly.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "spectromine/error.hpp"
#include "spectromine/index/brute_force.hpp"
#include "spectromine/index/concept.hpp"
#include "spectromine/index/kd_tree.hpp"
#include "spectromine/index/rtree.hpp"

namespace spectromine::index {

class any_index {
 public:
  using variant = std::variant<brute_force, kd_tree, rtree<4>>;
  explicit any_index(variant v) : v_(std::move(v)) {}

  index_t size() const {
    return std::visit([](const auto& i) { return i.size(); }, v_);
  }
  feature_view features() const {
    return std::visit([](const auto& i) { return i.features(); }, v_);
  }
  bool is_live(index_t id) const {
    return std::visit([&](const auto& i) { return i.is_live(id); }, v_);
  }
  // The kd-tree's locality order; empty for the other indexes.
  std::span<const index_t> locality_order() const {
    return std::visit(
        [](const auto& i) -> std::span<const index_t> {
          if constexpr (locality_ordered<std::remove_cvref_t<decltype(i)>>) return i.locality_order();
          else return {};
        },
        v_);
  }
  void erase(index_t id) {
    std::visit([&](auto& i) { i.erase(id); }, v_);
  }
  template <neighbor_sink S>
  void radius_search(index_t q, double eps, S&& sink) const {
    std::visit([&](const auto& i) { i.radius_search(q, eps, sink); }, v_);
  }
  // Batches go to brute force's GEMM; tree indexes answer query by query.
  template <batch_visitor V>
  void radius_search_batch(std::span<const index_t> qs, double eps, V&& visit) const {
    std::visit(
        [&](const auto& i) {
          if constexpr (batch_radius_searchable<std::remove_cvref_t<decltype(i)>>) {
            i.radius_search_batch(qs, eps, visit);
          } else {
            for (std::size_t k = 0; k < qs.size(); ++k)
              i.radius_search(qs[k], eps, [&](index_t j, double d) { return visit(k, j, d); });
          }
        },
        v_);
  }

 private:
  variant v_;
};

// A policy chosen by name: "brute", "kdtree" (default) or "rtree" (R-tree on
// 4 PCA coordinates).
struct any_policy {
  static constexpr const char* name = "any";
  std::variant<brute_force_policy, kd_tree_policy, rtree_policy<4>> policy = kd_tree_policy{};

  static any_policy from_name(std::string_view n) {
    if (n == "brute") return {brute_force_policy{}};
    if (n == "kdtree") return {kd_tree_policy{}};
    if (n == "rtree") return {rtree_policy<4>{}};
    throw_invalid("index", "name", "must be brute, kdtree or rtree", std::string(n));
  }
  std::string_view chosen_name() const {
    return std::visit([](const auto& p) -> std::string_view { return std::remove_cvref_t<decltype(p)>::name; },
                      policy);
  }
  any_index build(feature_view f, int threads = 0) const {
    return std::visit([&](const auto& p) { return any_index(any_index::variant(p.build(f, threads))); },
                      policy);
  }
};

static_assert(check_radius_searchable<any_index>());
static_assert(batch_radius_searchable<any_index>);
static_assert(erasable_index<any_index>);
static_assert(check_index_policy<any_policy>());

}  // namespace spectromine::index
