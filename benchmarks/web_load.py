"""Load check of the web server: 8 concurrent clients posting a photo to POST /api/image.

Starts `blazepose serve` on a free loopback port (127.0.0.1 only), warms it up, then runs
``--clients`` threads, each with one keep-alive connection, posting the photo back to back for
``--duration`` seconds. Prints requests per second, p50/p99 latency and the failed requests
(any non-200 answer or connection error; there must be none), and for scale, in the same run:
the library's own throughput on the same photo in this process (sequential ``process_image``),
and MediaPipe 0.10.14's (legacy solution, static images) unless ``--no-reference``.

    .venv/bin/python benchmarks/web_load.py [--duration 60] [--clients 8] [--model full]
    .venv/bin/python benchmarks/web_load.py --quick       # 5 s, to check that it runs
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FIXTURES = HERE.parents[0] / "tests" / "data"
COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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


def load(url: str, image: Path, model: str, clients: int, duration: float) -> dict:
    import httpx

    data = image.read_bytes()
    lat: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            start.wait()
            while time.perf_counter() < stop_at[0]:
                t = time.perf_counter()
                try:
                    r = c.post("/api/image", files={"file": (image.name, data, "image/jpeg")}, data={"model": model})
                    ok = r.status_code == 200 and len(r.json()["images"][0]["people"]) == 1
                    why = f"HTTP {r.status_code}: {r.text[:200]}"
                except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                    ok, why = False, repr(exc)
                dt = (time.perf_counter() - t) * 1000
                if ok:
                    lat[i].append(dt)
                else:
                    with lock:
                        failures.append(why)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + duration
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    all_ms = sorted(x for per in lat for x in per)
    q = statistics.quantiles(all_ms, n=100, method="inclusive") if len(all_ms) > 1 else all_ms * 99
    return {"requests": len(all_ms), "failures": len(failures), "failure_examples": failures[:3],
            "seconds": elapsed, "rps": len(all_ms) / elapsed, "p50_ms": q[49], "p99_ms": q[98],
            "max_ms": all_ms[-1] if all_ms else None}


def library_rate(image: Path, model: str, seconds: float) -> dict:
    from blazepose import PoseLandmarker
    from blazepose.io.images import read_image

    with PoseLandmarker(model) as pl:
        pl.process_image(read_image(image))
        n, t0 = 0, time.perf_counter()
        times = []
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            pl.process_image(read_image(image))        # decode included, as the server does
            times.append((time.perf_counter() - t) * 1000)
            n += 1
        return {"ips": n / (time.perf_counter() - t0), "median_ms": statistics.median(times), "threads": pl.num_threads}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    ap.add_argument("--model", default="full", choices=list(COMPLEXITY))
    ap.add_argument("--image", type=Path, default=FIXTURES / "reference" / "pose.jpg")
    ap.add_argument("--no-reference", action="store_true", help="skip MediaPipe's rate")
    ap.add_argument("--quick", action="store_true", help="5 s of load, short baselines")
    a = ap.parse_args()
    if a.quick:
        a.duration = 5.0
    if not a.image.is_file():
        raise SystemExit(f"{a.image}: no such photo (the shared fixtures?)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(port)
    try:
        import httpx

        httpx.post(url + "/api/image", files={"file": (a.image.name, a.image.read_bytes())},
                   data={"model": a.model}, timeout=120).raise_for_status()   # warm-up: loads the model
        res = load(url, a.image, a.model, a.clients, a.duration)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lib = library_rate(a.image, a.model, 2.0 if a.quick else 10.0)
    ref = None
    if not a.no_reference:
        from reference import run_reference

        out = run_reference(HERE / "_mp_image.py", str(COMPLEXITY[a.model]), "3" if a.quick else "20", str(a.image))
        med = statistics.median(out["times_ms"])
        ref = {"ips": 1000.0 / med, "median_ms": med}
    print(f"POST /api/image, {a.image.name}, model {a.model}: {a.clients} clients for {res['seconds']:.1f} s "
          f"on {os.cpu_count()} cores (loopback)")
    print(f"  requests       {res['requests']}")
    print(f"  failed         {res['failures']}" + (f"  e.g. {res['failure_examples'][0]}" if res["failures"] else ""))
    print(f"  requests/s     {res['rps']:.2f}")
    print(f"  latency p50    {res['p50_ms']:.0f} ms")
    print(f"  latency p99    {res['p99_ms']:.0f} ms   (max {res['max_ms']:.0f} ms)")
    print(f"  library alone  {lib['ips']:.2f} images/s ({lib['median_ms']:.1f} ms each, {lib['threads']} threads, "
          f"decode included); server/library = {res['rps'] / lib['ips']:.2f}")
    if ref:
        print(f"  MediaPipe      {ref['ips']:.2f} images/s ({ref['median_ms']:.1f} ms each, legacy solution, "
              f"in process); server/MediaPipe = {res['rps'] / ref['ips']:.2f}")
    print(json.dumps({**res, "library": lib, "mediapipe": ref, "clients": a.clients, "model": a.model}))
    if res["failures"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
