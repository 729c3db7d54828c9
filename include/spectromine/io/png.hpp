// spectromine/io/png.hpp: pictures (component spectromine::png, libpng).
//
// write_label_png draws a label map in distinct colours with a legend strip
// below it (a colour swatch and the label number, or "number name", per
// label present), so phase_map.png is readable on its own. Colours: 0 (no
// sample) black, -1 (DBSCAN outlier) grey, -2 (unexplained) white, labels
// 1..20 a fixed palette of distinct colours, beyond that a golden-ratio walk
// around the hue circle (thousands of labels stay distinguishable from their
// neighbours in number). The text uses an embedded 5x7 bitmap font.
// write_gray_png scales a float image to 8-bit grey. Both write through
// io::atomic_file; read_png reads any PNG as 8-bit grey/RGB/RGBA.
//
// Needs the spectromine::png component (links libpng, defines SPECTROMINE_HAS_PNG).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <png.h>

#include "spectromine/core/image.hpp"
#include "spectromine/core/types.hpp"
#include "spectromine/error.hpp"
#include "spectromine/io/atomic_file.hpp"
#include "spectromine/io/detail/common.hpp"
#include "spectromine/io/detail/font5x7.hpp"

namespace spectromine::io {

struct rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend constexpr bool operator==(const rgb&, const rgb&) = default;
};

// An 8-bit picture: channels = 1 (grey), 3 (RGB) or 4 (RGBA), rows packed.
struct png_picture {
  index_t width = 0, height = 0;
  int channels = 3;
  std::vector<std::uint8_t> pixels;  // height * width * channels
  const std::uint8_t* at(index_t row, index_t col) const {
    return pixels.data() + (row * width + col) * channels;
  }
};

// The colour of a label in write_label_png.
inline rgb label_colour(label_t label) {
  static constexpr std::array<rgb, 20> palette{{
      {230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {67, 99, 216},   {245, 130, 49},
      {145, 30, 180},  {66, 212, 244},  {240, 50, 230},  {191, 239, 69},  {250, 190, 212},
      {70, 153, 144},  {220, 190, 255}, {154, 99, 36},   {255, 250, 200}, {128, 0, 0},
      {170, 255, 195}, {128, 128, 0},   {255, 216, 177}, {100, 100, 255}, {140, 86, 75},
  }};
  if (label == labels::unlabeled) return {0, 0, 0};
  if (label == labels::outlier) return {150, 150, 150};
  if (label == labels::unexplained) return {255, 255, 255};
  if (label < 0) return {90, 90, 90};
  if (label <= static_cast<label_t>(palette.size())) return palette[static_cast<std::size_t>(label - 1)];
  // Golden-ratio hue walk: consecutive labels land far apart on the hue
  // circle; saturation and value cycle so that hues that come back close
  // differ in brightness. Kept away from black, grey and white.
  const double k = static_cast<double>(label - static_cast<label_t>(palette.size()));
  const double golden = 0.6180339887498949;
  const double h = std::fmod(0.11 + k * golden, 1.0) * 6.0;
  const auto step = static_cast<long>(k);
  const double s = (step % 3 == 0) ? 0.95 : (step % 3 == 1 ? 0.65 : 0.8);
  const double v = (step % 2 == 0) ? 1.0 : 0.75;
  const int sector = static_cast<int>(h) % 6;
  const double f = h - std::floor(h);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = 0, g = 0, b = 0;
  switch (sector) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
  }
  const auto byte = [](double x) { return static_cast<std::uint8_t>(std::lround(std::clamp(x, 0.0, 1.0) * 255)); };
  return {byte(r), byte(g), byte(b)};
}

struct label_png_options {
  // Each map pixel becomes scale x scale picture pixels; 0 = automatic (small
  // maps are enlarged so the picture is about 256 pixels across, up to 8x).
  int scale = 0;
  bool legend = true;
  // Beyond this many labels the legend ends with "+N MORE".
  std::size_t max_legend_entries = 256;
};

struct gray_png_options {
  std::optional<double> low, high;  // unset: min / max of the finite values
  int scale = 0;                    // as in label_png_options
};

namespace detail {

inline int auto_scale(int requested, index_t rows, index_t cols) {
  if (requested > 0) return requested;
  const index_t longest = std::max<index_t>(1, std::max(rows, cols));
  return static_cast<int>(std::clamp<index_t>(256 / longest, 1, 8));
}

// Writes 8-bit pixels through libpng's simplified API (no setjmp).
inline void write_png_pixels(const std::filesystem::path& path, index_t width, index_t height,
                             int channels, const std::vector<std::uint8_t>& pixels) {
  if (width <= 0 || height <= 0 || width > 1000000 || height > 1000000)
    throw invalid_argument("png", "size",
                           "png: picture size must be 1..1000000 pixels per side (got " +
                               std::to_string(width) + " x " + std::to_string(height) + ")");
  atomic_file out(path);
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  const int ok = png_image_write_to_file(&image, out.temp_path().c_str(), 0, pixels.data(),
                                         static_cast<png_int_32>(width * channels), nullptr);
  const std::string message = image.message;
  png_image_free(&image);
  if (!ok) throw io_error(path, "cannot write PNG: " + message);
  out.commit();
}

class canvas {
 public:
  canvas(index_t width, index_t height, rgb background)
      : width_(width), height_(height), pixels_(static_cast<std::size_t>(width * height * 3)) {
    for (index_t i = 0; i < width * height; ++i) set(i, background);
  }
  void set(index_t i, rgb c) {
    auto* p = pixels_.data() + i * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  void fill(index_t x0, index_t y0, index_t w, index_t h, rgb c) {
    for (index_t y = std::max<index_t>(y0, 0); y < std::min(y0 + h, height_); ++y)
      for (index_t x = std::max<index_t>(x0, 0); x < std::min(x0 + w, width_); ++x)
        set(y * width_ + x, c);
  }
  void text(index_t x, index_t y, std::string_view s, int scale, rgb c) {
    for (char ch : s) {
      const auto& rows = glyph_rows(ch);
      for (int gy = 0; gy < glyph_height; ++gy)
        for (int gx = 0; gx < glyph_width; ++gx)
          if (rows[static_cast<std::size_t>(gy)] & (0x10 >> gx))
            fill(x + gx * scale, y + gy * scale, scale, scale, c);
      x += glyph_advance * scale;
    }
  }
  index_t width() const { return width_; }
  index_t height() const { return height_; }
  const std::vector<std::uint8_t>& pixels() const { return pixels_; }

 private:
  index_t width_, height_;
  std::vector<std::uint8_t> pixels_;
};

inline std::string legend_text(label_t label, const std::vector<std::string>& names) {
  std::string text = std::to_string(label);
  if (label > 0 && static_cast<std::size_t>(label) <= names.size() && !names[static_cast<std::size_t>(label - 1)].empty())
    text += " " + names[static_cast<std::size_t>(label - 1)];
  else if (label == labels::unlabeled) text += " NO SAMPLE";
  else if (label == labels::outlier) text += " OUTLIER";
  else if (label == labels::unexplained) text += " UNEXPLAINED";
  if (text.size() > 40) text = text.substr(0, 38) + "..";
  return text;
}

}  // namespace detail

// The picture write_label_png writes (for tests and for embedding elsewhere).
inline png_picture render_label_map(const_label_view labels,
                                    const std::vector<std::string>& legend_names = {},
                                    const label_png_options& options = {}) {
  require(labels.rows() > 0 && labels.cols() > 0, "write_label_png", "labels",
          "must not be empty", labels.pixel_count());
  const int scale = detail::auto_scale(options.scale, labels.rows(), labels.cols());
  const index_t map_w = labels.cols() * scale, map_h = labels.rows() * scale;

  std::map<label_t, index_t> present;  // label -> pixel count
  {
    std::vector<index_t> positive;       // fast path for 0..K
    for (index_t r = 0; r < labels.rows(); ++r)
      for (label_t l : labels.row(r)) {
        if (l >= 0 && l < (1 << 20)) {
          if (static_cast<std::size_t>(l) >= positive.size()) positive.resize(static_cast<std::size_t>(l) + 1, 0);
          ++positive[static_cast<std::size_t>(l)];
        } else {
          ++present[l];
        }
      }
    for (std::size_t l = 0; l < positive.size(); ++l)
      if (positive[l] > 0) present[static_cast<label_t>(l)] = positive[l];
  }
  // Legend order: clusters 1..K, then the sentinels 0, -1, -2, ...
  std::vector<label_t> order;
  for (auto& [l, n] : present) if (l > 0) order.push_back(l);
  for (auto it = present.rbegin(); it != present.rend(); ++it) if (it->first <= 0) order.push_back(it->first);

  const int font = map_w >= 160 ? 2 : 1;
  const index_t row_h = (detail::glyph_height + 3) * font;
  const index_t swatch = detail::glyph_height * font;
  std::vector<std::string> texts;
  std::size_t shown = order.size();
  if (options.legend) {
    if (shown > options.max_legend_entries) shown = options.max_legend_entries > 0 ? options.max_legend_entries - 1 : 0;
    for (std::size_t i = 0; i < shown; ++i) texts.push_back(detail::legend_text(order[i], legend_names));
    if (shown < order.size()) texts.push_back("+" + std::to_string(order.size() - shown) + " MORE");
  }
  index_t cell_w = 0;
  for (auto& t : texts) cell_w = std::max<index_t>(cell_w, swatch + 3 * font + detail::text_width(t, font) + 4 * font);
  // Many labels: widen the legend (up to ~1024 pixels) rather than stack a
  // tall single column of entries.
  const index_t entries = static_cast<index_t>(texts.size());
  const index_t width = std::max(map_w, std::min(cell_w * entries, std::max<index_t>(cell_w, 1024)));
  const index_t per_row = cell_w > 0 ? std::max<index_t>(1, width / cell_w) : 1;
  const index_t legend_rows = texts.empty() ? 0 : (static_cast<index_t>(texts.size()) + per_row - 1) / per_row;
  const index_t legend_h = texts.empty() ? 0 : legend_rows * row_h + 2 * font;
  detail::canvas pic(width, map_h + legend_h, rgb{40, 40, 40});  // grey outside the map: black means "no sample"

  for (index_t r = 0; r < labels.rows(); ++r)
    for (index_t c = 0; c < labels.cols(); ++c)
      pic.fill(c * scale, r * scale, scale, scale, label_colour(labels(r, c)));
  if (!texts.empty()) {
    pic.fill(0, map_h, width, legend_h, rgb{40, 40, 40});
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const index_t x = static_cast<index_t>(i) % per_row * cell_w + 2 * font;
      const index_t y = map_h + 2 * font + static_cast<index_t>(i) / per_row * row_h;
      if (i < shown) {
        pic.fill(x, y, swatch, swatch, rgb{255, 255, 255});  // a frame, so black shows
        pic.fill(x + 1, y + 1, swatch - 2, swatch - 2, label_colour(order[i]));
      }
      pic.text(x + swatch + 3 * font, y, texts[i], font, rgb{255, 255, 255});
    }
  }
  return png_picture{pic.width(), pic.height(), 3, pic.pixels()};
}

// phase_map.png: legend_names[k - 1] names label k (may be shorter or empty).
inline void write_label_png(const std::filesystem::path& path, const_label_view labels,
                            const std::vector<std::string>& legend_names = {},
                            const label_png_options& options = {}) {
  const png_picture pic = render_label_map(labels, legend_names, options);
  detail::write_png_pixels(path, pic.width, pic.height, pic.channels, pic.pixels);
}

// A float image scaled linearly from [low, high] to 0..255 (clamped);
// non-finite pixels are black.
inline void write_gray_png(const std::filesystem::path& path, image_view<const float> img,
                           const gray_png_options& options = {}) {
  require(img.rows() > 0 && img.cols() > 0, "write_gray_png", "image", "must not be empty",
          img.pixel_count());
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (index_t r = 0; r < img.rows(); ++r)
    for (float v : img.row(r))
      if (std::isfinite(v)) {
        lo = std::min(lo, static_cast<double>(v));
        hi = std::max(hi, static_cast<double>(v));
      }
  if (options.low) lo = *options.low;
  if (options.high) hi = *options.high;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = 0;  // no finite pixel: all black
  const double span = hi > lo ? hi - lo : 1.0;
  const int scale = detail::auto_scale(options.scale, img.rows(), img.cols());
  const index_t w = img.cols() * scale, h = img.rows() * scale;
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h));
  for (index_t r = 0; r < h; ++r)
    for (index_t c = 0; c < w; ++c) {
      const float v = img(r / scale, c / scale);
      px[static_cast<std::size_t>(r * w + c)] =
          std::isfinite(v) ? static_cast<std::uint8_t>(std::lround(std::clamp((v - lo) / span, 0.0, 1.0) * 255.0)) : 0;
    }
  detail::write_png_pixels(path, w, h, 1, px);
}

// An RGB picture (e.g. one composed by the caller).
inline void write_rgb_png(const std::filesystem::path& path, const png_picture& picture) {
  require(picture.channels == 1 || picture.channels == 3 || picture.channels == 4, "write_rgb_png",
          "channels", "must be 1, 3 or 4", picture.channels);
  require(picture.pixels.size() == static_cast<std::size_t>(picture.width * picture.height * picture.channels),
          "write_rgb_png", "pixels", "must hold width * height * channels bytes", picture.pixels.size());
  detail::write_png_pixels(path, picture.width, picture.height, picture.channels, picture.pixels);
}

// Any PNG, as 8-bit grey (1 channel), RGB (3) or RGBA (4) following the file.
inline png_picture read_png(const std::filesystem::path& path) {
  detail::check_input_file(path);
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    const std::string message = image.message;
    png_image_free(&image);
    throw format_error(path, "not a readable PNG: " + message);
  }
  png_picture pic;
  pic.width = image.width;
  pic.height = image.height;
  const bool colour = image.format & PNG_FORMAT_FLAG_COLOR;
  const bool alpha = image.format & PNG_FORMAT_FLAG_ALPHA;
  pic.channels = (colour ? 3 : 1) + (alpha ? 1 : 0);
  if (pic.channels == 2) pic.channels = 4;
  image.format = pic.channels == 1 ? PNG_FORMAT_GRAY : pic.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  const std::size_t bytes = PNG_IMAGE_SIZE(image);
  try {
    detail::check_allocation(path, bytes);
  } catch (...) {
    png_image_free(&image);
    throw;
  }
  pic.pixels.resize(bytes);
  if (!png_image_finish_read(&image, nullptr, pic.pixels.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    throw format_error(path, "corrupt PNG: " + message);
  }
  return pic;
}

}  // namespace spectromine::io
