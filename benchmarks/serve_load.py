"""Load test of ``baton serve`` on localhost: requests/s, latency and time to first byte, and what happens past
capacity. Bounded in time (each phase's --duration-s) and count (--max-requests per phase).

It starts ``python -m baton.cli serve`` on a free 127.0.0.1 port (or uses a running one with --url, which must
be localhost), then runs two phases of closed-loop clients (each sends its next request when the previous
one has ended), every request a streamed 16-bit PCM response from POST /v1/audio/speech:

1. ``capacity``: --clients (16) for --duration-s (60); the server's queue holds them all, so every request
   should succeed (a failure is counted and printed);
2. ``overload``: --overload-clients (48) for --overload-s (20) against the same server: past its workers +
   queue, requests are refused at once with 503 and Retry-After (counted as 503, not as failures), instead of
   waiting until a timeout.

    python -m benchmarks.serve_load                       # 16 clients x 60 s, then 48 clients x 20 s
    python -m benchmarks.serve_load --workers 2 --clients 4 --duration-s 10 --overload-s 5   # a quick look

Prints a Markdown table: requests ok / 503 / failed, requests/s, latency p50/p95/p99 [s], TTFB p50/p95 [s]
(time to the first audio byte), audio seconds rendered per wall second.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [("The quick brown fox jumps over the lazy dog.", None),
         ("I told you not to touch that!", "angrily"),
         ("It's over. There is nothing more we can do.", "sadly"),
         ("Good news: the results came back, and they look great.", "cheerful"),
         ("Could you please send me the report by Friday?", None),
         ("Wow, you really did a great job.", "a bit happier than normal")]
SAMPLE_RATE = 22050


@dataclass
class Phase:
    name: str
    clients: int
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    ttfb_s: list[float] = field(default_factory=list)
    refused_latencies_s: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    retry_after: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client_loop(base_url: str, phase: Phase, stop_at: float, budget: list[int], index: int) -> None:
    import httpx

    k = index
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(330.0, connect=10.0)) as http:
        while time.monotonic() < stop_at:
            with phase.lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            text, instruction = TEXTS[k % len(TEXTS)]
            k += 1
            body = {"model": "batonvoice", "input": text, "response_format": "pcm", "seed": k}
            if instruction:
                body["instructions"] = instruction
            start = time.monotonic()
            first, size = None, 0
            try:
                with http.stream("POST", "/v1/audio/speech", json=body) as r:
                    if r.status_code == 503:
                        r.read()
                        with phase.lock:
                            phase.refused_latencies_s.append(time.monotonic() - start)
                            phase.retry_after.append(int(r.headers.get("retry-after", "0")))
                        time.sleep(0.2)  # a polite client would wait Retry-After; keep the pressure on instead
                        continue
                    if r.status_code != 200:
                        raise RuntimeError(f"HTTP {r.status_code}: {r.read()[:200]!r}")
                    for chunk in r.iter_bytes():
                        if first is None:
                            first = time.monotonic() - start
                        size += len(chunk)
                latency = time.monotonic() - start
                with phase.lock:
                    phase.latencies_s.append(latency)
                    phase.ttfb_s.append(first if first is not None else latency)
                    phase.audio_s += size / 2 / SAMPLE_RATE
            except Exception as err:  # noqa: BLE001  (every failure is counted and reported)
                with phase.lock:
                    phase.failures.append(f"{type(err).__name__}: {err}"[:200])


def run_phase(base_url: str, name: str, clients: int, duration_s: float, max_requests: int) -> Phase:
    phase = Phase(name, clients)
    budget = [max_requests]
    start = time.monotonic()
    threads = [threading.Thread(target=_client_loop, args=(base_url, phase, start + duration_s, budget, i),
                                daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall_s = time.monotonic() - start  # includes finishing the requests in flight at the end
    return phase


def _pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.2f}" if values else "-"


def report(phases: list[Phase]) -> str:
    lines = ["| phase | clients | ok | 503 | failed | req/s (ok) | latency p50 / p95 / p99 [s] | TTFB p50 / p95 [s] "
             "| 503 answered in p95 [s] | Retry-After [s] | audio s per s |",
             "|---|---:|---:|---:|---:|---:|---|---|---:|---|---:|"]
    for p in phases:
        ra = f"{min(p.retry_after)}-{max(p.retry_after)}" if p.retry_after else "-"
        lines.append(f"| {p.name} | {p.clients} | {len(p.latencies_s)} | {len(p.refused_latencies_s)} | "
                     f"{len(p.failures)} | {len(p.latencies_s) / p.wall_s:.2f} | {_pct(p.latencies_s, 50)} / "
                     f"{_pct(p.latencies_s, 95)} / {_pct(p.latencies_s, 99)} | {_pct(p.ttfb_s, 50)} / "
                     f"{_pct(p.ttfb_s, 95)} | {_pct(p.refused_latencies_s, 95)} | {ra} | "
                     f"{p.audio_s / p.wall_s:.2f} |")
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    command = [sys.executable, "-m", "baton.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(args.workers), "--max-queue", str(args.max_queue)]
    if args.voice:
        command += ["--voice", args.voice]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = open(args.server_log, "w") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: the server exited with code {process.returncode}; run with --server-log FILE")
        try:
            if httpx.get(base_url + "/health", timeout=2).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit("error: the server did not answer /health within 180 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--url", help="a running server on localhost (default: start one)")
    parser.add_argument("--workers", type=int, default=1, help="server --workers when this script starts it")
    parser.add_argument("--max-queue", type=int, default=16, help="server --max-queue (default 16: the "
                        "capacity phase's clients all fit, so none is refused)")
    parser.add_argument("--voice", help="server --voice")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--overload-clients", type=int, default=48, help="0 skips the overload phase")
    parser.add_argument("--overload-s", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=5000, help="per phase, a bound on the count")
    parser.add_argument("--server-log", help="write the started server's log here")
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a localhost address; this load test is not for servers you do not run here")
    process = None
    if args.url:
        base_url = args.url.rstrip("/").removesuffix("/v1")
    else:
        process, base_url = start_server(args)
    try:
        import httpx

        health = httpx.get(base_url + "/health", timeout=5).json()
        print(f"server {base_url}: voices {health['voices']}, {health['pool']['workers']} worker(s), queue "
              f"{health['pool']['max_queue']}; {os.cpu_count()} CPU(s), load average before "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        phases = [run_phase(base_url, "capacity", args.clients, args.duration_s, args.max_requests)]
        if args.overload_clients > 0:
            phases.append(run_phase(base_url, "overload", args.overload_clients, args.overload_s, args.max_requests))
        print(report(phases))
        print(f"load average after {os.getloadavg()[0]:.2f}; server pool: {httpx.get(base_url + '/health').json()['pool']}")
        for p in phases:
            for failure in p.failures[:5]:
                print(f"{p.name} failure: {failure}")
        return 1 if phases[0].failures else 0
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
