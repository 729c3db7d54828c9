#!/usr/bin/python3
"""Expected outputs for the MBACK tests (tests/preprocess/test_mback.cpp).

    cd /work/main && /usr/bin/python3 tests/preprocess/make_mback_reference.py

Runs xraylarch's mback (larch/xafs/mback.py, xraylarch 0.9.58, Debian
python3-xraylarch; tables: xraydb's Chantler f2) with its defaults
(z=26, edge='K', e0 from find_e0, pre1=None, pre2=-50, norm1=100,
norm2=None, order=3, leexiang=False, fit_erfc=False) on every Fe K spectrum
of data/references/Fe_K and writes tests/preprocess/data/mback/NAME.mback.dat:
columns energy, f2 (Chantler, the table larch fitted to), norm (larch's
normalized mu); header lines carry e0, edge_step, the scale s and the
polynomial coefficients c0..c3 (powers of E - e0) that larch's leastsq found.
The f2 column lets the C++ core (which takes any tabulated f2) be checked
against larch on identical tables; the xraylib path is checked separately.
"""
import glob, os, json
import numpy as np
from larch import Group
from larch.xafs import mback
import larch, xraydb

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
out_dir = os.path.join(here, "data", "mback")
os.makedirs(out_dir, exist_ok=True)
for path in sorted(glob.glob(os.path.join(root, "data", "references", "Fe_K", "*.dat"))):
    name = os.path.basename(path)[:-4]
    d = np.loadtxt(path)
    e, mu = d[:, 0], d[:, 1]
    g = Group()
    mback(e, mu, group=g, z=26, edge="K")
    p = g.mback_details.params
    with open(os.path.join(out_dir, name + ".mback.dat"), "w") as f:
        f.write(f"# larch {larch.__version__} mback(z=26, edge='K') on data/references/Fe_K/{name}.dat;"
                f" f2 = xraydb {xraydb.__version__} f2_chantler\n")
        f.write(f"# e0={g.e0!r}\n# edge_step={g.edge_step!r}\n# s={p['s']!r}\n")
        f.write("# c=" + " ".join(repr(p[f"c{i}"]) for i in range(4)) + "\n")
        f.write("# energy f2 norm\n")
        for a, b, c in zip(e, g.f2, g.norm):
            f.write(f"{a!r} {b!r} {c!r}\n")
    print(name, len(e), g.e0, g.edge_step)
