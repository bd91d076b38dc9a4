"""HTTP load: N concurrent connections sending GET requests for a fixed time.

Two clients measure the same way: ``wrk`` (Debian package; C, light on the CPU) when it is
installed, else an asyncio client on aiohttp, run in its own process. Each request is a GET
of one of ``paths``, in turn; with ``vary`` every request also gets a unique counter in a
SPARQL comment put before the query (``#t1-42`` + newline), so that no two requests send the
same query text and no result cache can answer them.

Run as a script, this module is the Python client: it reads a JSON job on stdin and writes
a JSON result on stdout.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from servers import run_to_end

#: The comment that makes each request's query text unique: "#" ... newline, URL-encoded.
COMMENT_OPEN = "%23"
COMMENT_CLOSE = "%0A"
_RESULT = re.compile(r"^RESULT (.*)$", re.MULTILINE)


@dataclass
class Job:
    """What to send.

    Attributes:
        base: ``http://127.0.0.1:PORT``.
        paths: Request targets (path and query string), sent in turn.
        vary: Put a unique counter comment in front of each query (``paths`` must then end
            in ``query=`` + the URL-encoded query, the comment is inserted after ``query=``).
        accept: The Accept header.
        duration: Seconds to send for.
        connections: Concurrent connections.
    """

    base: str
    paths: list[str]
    vary: bool = False
    accept: str = "application/sparql-results+json"
    duration: float = 10.0
    connections: int = 16


@dataclass
class Load:
    """What came back."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    client: str

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return max(0, self.requests - self.errors) / self.seconds if self.seconds else 0.0


def split(path: str) -> tuple[str, str]:
    """``/sparql?query=ENCODED`` -> (``/sparql?query=``, ``ENCODED``) for inserting a comment."""
    head, sep, tail = path.partition("query=")
    if not sep:
        raise ValueError(f"cannot vary a request without a query= parameter: {path}")
    return head + sep, tail


def wrk_binary() -> str | None:
    """The wrk command, if installed."""
    return shutil.which("wrk")


# --------------------------------------------------------------------------- wrk


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(job: Job) -> str:
    """The Lua script that makes wrk send ``job``'s requests and print one RESULT line."""
    pairs = [split(p) if job.vary else (p, "") for p in job.paths]
    heads = ", ".join(_lua_string(h) for h, _ in pairs)
    tails = ", ".join(_lua_string(t) for _, t in pairs)
    return f"""
local heads = {{ {heads} }}
local tails = {{ {tails} }}
local vary = {"true" if job.vary else "false"}
local counter = 0
local threads = 0
wrk.headers["Accept"] = {_lua_string(job.accept)}

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

request = function()
  counter = counter + 1
  local i = (counter % #heads) + 1
  if vary then
    local tag = "{COMMENT_OPEN}t" .. tid .. "-" .. counter .. "{COMMENT_CLOSE}"
    return wrk.format("GET", heads[i] .. tag .. tails[i])
  end
  return wrk.format("GET", heads[i] .. tails[i])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.1f %.1f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(job: Job, threads: int = 2) -> Load:
    """Send ``job`` with wrk.

    Raises:
        RuntimeError: when wrk fails or prints no result.
    """
    binary = wrk_binary()
    if binary is None:
        raise RuntimeError("wrk is not installed")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(wrk_script(job))
        script = fh.name
    try:
        seconds = max(1, round(job.duration))
        command = [
            binary,
            f"-t{min(threads, job.connections)}",
            f"-c{job.connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            script,
            job.base + "/",
        ]
        done = run_to_end(command, timeout=seconds + 60)
    finally:
        Path(script).unlink(missing_ok=True)
    found = _RESULT.search(done.stdout)
    if done.returncode != 0 or not found:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"wrk failed: {detail[0]}")
    requests, micros, errors, p50, p99 = found.group(1).split()
    return Load(
        requests=int(requests),
        seconds=int(micros) / 1e6,
        errors=int(errors),
        p50_ms=float(p50) / 1000,
        p99_ms=float(p99) / 1000,
        client="wrk",
    )


# --------------------------------------------------------------------------- Python client


def run_python(job: Job) -> Load:
    """Send ``job`` with the asyncio client, in a child process (its own interpreter and GIL).

    Raises:
        RuntimeError: when the client fails.
    """
    done = run_to_end([sys.executable, __file__], job.duration + 120, json.dumps(asdict(job)))
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise RuntimeError(f"the Python load client failed: {lines[-1]}")
    return Load(**json.loads(done.stdout))


async def _client(job: Job) -> Load:
    import aiohttp
    import yarl

    pairs = [split(p) if job.vary else (p, "") for p in job.paths]
    latencies: list[float] = []
    errors = 0
    counter = 0
    connector = aiohttp.TCPConnector(limit=job.connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    headers = {"Accept": job.accept}
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        deadline = time.monotonic() + job.duration

        async def worker(wid: int) -> None:
            nonlocal errors, counter
            while time.monotonic() < deadline:
                counter += 1
                head, tail = pairs[counter % len(pairs)]
                target = head + (
                    f"{COMMENT_OPEN}w{wid}-{counter}{COMMENT_CLOSE}" if job.vary else ""
                )
                started = time.perf_counter()
                try:
                    url = yarl.URL(job.base + target + tail, encoded=True)
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status < 400
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        began = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(job.connections)))
        seconds = time.monotonic() - began
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return Load(len(latencies), seconds, errors, pct(50), pct(99), "python-aiohttp")


def main() -> int:
    job = Job(**json.loads(sys.stdin.read()))
    result = asyncio.run(_client(job))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
