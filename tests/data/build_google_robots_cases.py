"""Build ``google_robots_cases.json``: Google's 400 robots.txt compliance cases as data.

The cases are those of Google's robots.txt specification test (github.com/google/robotstxt-spec-test,
``src/main/resources/CTC/correctness`` and ``CTC/stress``, Apache-2.0, Copyright 2020 Google LLC),
which grade a parser against Google's reference parser (github.com/google/robotstxt). They are read
from the Python port in the robotspy 0.13.0 source distribution (MIT, Andre Burgaud), which
generated its ``tests/test_google_correctness.py`` and ``tests/test_google_stress.py`` from those
files, and put back as Google wrote them:

- the six expectations robotspy comments out because its own parser fails them are restored;
- the leading newline its triple-quoted strings add to every file is removed;
- the byte-order-mark and line-ending files, whose bytes robotspy's generator lost, are taken from
  ``BOM-characters.textproto`` and ``different-line-endings.textproto``. A partial byte-order mark
  is skipped, as Google's parser does (robots_test.cc, ``ID_UTF8ByteOrderMarkIsSkipped``): the
  textproto expects ALLOWED there only because its Java runner decodes the bytes as UTF-8 first.

Run: ``pip download robotspy==0.13.0 --no-binary :all: --no-deps`` then
``python tests/data/build_google_robots_cases.py robotspy-0.13.0.tar.gz``. Bodies that are not
UTF-8 are stored with ``surrogateescape``; ``body.encode("utf-8", "surrogateescape")`` gives the
bytes back.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).with_name("google_robots_cases.json")
MODULES = {"correctness": "tests/test_google_correctness.py", "stress": "tests/test_google_stress.py"}
_COMMENTED_ROW = re.compile(r"^#(\s*\[robots_txt_)", re.MULTILINE)

_BOM_BODY = b"User-Agent: foo\nDisallow: /AnyValue\n"
RESTORED_BODIES = {
    "BOM_characters0": b"\xef\xbb\xbf" + _BOM_BODY,
    "BOM_characters1": b"\xef\xbb" + _BOM_BODY,
    "BOM_characters2": b"\xef" + _BOM_BODY,
    "BOM_characters3": b"\xef\x11\xbf" + _BOM_BODY,
    "BOM_characters4": b"User-Agent: foo\n\xef\xbb\xbfDisallow: /AnyValue\n",
}
"""Bodies as in CTC/correctness/BOM-characters.textproto."""

_LINES = ("User-Agent: foo", "Allow: /some/path", "User-Agent: bar", "", "", "Disallow: /")
LINE_ENDING_FILES = [
    "\n".join(_LINES) + "\n",
    "\r\n".join(_LINES) + "\r\n",
    "\r".join(_LINES) + "\r",
    "\n".join(_LINES),
    "User-Agent: foo\nAllow: /some/path\r\nUser-Agent: bar\n\r\n\nDisallow: /",
]
"""The five files of CTC/correctness/different-line-endings.textproto: each disallows bar's /page."""


def _text(body: bytes) -> str:
    return body.decode("utf-8", "surrogateescape")


def _source(kind: str, name: str) -> str:
    if kind == "stress":
        return f"CTC/stress/{name}.textproto"
    stem = name[:-1].replace("_", "-")  # robotspy appends the test index, one digit
    return f"CTC/correctness/{stem}.textproto"


def read_module(kind: str, source: str) -> list[dict[str, object]]:
    """The files and expectations of one robotspy module, in its order."""
    tree = ast.parse(_COMMENTED_ROW.sub(r"\1", source))
    bodies: dict[str, str] = {}
    files: list[dict[str, object]] = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if isinstance(node.value, ast.Constant) and name.startswith("robots_txt_"):
            bodies[name.removeprefix("robots_txt_")] = node.value.value.removeprefix("\n")
        elif isinstance(node.value, ast.Tuple) and name.startswith("data_"):
            key = name.removeprefix("data_")
            rows = [
                [row.elts[1].value, row.elts[2].value, row.elts[3].id == "ALLOWED"]
                for row in node.value.elts
                if isinstance(row, ast.List)
            ]
            body = RESTORED_BODIES.get(key)
            files.append(
                {
                    "source": _source(kind, key),
                    "robotstxt": bodies[key] if body is None else _text(body),
                    "expectations": rows,
                }
            )
    return files


def build(sdist: Path) -> dict[str, object]:
    with tarfile.open(sdist) as archive:
        members = {Path(m.name).relative_to(Path(m.name).parts[0]).as_posix(): m for m in archive}
        files = []
        for kind, path in MODULES.items():
            handle = archive.extractfile(members[path])
            assert handle is not None
            files += read_module(kind, handle.read().decode("utf-8"))
    line_endings = "CTC/correctness/different-line-endings.textproto"
    files = [entry for entry in files if entry["source"] != line_endings]
    files += [
        {
            "source": line_endings,
            "robotstxt": body,
            "expectations": [["bar", "http://example.com/page", False]],
        }
        for body in LINE_ENDING_FILES
    ]
    return {
        "about": (
            "Google's robots.txt compliance cases (github.com/google/robotstxt-spec-test, CTC/correctness "
            "and CTC/stress; Apache-2.0, Copyright 2020 Google LLC), via robotspy 0.13.0 (MIT); built by "
            "build_google_robots_cases.py. Each expectation is [user agent, URL, allowed]."
        ),
        "files": files,
    }


if __name__ == "__main__":
    data = build(Path(sys.argv[1]))
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{sum(len(f['expectations']) for f in data['files'])} expectations in {len(data['files'])} files")
