"""``--download``: archives fetched from a server on 127.0.0.1 (made by the tests), checksums
verified, interrupted downloads resumed with HTTP Range, then read like the distributed files."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from spikeflow.data import download as dl
from spikeflow.data.neuromorphic import load_event_dataset
from spikeflow.data.shd import read_audio_file
from spikeflow.errors import UserError

from .formats import random_audio, write_audio, write_nmnist_folder


class Server:
    """Serves ``files`` (name -> bytes) with Range support; ``cut[name] = n`` makes the next
    full response stop after ``n`` bytes (a dropped connection)."""

    def __init__(self):
        self.files, self.cut, self.ranges = {}, {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                if name not in outer.files:
                    self.send_error(404)
                    return
                data, start = outer.files[name], 0
                asked = self.headers.get("Range")
                outer.ranges.append((name, asked))
                if asked:
                    start = int(asked.removeprefix("bytes=").rstrip("-"))
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if name in outer.cut and not asked:
                    body = body[: outer.cut.pop(name)]
                    self.close_connection = True
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    s = Server()
    yield s
    s.close()


def _zip_folder(folder: Path, top: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted((folder / top).rglob("*.bin")):
            z.write(f, f.relative_to(folder).as_posix())
    return buf.getvalue()


def test_nmnist_download_resumes_verifies_and_unpacks(tmp_path, server):
    write_nmnist_folder(tmp_path / "src", np.random.default_rng(0), per_class=3)
    resources = []
    for top in ("Train", "Test"):
        data = _zip_folder(tmp_path / "src", top)
        server.files[f"{top}.zip"] = data
        resources.append(
            dl.Resource(f"{top}.zip", f"{server.url}/{top}.zip", hashlib.md5(data).hexdigest())
        )
    half = len(server.files["Train.zip"]) // 2
    server.cut["Train.zip"] = half
    root = tmp_path / "nmnist"
    with pytest.raises(
        UserError, match=r"Train\.zip: the download stopped at \d+ of \d+ bytes; run again"
    ):
        dl.fetch("nmnist", root, resources=tuple(resources))
    assert 0 < (root / "Train.zip.part").stat().st_size <= half
    assert not (root / "Train.zip").exists()
    dl.fetch("nmnist", root, resources=tuple(resources))
    part_size = server.ranges[-2][1]
    assert (
        server.ranges[-2][0] == "Train.zip"
        and part_size is not None
        and part_size.startswith("bytes=")
    )
    assert int(part_size[6:-1]) > 0  # the second request continued from the partial file
    bundle = load_event_dataset("nmnist", str(root), transform="n_time_bins=2")
    assert len(bundle.train) == 30 and [bundle.train[i][1] for i in (0, 29)] == [0, 9]
    asked = len(server.ranges)
    dl.fetch("nmnist", root, resources=tuple(resources))  # already unpacked: nothing fetched
    assert len(server.ranges) == asked


def test_bad_checksum_is_an_error_and_leaves_nothing(tmp_path, server):
    server.files["Train.zip"] = b"not the archive"
    res = (dl.Resource("Train.zip", f"{server.url}/Train.zip", "0" * 32),)
    with pytest.raises(UserError, match=r"Train\.zip from .* has MD5 [0-9a-f]{32}; expected 0{32}"):
        dl.fetch("nmnist", tmp_path, resources=res)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_shd_checksums_from_the_published_listing_and_gunzip(tmp_path, server):
    samples = random_audio(np.random.default_rng(1), 5)
    write_audio(tmp_path / "shd_train.h5", samples)
    data = gzip.compress((tmp_path / "shd_train.h5").read_bytes())
    server.files["shd_train.h5.gz"] = data
    server.files["md5sums.txt"] = f"{hashlib.md5(data).hexdigest()}  shd_train.h5.gz\n".encode()
    res = (
        dl.Resource(
            "shd_train.h5.gz", f"{server.url}/shd_train.h5.gz", None, f"{server.url}/md5sums.txt"
        ),
    )
    dl.fetch("shd", tmp_path / "shd", resources=res)
    got = list(read_audio_file(tmp_path / "shd" / "shd_train.h5"))
    assert [lab for _, lab in got] == [lab for _, lab in samples]
    assert all(np.array_equal(a["t"], b["t"]) for (a, _), (b, _) in zip(got, samples, strict=True))


def test_without_internet_the_error_says_what_and_where(tmp_path, server):
    url = server.url
    server.close()  # nothing listens there any more
    res = (dl.Resource("Train.zip", f"{url}/Train.zip", "0" * 32),)
    with pytest.raises(UserError) as err:
        dl.fetch("nmnist", tmp_path, resources=res)
    text = str(err.value)
    assert "cannot download" in text and "garrickorchard.com" in text and "Train/0/*.bin" in text
    with pytest.raises(
        UserError, match=r"dvs_gesture: no direct download.*research\.ibm\.com.*trials_to_train"
    ):
        dl.fetch("dvs_gesture", tmp_path)
