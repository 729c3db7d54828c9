#!/usr/bin/python3
"""Hostile-input matrix for the `spectromine` command (docs/reliability.md).

usage: cli_matrix.py SPECTROMINE DATA_DIR WORK_DIR CASE
       cli_matrix.py --list

Each CASE builds its own small inputs (from data/demo, cropped) in WORK_DIR/CASE,
runs the command and checks the contract of docs/CLI.md:
  * expected failure: exit code in 1..127, exactly one `error: ...` line on
    stderr, no sanitizer report, and the output folder holds no file;
  * expected success: exit 0, and the masked-result rules (NaN/Inf pixels
    are 0 = not clustered in labels.npy);
  * "either": a clear error or a success, never a crash.
A crash (signal, exit > 128) or a sanitizer report fails every case.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

SANITIZER_MARKS = ("AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
                   "LeakSanitizer", "ThreadSanitizer", "terminate called", "Segmentation fault")


class Failure(Exception):
    pass


class Skip(Exception):
    """The command lacks the feature the case exercises (ctest: SKIP_RETURN_CODE 77)."""


def require_voronoi(ctx):
    if "voronoi" not in ctx.run(["cluster", "--help"]).stdout:
        raise Skip("cluster has no --method voronoi yet (docs/CLI.md contract)")


class Ctx:
    def __init__(self, exe, data, work):
        self.exe, self.data, self.work = exe, data, work
        demo = np.load(os.path.join(data, "demo", "cube.npy"))
        # A 20 x 20 crop holding both sample and empty pixels keeps every case fast.
        self.cube = np.ascontiguousarray(demo[18:38, 18:38, :]).astype(np.float32)
        self.energy = np.loadtxt(os.path.join(data, "demo", "energy.txt"))
        self.refs = os.path.join(data, "references", "Fe_K")

    def path(self, name):
        return os.path.join(self.work, name)

    def write_cube(self, cube, name="cube.npy"):
        p = self.path(name)
        np.save(p, cube)
        return p

    def write_energy(self, energy, name="energy.txt"):
        p = self.path(name)
        with open(p, "w") as f:
            for e in energy:
                f.write("%.6f\n" % e)
        return p

    def run(self, args, timeout=120):
        r = subprocess.run([self.exe] + [str(a) for a in args], capture_output=True, text=True,
                           timeout=timeout, cwd=self.work)
        return r

    def sites(self, energy_path, name="sites.csv"):
        out = self.path(name)
        r = self.run(["sites", "--refs", self.refs, "--energy", energy_path, "--out", out,
                      "--trials", "200", "--threads", "1", "-q"])
        if r.returncode != 0:
            raise Failure("could not make sites: " + r.stderr)
        return out


def no_crash(r, what):
    text = r.stderr + r.stdout
    for mark in SANITIZER_MARKS:
        if mark in text:
            raise Failure("%s: sanitizer/crash report (%s):\n%s" % (what, mark, text[-3000:]))
    if r.returncode < 0 or r.returncode > 128:
        raise Failure("%s: crashed with exit %d:\n%s" % (what, r.returncode, text[-3000:]))


def files_under(folder):
    if not os.path.exists(folder):
        return []
    if not os.path.isdir(folder):
        return [folder]
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.join(root, f) for f in files]
    return found


def expect_error(r, out=None, what="command", contains=None):
    no_crash(r, what)
    if r.returncode == 0:
        raise Failure("%s: expected a failure, got exit 0 (stdout: %s)" % (what, r.stdout[-500:]))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error: ")]
    if len(errors) != 1:
        raise Failure("%s: expected exactly one 'error: ...' line on stderr, got:\n%s"
                      % (what, r.stderr[-3000:]))
    if contains and contains not in errors[0]:
        raise Failure("%s: error line lacks %r: %s" % (what, contains, errors[0]))
    if out is not None:
        left = files_under(out)
        if left:
            raise Failure("%s: failure left files behind: %s" % (what, left))
    return errors[0]


def expect_success(r, what="command"):
    no_crash(r, what)
    if r.returncode != 0:
        raise Failure("%s: expected success, got exit %d:\n%s" % (what, r.returncode, r.stderr[-3000:]))


def expect_either(r, out=None, what="command"):
    """A clear error or a success with complete outputs; never a crash."""
    no_crash(r, what)
    if r.returncode != 0:
        return expect_error(r, out, what)
    return None


def check_cluster_outputs(out, shape):
    for f in ("labels.npy", "spectra.csv", "summary.json"):
        if not os.path.isfile(os.path.join(out, f)):
            raise Failure("missing output " + f)
    labels = np.load(os.path.join(out, "labels.npy"))
    if labels.dtype != np.int32 or labels.shape != tuple(shape):
        raise Failure("labels.npy: dtype %s shape %s" % (labels.dtype, labels.shape))
    if labels.min() < 0:
        raise Failure("labels.npy holds negative labels")
    json.load(open(os.path.join(out, "summary.json")))
    return labels


def cluster(ctx, cube_path, energy_path, out, *extra):
    args = ["cluster", "--input", cube_path, "--energy", energy_path, "--out", out, "-q"]
    args += list(extra)
    return ctx.run(args)


KMEANS = ("--method", "kmeans", "--k", "2", "--threads", "1")
DBSCAN = ("--method", "dbscan", "--threads", "1")

# ----------------------------------------------------------------- the cases
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def default_inputs(ctx, cube=None):
    return ctx.write_cube(ctx.cube if cube is None else cube), ctx.write_energy(ctx.energy)


@case
def nan_inf_pixels(ctx):
    cube = ctx.cube.copy()
    bad = [(2, 3), (10, 10), (15, 4)]
    cube[2, 3, :] = np.nan
    cube[10, 10, 50] = np.inf
    cube[15, 4, 7] = -np.inf
    c, e = default_inputs(ctx, cube)
    for method, extra in (("kmeans", KMEANS), ("dbscan", DBSCAN)):
        out = ctx.path("out_" + method)
        for mask in ("auto", "none"):
            r = cluster(ctx, c, e, out, "--mask", mask, *extra)
            expect_success(r, "%s --mask %s" % (method, mask))
            labels = check_cluster_outputs(out, cube.shape[:2])
            for (y, x) in bad:
                if labels[y, x] != 0:
                    raise Failure("%s --mask %s: non-finite pixel (%d,%d) got label %d, expected 0"
                                  % (method, mask, y, x, labels[y, x]))
            shutil.rmtree(out)


@case
def all_nan_cube(ctx):
    c, e = default_inputs(ctx, np.full_like(ctx.cube, np.nan))
    out = ctx.path("out")
    expect_error(cluster(ctx, c, e, out, *KMEANS), out, "all-NaN cube")


@case
def all_zero_cube(ctx):
    c, e = default_inputs(ctx, np.zeros_like(ctx.cube))
    out = ctx.path("out")
    for mask in ("auto", "none"):
        expect_error(cluster(ctx, c, e, out, "--mask", mask, *KMEANS), out, "all-zero --mask " + mask)


@case
def constant_spectra(ctx):
    cube = np.ones_like(ctx.cube)
    cube *= np.arange(cube.shape[1], dtype=np.float32)[None, :, None]  # constant per pixel
    c, e = default_inputs(ctx, cube)
    out = ctx.path("out")
    for mask in ("auto", "none"):
        for extra in (KMEANS, DBSCAN):
            expect_error(cluster(ctx, c, e, out, "--mask", mask, *extra), out,
                         "constant spectra --mask %s %s" % (mask, extra[1]))


@case
def some_constant_spectra(ctx):
    cube = ctx.cube.copy()
    cube[0:3, :, :] = 1.0  # three rows of flat spectra among real ones
    c, e = default_inputs(ctx, cube)
    out = ctx.path("out")
    r = cluster(ctx, c, e, out, "--mask", "none", *KMEANS)
    expect_success(r, "some constant spectra")
    labels = check_cluster_outputs(out, cube.shape[:2])
    if (labels[0:3, :] != 0).any():
        raise Failure("constant spectra were clustered (expected label 0)")


@case
def one_pixel_cube(ctx):
    c, e = default_inputs(ctx, ctx.cube[10:11, 10:11, :].copy())
    for extra in (KMEANS, DBSCAN):
        out = ctx.path("out_" + extra[1])
        r = cluster(ctx, c, e, out, "--mask", "none", *extra)
        if expect_either(r, out, "1-pixel " + extra[1]) is None:
            check_cluster_outputs(out, (1, 1))
    r = ctx.run(["info", c, "--energy", e])
    expect_either(r, None, "info 1-pixel")


@case
def one_energy_cube(ctx):
    c = ctx.write_cube(ctx.cube[:, :, 50:51].copy())
    e = ctx.write_energy(ctx.energy[50:51])
    for extra in (KMEANS, DBSCAN):
        out = ctx.path("out_" + extra[1])
        expect_either(cluster(ctx, c, e, out, *extra), out, "1-energy " + extra[1])
    expect_either(ctx.run(["info", c, "--energy", e]), None, "info 1-energy")


@case
def energy_count_mismatch(ctx):
    c = ctx.write_cube(ctx.cube)
    out = ctx.path("out")
    for n in (len(ctx.energy) - 1, len(ctx.energy) + 1):
        e = ctx.write_energy(ctx.energy[:n] if n < len(ctx.energy)
                             else np.append(ctx.energy, ctx.energy[-1] + 5))
        expect_error(cluster(ctx, c, e, out, *KMEANS), out, "energy count %d" % n)
    e = ctx.write_energy([])
    expect_error(cluster(ctx, c, e, out, *KMEANS), out, "empty energy file")


@case
def unsorted_energies(ctx):
    c = ctx.write_cube(ctx.cube)
    out = ctx.path("out")
    en = ctx.energy.copy()
    en[[10, 11]] = en[[11, 10]]
    e = ctx.write_energy(en)
    expect_error(cluster(ctx, c, e, out, *KMEANS), out, "swapped energies")
    en = ctx.energy.copy()
    en[20] = en[19]
    e = ctx.write_energy(en)
    expect_error(cluster(ctx, c, e, out, *KMEANS), out, "repeated energy")
    with open(e, "w") as f:
        f.write("\n".join("%.2f" % x for x in ctx.energy[:-1]) + "\nnan\n")
    expect_error(cluster(ctx, c, e, out, *KMEANS), out, "NaN energy")
    with open(e, "w") as f:
        f.write("\n".join("%.2f" % x for x in ctx.energy[:-1]) + "\n7xyz\n")
    expect_error(cluster(ctx, c, e, out, *KMEANS), out, "garbage energy")


@case
def sites_other_grid(ctx):
    require_voronoi(ctx)
    c, e = default_inputs(ctx)
    other = ctx.write_energy(ctx.energy[::2], "energy_half.txt")
    sites = ctx.sites(other)
    out = ctx.path("out")
    r = cluster(ctx, c, e, out, "--method", "voronoi", "--sites", sites, "--threads", "1")
    expect_error(r, out, "voronoi with sites on another energy grid")
    # Same count, shifted grid: the energies differ although the counts agree.
    shifted = ctx.write_energy(ctx.energy + 3.0, "energy_shift.txt")
    sites2 = ctx.sites(shifted, "sites_shift.csv")
    r = cluster(ctx, c, e, out, "--method", "voronoi", "--sites", sites2, "--threads", "1")
    expect_either(r, out, "voronoi with sites on a shifted grid")


@case
def missing_sites(ctx):
    require_voronoi(ctx)
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    expect_error(cluster(ctx, c, e, out, "--method", "voronoi", "--threads", "1"), out,
                 "voronoi without --sites")
    bad = ctx.path("bad_sites.csv")
    with open(bad, "w") as f:
        f.write("energy,a\n1,2\nthree,4\n")
    expect_error(cluster(ctx, c, e, out, "--method", "voronoi", "--sites", bad, "--threads", "1"),
                 out, "voronoi with a malformed sites file")


@case
def empty_site_set(ctx):
    """A SITES.csv holding no site (only the energy column, or an unnamed
    column) is refused by `cluster --method voronoi`, in memory and tiled, and
    `sites` refuses a reference folder without references."""
    require_voronoi(ctx)
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    grid = "".join("%.6f\n" % x for x in ctx.energy)
    files = {
        "energy_only.csv": "energy\n" + grid,
        "unnamed_column.csv": "energy,\n" + "".join("%.6f,%d\n" % (x, i % 2)
                                                    for i, x in enumerate(ctx.energy)),
        "header_only.csv": "energy,a\n",
    }
    tiled = "--tile" in ctx.run(["cluster", "--help"]).stdout
    for name, text in files.items():
        p = ctx.path(name)
        with open(p, "w") as f:
            f.write(text)
        expect_error(cluster(ctx, c, e, out, "--method", "voronoi", "--sites", p, "--threads", "1"),
                     out, "voronoi with %s" % name, contains=name)
        if tiled:
            expect_error(cluster(ctx, c, e, out, "--method", "voronoi", "--sites", p, "--threads", "1",
                                 "--tile", "8"), out, "tiled voronoi with %s" % name, contains=name)
    empty_refs = ctx.path("no_references")
    os.makedirs(empty_refs)
    sites_out = ctx.path("sites_out.csv")
    r = ctx.run(["sites", "--refs", empty_refs, "--energy", e, "--out", sites_out, "-q"])
    expect_error(r, None, "sites from an empty reference folder")
    if os.path.exists(sites_out):
        raise Failure("sites from an empty reference folder wrote " + sites_out)


@case
def negative_counts(ctx):
    c, e = default_inputs(ctx, -ctx.cube)
    out = ctx.path("out")
    r = cluster(ctx, c, e, out, *KMEANS)
    if expect_either(r, out, "negated cube") is None:
        check_cluster_outputs(out, ctx.cube.shape[:2])
    shutil.rmtree(out, ignore_errors=True)
    cube = ctx.cube - 5.0
    c, e = default_inputs(ctx, cube)
    r = cluster(ctx, c, e, out, *KMEANS)
    if expect_either(r, out, "cube shifted negative") is None:
        check_cluster_outputs(out, ctx.cube.shape[:2])


@case
def absurd_dbscan(ctx):
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    for eps in ("0", "-1", "nan", "inf", "abc", ""):
        expect_error(cluster(ctx, c, e, out, "--method", "dbscan", "--eps", eps), out, "--eps " + eps)
    expect_error(cluster(ctx, c, e, out, "--method", "dbscan", "--min-pts", "-3"), out, "--min-pts -3")
    expect_error(cluster(ctx, c, e, out, "--method", "dbscan", "--components", "-1"), out,
                 "--components -1")
    expect_error(cluster(ctx, c, e, out, "--method", "dbscan", "--eps-quantile", "1.5"), out,
                 "--eps-quantile 1.5")
    expect_error(cluster(ctx, c, e, out, "--method", "dbscan", "--index", "nope"), out, "--index nope")


@case
def absurd_repair(ctx):
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    for kp in ("4,5", "0,1", "-3,2", "5,26", "5,0", "5", "5,", ",5", "a,b", "5,23,1"):
        expect_error(cluster(ctx, c, e, out, "--repair", kp, *KMEANS), out, "--repair " + kp)
    # Oversized window (larger than the image): a clear error or a valid map.
    r = cluster(ctx, c, e, out, "--repair", "101,1", *KMEANS)
    if expect_either(r, out, "--repair 101,1") is None:
        check_cluster_outputs(out, ctx.cube.shape[:2])
    shutil.rmtree(out, ignore_errors=True)
    r = cluster(ctx, c, e, out, "--repair", "99999,1", *KMEANS)
    expect_either(r, out, "--repair 99999,1")


@case
def absurd_kmeans(ctx):
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    for k in ("0", "-1", "x"):
        expect_error(cluster(ctx, c, e, out, "--method", "kmeans", "--k", k), out, "--k " + k)
    expect_error(cluster(ctx, c, e, out, "--method", "kmeans"), out, "kmeans without --k")
    r = cluster(ctx, c, e, out, "--method", "kmeans", "--k", "100000", "--threads", "1")
    expect_either(r, out, "--k larger than the pixel count")
    expect_error(cluster(ctx, c, e, out, "--method", "kmeans", "--k", "2", "--max-iterations", "-1"),
                 out, "--max-iterations -1")
    expect_error(cluster(ctx, c, e, out, "--method", "nope"), out, "--method nope")


@case
def absurd_threads(ctx):
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    for t in ("-1", "-100", "x"):
        expect_error(cluster(ctx, c, e, out, "--method", "kmeans", "--k", "2", "--threads", t), out,
                     "--threads " + t)
    r = cluster(ctx, c, e, out, "--method", "kmeans", "--k", "2", "--threads", "64")
    expect_success(r, "--threads 64 (more than cores)")


@case
def absurd_normalize_windows(ctx):
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    expect_error(cluster(ctx, c, e, out, "--post-order", "3", *KMEANS), out, "--post-order 3")
    r = cluster(ctx, c, e, out, "--pre", "10", "-10", *KMEANS)
    expect_error(r, out, "--pre reversed")
    r = cluster(ctx, c, e, out, "--e0", "1e9", *KMEANS)
    expect_either(r, out, "--e0 far outside the grid")


def write_raw_npy(path, header_dict_text, payload=b""):
    magic = b"\x93NUMPY\x01\x00"
    header = header_dict_text.encode("latin1")
    pad = 64 - (len(magic) + 2 + len(header) + 1) % 64
    header += b" " * (pad % 64) + b"\n"
    with open(path, "wb") as f:
        f.write(magic + len(header).to_bytes(2, "little") + header + payload)


@case
def npy_hostile_headers(ctx):
    e = ctx.write_energy(ctx.energy)
    out = ctx.path("out")
    payload = ctx.cube[:2, :2, :].tobytes()
    variants = {
        "overflow_dims": "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 100), }",
        "overflow_product": "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2, 100), }",
        "exceeds_file": "{'descr': '<f4', 'fortran_order': False, 'shape': (64, 64, 100), }",
        "negative_dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2, 100), }",
        "zero_dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2, 100), }",
        "two_dims": "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 200), }",
        "four_dims": "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 1, 100), }",
        "fortran": "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 100), }",
        "bad_dtype": "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2, 50), }",
        "object_dtype": "{'descr': '|O', 'fortran_order': False, 'shape': (2, 2, 100), }",
        "garbage_header": "{'descr': '<f4', 'fortran_order': Fals",
        "empty_header": "",
        "huge_number": "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999, 2, 100), }",
    }
    for name, header in variants.items():
        p = ctx.path(name + ".npy")
        write_raw_npy(p, header, payload)
        expect_error(cluster(ctx, p, e, out, *KMEANS), out, "npy " + name)
        expect_error(ctx.run(["info", p]), None, "info npy " + name)
    # Raw byte damage: bad magic, truncated header length, empty file.
    for name, data in {"bad_magic": b"\x93NUMPX\x01\x00" + b"\x10\x00" + b"{" * 16,
                       "truncated": b"\x93NUMPY\x01\x00\xff\xff{'descr'",
                       "empty": b"",
                       "v3_header": b"\x93NUMPY\x03\x00\x10\x00\x00\x00" + b" " * 16}.items():
        p = ctx.path(name + ".npy")
        open(p, "wb").write(data)
        expect_error(cluster(ctx, p, e, out, *KMEANS), out, "npy " + name)
        expect_error(ctx.run(["info", p]), None, "info npy " + name)


@case
def missing_and_unknown_inputs(ctx):
    e = ctx.write_energy(ctx.energy)
    out = ctx.path("out")
    expect_error(cluster(ctx, ctx.path("nope.npy"), e, out, *KMEANS), out, "missing cube")
    expect_error(cluster(ctx, ctx.write_cube(ctx.cube), ctx.path("nope.txt"), out, *KMEANS), out,
                 "missing energy")
    p = ctx.path("cube.xyz")
    open(p, "w").write("hello")
    expect_error(cluster(ctx, p, e, out, *KMEANS), out, "unknown extension")
    for ext in (".tif", ".h5"):
        p = ctx.path("garbage" + ext)
        open(p, "wb").write(b"\x00" * 100)
        expect_error(cluster(ctx, p, e, out, *KMEANS), out, "garbage " + ext)
    d = ctx.path("a_folder.npy")
    os.makedirs(d, exist_ok=True)
    expect_error(cluster(ctx, d, e, out, *KMEANS), out, "folder as cube")


@case
def mask_file_hostile(ctx):
    c, e = default_inputs(ctx)
    out = ctx.path("out")
    m = ctx.path("mask.npy")
    np.save(m, np.ones((3, 3), np.uint8))
    expect_error(cluster(ctx, c, e, out, "--mask", m, *KMEANS), out, "mask of the wrong shape")
    np.save(m, np.zeros(ctx.cube.shape[:2], np.uint8))
    expect_error(cluster(ctx, c, e, out, "--mask", m, *KMEANS), out, "all-zero mask")


@case
def unwritable_output(ctx):
    c, e = default_inputs(ctx)
    blocker = ctx.path("a_file")
    open(blocker, "w").write("I am a file")
    for out in (os.path.join(blocker, "sub"), os.path.join(blocker, "sub", "deeper"), blocker):
        r = cluster(ctx, c, e, out, *KMEANS)
        expect_error(r, None, "--out " + out)
        if open(blocker).read() != "I am a file":
            raise Failure("the blocking file was modified")
    left = [f for f in files_under(ctx.work) if os.path.basename(f) not in
            ("a_file", "cube.npy", "energy.txt")]
    if left:
        raise Failure("failed runs left files behind: %s" % left)
    # Other writers: normalize / sites / synth to a path under a regular file.
    r = ctx.run(["normalize", "--input", c, "--energy", e, "--out", os.path.join(blocker, "n.npy"), "-q"])
    expect_error(r, None, "normalize --out under a file")
    r = ctx.run(["sites", "--refs", ctx.refs, "--energy", e, "--out", os.path.join(blocker, "s.csv"),
                 "--trials", "10", "-q"])
    expect_error(r, None, "sites --out under a file")
    r = ctx.run(["synth", "--refs", ctx.refs, "--energy", e, "--out", os.path.join(blocker, "syn"),
                 "--size", "8x8", "-q"])
    expect_error(r, None, "synth --out under a file")


@case
def other_commands_hostile(ctx):
    c, e = default_inputs(ctx)
    expect_error(ctx.run(["compare", ctx.path("nope.npy"), ctx.path("nope2.npy")]), None, "compare missing")
    a = ctx.path("a.npy")
    b = ctx.path("b.npy")
    np.save(a, np.zeros((3, 3), np.int32))
    np.save(b, np.zeros((4, 4), np.int32))
    expect_error(ctx.run(["compare", a, b]), None, "compare shape mismatch")
    ref = os.path.join(ctx.refs, sorted(os.listdir(ctx.refs))[0])
    expect_error(ctx.run(["distinguish", ref, ctx.path("nope.dat"), "--energy", e]), None,
                 "distinguish missing")
    r = ctx.run(["distinguish", ref, ref, "--energy", e])
    expect_either(r, None, "distinguish A A")
    expect_error(ctx.run(["sites", "--refs", ctx.path("nodir"), "--energy", e, "--out",
                          ctx.path("s.csv")]), None, "sites missing refs")
    empty = ctx.path("empty_refs")
    os.makedirs(empty, exist_ok=True)
    expect_error(ctx.run(["sites", "--refs", empty, "--energy", e, "--out", ctx.path("s.csv")]), None,
                 "sites empty refs")
    expect_error(ctx.run(["synth", "--refs", ctx.refs, "--energy", e, "--out", ctx.path("syn"),
                          "--size", "0x5"]), ctx.path("syn"), "synth --size 0x5")
    expect_error(ctx.run(["synth", "--refs", ctx.refs, "--energy", e, "--out", ctx.path("syn"),
                          "--size", "banana"]), ctx.path("syn"), "synth --size banana")
    d = ctx.path("spec.dat")
    open(d, "w").write("# e mu\n1 2\n")
    expect_error(ctx.run(["normalize", "--input", d, "--out", ctx.path("o.dat")]), None,
                 "normalize 1-point spectrum")
    expect_error(ctx.run(["exafs", "--input", d, "--out", ctx.path("ex")]), ctx.path("ex"),
                 "exafs 1-point spectrum")
    expect_error(ctx.run(["exafs", "--input", ref, "--out", ctx.path("ex"), "--kmin", "6",
                          "--kmax", "2"]), ctx.path("ex"), "exafs kmin > kmax")
    expect_error(ctx.run(["exafs", "--input", ref, "--out", ctx.path("ex"), "--window", "nope"]),
                 ctx.path("ex"), "exafs --window nope")


@case
def tiff_hdf5_hostile(ctx):
    e = ctx.write_energy(ctx.energy)
    out = ctx.path("out")
    try:
        import h5py
        import tifffile
    except ImportError:
        raise Skip("h5py / tifffile missing")
    h5 = ctx.path("a.h5")
    with h5py.File(h5, "w") as f:
        f["data"] = ctx.cube
        f["flat"] = ctx.cube[:, :, 0]
        f["empty"] = np.zeros((0, 3, 100), np.float32)
        f.create_group("grp")
    if "hdf5" in ctx.run(["cluster", "--help"]).stdout.lower():
        expect_error(cluster(ctx, h5, e, out, "--axes", "ehw", *KMEANS), out, "hdf5 --axes ehw")
        for d in ("/flat", "/grp", "/nope", "/empty", ""):
            expect_error(cluster(ctx, h5, e, out, "--dataset", d, *KMEANS), out, "hdf5 --dataset " + d)
        expect_error(cluster(ctx, h5, e, out, "--axes", "xyz", *KMEANS), out, "--axes xyz")
    mixed = ctx.path("mixed.tif")
    with tifffile.TiffWriter(mixed) as t:
        t.write(np.zeros((4, 4), np.float32))
        t.write(np.zeros((5, 4), np.float32))
    expect_error(ctx.run(["info", mixed]), None, "tiff pages of different sizes")
    expect_error(cluster(ctx, mixed, e, out, *KMEANS), out, "tiff pages of different sizes")
    rgb = ctx.path("rgb.tif")
    tifffile.imwrite(rgb, np.zeros((4, 4, 3), np.uint8), photometric="rgb")
    expect_error(cluster(ctx, rgb, e, out, *KMEANS), out, "rgb tiff")
    big = ctx.path("be.npy")
    np.save(big, ctx.cube.astype(">f8"))
    r = cluster(ctx, big, e, out, *KMEANS)
    if expect_either(r, out, "big-endian float64 npy") is None:
        check_cluster_outputs(out, ctx.cube.shape[:2])


@case
def fuzz_regressions(ctx):
    """Every saved fuzz input (fuzz/corpus/<reader>/) through `info` and `cluster`."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus")
    e = ctx.write_energy(ctx.energy)
    out = ctx.path("out")
    ext = {"npy": ".npy", "tiff": ".tif", "hdf5": ".h5"}
    for reader, suffix in ext.items():
        folder = os.path.join(root, reader)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            p = ctx.path("input" + suffix)
            shutil.copyfile(os.path.join(folder, name), p)
            expect_either(ctx.run(["info", p]), None, "info %s/%s" % (reader, name))
            r = cluster(ctx, p, e, out, *KMEANS)
            expect_either(r, out, "cluster %s/%s" % (reader, name))
            shutil.rmtree(out, ignore_errors=True)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print(";".join(CASES))
        return 0
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    exe, data, work, name = sys.argv[1:]
    data = os.path.abspath(data)
    work = os.path.join(work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        CASES[name](Ctx(os.path.abspath(exe), data, work))
    except Failure as f:
        print("FAIL %s: %s" % (name, f), file=sys.stderr)
        return 1
    except Skip as s:
        print("SKIP %s: %s" % (name, s))
        return 77
    print("ok %s" % name)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
