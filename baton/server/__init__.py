"""``baton serve``: an OpenAI-compatible speech server over :class:`baton.Pipeline` (docs/serve.md).

Modules: ``config`` (ServeConfig and the CLI options; standard library only), ``app`` (FastAPI routes),
``schemas`` (request bodies, OpenAI-shaped errors), ``speech`` (one request's plan, speed and limits),
``workers`` (bounded synthesis thread pool), ``audio`` (encoders), ``middleware`` (auth, body limit, logs),
``main`` (load, warm up, run uvicorn). Importing this package is cheap; FastAPI loads with ``app``.
"""

from baton.server.config import ServeConfig

__all__ = ["ServeConfig"]
