#!/usr/bin/env python3
"""Builds the demo cube data/demo/{cube.npy, energy.txt, truth.npy} from real
Fe K-edge reference spectra bundled in data/references/Fe_K.

Run with the system interpreter (numpy only):
    /usr/bin/python3 scripts/make_demo_cube.py [--out data/demo] [--seed 2026]

Scene (64 x 64 pixels, 100 energies 7050-7300 eV, finer across the edge):
  0  no sample: an empty border around an irregular grain (only a faint
     window/air absorbance plus noise)
  1  olivine Fo80 (Olivine__Fo80.dat): the majority phase
  2  chromite (Chromite.dat): two round blobs
  3  pyrrhotite (Pyrrhotite.dat): one elongated blob
  4  hematite (fe2o3_rt1_xmu.dat): a thin needle, 2 pixels wide
Each reference is normalized the way xraylarch's pre_edge does it (a line
fitted over the pre-edge window, a quadratic over the post-edge window, the
edge step at e0), with e0 and the windows taken from data/larch/Fe_K/index.json
so that the normalization matches data/larch/Fe_K/NAME.norm2.dat.
A pixel's absorbance is
    mu_t(E) = b * (E / 7112)^-3 + t * norm_phase(E) + noise
with a smooth matrix background b ~ 0.3-0.45, an Fe edge jump t ~ 0.6-1.0
varying smoothly across the grain, and Gaussian noise (sigma 0.008).
Everything is seeded: the same seed gives byte-identical files.
"""
import argparse
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REFS = os.path.join(ROOT, "data", "references", "Fe_K")
LARCH = os.path.join(ROOT, "data", "larch", "Fe_K")

PHASES = [  # label, reference file stem, short name
    (1, "Olivine__Fo80", "olivine Fo80"),
    (2, "Chromite", "chromite"),
    (3, "Pyrrhotite", "pyrrhotite"),
    (4, "fe2o3_rt1_xmu", "hematite"),
]


def energy_grid():
    pre = np.arange(7050.0, 7100.0, 5.0)              # 10 points, pre-edge
    edge = 7100.0 + 0.7 * np.arange(50)               # 50 points, 7100-7134.3 (XANES)
    post = np.linspace(7138.0, 7300.0, 40)            # 40 points, post-edge
    return np.concatenate([pre, edge, post])


def normalized_reference(stem, params):
    """larch-style pre_edge normalization of a raw mu(E) file (nnorm = 2)."""
    data = np.loadtxt(os.path.join(REFS, stem + ".dat"), comments="#")
    e, mu = data[:, 0], data[:, 1]
    p = params[stem]
    e0 = p["e0"]
    pre = (e >= e0 + p["pre1"]) & (e <= e0 + p["pre2"])
    post = (e >= e0 + p["norm1"]) & (e <= e0 + p["norm2"])
    pre_line = np.polyval(np.polyfit(e[pre], mu[pre], 1), e)
    post_fit = np.polyfit(e[post], mu[post] - pre_line[post], 2)
    step = np.polyval(post_fit, e0)
    norm = (mu - pre_line) / step
    # Cross-check against xraylarch's own output shipped in data/larch.
    larch = np.loadtxt(os.path.join(LARCH, stem + ".norm2.dat"), comments="#")
    diff = np.max(np.abs(np.interp(larch[:, 0], e, norm) - larch[:, 1]))
    return e, norm, step, diff


def smooth_field(rng, shape, scale):
    """A smooth random field in [0, 1] (sum of a few low-frequency waves)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    f = np.zeros(shape)
    for _ in range(4):
        ky, kx = rng.uniform(-1, 1, 2) * 2 * np.pi / scale
        f += np.cos(ky * yy + kx * xx + rng.uniform(0, 2 * np.pi))
    return (f - f.min()) / (f.max() - f.min())


def scene(rng, rows=64, cols=64):
    yy, xx = np.mgrid[0:rows, 0:cols].astype(float)
    truth = np.zeros((rows, cols), dtype=np.int32)
    # Irregular grain: an ellipse with a wobbly edge; outside is no sample.
    cy, cx = rows / 2 - 0.5, cols / 2 - 0.5
    ang = np.arctan2(yy - cy, xx - cx)
    radius = 1 + 0.06 * np.sin(3 * ang + 0.7) + 0.04 * np.cos(5 * ang)
    inside = ((yy - cy) / (0.46 * rows)) ** 2 + ((xx - cx) / (0.47 * cols)) ** 2 <= radius ** 2
    truth[inside] = 1
    # Chromite: two round blobs.
    for by, bx, r in [(20, 22, 6.5), (42, 44, 5.0)]:
        truth[inside & ((yy - by) ** 2 + (xx - bx) ** 2 <= r * r)] = 2
    # Pyrrhotite: an elongated blob (rotated ellipse).
    u = (xx - 44) * np.cos(0.5) + (yy - 20) * np.sin(0.5)
    v = -(xx - 44) * np.sin(0.5) + (yy - 20) * np.cos(0.5)
    truth[inside & ((u / 8.0) ** 2 + (v / 3.5) ** 2 <= 1)] = 3
    # Hematite: a thin needle, about 2 pixels wide.
    d = np.abs((yy - 48) - 0.35 * (xx - 14)) / np.hypot(1, 0.35)
    truth[inside & (d <= 1.0) & (xx >= 12) & (xx <= 34)] = 4
    return truth


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "demo"))
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    energy = energy_grid()
    params = json.load(open(os.path.join(LARCH, "index.json")))
    spectra = {}
    for label, stem, _ in PHASES:
        e, norm, step, diff = normalized_reference(stem, params)
        if e[0] > energy[0] or e[-1] < energy[-1]:
            raise SystemExit(f"{stem}: reference range {e[0]}-{e[-1]} does not cover the grid")
        spectra[label] = np.interp(energy, e, norm)
        print(f"{stem}: edge step {step:.4f}, max |norm - larch norm| = {diff:.2e}")

    truth = scene(rng)
    rows, cols = truth.shape
    thickness = 0.6 + 0.4 * smooth_field(rng, truth.shape, 40.0)      # Fe edge jump
    background = 0.30 + 0.15 * smooth_field(rng, truth.shape, 55.0)   # matrix absorbance
    falloff = (energy / 7112.0) ** -3.0                               # smooth E^-3 trend

    cube = np.empty((rows, cols, energy.size), dtype=np.float64)
    for r in range(rows):
        for c in range(cols):
            label = truth[r, c]
            if label == 0:
                cube[r, c] = 0.02 * falloff                           # window / air only
            else:
                cube[r, c] = background[r, c] * falloff + thickness[r, c] * spectra[label]
    cube += rng.normal(0.0, 0.008, cube.shape)
    cube = cube.astype(np.float32)

    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "cube.npy"), cube)
    np.save(os.path.join(args.out, "truth.npy"), truth)
    with open(os.path.join(args.out, "energy.txt"), "w") as f:
        f.write("# energies (eV) of data/demo/cube.npy, one per band\n")
        for e in energy:
            f.write(f"{e:.2f}\n")
    counts = {int(k): int(v) for k, v in zip(*np.unique(truth, return_counts=True))}
    print(f"cube {cube.shape} float32, energies {energy[0]:.1f}-{energy[-1]:.1f} eV ({energy.size}), "
          f"pixels per label {counts}")


if __name__ == "__main__":
    main()
