#!/usr/bin/python3
"""NumPy model of the pruned kernel's candidate count (benchmarks/results/voronoi.md).

For pixels like those of benchmarks/peers/voronoi_numpy.py (mixtures of two
sites + Gaussian noise 0.02), computes in float64 the bound of the pruned
kernel (a_s . b + rho_s rho_x, k principal directions), the seed (best
approximation) and its exact score, and prints how many sites per pixel
reach the seed's score minus a margin f |x|, for several f and k; then the
same for a two-stage first pass (bounds from the top k1 components first).
Not a test: it explains where the exact evaluations come from.

  /usr/bin/python3 benchmarks/voronoi/bound_model.py SITES.csv [--pixels 3000]
"""
import argparse

import numpy as np


def standardize(a):
    a = a - a.mean(1, keepdims=True)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sites")
    ap.add_argument("--pixels", type=int, default=3000)
    args = ap.parse_args()
    sites = np.loadtxt(args.sites, delimiter=",", skiprows=1)[:, 1:].T.copy()
    z = standardize(sites)
    s, e = z.shape
    _, v = np.linalg.eigh(z.T @ z)
    v = v[:, ::-1]
    rng = np.random.default_rng(0)
    n = args.pixels
    a, c, w = rng.integers(0, s, n), rng.integers(0, s, n), rng.random(n)[:, None]
    x = w * sites[a] + (1 - w) * sites[c] + rng.normal(0, 0.02, (n, e))
    xc = x - x.mean(1, keepdims=True)
    nx = np.linalg.norm(x, axis=1)
    print(f"{s} sites, {n} pixels, median |x| {np.median(nx):.2f}, |x_c| {np.median(np.linalg.norm(xc, axis=1)):.2f}")

    def stage(k):
        vk = v[:, :k]
        ak = z @ vk
        rho = np.linalg.norm(z - ak @ vk.T, axis=1)
        b = xc @ vk
        rx = np.linalg.norm(xc - b @ vk.T, axis=1)
        approx = b @ ak.T
        return approx, approx + rho[None, :] * rx[:, None]

    st = {k: stage(k) for k in (8, 12, 16, 24)}
    for k in (8, 12, 16, 24):
        approx, ub = st[k]
        seed = np.argmax(approx, 1)
        t = np.einsum("ij,ij->i", xc, z[seed])
        for f in (0.0, 1e-5, 1e-4, 2.55e-4):
            cand = (ub >= (t - f * nx)[:, None]).sum(1).mean()
            print(f"k={k:2d} margin {f:.2e} |x|: {cand:7.2f} sites per pixel reach the seed ({100 * cand / s:.2f}%)")
    approx16, ub16 = st[16]
    for k1 in (4, 6, 8):
        approx, ub = stage(k1)
        seed = np.argmax(approx, 1)
        t = np.einsum("ij,ij->i", xc, z[seed]) - 1e-5 * nx
        pass_a = ub >= t[:, None]
        cand = (pass_a & (ub16 >= t[:, None])).sum(1).mean()
        print(f"two-stage k1={k1}: {100 * pass_a.mean():.2f}% of sites pass stage 1, {cand:.2f} candidates")


if __name__ == "__main__":
    main()
