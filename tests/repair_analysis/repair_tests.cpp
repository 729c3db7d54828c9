// Tests of repair/: window_core, fill, structure_core, compose, against
// straightforward per-cluster reference implementations kept here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include "spectromine/core/random.hpp"
#include "spectromine/repair/compose.hpp"
#include "spectromine/repair/fill.hpp"
#include "spectromine/repair/structure_core.hpp"
#include "spectromine/repair/window_core.hpp"

using namespace spectromine;

namespace {

// ------------------------------------------------------------ references
// The paper's formulation, one cluster at a time (O(clusters x pixels x K^2)),
// with the border / mask convention documented in repair/window_counts.hpp.
label_image reference_window_core(const label_image& in, const pixel_mask* mask, int k, int p) {
  const index_t rows = in.rows(), cols = in.cols(), h = k / 2;
  auto sample = [&](index_t r, index_t c) { return !mask || (*mask)(r, c) != 0; };
  std::set<label_t> present;
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c)
      if (sample(r, c) && in(r, c) != 0) present.insert(in(r, c));
  label_image out = in;
  for (label_t kl : present) {
    image<int> core(in.shape(), 0);
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) {
        if (!sample(r, c) || in(r, c) != kl) continue;
        long same = 0, valid = 0;
        for (index_t rr = r - h; rr <= r + h; ++rr)
          for (index_t cc = c - h; cc <= c + h; ++cc) {
            if (rr < 0 || rr >= rows || cc < 0 || cc >= cols || !sample(rr, cc)) continue;
            ++valid;
            if (in(rr, cc) == kl) ++same;
          }
        core(r, c) = same * k * k >= static_cast<long>(p) * valid;
      }
    // Components of label kl (8-connected) by BFS; keep those with a core.
    image<int> comp(in.shape(), -1);
    int ncomp = 0;
    std::vector<char> has_core;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) {
        if (!sample(r, c) || in(r, c) != kl || comp(r, c) >= 0) continue;
        std::vector<std::pair<index_t, index_t>> queue{{r, c}};
        comp(r, c) = ncomp;
        bool any = false;
        for (std::size_t i = 0; i < queue.size(); ++i) {
          auto [qr, qc] = queue[i];
          any = any || core(qr, qc);
          for (index_t dr = -1; dr <= 1; ++dr)
            for (index_t dc = -1; dc <= 1; ++dc) {
              index_t rr = qr + dr, cc = qc + dc;
              if (rr < 0 || rr >= rows || cc < 0 || cc >= cols || !sample(rr, cc)) continue;
              if (in(rr, cc) == kl && comp(rr, cc) < 0) {
                comp(rr, cc) = ncomp;
                queue.push_back({rr, cc});
              }
            }
        }
        has_core.push_back(any);
        ++ncomp;
      }
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c)
        if (comp(r, c) >= 0 && !has_core[static_cast<std::size_t>(comp(r, c))]) out(r, c) = 0;
  }
  return out;
}

// Whole-image synchronous dilation rounds with the majority / lower-label rule.
label_image reference_fill(const label_image& in, const pixel_mask* mask, repair::fill_rule rule) {
  const index_t rows = in.rows(), cols = in.cols();
  auto sample = [&](index_t r, index_t c) { return !mask || (*mask)(r, c) != 0; };
  label_image cur = in;
  for (;;) {
    label_image next = cur;
    bool changed = false;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c) {
        if (!sample(r, c) || cur(r, c) != 0) continue;
        std::map<label_t, int> votes;
        for (index_t dr = -1; dr <= 1; ++dr)
          for (index_t dc = -1; dc <= 1; ++dc) {
            index_t rr = r + dr, cc = c + dc;
            if ((dr == 0 && dc == 0) || rr < 0 || rr >= rows || cc < 0 || cc >= cols) continue;
            if (sample(rr, cc) && cur(rr, cc) > 0) ++votes[cur(rr, cc)];
          }
        if (votes.empty()) continue;
        label_t best = votes.begin()->first;
        if (rule == repair::fill_rule::majority) {
          int bc = 0;
          for (auto [l, n] : votes)
            if (n > bc) bc = n, best = l;
        }
        next(r, c) = best;
        changed = true;
      }
    cur = next;
    if (!changed) return cur;
  }
}

// Blobby random label image: Voronoi cells of random seeds, plus salt noise.
label_image blob_image(index_t rows, index_t cols, int cells, double noise, int noise_labels,
                       std::uint64_t seed) {
  auto eng = make_engine(seed);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::pair<double, double>> seeds;
  for (int i = 0; i < cells; ++i) seeds.push_back({u(eng) * rows, u(eng) * cols});
  label_image img({rows, cols});
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      int best = 0;
      double bd = 1e300;
      for (int i = 0; i < cells; ++i) {
        double d = std::hypot(r - seeds[i].first, c - seeds[i].second);
        if (d < bd) bd = d, best = i;
      }
      img(r, c) = best + 1;
      if (u(eng) < noise) img(r, c) = cells + 1 + static_cast<label_t>(u(eng) * noise_labels);
    }
  return img;
}

pixel_mask disk_mask(index_t rows, index_t cols, double radius) {
  pixel_mask m({rows, cols});
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c)
      m(r, c) = std::hypot(r - rows / 2.0, c - cols / 2.0) < radius ? 1 : 0;
  return m;
}

index_t count_label(const label_image& img, label_t l) {
  return std::count(img.storage().begin(), img.storage().end(), l);
}

}  // namespace

TEST_CASE("window_core equals the per-cluster reference, any K/P, mask, thread count") {
  struct cfg {
    int k, p;
    double noise;
    bool masked;
  };
  for (cfg t : {cfg{5, 23, 0.15, false}, cfg{5, 23, 0.3, true}, cfg{3, 7, 0.2, false},
                cfg{7, 40, 0.1, true}, cfg{1, 1, 0.3, false}, cfg{5, 13, 0.4, true}}) {
    CAPTURE(t.k);
    CAPTURE(t.p);
    CAPTURE(t.masked);
    label_image img = blob_image(53, 71, 9, t.noise, 6, 100 + t.k * 7 + t.p);
    img(0, 0) = labels::outlier;  // sentinels are classes too
    img(10, 10) = labels::outlier;
    pixel_mask mask = disk_mask(53, 71, 30);
    const pixel_mask* mp = t.masked ? &mask : nullptr;
    label_image expect = reference_window_core(img, mp, t.k, t.p);
    index_t expect_removed = 0;
    for (index_t i = 0; i < img.pixel_count(); ++i) expect_removed += (img[i] != expect[i]);
    for (int threads : {1, 2, 3}) {
      label_image got = img;
      auto rep = repair::window_core{t.k, t.p, threads}.apply(
          got.view(), t.masked ? mask_view(mask.view()) : mask_view{});
      CHECK(got == expect);
      CHECK(rep.removed == expect_removed);
    }
  }
}

TEST_CASE("window_core keeps regions touching the border and at the sample edge") {
  label_image img({30, 30}, 2);
  for (index_t r = 0; r < 6; ++r)
    for (index_t c = 0; c < 6; ++c) img(r, c) = 1;  // 6x6 block in the corner
  label_image got = img;
  repair::window_core{5, 23, 1}.apply(got.view());
  CHECK(got == img);  // nothing dropped at the edges
  // Half of the image is no sample: a 6x6 block against the mask edge stays.
  pixel_mask m({30, 30}, 1);
  for (index_t r = 0; r < 30; ++r)
    for (index_t c = 0; c < 10; ++c) m(r, c) = 0;
  label_image img2({30, 30}, 2);
  for (index_t r = 12; r < 18; ++r)
    for (index_t c = 10; c < 16; ++c) img2(r, c) = 1;
  for (index_t r = 0; r < 30; ++r)
    for (index_t c = 0; c < 10; ++c) img2(r, c) = 7;  // garbage under the mask: never read
  label_image got2 = img2;
  repair::window_core{5, 23, 2}.apply(got2.view(), m.view());
  CHECK(got2 == img2);
}

TEST_CASE("window_core removes salt-and-pepper classes and fill restores the regions") {
  label_image clean = blob_image(80, 80, 5, 0.0, 1, 7);
  label_image noisy = blob_image(80, 80, 5, 0.05, 4, 7);  // same cells, 5% noise in 4 labels
  label_image got = noisy;
  auto r = repair::compose(repair::window_core{5, 23, 2}, repair::fill{}).apply(got.view());
  for (label_t l = 6; l <= 9; ++l) CHECK(count_label(got, l) == 0);
  index_t wrong = 0;
  for (index_t i = 0; i < got.pixel_count(); ++i) wrong += got[i] != clean[i];
  CHECK(wrong < got.pixel_count() / 100);  // the boundaries may move by a pixel
  CHECK(r.method == "window_core+fill");
  CHECK(r.parameters.size() == 2);
  CHECK(r.removed > 0);
  CHECK(r.filled == r.removed);  // every removed pixel is refilled: no holes here
}

TEST_CASE("fill equals the whole-image reference for both rules, with a mask") {
  for (auto rule : {repair::fill_rule::majority, repair::fill_rule::lowest_label}) {
    label_image img = blob_image(40, 57, 6, 0.0, 1, 3);
    auto eng = make_engine(11);
    boost::random::uniform_real_distribution<double> u(0.0, 1.0);
    for (index_t i = 0; i < img.pixel_count(); ++i)
      if (u(eng) < 0.6) img[i] = 0;
    for (index_t r = 0; r < 40; ++r) img(r, 20) = 0;  // a wide unlabeled band
    pixel_mask mask = disk_mask(40, 57, 24);
    for (index_t r = 0; r < 40; ++r) mask(r, 30) = 0;  // a no-sample wall
    label_image expect = reference_fill(img, &mask, rule);
    for (int threads : {1, 2, 4}) {
      label_image got = img;
      repair::fill{rule, false, threads}.apply(got.view(), mask.view());
      CHECK(got == expect);
    }
    // No-sample pixels are untouched.
    label_image got = img;
    repair::fill{rule}.apply(got.view(), mask.view());
    for (index_t i = 0; i < img.pixel_count(); ++i)
      if (!mask[i]) CHECK(got[i] == img[i]);
  }
}

TEST_CASE("fill does not cross a no-sample wall and leaves unreachable pixels unlabeled") {
  label_image img({5, 9}, 0);
  img(2, 0) = 4;
  pixel_mask mask({5, 9}, 1);
  for (index_t r = 0; r < 5; ++r) mask(r, 4) = 0;
  auto rep = repair::fill{}.apply(img.view(), mask.view());
  for (index_t r = 0; r < 5; ++r)
    for (index_t c = 0; c < 9; ++c) CHECK(img(r, c) == (c < 4 ? 4 : 0));
  CHECK(rep.filled == 5 * 4 - 1);
}

TEST_CASE("fill tie rule: majority, ties to the lower label; sentinels only when asked") {
  label_image img({3, 3}, 0);
  img(0, 0) = 5;
  img(0, 2) = 3;
  img(2, 0) = 5;
  img(2, 2) = 3;  // centre sees 5,5,3,3: tie -> 3
  label_image a = img;
  repair::fill{}.apply(a.view());
  CHECK(a(1, 1) == 3);
  label_image b({1, 3}, 0);
  b(0, 0) = labels::outlier;
  repair::fill{}.apply(b.view());
  CHECK(b(0, 1) == 0);
  repair::fill{repair::fill_rule::majority, true}.apply(b.view());
  CHECK(b(0, 2) == labels::outlier);
}

TEST_CASE("structure_core keeps a thin rim that window_core erases, and removes noise classes") {
  // A grain (label 1) in a matrix (label 2) with a 3-pixel mixed rim (label 3),
  // plus salt-and-pepper noise classes 4..8 (2% each).
  const index_t n = 120;
  label_image truth({n, n});
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c < n; ++c) {
      const double d = std::hypot(r - 60.0, c - 60.0);
      truth(r, c) = d < 30 ? 1 : (d < 33 ? 3 : 2);
    }
  label_image noisy = truth;
  auto eng = make_engine(5);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  for (index_t i = 0; i < noisy.pixel_count(); ++i)
    if (u(eng) < 0.10) noisy[i] = 4 + static_cast<label_t>(u(eng) * 5);
  const index_t rim = count_label(truth, 3);

  label_image paper = noisy;
  repair::compose(repair::window_core{5, 23}, repair::fill{}).apply(paper.view());
  CHECK(count_label(paper, 3) < rim / 10);  // the paper's repair erases the rim

  for (int threads : {1, 2}) {
    label_image kept = noisy;
    repair::compose(repair::structure_core{.threads = threads}, repair::fill{})
        .apply(kept.view());
    for (label_t l = 4; l <= 8; ++l) CHECK(count_label(kept, l) == 0);
    index_t rim_ok = 0;
    for (index_t i = 0; i < kept.pixel_count(); ++i) rim_ok += truth[i] == 3 && kept[i] == 3;
    CHECK(rim_ok > rim * 8 / 10);
    index_t wrong = 0;
    for (index_t i = 0; i < kept.pixel_count(); ++i) wrong += kept[i] != truth[i];
    CHECK(wrong < kept.pixel_count() / 50);
  }
}

TEST_CASE("structure_core removes dense salt-and-pepper classes on a uniform background") {
  for (double density : {0.1, 0.2, 0.3}) {
    CAPTURE(density);
    label_image img({150, 150}, 1);
    auto eng = make_engine(static_cast<std::uint64_t>(density * 100));
    boost::random::uniform_real_distribution<double> u(0.0, 1.0);
    for (index_t i = 0; i < img.pixel_count(); ++i)
      if (u(eng) < density) img[i] = 2;  // one noise class at this density
    repair::compose(repair::structure_core{}, repair::fill{}).apply(img.view());
    CHECK(count_label(img, 2) == 0);
  }
}

TEST_CASE("repairs validate their parameters and the mask shape") {
  label_image img({4, 4}, 1);
  CHECK_THROWS_WITH_AS((repair::window_core{4, 10}.apply(img.view())),
                       "window_core: k_size must be an odd number >= 1 (got 4)", invalid_argument);
  CHECK_THROWS_AS((repair::window_core{5, 26}.apply(img.view())), invalid_argument);
  pixel_mask m({3, 4}, 1);
  CHECK_THROWS_WITH_AS((repair::fill{}.apply(img.view(), m.view())),
                       "fill: mask shape must equal the label image shape 4 x 4 (got \"3 x 4\")",
                       invalid_argument);
  label_image empty({0, 0});
  CHECK((repair::window_core{}.apply(empty.view()).removed == 0));
  CHECK((repair::no_repair{}.apply(img.view()).method == "none"));
}

TEST_CASE("keep_marked_components equals a BFS reconstruction from random markers") {
  for (int t = 0; t < 8; ++t) {
    CAPTURE(t);
    auto eng = make_engine(77, t);
    boost::random::uniform_int_distribution<int> lab(0, 2 + t % 3);
    boost::random::uniform_real_distribution<double> u(0, 1);
    const index_t rows = 17 + t, cols = 23 + 3 * t;
    label_image img({rows, cols});
    for (auto& l : img.storage()) l = lab(eng);  // dense ties between runs of different labels
    pixel_mask mask({rows, cols}, 1);
    for (auto& m : mask.storage()) m = u(eng) < 0.9;
    image<std::uint8_t> flags({rows, cols}, 0);
    for (auto& f : flags.storage()) f = u(eng) < 0.03 ? 1 : 0;
    // Reference: BFS from marked labelled sample pixels through same-label sample pixels.
    image<int> reached({rows, cols}, 0);
    std::vector<std::pair<index_t, index_t>> queue;
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < cols; ++c)
        if (flags(r, c) && img(r, c) != 0 && mask(r, c)) {
          reached(r, c) = 1;
          queue.push_back({r, c});
        }
    for (std::size_t i = 0; i < queue.size(); ++i) {
      auto [qr, qc] = queue[i];
      for (index_t dr = -1; dr <= 1; ++dr)
        for (index_t dc = -1; dc <= 1; ++dc) {
          const index_t rr = qr + dr, cc = qc + dc;
          if (rr < 0 || rr >= rows || cc < 0 || cc >= cols) continue;
          if (!reached(rr, cc) && mask(rr, cc) && img(rr, cc) == img(qr, qc)) {
            reached(rr, cc) = 1;
            queue.push_back({rr, cc});
          }
        }
    }
    for (int threads : {1, 2, 3}) {
      label_image got = img;
      const index_t removed =
          repair::keep_marked_components(got.view(), mask.view(), true, flags.view(), 1, threads);
      index_t expect_removed = 0;
      for (index_t r = 0; r < rows; ++r)
        for (index_t c = 0; c < cols; ++c) {
          const bool keep = !mask(r, c) || img(r, c) == 0 || reached(r, c);
          CHECK(got(r, c) == (keep ? img(r, c) : 0));
          expect_removed += !keep;
        }
      CHECK(removed == expect_removed);
    }
  }
}
