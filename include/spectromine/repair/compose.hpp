// spectromine/repair/compose.hpp: several repairs applied left to right.
//
//   auto r = repair::compose(repair::window_core{5, 23}, repair::fill{});
//   auto report = r.apply(labels, mask);
//
// The composition is itself a label_repair (so compositions nest). Its report
// names the parts joined by '+', lists each part's parameters in order, and
// sums the removed / filled pixel counts.
#pragma once

#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "spectromine/repair/concept.hpp"

namespace spectromine::repair {

template <label_repair... R>
class composed {
 public:
  explicit composed(R... parts) : parts_(std::move(parts)...) {}

  repair_report apply(label_view labels, mask_view mask = {}) const {
    repair_report total{"", nlohmann::json::array(), 0, 0};
    std::apply(
        [&](const auto&... part) {
          (
              [&] {
                repair_report r = part.apply(labels, mask);
                total.method += (total.method.empty() ? "" : "+") + r.method;
                total.parameters.push_back({{"method", r.method}, {"parameters", r.parameters}});
                total.removed += r.removed;
                total.filled += r.filled;
              }(),
              ...);
        },
        parts_);
    return total;
  }

  const std::tuple<R...>& parts() const noexcept { return parts_; }

 private:
  std::tuple<R...> parts_;
};

template <class... R>
  requires(label_repair<R> && ...)
composed<R...> compose(R... parts) {
  return composed<R...>(std::move(parts)...);
}

// The repair that does nothing (for --no-repair and as a neutral element).
struct no_repair {
  repair_report apply(label_view, mask_view = {}) const {
    return {"none", nlohmann::json::object(), 0, 0};
  }
};

static_assert(check_label_repair<no_repair>());

}  // namespace spectromine::repair
