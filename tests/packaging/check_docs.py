#!/usr/bin/python3
"""docs/researcher_guide.md, docs/user_guide.md and README.md quote compiled
code: every ```cpp block preceded by `<!-- snippet: PATH TAG -->` must equal
the lines between the `// [TAG]` markers of PATH (a file CI builds). The
researcher's guide must hold at least one such block. With --render TEMPLATE,
writes the researcher's guide from a template whose `@@snippet PATH TAG@@`
lines are replaced by the blocks.
Usage: check_docs.py REPO_ROOT [--render TEMPLATE]"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
guide = root / "docs" / "researcher_guide.md"


def snippet(path, tag):
    lines = (root / path).read_text().splitlines()
    marks = [i for i, l in enumerate(lines) if l.strip() == f"// [{tag}]"]
    if len(marks) != 2:
        raise SystemExit(f"{path}: expected two '// [{tag}]' markers, found {len(marks)}")
    return "\n".join(lines[marks[0] + 1:marks[1]])


if len(sys.argv) == 4 and sys.argv[2] == "--render":
    text = pathlib.Path(sys.argv[3]).read_text()
    text = re.sub(r"^@@snippet (\S+) (\S+)@@$",
                  lambda m: f"<!-- snippet: {m[1]} {m[2]} -->\n```cpp\n{snippet(m[1], m[2])}\n```",
                  text, flags=re.M)
    guide.write_text(text)

failed = False
total = 0
for doc in (guide, root / "docs" / "user_guide.md", root / "README.md"):
    text = doc.read_text()
    # A marker must be followed by its block: a stray marker is an error too.
    markers = len(re.findall(r"<!-- snippet: ", text))
    blocks = re.findall(r"<!-- snippet: (\S+) (\S+) -->\n```cpp\n(.*?)\n```", text, re.S)
    if doc == guide and not blocks:
        raise SystemExit("researcher_guide.md: no snippet blocks found")
    if markers != len(blocks):
        print(f"{doc.name}: {markers} snippet markers but {len(blocks)} are followed by a ```cpp block")
        failed = True
    bad = [f"{p} [{t}]" for p, t, body in blocks if body != snippet(p, t)]
    if bad:
        print(f"{doc.name} snippets differ from the compiled sources: " + ", ".join(bad))
        print("copy them again from the source (or check_docs.py --render for the researcher's guide)")
        failed = True
    total += len(blocks)
if failed:
    sys.exit(1)
print(f"{total} snippets match their compiled sources")
