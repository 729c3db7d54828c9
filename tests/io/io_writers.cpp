#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "spectromine/io/csv.hpp"
#include "spectromine/io/json.hpp"
#include "spectromine/io/png.hpp"

using namespace spectromine;
using namespace io_test;

TEST_CASE("csv: spectra round-trip exactly, header as documented, names quoted") {
  std::vector<double> e{7000.0, 7000.1, 7001.0 / 3.0 + 7000.0};
  std::vector<std::vector<double>> cols{{0.1, 1.0 / 3.0, 2e-300}, {std::numeric_limits<double>::quiet_NaN(), -0.0, 1e300}};
  auto p = scratch() / "spectra.csv";
  io::write_spectra_csv(p, e, cols);
  const std::string text = read_bytes(p);
  CHECK(text.rfind("energy,1,2\n", 0) == 0);
  auto t = io::read_spectra_csv(p);
  CHECK(t.names == std::vector<std::string>{"1", "2"});
  CHECK(t.energy == e);  // bit-exact: shortest round-trip text
  CHECK(t.columns[0] == cols[0]);
  CHECK(std::isnan(t.columns[1][0]));
  CHECK(t.columns[1][2] == 1e300);

  auto q = scratch() / "sites.csv";
  io::write_spectra_csv(q, e, {"hematite 0.5,magnetite 0.5", "say \"hi\""}, cols);
  auto t2 = io::read_spectra_csv(q);
  CHECK(t2.names == std::vector<std::string>{"hematite 0.5,magnetite 0.5", "say \"hi\""});

  CHECK_THROWS_AS(io::write_spectra_csv(q, e, {"a"}, cols), invalid_argument);
  CHECK_THROWS_AS(io::write_spectra_csv(q, e, {std::vector<double>{1, 2}}), invalid_argument);
  auto bad = [](const std::string& name, const std::string& body, const std::string& part) {
    std::string msg;
    try {
      io::read_spectra_csv(write_bytes(name, body));
    } catch (const format_error& err) {
      msg = err.what();
    }
    INFO(msg);
    CHECK(contains(msg, name));
    CHECK(contains(msg, part));
  };
  bad("c1.csv", "energy,1\n7000,1\n7001\n", "line 3");
  bad("c2.csv", "energy,1\n7000,1\n6999,2\n", "strictly increasing");
  bad("c3.csv", "energy,1\n7000,x\n", "not a number");
  bad("c4.csv", "", "no header");
  bad("c5.csv", "energy,1\n", "no data rows");
  bad("c6.csv", "energy,\"a\n7000,1\n", "unterminated");
  bad("c7.csv", "energy,1\nnan,1\n", "finite");
  CHECK_THROWS_AS(io::read_spectra_csv(scratch() / "nope.csv"), io_error);
}

TEST_CASE("json: written atomically, read back, non-finite becomes null") {
  nlohmann::json j{{"method", "voronoi"}, {"clusters", {1, 2, 3}}, {"eps", std::nan("")}, {"name", std::string("bad\xff utf8")}};
  auto p = scratch() / "summary.json";
  io::write_json(p, j);
  auto back = io::read_json(p);
  CHECK(back["method"] == "voronoi");
  CHECK(back["clusters"].size() == 3);
  CHECK(back["eps"].is_null());
  CHECK(back["name"].is_string());
  CHECK_THROWS_AS(io::read_json(write_bytes("bad.json", "{\"a\": ")), format_error);
  CHECK_THROWS_AS(io::write_json(scratch() / "no" / "x.json", j), io_error);
}

TEST_CASE("png: label maps keep one distinct colour per label, 0 is black, legend below") {
  // Distinct colours for many labels (the first thousand), none black/grey-sentinel.
  std::set<std::tuple<int, int, int>> seen;
  for (label_t l = 1; l <= 1000; ++l) {
    auto c = io::label_colour(l);
    seen.insert({c.r, c.g, c.b});
    CHECK_FALSE(c == io::label_colour(labels::unlabeled));
  }
  CHECK(seen.size() >= 990);
  for (label_t l = 1; l < 200; ++l) CHECK_FALSE(io::label_colour(l) == io::label_colour(l + 1));

  label_image labels(image_shape{20, 30});
  for (index_t r = 0; r < 20; ++r)
    for (index_t c = 0; c < 30; ++c) labels(r, c) = r < 2 ? 0 : (c < 10 ? 1 : (c < 20 ? 2 : (r < 10 ? 25 : -1)));
  io::label_png_options opt;
  opt.scale = 3;
  auto pic = io::render_label_map(labels.view(), {"hematite", "magnetite"}, opt);
  CHECK(pic.width >= 90);
  CHECK(pic.height > 60);  // map + legend
  auto colour_at = [&](index_t r, index_t c) {
    auto* p = pic.at(r, c);
    return io::rgb{p[0], p[1], p[2]};
  };
  for (index_t r = 0; r < 20; ++r)
    for (index_t c = 0; c < 30; ++c) CHECK(colour_at(r * 3 + 1, c * 3 + 1) == io::label_colour(labels(r, c)));
  // The legend holds a swatch of every label present.
  for (label_t l : {1, 2, 25, 0, -1}) {
    bool found = false;
    for (index_t r = 60; r < pic.height && !found; ++r)
      for (index_t c = 0; c < pic.width && !found; ++c) found = colour_at(r, c) == io::label_colour(l);
    CHECK_MESSAGE(found, "label " << l);
  }
  auto p = scratch() / "phase_map.png";
  io::write_label_png(p, labels.view(), {"hematite", "magnetite"}, opt);
  auto back = io::read_png(p);
  CHECK(back.width == pic.width);
  CHECK(back.height == pic.height);
  CHECK(back.channels == 3);
  CHECK(back.pixels == pic.pixels);

  // Thousands of labels: the legend is capped, the picture stays bounded.
  label_image many(image_shape{50, 60});
  for (index_t i = 0; i < many.pixel_count(); ++i) many[i] = static_cast<label_t>(i + 1);
  auto big = io::render_label_map(many.view());
  CHECK(big.height < 2000);
  CHECK_THROWS_AS(io::write_label_png(scratch() / "e.png", label_image().view()), invalid_argument);
}

TEST_CASE("png: grey pictures scale finite values to 0..255, non-finite black") {
  image<float> img(image_shape{2, 3});
  const float values[] = {1, 2, 3, std::nanf(""), 5, 1};
  for (int i = 0; i < 6; ++i) img[i] = values[i];
  auto p = scratch() / "gray.png";
  io::gray_png_options opt;
  opt.scale = 1;
  io::write_gray_png(p, img.view(), opt);
  auto back = io::read_png(p);
  REQUIRE(back.channels == 1);
  REQUIRE(back.width == 3);
  CHECK(back.pixels[0] == 0);
  CHECK(back.pixels[4] == 255);
  CHECK(back.pixels[3] == 0);
  CHECK(back.pixels[2] == 128);  // (3-1)/(5-1) * 255 = 127.5 -> 128
  CHECK_THROWS_AS(io::read_png(write_bytes("not.png", "hello")), format_error);
  CHECK_THROWS_AS(io::read_png(scratch() / "missing.png"), io_error);
}
