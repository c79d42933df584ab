"""``baton speak`` loads only what it uses (issue 27, cold start): no torch, transformers,
sentence-transformers or scipy, for a plain text, a keyword and a free-form instruction. A fresh interpreter
runs the command on the shipped voice and reports which of those modules it ended up with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "sentence_transformers", "scipy")
SCRIPT = """
import json, sys
from baton import cli
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


@pytest.mark.parametrize("args", [["Hello."], ["angrily: Hello."],
                                  ["Hello.", "-i", "like someone who just heard terrible news"]])
def test_speak_imports_no_heavy_module(tmp_path, args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, "speak", *args, "-o", str(tmp_path / "x.wav"), "-q"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}
    assert (tmp_path / "x.wav").stat().st_size > 1000
