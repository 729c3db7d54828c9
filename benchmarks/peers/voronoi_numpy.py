#!/usr/bin/python3
"""Nearest-site labelling: spectromine vs a NumPy (OpenBLAS) float32 peer.

Same input, same run, whole process against whole process:
  - spectromine: `bench_voronoi label` (read the .npy cube, label every pixel
    with the pruned exact kernel, write labels .npy);
  - NumPy: a separate `python3 voronoi_numpy.py --peer ...` process (start
    Python, import NumPy, np.load the cube (memory-mapped like ours with
    --read mmap, the default; both copy it into memory with --read copy),
    standardize pixels and sites in
    float32, one GEMM per chunk of pixels, argmax, np.save the labels).
Wall time and CPU time (user + sys) of each process are measured here; the
ratios are printed as JSON. On a shared machine the wall-time ratio depends on
what else runs; the CPU-time ratio measures the work each process needed.

The cube: pixels are mixtures of two random sites (weight uniform) plus
Gaussian noise (sigma 0.02 on the normalized scale), float32, H x W x E.
Label agreement is reported: where the float32 GEMM disagrees with
spectromine, the float64 argmax decides (spectromine is exact by design).

Usage:
  /usr/bin/python3 benchmarks/peers/voronoi_numpy.py --bench BUILD/benchmarks/voronoi/bench_voronoi \
      --sites SITES.csv [--pixels 1000000] [--threads 2] [--workdir /tmp/voronoi_peer]
      [--read mmap|copy]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def load_sites(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return data[:, 0], data[:, 1:].T.copy(), header[1:]


def standardize(a):
    a = a - a.mean(axis=1, keepdims=True)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    return a


def peer(args):
    """The NumPy labelling, run as its own process."""
    _, sites, _ = load_sites(args.sites)
    z = standardize(sites).astype(np.float32)
    # --read mmap (default): map the file, like bench_voronoi's default (both
    # processes then read the page cache without a full copy); copy: np.load.
    cube = np.load(args.cube, mmap_mode="r" if args.read == "mmap" else None)
    h, w, e = cube.shape
    x = cube.reshape(-1, e)
    labels = np.empty(x.shape[0], dtype=np.int32)
    chunk = 65536
    for b in range(0, x.shape[0], chunk):
        xs = x[b:b + chunk]
        xs = xs - xs.mean(axis=1, keepdims=True)
        xs /= np.linalg.norm(xs, axis=1, keepdims=True)
        labels[b:b + chunk] = np.argmax(xs @ z.T, axis=1) + 1
    np.save(args.out, labels.reshape(h, w))


def make_cube(sites, pixels, seed, path):
    rng = np.random.default_rng(seed)
    s, e = sites.shape
    side = int(round(np.sqrt(pixels)))
    n = side * side
    cube = np.empty((n, e), dtype=np.float32)
    chunk = 262144
    for b in range(0, n, chunk):
        m = min(chunk, n - b)
        a = rng.integers(0, s, m)
        c = rng.integers(0, s, m)
        wt = rng.random(m)[:, None]
        cube[b:b + m] = (wt * sites[a] + (1 - wt) * sites[c] + rng.normal(0, 0.02, (m, e))).astype(np.float32)
    np.save(path, cube.reshape(side, side, e))
    return side


def timed(cmd, env=None):
    """Wall time and CPU time (user + sys of the child) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit("failed: " + " ".join(cmd) + "\n" + r.stderr)
    return wall, r.stdout, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", action="store_true", help="internal: run the NumPy labelling")
    ap.add_argument("--sites", required=True)
    ap.add_argument("--cube")
    ap.add_argument("--out")
    ap.add_argument("--bench")
    ap.add_argument("--pixels", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/voronoi_peer")
    ap.add_argument("--read", choices=["mmap", "copy"], default="mmap",
                    help="how BOTH processes read the cube: mapped (default) or copied into memory")
    args = ap.parse_args()
    if args.peer:
        peer(args)
        return

    os.makedirs(args.workdir, exist_ok=True)
    _, sites, _ = load_sites(args.sites)
    cube = os.path.join(args.workdir, "cube.npy")
    side = make_cube(sites, args.pixels, args.seed, cube)
    ours_out = os.path.join(args.workdir, "labels_spectromine.npy")
    peer_out = os.path.join(args.workdir, "labels_numpy.npy")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    ours_cmd = [args.bench, "label", "--sites", args.sites, "--cube", cube, "--out", ours_out,
                "--threads", str(args.threads), "--read", args.read]
    peer_cmd = [sys.executable, os.path.abspath(__file__), "--peer", "--sites", args.sites,
                "--cube", cube, "--out", peer_out, "--read", args.read]
    ours, theirs, ours_cpu, theirs_cpu, report = [], [], [], [], None
    for _ in range(args.repeat):  # interleaved, best of N (the machine is shared)
        w, out, c = timed(ours_cmd)
        ours.append(w)
        ours_cpu.append(c)
        report = json.loads(out)
        w, _, c = timed(peer_cmd, env)
        theirs.append(w)
        theirs_cpu.append(c)
    a = np.load(ours_out).ravel()
    b = np.load(peer_out).ravel()
    diff = np.nonzero(a != b)[0]
    # Decide disagreements in float64.
    x = np.load(cube).reshape(-1, sites.shape[1])[diff].astype(np.float64)
    z = standardize(sites)
    ref = np.argmax(standardize(x) @ z.T, axis=1) + 1 if len(diff) else np.array([], dtype=int)
    pixels = side * side
    result = {
        "pixels": pixels,
        "sites": int(sites.shape[0]),
        "bands": int(sites.shape[1]),
        "threads": args.threads,
        "read": args.read,
        "spectromine_seconds_best": min(ours),
        "numpy_seconds_best": min(theirs),
        "spectromine_seconds_all": ours,
        "numpy_seconds_all": theirs,
        "spectromine_spectra_per_second_process": pixels / min(ours),
        "numpy_spectra_per_second_process": pixels / min(theirs),
        "speedup_process": min(theirs) / min(ours),
        "spectromine_cpu_seconds_best": min(ours_cpu),
        "numpy_cpu_seconds_best": min(theirs_cpu),
        "speedup_cpu_time": min(theirs_cpu) / min(ours_cpu),
        "spectromine_label_stage": report,
        "disagreements": int(len(diff)),
        "disagreements_where_float64_agrees_with_spectromine": int(np.sum(ref == a[diff])),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
