#!/usr/bin/python3
"""Writes the seed corpora fuzz/corpus/<target>/ (small valid inputs) and the
CLI scratch folder. usage: make_corpus.py CORPUS_DIR [CLI_SCRATCH_DIR]"""
import os
import sys

import numpy as np

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "data")
rng = np.random.default_rng(0)


def folder(name):
    p = os.path.join(out, name)
    os.makedirs(p, exist_ok=True)
    return p


d = folder("npy")
for i, (dtype, shape) in enumerate([("<f4", (2, 3, 4)), ("<f8", (1, 1, 5)), ("<i4", (3, 3)),
                                    ("|u1", (2, 2)), ("<u2", (2, 2, 3)), (">f4", (2, 1, 2))]):
    np.save(os.path.join(d, "seed%d.npy" % i), (rng.random(shape) * 100).astype(dtype))
np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(rng.random((2, 3, 2)).astype("<f4")))

d = folder("tiff")
try:
    import tifffile
    tifffile.imwrite(os.path.join(d, "f32.tif"), rng.random((3, 4, 5)).astype(np.float32))
    tifffile.imwrite(os.path.join(d, "u16.tif"), (rng.random((2, 3, 3)) * 1000).astype(np.uint16))
    tifffile.imwrite(os.path.join(d, "i32.tif"), np.arange(12, dtype=np.int32).reshape(3, 4))
except ImportError:
    print("make_corpus: tifffile missing, no TIFF seeds", file=sys.stderr)

d = folder("hdf5")
try:
    import h5py
    with h5py.File(os.path.join(d, "cube.h5"), "w") as f:
        f["data"] = rng.random((2, 3, 4)).astype(np.float32)
        f["energy"] = np.linspace(7000, 7100, 4)
except ImportError:
    print("make_corpus: h5py missing, no HDF5 seeds", file=sys.stderr)

d = folder("text")
e = np.linspace(7100, 7150, 12)
with open(os.path.join(d, "ref.dat"), "w") as f:
    f.write("# two columns\n" + "".join("%.2f %.5f\n" % (x, np.tanh(x - 7125)) for x in e))
with open(os.path.join(d, "energy.txt"), "w") as f:
    f.write("".join("%.2f\n" % x for x in e))
with open(os.path.join(d, "sites.csv"), "w") as f:
    f.write("energy,a,b\n" + "".join("%.2f,%.4f,%.4f\n" % (x, np.tanh(x - 7120), np.tanh(x - 7130)) for x in e))
with open(os.path.join(d, "xdi.dat"), "w") as f:
    f.write("# XDI/1.0\n# Column.1: energy eV\n# Column.2: mutrans\n#----\n# energy mutrans\n"
            + "".join("%.2f %.5f\n" % (x, np.tanh(x - 7125)) for x in e))

d = folder("cli")
argvs = [
    ["info", "cube.npy", "--energy", "energy.txt"],
    ["cluster", "--method", "kmeans", "--k", "2", "--input", "cube.npy", "--energy", "energy.txt",
     "--out", "o", "--threads", "1", "--mask", "none"],
    ["cluster", "--method", "dbscan", "--eps", "auto", "--input", "cube.npy", "--energy", "energy.txt",
     "--out", "o", "--repair", "3,2"],
    ["cluster", "--method", "voronoi", "--sites", "sites.csv", "--input", "cube.npy", "--energy",
     "energy.txt", "--out", "o"],
    ["normalize", "--input", "ref.dat", "--out", "n.dat", "--pre", "-30", "-10"],
    ["distinguish", "ref.dat", "ref2.dat", "--energy", "energy.txt"],
    ["sites", "--refs", "refs", "--energy", "energy.txt", "--out", "s.csv", "--trials", "10"],
    ["synth", "--refs", "refs", "--energy", "energy.txt", "--out", "syn", "--size", "6x5"],
    ["compare", "labels.npy", "labels.npy"],
    ["exafs", "--input", "ref.dat", "--out", "ex", "--kmin", "2", "--kmax", "4"],
]
for i, a in enumerate(argvs):
    open(os.path.join(d, "argv%d" % i), "wb").write(b"\0".join(s.encode() for s in a))

if len(sys.argv) > 2:  # the scratch folder fuzz_cli runs in
    s = sys.argv[2]
    os.makedirs(os.path.join(s, "refs"), exist_ok=True)
    demo = np.load(os.path.join(data, "demo", "cube.npy"))
    np.save(os.path.join(s, "cube.npy"), np.ascontiguousarray(demo[20:26, 20:26, ::10]))
    en = np.loadtxt(os.path.join(data, "demo", "energy.txt"))[::10]
    open(os.path.join(s, "energy.txt"), "w").write("".join("%.2f\n" % x for x in en))
    refs = os.path.join(data, "references", "Fe_K")
    for n in sorted(os.listdir(refs))[:2]:
        lines = open(os.path.join(refs, n)).read().splitlines()
        open(os.path.join(s, "refs", n), "w").write("\n".join(lines) + "\n")
    first = sorted(os.listdir(refs))
    open(os.path.join(s, "ref.dat"), "w").write(open(os.path.join(refs, first[0])).read())
    open(os.path.join(s, "ref2.dat"), "w").write(open(os.path.join(refs, first[1])).read())
    np.save(os.path.join(s, "labels.npy"), (rng.random((6, 6)) * 3).astype(np.int32))
    with open(os.path.join(s, "sites.csv"), "w") as f:
        f.write("energy,a,b\n" + "".join("%.2f,%.4f,%.4f\n" % (x, np.tanh((x - 7110) / 10),
                                                                 np.tanh((x - 7120) / 10)) for x in en))
