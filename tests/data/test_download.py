"""``--download``: archives fetched from a server on 127.0.0.1 (made by the tests), checksums
verified, interrupted downloads resumed with HTTP Range, then read like the distributed files."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from spikeflow.data import download as dl
from spikeflow.data.cifar10_dvs import CLASS_NAMES as CIFAR_CLASSES
from spikeflow.data.cifar10_dvs import cifar_files, cifar_samples
from spikeflow.data.dvs_gesture import gesture_samples
from spikeflow.data.neuromorphic import load_event_dataset
from spikeflow.data.shd import read_audio_file
from spikeflow.errors import UserError

from .formats import (
    random_audio,
    write_audio,
    write_cifar_folder,
    write_gesture_folder,
    write_nmnist_folder,
)


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
    res = (dl.Resource("DvsGesture.tar.gz", f"{url}/DvsGesture.tar.gz", "0" * 32),)
    with pytest.raises(
        UserError, match=r"dvs_gesture: cannot download .*research\.ibm\.com.*trials_to_train"
    ):
        dl.fetch("dvs_gesture", tmp_path, resources=res)


def test_official_archives_and_their_checksums():
    (gesture,) = dl.RESOURCES["dvs_gesture"]
    assert gesture.filename == "DvsGesture.tar.gz"
    assert gesture.md5 == "8a5c71fb11e24e5ca5b11866ca6c00a1"
    assert gesture.url.startswith("https://app.box.com/")
    assert "shared_name=3hiq58ww1pbbjrinh367ykfdf60xsfm8" in gesture.url  # IBM's Box folder
    cifar = dl.RESOURCES["cifar10_dvs"]
    assert [r.filename for r in cifar] == [f"{c}.zip" for c in CIFAR_CLASSES]
    assert [r.url.rsplit("/", 1)[1] for r in cifar] == [
        "7712788", "7712791", "7712794", "7712812", "7712815",
        "7712818", "7712842", "7712851", "7712836", "7712839",
    ]  # fmt: skip
    assert cifar[0].md5 == "0afd5c4bf9ae06af762a77b180354fdd"
    assert cifar[-1].md5 == "89f3922fd147d9aeff89e76a2b0b70a7"
    assert all(re.fullmatch(r"[0-9a-f]{32}", r.md5 or "") for r in cifar)
    assert len({r.md5 for r in cifar}) == len(cifar)


def _serve(server, name: str, data: bytes) -> dl.Resource:
    server.files[name] = data
    return dl.Resource(name, f"{server.url}/{name}", hashlib.md5(data).hexdigest())


def test_dvs_gesture_download_unpacks_the_tar_gz_and_reads(tmp_path, server):
    trials = {"train": ["user01_led"], "test": ["user24_lab"]}
    written = write_gesture_folder(tmp_path / "src", np.random.default_rng(2), trials)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "DvsGesture", arcname="DvsGesture")
    res = (_serve(server, "DvsGesture.tar.gz", buf.getvalue()),)
    server.cut["DvsGesture.tar.gz"] = len(buf.getvalue()) // 3
    root = tmp_path / "gesture"
    with pytest.raises(UserError, match=r"DvsGesture\.tar\.gz.*the download stopped"):
        dl.fetch("dvs_gesture", root, resources=res)
    dl.fetch("dvs_gesture", root, resources=res)
    for split in trials:
        got = list(gesture_samples(root, split))
        assert [lab for _, lab in got] == [lab for _, lab in written[split]]
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(got, written[split], strict=True))


def test_cifar10_dvs_download_unpacks_one_zip_per_class_and_reads(tmp_path, server):
    written = write_cifar_folder(tmp_path / "src", np.random.default_rng(3), per_class=2)
    res = []
    for c in CIFAR_CLASSES:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for f in sorted((tmp_path / "src" / c).iterdir()):
                z.write(f, f.relative_to(tmp_path / "src").as_posix())
        res.append(_serve(server, f"{c}.zip", buf.getvalue()))
    root = tmp_path / "cifar"
    dl.fetch("cifar10_dvs", root, resources=tuple(res))
    got = [s for split in ("train", "test") for s in cifar_samples(root, split)]
    want = {p.relative_to(tmp_path / "src"): (ev, c) for p, ev, c in written}
    files = [f.relative_to(root) for s in ("train", "test") for f in cifar_files(root, s)]
    assert sorted(files) == sorted(want)
    for f, (events, label) in zip(files, got, strict=True):
        assert np.array_equal(events, want[f][0]) and label == want[f][1]
