"""Abuse check of the web server: what hostile or careless clients cost it, measured on a real
`blazepose serve` (a subprocess on a free 127.0.0.1 port; nothing leaves this machine; the server
is stopped at the end, and every case has a time limit).

Cases, each with the server's resident memory (VmRSS from /proc) before and its peak during the
case (VmHWM, reset before each case through /proc/<pid>/clear_refs):

1. load: ``--clients`` clients posting a real photo to ``POST /api/image`` for ``--duration`` s;
2. HTTP pixel bombs: 6 concurrent 48 KB PNGs declaring 7000×7000 (under the pixel cap: decoded,
   inside the decode budget), then one declaring 20000×20000 (over the cap: refused from its header);
3. the webcam socket: a 388 KB PNG declaring 20000×20000, then a real frame on the same socket;
4. foreign Origin (POST, WebSocket) and a foreign Host (DNS rebinding);
5. a chunked 260 MB upload to a 20 MB endpoint: bytes the client could send before the answer.

There is no reference implementation of this server; the figures are the server's own.

    .venv/bin/python benchmarks/web_abuse.py [--duration 60] [--clients 8]
    git archive <commit> src | tar -x -C /tmp/old && .venv/bin/python benchmarks/web_abuse.py --src /tmp/old/src
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[0] / "tests" / "data"
MB = 1024 * 1024


def bomb_png(width: int, height: int) -> bytes:
    """A valid 8-bit gray PNG of ``width × height`` black pixels: a few hundred KB that decode to
    ``width × height`` bytes (gray) or three times that (RGB), made row by row (no big buffer)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    row = b"\0" * (width + 1)     # filter byte + pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict:
    """VmRSS and VmHWM of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")   # VmHWM := VmRSS (Linux >= 4.0, own processes)


def start_server(port: int, tmp: Path, *extra: str, src: str | None = None) -> subprocess.Popen:
    import urllib.request

    env = {**os.environ, "TMPDIR": str(tmp)}
    if src:          # another version of the package (e.g. ``git archive <commit> src``), for before/after
        env["PYTHONPATH"] = str(Path(src).resolve())
    proc = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited:\n{proc.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start in 120 s")


class Case:
    """Measures the server's memory around a block: RSS before, peak during, RSS after."""

    def __init__(self, pid: int, rows: list, name: str):
        self.pid, self.rows, self.name = pid, rows, name

    def __enter__(self):
        reset_peak(self.pid)
        self.before = memory(self.pid)["VmRSS"]
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        m = memory(self.pid)
        result = getattr(self, "result", f"FAILED: {exc[1]!r}"[:200])
        self.rows.append((self.name, self.before, m["VmHWM"], m["VmRSS"], time.monotonic() - self.t0, result))
        return True   # the table shows the failure; the next case runs


def load(base: str, clients: int, duration: float) -> str:
    import httpx

    data = (FIXTURES / "reference" / "pose.jpg").read_bytes()
    lat, codes, lock = [], {}, threading.Lock()

    def client():
        with httpx.Client(base_url=base, timeout=60) as c:
            t_end = time.monotonic() + duration
            while time.monotonic() < t_end:
                t0 = time.perf_counter()
                try:
                    code = c.post("/api/image", files={"file": ("pose.jpg", data, "image/jpeg")}).status_code
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                with lock:
                    lat.append(time.perf_counter() - t0)
                    codes[code] = codes.get(code, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    return (f"{len(lat)} requests, {len(lat) / duration:.1f}/s, p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"answers {codes}")


def concurrent_posts(base: str, body: bytes, n: int) -> str:
    import httpx

    codes, lock = [], threading.Lock()

    def one():
        with httpx.Client(base_url=base, timeout=300) as c:
            r = c.post("/api/image", files={"file": ("bomb.png", body, "image/png")})
            with lock:
                codes.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return f"answers {sorted(codes)}"


def chunked_upload(port: int, total: int) -> str:
    head = (f"POST /api/image HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=xx\r\n\r\n").encode()
    part = b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n"
    block = b"\0" * (256 * 1024)
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        s.setblocking(False)
        try:
            while sent < total:
                try:
                    answer += s.recv(65536)
                    if answer:
                        break
                except BlockingIOError:
                    pass
                s.settimeout(10)
                s.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                s.setblocking(False)
                sent += len(block)
        except OSError as exc:          # reset by the server after its answer
            answer = answer or f"({type(exc).__name__})".encode()
        if not answer.startswith(b"HTTP"):
            s.settimeout(10)
            try:
                answer = s.recv(65536) or answer
            except OSError:
                pass
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    return f"{status!r} after {sent / MB:.1f} MB of {total / MB:.0f} MB sent"


def origin_cases(base: str, port: int) -> str:
    import httpx
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    out = []
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/image", files={"file": ("a.jpg", b"x")}, headers={"Origin": "https://evil.example"})
        out.append(f"POST foreign Origin {r.status_code}")
        r = c.get("/api/config", headers={"Host": "evil.example"})
        out.append(f"foreign Host {r.status_code}")
    try:
        with connect(f"ws://127.0.0.1:{port}/api/live", origin="https://evil.example", open_timeout=10):
            out.append("WS foreign Origin ACCEPTED")
    except InvalidStatus as exc:
        out.append(f"WS foreign Origin refused {exc.response.status_code}")
    return "; ".join(out)


def ws_bomb(port: int, bomb: bytes) -> str:
    import json

    import cv2
    from websockets.sync.client import connect

    frame = cv2.imencode(".jpg", cv2.imread(str(FIXTURES / "reference" / "pose.jpg")))[1].tobytes()
    with connect(f"ws://127.0.0.1:{port}/api/live", max_size=None, open_timeout=10) as ws:
        ws.send(bomb)
        first = json.loads(ws.recv(timeout=120))
        ws.send(frame)
        second = json.loads(ws.recv(timeout=120))
    return (f"{len(bomb) / 1024:.0f} KB → {first.get('status')} {first.get('error', '')[:60]!r}; "
            f"next frame: {len(second.get('people', []))} person(s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of the load case (default 60)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients of the load case (default 8)")
    ap.add_argument("--src", help="run the server from this source folder (another version, for a before/after)")
    args = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bomb_7k, bomb_20k = bomb_png(7000, 7000), bomb_png(20000, 20000)
    rows: list = []
    with tempfile.TemporaryDirectory(prefix="web-abuse-") as tmp:
        proc = start_server(port, Path(tmp), src=args.src)
        pid = proc.pid
        try:
            with Case(pid, rows, f"load: {args.clients} clients × {args.duration:g} s, pose.jpg") as c:
                c.result = load(base, args.clients, args.duration)
            with Case(pid, rows, f"HTTP: 6 × {len(bomb_7k) // 1024} KB PNG, 7000×7000 (under the cap)") as c:
                c.result = concurrent_posts(base, bomb_7k, 6)
            with Case(pid, rows, f"HTTP: {len(bomb_20k) // 1024} KB PNG, 20000×20000 (over the cap)") as c:
                c.result = concurrent_posts(base, bomb_20k, 1)
            with Case(pid, rows, "WS: PNG 20000×20000, then a real frame") as c:
                c.result = ws_bomb(port, bomb_20k)
            with Case(pid, rows, "foreign Origin / Host") as c:
                c.result = origin_cases(base, port)
            with Case(pid, rows, "chunked 260 MB upload to /api/image (limit 20 MB)") as c:
                c.result = chunked_upload(port, 260 * MB)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"server pid {pid}{' from ' + args.src if args.src else ''}; memory in MB (RSS before, peak during, RSS after)\n")
    print("| case | RSS before | peak | RSS after | s | result |\n|---|---:|---:|---:|---:|---|")
    for name, before, peak, after, secs, result in rows:
        print(f"| {name} | {before:.0f} | {peak:.0f} | {after:.0f} | {secs:.1f} | {result} |")


if __name__ == "__main__":
    main()
