"""The web server against hostile or careless clients: Host and Origin checks (DNS rebinding,
cross-site pages), pixel bombs over HTTP and the webcam socket, the decode memory budget, body and
form limits, one JSON error shape, the `serve` command's checks and warnings, and stale temporary
folders of killed servers. In-process (TestClient) where possible, a real `blazepose serve`
subprocess where the thing checked is the process itself (memory, signals, sockets)."""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REFERENCE, ROOT

pytest.importorskip("fastapi", reason="the web server needs the optional 'web' extra (pip install 'blazepose[web]')")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (the 'dev' extra)")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from blazepose.apps.web.app import create_app  # noqa: E402
from blazepose.apps.web.limits import DecodeBudget  # noqa: E402
from blazepose.apps.web.security import Access, remove_stale_folders  # noqa: E402
from blazepose.apps.web.service import MB, Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from web_abuse import bomb_png, free_port, memory, reset_peak  # noqa: E402

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
FOREIGN = "https://evil.example"


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG")
    return buf.getvalue()


SMALL = jpeg(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(preload=(), port=PORT, allow_origins=("https://pose.example.org",)))
    with TestClient(app, base_url=BASE) as c:
        yield c


def post(client, headers=None, data=SMALL, path="/api/image"):
    return client.post(path, files={"file": ("a.jpg", data, "image/jpeg")}, headers=headers or {})


def assert_error(r, status: int, words: str):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "status"} and body["status"] == status, body
    assert words in body["error"], body
    assert "detail" not in body


# ---- Host and Origin ------------------------------------------------------------------------------
@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}"])
def test_loopback_hosts_with_the_bound_port_are_served(client, host):
    assert client.get("/api/health", headers={"Host": host}).json() == {"ok": True}


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1:9999", "localhost",
                                  "127.0.0.1.evil.example", "[::2]:8765"])
def test_a_foreign_host_is_refused_dns_rebinding(client, host):
    # A rebound name reaches 127.0.0.1 with the attacker's Host: refused before any route runs.
    assert_error(client.get("/api/config", headers={"Host": host}), 400, "Host header")
    assert_error(post(client, {"Host": host}), 400, "Host header")


def test_foreign_origin_may_not_post_or_delete(client):
    assert_error(post(client, {"Origin": FOREIGN}), 403, "Origin")
    assert_error(post(client, {"Origin": "null"}), 403, "Origin")                  # sandboxed frame, file://
    assert_error(post(client, {"Origin": f"http://localhost:{PORT + 1}"}), 403, "Origin")   # other local port
    assert_error(client.delete("/api/jobs/" + "0" * 32, headers={"Origin": FOREIGN}), 403, "Origin")


def test_a_refused_origin_is_told_the_allow_origin_that_works(client):
    # The advice must be a value `serve --allow-origin` takes; "null" or a path cannot be allowed.
    r = post(client, {"Origin": FOREIGN})
    assert r.json()["error"].endswith(f"(start it with --allow-origin {FOREIGN})")
    for origin in ("null", "https://evil.example/page"):
        r = post(client, {"Origin": origin})
        assert r.status_code == 403 and r.json()["error"] == f"/api/image: Origin {origin!r} may not use this server"
    from blazepose.apps.web import origin as allow_origin_type
    assert allow_origin_type(FOREIGN) == FOREIGN


def test_own_pages_allowed_origins_and_clients_without_origin_are_served(client):
    for origin in (None, BASE, f"http://localhost:{PORT}", "https://pose.example.org"):
        r = post(client, {"Origin": origin} if origin else {})
        assert r.status_code == 200, (origin, r.text)
    # An --allow-origin also names a Host the server answers to (a reverse proxy's).
    assert client.get("/api/health", headers={"Host": "pose.example.org:443"}).status_code == 200
    # Reading with GET from a foreign page is left to the browser (no CORS header is ever sent).
    r = client.get("/api/config", headers={"Origin": FOREIGN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("headers", [{"origin": FOREIGN}, {"host": "evil.example"}])
def test_webcam_socket_from_a_foreign_page_is_closed_before_it_is_accepted(client, headers):
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect(f"ws://127.0.0.1:{PORT}/api/live", headers=headers):
            pass
    assert info.value.code == 1008          # policy violation


def test_access_rules_for_a_server_bound_to_a_network_address():
    a = Access("192.168.1.20", 8000, ["https://pose.example.org"])
    assert a.host_ok("192.168.1.20:8000") and a.host_ok("localhost:8000") and not a.host_ok("192.168.1.21:8000")
    assert a.origin_ok("http://192.168.1.20:8000") and a.origin_ok("https://pose.example.org")
    assert not a.origin_ok("https://pose.example.org:8443") and not a.origin_ok("http://192.168.1.20:8001")
    wild = Access("0.0.0.0", 8000)        # every interface: the machine's own names and addresses
    assert wild.host_ok(f"{socket.gethostname()}:8000") and not wild.host_ok("evil.example:8000")


# ---- pixels, bytes, decode memory --------------------------------------------------------------
@pytest.mark.slow
def test_http_pixel_bomb_is_refused_from_its_header(client):
    small = Settings().max_image_pixels
    assert_error(post(client, data=bomb_png(20000, 20000)), 413, "a.jpg: image declares more than")
    r = post(client, data=bomb_png(8000, 7000))                        # 56 M > 50 M pixels, 55 KB
    assert_error(r, 413, f"a.jpg: image is 8000x7000 pixels, the limit is {small} pixels")
    assert r.json()["limit_pixels"] == small


@pytest.mark.slow
def test_webcam_frames_have_the_upload_limits_and_the_session_stays_usable(client):
    import cv2

    frame = cv2.imencode(".jpg", cv2.resize(cv2.imread(str(REFERENCE / "pose.jpg")), (640, 427)))[1].tobytes()
    limit = client.app.state.settings.max_image_bytes
    with client.websocket_connect(f"ws://127.0.0.1:{PORT}/api/live") as ws:
        ws.send_bytes(bomb_png(20000, 20000))
        err = ws.receive_json()
        assert err["status"] == 413 and "more than" in err["error"]
        ws.send_bytes(bomb_png(8000, 7000))
        err = ws.receive_json()
        assert err["status"] == 413 and "8000x7000 pixels" in err["error"]
        ws.send_bytes(b"\0" * (limit + 1))
        err = ws.receive_json()
        assert err["status"] == 413 and str(limit) in err["error"]
        ws.send_bytes(frame)
        ok = ws.receive_json()
    assert (ok["width"], ok["height"]) == (640, 427) and len(ok["people"]) == 1


def test_decode_budget_is_never_exceeded_and_serves_in_order():
    budget = DecodeBudget(1000, bytes_per_pixel=1)
    inside, peak, order, lock = [0], [0], [], threading.Lock()

    def job(i, pixels):
        with budget.hold(pixels):
            with lock:
                inside[0] += pixels
                peak[0] = max(peak[0], inside[0])
                order.append(i)
            time.sleep(0.02)
            with lock:
                inside[0] -= pixels

    threads = []
    for i, px in enumerate([600, 600, 300, 5000, 100]):   # 5000: over the whole budget, runs alone
        threads.append(threading.Thread(target=job, args=(i, px)))
        threads[-1].start()
        time.sleep(0.005)
    for t in threads:
        t.join(10)
    assert peak[0] <= 5000 and budget.peak <= 1000 and budget.used == 0
    assert order == [0, 1, 2, 3, 4]       # first come, first served: a big one is not starved


def test_concurrent_big_uploads_share_the_decode_budget():
    # 4 uploads of 2000x2000 (4 M pixels = 48 MB at 12 B/px) with a 100 MB budget: 2 at a time.
    app = create_app(Settings(preload=(), decode_budget_bytes=100 * MB))
    body = bomb_png(2000, 2000)
    with TestClient(app, base_url=BASE) as c:
        codes = []
        threads = [threading.Thread(target=lambda: codes.append(post(c, data=body).status_code)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        budget = app.state.budget
    assert codes == [200] * 4
    assert budget.peak <= 100 * MB and budget.peak >= 48 * MB and budget.used == 0


# ---- one JSON error shape -----------------------------------------------------------------------
def test_every_error_is_the_documented_json(client):
    assert_error(client.get("/nowhere"), 404, "/nowhere: not found")
    assert_error(client.options("/api/image"), 405, "method OPTIONS not allowed")
    assert_error(client.get("/api/image"), 405, "method GET not allowed")
    assert_error(client.post("/api/image", content=b"--x\r\n", headers={"content-type": "multipart/form-data"}),
                 400, "/api/image: ")
    many = [(f"f{i}", "1") for i in range(1200)]
    assert_error(client.post("/api/image", data=dict(many), files={"file": ("a.jpg", SMALL)}), 400, "fields")
    assert_error(client.post("/api/image", data={"model": "x" * (5 * MB)}, files={"file": ("a.jpg", SMALL)}),
                 400, "size")
    assert_error(client.post("/api/image", data={"model": "full"}), 422, "file")     # no file at all
    assert_error(client.post("/api/health", content=b"x" * (200 * 1024)), 413, "too large")
    assert client.get("/api/health").json() == {"ok": True}


# ---- a real server: limits while streaming, memory, signals, CLI --------------------------------
def start(tmp: Path, *args, port: int | None = None):
    port = port or free_port()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "serve", "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 90:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the server did not start: {proc.communicate()[1][-2000:]}")


def stop(proc) -> tuple[str, str]:
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    return out, err


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srv")
    proc, port = start(tmp, "--max-image-mb", "2")
    yield proc, port, tmp
    out, err = stop(proc)
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_webcam_bomb_does_not_grow_the_servers_memory(server):
    from websockets.sync.client import connect

    proc, port, _ = server
    bomb = bomb_png(20000, 20000)              # 380 KB declaring 400 M pixels (1.2 GB as RGB)
    reset_peak(proc.pid)
    before = memory(proc.pid)["VmRSS"]
    with connect(f"ws://127.0.0.1:{port}/api/live", open_timeout=10) as ws:
        for _ in range(2):
            ws.send(bomb)
            assert json.loads(ws.recv(timeout=60))["status"] == 413
    grown = memory(proc.pid)["VmHWM"] - before
    assert grown < 200, f"the server's peak memory grew by {grown:.0f} MB"


@pytest.mark.slow
def test_chunked_upload_is_cut_at_the_limit_not_stored(server):
    from web_abuse import chunked_upload

    _, port, _ = server
    result = chunked_upload(port, 260 * MB)          # limit 2 MB here
    assert "413" in result, result
    sent = float(result.split(" after ")[1].split(" MB")[0])
    assert sent < 2 + 4 + 16, result                 # the limit + the drained 4 MB + socket buffers


@pytest.mark.slow
def test_sigkilled_servers_folder_is_removed_by_the_next_server(tmp_path):
    proc, _ = start(tmp_path)
    (old,) = [p for p in tmp_path.iterdir() if p.name.startswith(f"blazepose-web-{proc.pid}-")]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert old.is_dir()                                  # what SIGKILL leaves behind
    unrelated = tmp_path / "blazepose-web-notapid"
    unrelated.mkdir()
    proc2, _ = start(tmp_path)
    try:
        assert not old.exists()
        assert unrelated.is_dir()                           # not a server folder: left alone
        assert [p for p in tmp_path.iterdir() if p.name.startswith(f"blazepose-web-{proc2.pid}-")]
        assert remove_stale_folders(tmp_path) == []         # a running server's folder is kept
    finally:
        stop(proc2)
    assert [p.name for p in tmp_path.iterdir()] == ["blazepose-web-notapid"]


@pytest.mark.slow
def test_serve_on_every_interface_warns_and_prints_the_right_urls(tmp_path):
    proc, port = start(tmp_path, "--host", "0.0.0.0")
    try:
        host_only = urllib.request.Request(f"http://127.0.0.1:{port}/api/health", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(host_only, timeout=10)
        assert info.value.code == 400
    finally:
        out, err = stop(proc)
    assert "warning: --host 0.0.0.0 makes this server reachable from the network" in err
    assert f"open http://127.0.0.1:{port}/" in out


@pytest.mark.slow
@pytest.mark.parametrize("args, words", [(["--port", "99999"], "99999 is not a port number"),
                                         (["--port", "http"], "is not a port number"),
                                         (["--allow-origin", "evil.example"], "is not an origin"),
                                         (["--max-image-mb", "nan"], "'nan' is not a size in MB"),
                                         (["--max-video-mb", "inf"], "'inf' is not a size in MB"),
                                         (["--max-image-mb", "-5"], "'-5' is not a size in MB"),
                                         (["--decode-budget-mb", "0"], "'0' is not a size in MB"),
                                         (["--num-threads", "0"], "num_threads must be an integer in 1..256")])
def test_serve_rejects_bad_arguments_in_one_line(args, words):
    p = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "serve", *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert len([line for line in p.stderr.splitlines() if "error" in line]) == 1
