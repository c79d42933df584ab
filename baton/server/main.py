"""Start the speech server: load the voices once, warm them up, serve with uvicorn until SIGTERM/SIGINT.

Shutdown: on the first signal /health turns 503 (load balancers stop sending), uvicorn stops accepting
connections and lets in-flight requests finish for ``shutdown_timeout_s``; then the worker pool cancels
what is left (at the next sentence group) and the process exits.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from typing import Any

from baton.pipeline import Pipeline
from baton.server.config import ServeConfig

LOGGER = logging.getLogger("baton.server")
WARM_UP_TEXT = "Warm up."
WARM_UP_INSTRUCTION = "a little happier than normal"
"""A free-form instruction, so the embedded conductor loads its sentence-embedding model before the first
request instead of during it."""


def load_pipelines(config: ServeConfig) -> dict[str, Pipeline]:
    """One Pipeline per served voice, sharing one conductor; onnxruntime threads per ServeConfig.onnx_threads."""
    from baton.conductors import get_conductor
    from baton.pipeline import default_voice_id
    from tts_model.runtime import synthesizer as runtime

    conductor = get_conductor(config.conductor, **dict(config.conductor_options))
    pipelines: dict[str, Pipeline] = {}
    for voice in config.voices or (default_voice_id(),):
        synthesizer = runtime.Synthesizer.load(voice, threads=config.onnx_threads)
        pipelines[synthesizer.voice_id] = Pipeline(conductor, synthesizer)
    return pipelines


def warm_up(pipelines: dict[str, Pipeline]) -> float:
    """Plan with a free-form instruction and render a short text on every voice; returns seconds taken."""
    start = time.perf_counter()
    for pipe in pipelines.values():
        pipe.speak(WARM_UP_TEXT, WARM_UP_INSTRUCTION, seed=0)
    return time.perf_counter() - start


def _uvicorn_server(app: Any, config: ServeConfig, log_level: str = "info"):
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.baton.draining = True  # /health -> 503 while in-flight requests finish
            super().handle_exit(sig, frame)

    return Server(uvicorn.Config(app, host=config.host, port=config.port, access_log=False, log_level=log_level,
                                 timeout_graceful_shutdown=config.shutdown_timeout_s, lifespan="on"))


def run(config: ServeConfig) -> int:
    """``baton serve``: blocks until the server is stopped. Returns the exit code."""
    from baton.server.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    start = time.perf_counter()
    pipelines = load_pipelines(config)
    seconds = warm_up(pipelines)
    app = create_app(config, pipelines)
    LOGGER.info("loaded %s in %.1f s (warm-up %.1f s); %d worker(s) x %d onnxruntime thread(s), queue %d",
                ", ".join(pipelines), time.perf_counter() - start, seconds, config.workers, config.onnx_threads,
                config.max_queue)
    LOGGER.info("serving on http://%s:%d/v1 (API docs: /docs)%s", config.host, config.port,
                "; API key required" if config.api_key else "")
    _uvicorn_server(app, config).run()
    return 0


class BackgroundServer:
    """A real uvicorn server in a thread on 127.0.0.1 and a free port (tests, benchmarks).

    ``with BackgroundServer(app) as server: openai.OpenAI(base_url=server.base_url + "/v1", ...)``"""

    def __init__(self, app: Any, config: ServeConfig | None = None):
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server = _uvicorn_server(app, config or ServeConfig(port=self.port, shutdown_timeout_s=5.0),
                                      log_level="warning")
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]},
                                        name="baton-serve", daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + 30.0
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the background server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30.0)
        self._socket.close()
