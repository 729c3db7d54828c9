#!/usr/bin/python3
"""Determinism of `spectromine cluster` (docs/reliability.md).

usage: determinism.py SPECTROMINE DATA_DIR WORK_DIR METHOD

For METHOD in kmeans | dbscan | voronoi: labels.npy (and the per-cluster
counts of summary.json) are identical for --threads 1 and --threads 2, for a
repeated run, and for tiled runs (--tile) when the command offers --tile.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np


def run(exe, args, cwd):
    r = subprocess.run([exe] + args, capture_output=True, text=True, cwd=cwd, timeout=300)
    if r.returncode != 0:
        raise SystemExit("FAIL: %s exited %d:\n%s" % (" ".join(args), r.returncode, r.stderr[-3000:]))
    return r


def clusters_of(out):
    s = json.load(open(os.path.join(out, "summary.json")))
    return json.dumps(s.get("clusters"), sort_keys=True)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    exe, data, work, method = sys.argv[1:]
    exe, data = os.path.abspath(exe), os.path.abspath(data)
    work = os.path.join(work, "determinism_" + method)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    demo = np.load(os.path.join(data, "demo", "cube.npy"))
    cube = os.path.join(work, "cube.npy")
    np.save(cube, np.ascontiguousarray(demo[8:56, 8:56, :]))  # 48 x 48: sample and background
    energy = os.path.join(data, "demo", "energy.txt")

    if method not in run(exe, ["cluster", "--help"], work).stdout:
        print("SKIP: cluster has no --method %s yet (docs/CLI.md contract)" % method)
        return 77
    extra = {"kmeans": ["--k", "3"], "dbscan": [], "voronoi": [], "pca": []}[method]
    if method == "voronoi":
        sites = os.path.join(work, "sites.csv")
        run(exe, ["sites", "--refs", os.path.join(data, "references", "Fe_K"), "--energy", energy,
                  "--out", sites, "--trials", "500", "-q"], work)
        extra = ["--sites", sites]
    help_text = run(exe, ["cluster", "--help"], work).stdout
    variants = [["--threads", "1"], ["--threads", "2"], ["--threads", "2"], ["--threads", "0"]]
    # Out-of-core (--tile) exists for the methods in TILED_METHODS; every
    # other method must refuse it with a clear error and write nothing.
    TILED_METHODS = {"voronoi", "dbscan"}
    if "--tile" not in help_text:
        print("note: cluster has no --tile yet; tiled determinism not checked")
    elif method in TILED_METHODS:
        variants += [["--threads", "1", "--tile", "7"], ["--threads", "2", "--tile", "16"]]
    else:
        out = os.path.join(work, "refused_tile")
        r = subprocess.run([exe, "cluster", "--method", method, "--input", cube, "--energy", energy,
                            "--out", out, "-q", "--tile", "7"] + extra,
                           cwd=work, capture_output=True, text=True)
        if r.returncode == 0 or not r.stderr.startswith("error: ") or "--tile" not in r.stderr:
            print("FAIL: --tile with --method %s should be refused with an error naming --tile; "
                  "exit %d, stderr %r" % (method, r.returncode, r.stderr))
            return 1
        if os.path.exists(out) and os.listdir(out):
            print("FAIL: refused --tile run left files in %s: %s" % (out, os.listdir(out)))
            return 1
        print("ok: --tile refused for --method %s: %s" % (method, r.stderr.strip()))

    reference = None
    for i, v in enumerate(variants):
        out = os.path.join(work, "out%d" % i)
        run(exe, ["cluster", "--method", method, "--input", cube, "--energy", energy, "--out", out, "-q"]
            + extra + v, work)
        labels = np.load(os.path.join(out, "labels.npy"))
        got = (labels, clusters_of(out))
        if reference is None:
            reference = got
            if labels.max() < 1:
                raise SystemExit("FAIL: %s produced no cluster at all" % method)
            continue
        if not np.array_equal(reference[0], labels):
            diff = int((reference[0] != labels).sum())
            raise SystemExit("FAIL: %s %s: labels differ from %s in %d pixels"
                             % (method, " ".join(v), " ".join(variants[0]), diff))
        if reference[1] != got[1]:
            raise SystemExit("FAIL: %s %s: summary.json clusters differ" % (method, " ".join(v)))
    print("ok determinism %s (%d variants, %d clusters)" % (method, len(variants), reference[0].max()))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
