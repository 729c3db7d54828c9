// spectromine/core/memory_size.hpp: memory sizes written by people ("256M",
// "2G", "512KiB", "1000000") as bytes, for every budget option (tiled
// pipelines, stitching, scans of large files), with one error convention.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "spectromine/error.hpp"

namespace spectromine {

// Bytes in `text`: a positive number (decimals allowed) and an optional
// binary unit: B, K/k/KiB, M/m/MiB, G/g/GiB, T/TiB. Anything else (empty,
// signs, spaces, hex, inf, a size below one byte or beyond size_t) is an
// invalid_argument naming `component` and `parameter`.
inline std::size_t parse_memory_size(std::string_view text, std::string_view component,
                                     std::string_view parameter) {
  constexpr std::string_view requirement = "must be a size such as 256M or 2G";
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  const auto parsed = std::from_chars(first, last, value, std::chars_format::fixed);
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr == first || !std::isfinite(value))
    throw_invalid(component, parameter, requirement, std::string(text));
  const std::string_view unit(parsed.ptr, static_cast<std::size_t>(last - parsed.ptr));
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "k" || unit == "KiB") scale = 1024.0;
  else if (unit == "M" || unit == "m" || unit == "MiB") scale = 1024.0 * 1024.0;
  else if (unit == "G" || unit == "g" || unit == "GiB") scale = 1024.0 * 1024.0 * 1024.0;
  else if (unit == "T" || unit == "TiB") scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  else throw_invalid(component, parameter, requirement, std::string(text));
  const double bytes = value * scale;
  require(bytes >= 1, component, parameter, "must be at least one byte", std::string(text));
  require(bytes < 1.8e19, component, parameter, "is beyond any memory", std::string(text));
  return static_cast<std::size_t>(bytes);
}

}  // namespace spectromine
