"""Downloads against a local HTTP server on 127.0.0.1 (never the network): good MD5, bad
MD5, resume after a cut connection, servers without Range support, offline errors."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from chexmini_cli.main import main
from core.data.download import download_chestmnist, download_file
from core.foundation.errors import ChexminiError

PAYLOAD = bytes(range(256)) * 4000 + b"tail"          # ~1 MB
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "fixture"
    # Per-server behaviour, set by the fixture: cut the first N responses after K bytes.
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        srv.requests.append(self.headers.get("Range"))
        data = srv.payload
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cuts > 0:
            srv.cuts -= 1
            self.wfile.write(body[: srv.cut_at])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.payload, srv.requests, srv.ranges, srv.cuts, srv.cut_at = PAYLOAD, [], True, 0, 300_000
    srv.handle_error = lambda request, client_address: None   # client hang-ups are expected
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/chestmnist_64.npz?download=1"


@pytest.mark.slow
def test_good_md5(server, tmp_path):
    events = []
    path = download_file(url(server), tmp_path / "f.npz", MD5, progress=events.append)
    assert path.read_bytes() == PAYLOAD and not (tmp_path / "f.npz.part").exists()
    assert events[-1].stage == "done" and any(e.stage == "verify" for e in events)
    # Already there with the right MD5: no request at all.
    download_file(url(server), tmp_path / "f.npz", MD5)
    assert len(server.requests) == 1


def test_bad_md5_deletes_and_says_so(server, tmp_path):
    with pytest.raises(ChexminiError, match="MD5 mismatch: expected 0+, got " + MD5):
        download_file(url(server), tmp_path / "f.npz", "0" * 32)
    assert not (tmp_path / "f.npz").exists() and not (tmp_path / "f.npz.part").exists()


@pytest.mark.slow
def test_resume_after_cut_with_retries(server, tmp_path):
    server.cuts = 1
    path = download_file(url(server), tmp_path / "f.npz", MD5, retries=2)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == [None, "bytes=300000-"]


def test_resume_after_cut_on_the_next_run(server, tmp_path):
    server.cuts = 1
    with pytest.raises(ChexminiError, match="run the same command again to resume"):
        download_file(url(server), tmp_path / "f.npz", MD5, retries=0)
    assert (tmp_path / "f.npz.part").stat().st_size == 300_000
    download_file(url(server), tmp_path / "f.npz", MD5, retries=0)
    assert (tmp_path / "f.npz").read_bytes() == PAYLOAD
    assert server.requests[-1] == "bytes=300000-"


@pytest.mark.slow
def test_server_without_range_support_restarts(server, tmp_path):
    (tmp_path / "f.npz.part").write_bytes(PAYLOAD[:1000])
    server.ranges = False
    download_file(url(server), tmp_path / "f.npz", MD5)
    assert (tmp_path / "f.npz").read_bytes() == PAYLOAD


def test_complete_part_file_is_verified(server, tmp_path):
    (tmp_path / "f.npz.part").write_bytes(PAYLOAD)
    download_file(url(server), tmp_path / "f.npz", MD5)      # server answers 416
    assert (tmp_path / "f.npz").read_bytes() == PAYLOAD


def test_offline_connection_refused(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                                # nothing listens there
    (tmp_path / "f.npz.part").write_bytes(b"x" * 10)
    with pytest.raises(ChexminiError) as err:
        download_file(f"http://127.0.0.1:{port}/f.npz", tmp_path / "f.npz", MD5)
    msg = str(err.value)
    assert "connection was refused" in msg and "offline" in msg and "kept" in msg
    assert "\n" not in msg


def test_offline_dns_failure(tmp_path, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ChexminiError, match="cannot reach zenodo.org .the host name could not be "
                                            "resolved. — are you offline"):
        download_chestmnist(64, tmp_path)


@pytest.mark.slow
def test_cli_download_errors_are_one_line(server, tmp_path, capsys):
    # 64 px: the published size is known, so a wrong-size mirror is refused up front.
    code = main(["data", "download", "chestmnist", "--size", "64", "--dest", str(tmp_path),
                 "--url", url(server)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("chexmini: error:") and len(err.splitlines()) == 1
    assert "should have 401,604,127" in err
    # 128 px: no size on record, so the file is fetched and fails its MD5 check.
    code = main(["data", "download", "chestmnist", "--size", "128", "--dest", str(tmp_path),
                 "--url", url(server)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "MD5 mismatch: expected db107e5590b27930b62dbaf558aebee3" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_cli_download_good(server, tmp_path, capsys, monkeypatch):
    import core.data.download as dl

    monkeypatch.setitem(dl.CHESTMNIST_MD5, 64, MD5)
    monkeypatch.setitem(dl.CHESTMNIST_BYTES, 64, len(PAYLOAD))
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "home"))
    code = main(["data", "download", "chestmnist", "--size", "64", "--url", url(server)])
    assert code == 0
    assert (tmp_path / "home" / "chestmnist_64.npz").read_bytes() == PAYLOAD
    assert "chestmnist:" in capsys.readouterr().out
    assert Path(tmp_path / "home").is_dir()
