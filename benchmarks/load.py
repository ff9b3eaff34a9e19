"""An open-loop HTTP load generator, run as its own process: `python -m benchmarks.load SPEC`.

Open loop: request i is due at `start + i / rate` whatever happened to the earlier ones, and its
latency counts from when it was DUE, not from when it was sent. A server that stalls therefore
shows the wait of every request queued behind the stall (a closed loop, which sends the next
request only after an answer, would hide it: "coordinated omission").

The client is a minimal HTTP/1.1 one over asyncio streams on uvloop, with keep-alive
connections reused from a pool: a few tens of microseconds of its own per request, where httpx
spends about a millisecond, which on a loaded 2-core machine made the generator fall behind
its own schedule and charge its delay to the server. Each latency still holds the generator's
own time to send and read, so the figures are upper bounds of the server's.

SPEC is JSON: {"base_url" (http://host:port), "paths" (cycled in order), "rate" (requests/s),
"seconds", "warmup_seconds" (sent, not counted), "headers", "timeout_seconds"}; optionally
"closed_loop": {"concurrency", "seconds"} for a saturation run after the open-loop one, and
"burst": {"callers", "rounds", "pause_seconds"} for rounds of `callers` requests all due at the
same instant (many clients arriving at once), the first round a warm-up. The result is JSON on
stdout: per request [path, status, latency_s] and each run's wall time.
"""

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

Result = tuple[str, int, float]


class Connections:
    """Keep-alive HTTP/1.1 connections to one server, each used by one request at a time.

    Args:
        base_url: `http://host:port` of the server.
        headers: Headers sent with every request.
        timeout: Longest wait for one answer, in seconds.
    """

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        lines = [f"Host: {self._host}:{self._port}"] + [f"{k}: {v}" for k, v in headers.items()]
        self._header_block = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        """GET `path`; the status code (0 when the connection failed or timed out).

        A kept-alive connection the server has closed meanwhile (uvicorn closes idle ones
        after 5 s) is retried once on a new connection, as HTTP clients do.
        """
        reused = bool(self._idle)
        status = await self._attempt(path)
        if status == 0 and reused:
            status = await self._attempt(path, fresh=True)
        return status

    async def _attempt(self, path: str, *, fresh: bool = False) -> int:
        if self._idle and not fresh:
            reader, writer = self._idle.pop()
        else:
            try:
                reader, writer = await asyncio.open_connection(self._host, self._port)
            except OSError:
                return 0
        try:
            status, keep = await asyncio.wait_for(
                self._exchange(reader, writer, path), self._timeout
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            writer.close()
            return 0
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return status

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
    ) -> tuple[int, bool]:
        writer.write(f"GET {path} HTTP/1.1\r\n".encode("latin-1") + self._header_block)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        if "content-length" not in fields:
            raise ValueError("the server answered without Content-Length")
        await reader.readexactly(int(fields["content-length"]))
        return status, fields.get("connection", "").lower() != "close"

    def close(self) -> None:
        """Close every idle connection."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _one(connections: Connections, path: str, due: float, out: list[Result]) -> None:
    status = await connections.get(path)
    out.append((path, status, time.perf_counter() - due))


async def open_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """Send `rate` requests per second for `warmup_seconds + seconds`; count the last part."""
    rate = float(spec["rate"])
    paths: list[str] = spec["paths"]
    warmup = int(rate * float(spec.get("warmup_seconds", 1.0)))
    total = warmup + int(rate * float(spec["seconds"]))
    connections = Connections(
        spec["base_url"], spec.get("headers") or {}, float(spec.get("timeout_seconds", 30.0))
    )
    measured: list[Result] = []
    discarded: list[Result] = []
    tasks = []
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sink = discarded if i < warmup else measured
        tasks.append(asyncio.create_task(_one(connections, paths[i % len(paths)], due, sink)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - (start + warmup / rate)
    saturation = None
    if spec.get("closed_loop"):
        saturation = await closed_loop(connections, paths, spec["closed_loop"])
    bursts = None
    if spec.get("burst"):
        bursts = await burst(connections, paths, spec["burst"])
    connections.close()
    return {"requests": measured, "wall_seconds": wall, "closed_loop": saturation, "burst": bursts}


async def closed_loop(
    connections: Connections, paths: list[str], spec: dict[str, Any]
) -> dict[str, Any]:
    """`concurrency` workers each sending the next request as soon as theirs is answered."""
    deadline = time.perf_counter() + float(spec["seconds"])
    done: list[Result] = []
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while time.perf_counter() < deadline:
            path = paths[sent % len(paths)]
            sent += 1
            await _one(connections, path, time.perf_counter(), done)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
    return {"requests": done, "wall_seconds": time.perf_counter() - started}


async def burst(connections: Connections, paths: list[str], spec: dict[str, Any]) -> dict[str, Any]:
    """`rounds` rounds of `callers` requests due at one instant; the first round is not counted.

    Latency counts from the round's instant, so a caller that waits for a connection or for the
    server to finish the others waits in its figure.
    """
    callers = int(spec["callers"])
    done: list[Result] = []
    started = time.perf_counter()
    for round_index in range(int(spec["rounds"]) + 1):
        sink: list[Result] = [] if round_index == 0 else done
        due = time.perf_counter()
        await asyncio.gather(
            *(_one(connections, paths[i % len(paths)], due, sink) for i in range(callers))
        )
        await asyncio.sleep(float(spec.get("pause_seconds", 1.0)))
    return {"requests": done, "wall_seconds": time.perf_counter() - started}


def main() -> None:
    """Run the SPEC given as the only argument and print the result as JSON."""
    import uvloop

    spec = json.loads(sys.argv[1])
    print(json.dumps(uvloop.run(open_loop(spec))))


if __name__ == "__main__":
    main()
