// spectromine/core/concepts.hpp: the concepts that core data types satisfy,
// and their static_assert twins with one-sentence diagnostics.
//
// Component concepts (noise_model, metric, index, partitioner, repair, ...)
// live in the concept.hpp of their own folder; they build on these.
#pragma once

#include <concepts>
#include <string_view>
#include <type_traits>

#include "spectromine/core/cube_traits.hpp"
#include "spectromine/core/image.hpp"

namespace spectromine {

// A spectral cube: something cube_traits can view as cube_view<const T>.
template <class C>
concept spectral_cube = requires(const C& c) {
  { cube_traits<std::remove_cvref_t<C>>::view(c) };
  requires detail::is_const_cube_view<
      decltype(cube_traits<std::remove_cvref_t<C>>::view(c))>::value;
};

// A spectral cube that can also be written in place (e.g. normalization in place).
template <class C>
concept mutable_spectral_cube =
    spectral_cube<C> && requires(C& c) { cube_traits<std::remove_cvref_t<C>>::mutable_view(c); };

// The element type of a spectral cube (float, double, ...).
template <spectral_cube C>
using cube_value_t = typename decltype(cube_traits<std::remove_cvref_t<C>>::view(
    std::declval<const C&>()))::value_type;

// The read-only view of any spectral cube.
template <spectral_cube C>
auto view_of(const C& c) {
  return cube_traits<std::remove_cvref_t<C>>::view(c);
}
template <mutable_spectral_cube C>
auto mutable_view_of(C& c) {
  return cube_traits<std::remove_cvref_t<C>>::mutable_view(c);
}

// Progress observers receive (stage, done, total) from long stages; the
// library never prints. no_progress is the default.
template <class P>
concept progress_observer = std::invocable<P&, std::string_view, index_t, index_t>;

struct no_progress {
  constexpr void operator()(std::string_view, index_t, index_t) const noexcept {}
};

// static_assert twins: include in a template to turn a failed constraint into a sentence.
template <class C>
constexpr bool check_spectral_cube() {
  static_assert(spectral_cube<C>,
                "spectromine: this type is not a spectral cube. Specialize "
                "spectromine::cube_traits<C> with a static view(const C&) returning "
                "cube_view<const T> (see spectromine/core/cube_traits.hpp), or include "
                "core/adapt_xtensor.hpp / core/adapt_eigen.hpp for those containers.");
  return spectral_cube<C>;
}

template <class P>
constexpr bool check_progress_observer() {
  static_assert(progress_observer<P>,
                "spectromine: a progress observer must be callable as "
                "observer(std::string_view stage, index_t done, index_t total).");
  return progress_observer<P>;
}

}  // namespace spectromine
