"""A lean HTTP/1.1 load generator for bench/web_api.py: keep-alive clients on one event loop.

Each client is one connection with one request in flight (a closed loop: send, read the whole answer,
send the next), like the 20 threads with an httpx.Client each that it replaces. Those cost the
machine about as much CPU per request as the server's answer did (httpx builds a request and a
response object, and 20 threads take turns on one interpreter lock), on the 2 cores the server
needs. Here a request is bytes written to a socket and an answer is a header block and a body read
by its Content-Length: a few tens of microseconds. `Load.cpu_per_request` says how many, so a reader
can see what the load generator took from the server.

Latency is measured end to end at the client, from writing the request to having read its last byte.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote, urlencode, urlsplit

try:  # uvicorn's own event loop (installed with it): cheaper per request than asyncio's
    import uvloop

    new_loop = uvloop.new_event_loop
except ImportError:  # pragma: no cover -- plain asyncio works as well, a little slower
    new_loop = asyncio.new_event_loop


class HttpError(RuntimeError):
    pass


class Load:
    """GET `url` with `params` and `headers` from `clients` keep-alive connections, opened afresh for
    each run (before its clock starts: the server closes connections idle for 5 s). `unique` adds a parameter the endpoint ignores (`bench_nocache`) with a new value each time,
    so the server's response cache never answers and every request runs the query."""

    def __init__(self, url: str, params: dict, headers: dict, clients: int, unique: bool = False):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        target = quote(parts.path) + ("?" + urlencode(params) if params else "")
        self.target = target + ("&" if params else "?") + "bench_nocache=" if unique else target
        lines = [f"Host: {parts.netloc}", "Accept: */*", *(f"{k}: {v}" for k, v in headers.items())]
        self.head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.clients, self.unique, self.sent = clients, unique, 0
        self.loop = new_loop()
        self.cpu = 0.0  # CPU seconds this process spent generating the load (run() only)
        self.requests = 0

    def _request(self) -> bytes:
        self.sent += 1
        target = f"{self.target}{self.sent}" if self.unique else self.target
        return b"GET " + target.encode() + b" HTTP/1.1\r\n" + self.head

    def get(self) -> tuple[int, bytes]:
        """One request on a connection of its own (the answer checked before timing): status, body."""
        async def once():
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(self._request())
                return await read_response(reader)
            finally:
                writer.close()
        return self.loop.run_until_complete(once())

    def run(self, seconds: float, max_per_client: int) -> list[float]:
        """Every client sends requests back to back for `seconds` (at most `max_per_client` each);
        the latency of each request. A non-200 answer stops the run with its body."""
        cpu = time.process_time()
        times = self.loop.run_until_complete(self._run(seconds, max_per_client))
        self.cpu += time.process_time() - cpu
        self.requests += len(times)
        return times

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / max(self.requests, 1)

    async def _run(self, seconds: float, max_per_client: int) -> list[float]:
        connections = [await asyncio.open_connection(self.host, self.port) for _ in range(self.clients)]
        deadline = time.perf_counter() + seconds
        times: list[float] = []
        try:
            await asyncio.gather(*(self._client(reader, writer, deadline, max_per_client, times)
                                   for reader, writer in connections))
        finally:
            for _, writer in connections:
                writer.close()
            await asyncio.gather(*(writer.wait_closed() for _, writer in connections), return_exceptions=True)
        return times

    async def _client(self, reader, writer, deadline: float, limit: int, times: list[float]) -> None:
        clock = time.perf_counter
        for _ in range(limit):
            if clock() > deadline:
                return
            request = self._request()
            start = clock()
            writer.write(request)
            status, body = await read_response(reader)
            times.append(clock() - start)
            if status != 200:
                raise HttpError(f"{self.target} -> {status}: {body[:300]!r}")

    def close(self) -> None:
        self.loop.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = None, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(p[:-2] for p in parts)
    if length is None:
        raise HttpError(f"an answer without Content-Length or chunked encoding: {head[:200]!r}")
    return status, await reader.readexactly(length)
