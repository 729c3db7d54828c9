#!/usr/bin/python3
"""docs/researcher_guide.md quotes compiled code: every ```cpp block preceded by
`<!-- snippet: PATH TAG -->` must equal the lines between the `// [TAG]`
markers of PATH (a file CI builds). With --render TEMPLATE, writes the guide
from a template whose `@@snippet PATH TAG@@` lines are replaced by the blocks.
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

text = guide.read_text()
blocks = re.findall(r"<!-- snippet: (\S+) (\S+) -->\n```cpp\n(.*?)\n```", text, re.S)
if not blocks:
    raise SystemExit("researcher_guide.md: no snippet blocks found")
bad = [f"{p} [{t}]" for p, t, body in blocks if body != snippet(p, t)]
if bad:
    print("researcher_guide.md snippets differ from the compiled sources: " + ", ".join(bad))
    print("regenerate them from the example (check_docs.py --render) or fix the guide")
    sys.exit(1)
print(f"{len(blocks)} snippets match their compiled sources")
