"""``baton serve`` options: one frozen config, and the argparse block that fills it.

This module imports only the standard library, so ``baton --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

API_KEY_ENV = "BATON_API_KEY"
MODEL_ID = "batonvoice"
OPENAI_MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPENAI_VOICE_ALIASES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
                        "verse")
"""OpenAI's voice names, which clients and tools built on them send by default: they get the default voice, as
the model aliases get batonvoice, so that pointing such a client at `baton serve` just works."""
"""OpenAI's speech model names, accepted as aliases of MODEL_ID so that clients with a hard-coded model work."""


@dataclass(frozen=True)
class ServeConfig:
    """Options of one server process. Limits are per request unless said otherwise."""

    host: str = "127.0.0.1"
    port: int = 8000
    """TCP port; 0 picks a free one."""
    voices: tuple[str, ...] = ()
    """Voice ids or folders to load; the first is the default. Empty: the default shipped voice."""
    conductor: str = "embedded"
    conductor_options: tuple[tuple[str, str], ...] = ()
    """Keyword options for baton.conductors.get_conductor (base_url, model), as pairs."""
    workers: int = 1
    """Synthesis threads: requests rendered at the same time."""
    threads_per_worker: int | None = None
    """onnxruntime intra-op threads per voice session; None: available CPUs // workers (at least 1)."""
    max_queue: int = 8
    """Requests admitted to wait for a worker; one more is answered 503 with Retry-After."""
    max_input_chars: int = 4096
    """Longest ``input`` text (OpenAI's limit is the same 4096 characters)."""
    max_body_bytes: int = 1 << 20
    """Largest request body [bytes]; larger bodies are answered 413 before they are parsed."""
    max_segments: int = 512
    """Most plan segments one request may render."""
    max_audio_s: float = 600.0
    """Longest audio one request may produce [s] (spoken durations plus pauses, after ``speed``)."""
    request_timeout_s: float = 300.0
    """Admission to last byte [s]; a request past it is cancelled (504 if no audio was sent yet)."""
    shutdown_timeout_s: float = 30.0
    """On SIGTERM/SIGINT: how long in-flight requests may finish before they are cancelled [s]."""
    api_key: str | None = None
    """When set, every /v1 route needs ``Authorization: Bearer <api_key>``; /health and the docs do not."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; empty (default): no CORS headers at all."""
    log_text: bool = False
    """Log request text and instructions (off by default: logs carry lengths only)."""

    def __post_init__(self) -> None:
        checks = {"workers": self.workers >= 1, "max_queue": self.max_queue >= 0,
                  "max_input_chars": self.max_input_chars >= 1, "max_body_bytes": self.max_body_bytes >= 1024,
                  "max_segments": self.max_segments >= 1, "max_audio_s": self.max_audio_s > 0,
                  "request_timeout_s": self.request_timeout_s > 0, "shutdown_timeout_s": self.shutdown_timeout_s >= 0,
                  "port": 0 <= self.port <= 65535}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"serve option '{bad[0]}' has invalid value {getattr(self, bad[0])!r}; see "
                             "'baton serve --help' for the valid range")
        if self.threads_per_worker is not None and self.threads_per_worker < 1:
            raise ValueError("serve option 'threads_per_worker' must be at least 1")

    @property
    def onnx_threads(self) -> int:
        if self.threads_per_worker is not None:
            return self.threads_per_worker
        return max(1, available_cpus() // self.workers)


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (``docker run --cpus``),
    which os.cpu_count() does not see."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max", encoding="ascii").read().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(float(quota) / float(period) + 0.5)))
    except (OSError, ValueError):
        pass
    return max(1, count)


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """The ``baton serve`` options (baton/cli.py adds the subcommand and calls this)."""
    d = ServeConfig()
    p.add_argument("--host", default=d.host, help=f"address to listen on (default {d.host}: this machine only; "
                   "0.0.0.0 to accept other machines, then set --api-key)")
    p.add_argument("--port", type=int, default=d.port, help=f"TCP port (default {d.port}; 0 picks a free one)")
    p.add_argument("--voice", action="append", metavar="VOICE", help="voice id (see 'baton voices') or folder to "
                   "serve; repeat for several, the first is the default (default: the shipped voice)")
    p.add_argument("--conductor", default="embedded", choices=["embedded", "openai", "transformers"],
                   help="who writes the plans: 'embedded' (offline, default), 'openai' (an OpenAI-compatible "
                        "chat endpoint) or 'transformers' (a local model folder)")
    p.add_argument("--llm-base-url", metavar="URL", help="for --conductor openai: the chat endpoint (default: "
                   "$BATON_LLM_BASE_URL)")
    p.add_argument("--llm-model", metavar="NAME", help="for --conductor openai: the model name; for "
                   "transformers: a model folder or .gguf file")
    p.add_argument("--workers", type=int, default=d.workers, help=f"requests rendered at the same time "
                   f"(default {d.workers}); each gets CPU cores // N onnxruntime threads")
    p.add_argument("--threads-per-worker", type=int, help="onnxruntime threads per worker (default: CPU cores "
                   "// --workers)")
    p.add_argument("--max-queue", type=int, default=d.max_queue, help=f"requests that may wait for a worker "
                   f"(default {d.max_queue}); beyond that the server answers 503 with Retry-After at once")
    p.add_argument("--max-input-chars", type=int, default=d.max_input_chars,
                   help=f"longest input text (default {d.max_input_chars}, OpenAI's limit)")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes,
                   help=f"largest request body (default {d.max_body_bytes}); larger ones get 413")
    p.add_argument("--max-audio-s", type=float, default=d.max_audio_s,
                   help=f"longest audio per request in seconds, pauses included (default {d.max_audio_s:g})")
    p.add_argument("--request-timeout-s", type=float, default=d.request_timeout_s,
                   help=f"seconds from admission to the last byte before a request is cancelled "
                        f"(default {d.request_timeout_s:g})")
    p.add_argument("--shutdown-timeout-s", type=float, default=d.shutdown_timeout_s,
                   help=f"on Ctrl-C / SIGTERM: seconds in-flight requests may finish before they are cancelled "
                        f"(default {d.shutdown_timeout_s:g})")
    p.add_argument("--api-key", help=f"require 'Authorization: Bearer KEY' on /v1 routes (default: "
                   f"${API_KEY_ENV}; no key = no auth)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow browser requests from this origin (repeatable; '*' for any); default: CORS off")
    p.add_argument("--log-text", action="store_true", help="log request texts and instructions (default: "
                   "logs carry lengths, formats and timings only)")


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """ServeConfig from parsed ``baton serve`` arguments (the API key falls back to $BATON_API_KEY)."""
    options: list[tuple[str, str]] = []
    if args.llm_base_url:
        if args.conductor != "openai":
            raise ValueError("--llm-base-url only applies to --conductor openai; add --conductor openai")
        options.append(("base_url", args.llm_base_url))
    if args.llm_model:
        if args.conductor == "embedded":
            raise ValueError("--llm-model needs an LLM conductor; add --conductor openai or transformers")
        options.append(("model", args.llm_model))
    return ServeConfig(
        host=args.host, port=args.port, voices=tuple(args.voice or ()), conductor=args.conductor,
        conductor_options=tuple(options), workers=args.workers, threads_per_worker=args.threads_per_worker,
        max_queue=args.max_queue, max_input_chars=args.max_input_chars, max_body_bytes=args.max_body_bytes,
        max_audio_s=args.max_audio_s, request_timeout_s=args.request_timeout_s,
        shutdown_timeout_s=args.shutdown_timeout_s, api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        cors_origins=tuple(args.cors_origin), log_text=args.log_text)
