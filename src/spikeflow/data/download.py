"""Fetching the official archives of the neuromorphic benchmarks: checksums verified, interrupted
downloads resumed (HTTP ``Range``), archives unpacked into the layout the readers expect.

A download goes to ``<name>.part`` beside its final place and is renamed only once its MD5 sum
matches; a rerun continues a ``.part`` file from where it stopped. Unpacking goes to a temporary
folder that is moved into place when complete. Where the machine has no internet the error names
the files expected, where to get them and the folder layout.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spikeflow.errors import UserError

CHUNK = 1 << 20
TIMEOUT_S = 60


@dataclass(frozen=True)
class Resource:
    """One archive of a dataset.

    Attributes:
        filename: the archive's name on disk, e.g. ``"Train.zip"``.
        url: where to fetch it.
        md5: its MD5 sum; ``None`` to look it up in ``checksums_url``.
        checksums_url: a ``<md5>  <filename>`` listing published next to the archives.
    """

    filename: str
    url: str
    md5: str | None = None
    checksums_url: str | None = None


_ZENKE = "https://zenkelab.org/datasets"
_MENDELEY = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files"
#: DVS128 Gesture: DvsGesture.tar.gz in IBM's Box folder (the link of
#: https://research.ibm.com/interactive/dvsgesture/), as a direct shared-file download.
_IBM_BOX = (
    "https://app.box.com/index.php?rm=box_download_shared_file"
    "&shared_name=3hiq58ww1pbbjrinh367ykfdf60xsfm8&file_id=f_211521748942"
)
#: CIFAR10-DVS: one zip per class (a folder of AEDAT 2.0 recordings) on figshare, article
#: 4724671 ("CIFAR10-DVS New"): class, figshare file id, MD5.
_CIFAR10_DVS = (
    ("airplane", 7712788, "0afd5c4bf9ae06af762a77b180354fdd"),
    ("automobile", 7712791, "8438dfeba3bc970c94962d995b1b9bdd"),
    ("bird", 7712794, "a9c207c91c55b9dc2002dc21c684d785"),
    ("cat", 7712812, "52c63c677c2b15fa5146a8daf4d56687"),
    ("deer", 7712815, "b6bf21f6c04d21ba4e23fc3e36c8a4a3"),
    ("dog", 7712818, "f379ebdf6703d16e0a690782e62639c3"),
    ("frog", 7712842, "cad6ed91214b1c7388a5f6ee56d08803"),
    ("horse", 7712851, "e7cbbf77bec584ffbf913f00e682782a"),
    ("ship", 7712836, "41c7bd7d6b251be82557c6cce9a7d5c9"),
    ("truck", 7712839, "89f3922fd147d9aeff89e76a2b0b70a7"),
)
#: The official archives, as distributed (the formats the readers read, not re-encoded copies).
RESOURCES: dict[str, tuple[Resource, ...]] = {
    "shd": tuple(
        Resource(f"shd_{s}.h5.gz", f"{_ZENKE}/shd_{s}.h5.gz", None, f"{_ZENKE}/md5sums.txt")
        for s in ("train", "test")
    ),
    "ssc": tuple(
        Resource(f"ssc_{s}.h5.gz", f"{_ZENKE}/ssc_{s}.h5.gz", None, f"{_ZENKE}/md5sums.txt")
        for s in ("train", "valid", "test")
    ),
    "nmnist": (
        Resource(
            "Train.zip",
            f"{_MENDELEY}/39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded",
            "20959b8e626244a1b502305a9e6e2031",
        ),
        Resource(
            "Test.zip",
            f"{_MENDELEY}/05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded",
            "69ca8762b2fe404d9b9bad1103e97832",
        ),
    ),
    "dvs_gesture": (Resource("DvsGesture.tar.gz", _IBM_BOX, "8a5c71fb11e24e5ca5b11866ca6c00a1"),),
    "cifar10_dvs": tuple(
        Resource(f"{name}.zip", f"https://ndownloader.figshare.com/files/{file_id}", md5)
        for name, file_id, md5 in _CIFAR10_DVS
    ),
}


def _no_source(name: str, root: Path, what: str) -> UserError:
    from spikeflow.data.neuromorphic import FOLDERS

    folder = FOLDERS[name]
    layout = "; ".join(line.strip() for line in folder.layout.splitlines())
    return UserError(f"{name}: {what}; get the files from {folder.source} and unpack them into "
                     f"data_dir={str(root)!r} as: {layout}")  # fmt: skip


def _open(url: str, start: int = 0) -> Any:
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)


def md5_of(path: Path) -> str:
    """The MD5 sum of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _expected_md5(resource: Resource) -> str:
    if resource.md5 is not None:
        return resource.md5.lower()
    with _open(str(resource.checksums_url)) as response:
        lines = response.read().decode().splitlines()
    sums = {
        parts[1].lstrip("*"): parts[0].lower() for parts in map(str.split, lines) if len(parts) == 2
    }
    if resource.filename not in sums:
        raise UserError(f"{resource.checksums_url} lists no checksum for {resource.filename}; "
                        "expected a '<md5>  <filename>' line")  # fmt: skip
    return sums[resource.filename]


def download(resource: Resource, folder: Path, *, progress: bool = False) -> Path:
    """Fetch one archive into ``folder`` (resuming a ``.part`` file) and verify its MD5 sum.

    Arguments:
        resource: the archive.
        folder: where it is saved as ``resource.filename``.
        progress: show a progress bar.

    Returns:
        The path of the verified archive.
    """
    final, part = folder / resource.filename, folder / (resource.filename + ".part")
    md5 = _expected_md5(resource)
    if final.is_file() and md5_of(final) == md5:
        return final
    folder.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.is_file() else 0
    try:
        total = _receive(resource, part, start, progress)
    except urllib.error.HTTPError as err:
        if err.code != 416:  # 416: the part file already holds every byte
            raise
        total = None
    if total is not None and part.stat().st_size != total:
        raise UserError(f"{resource.url}: the download stopped at {part.stat().st_size} of {total} "
                        f"bytes; run again to resume from {part}")  # fmt: skip
    got = md5_of(part)
    if got != md5:
        part.unlink()
        raise UserError(f"{resource.filename} from {resource.url} has MD5 {got}; expected {md5} "
                        "(the partial file was removed: run again to download it afresh)")  # fmt: skip
    os.replace(part, final)
    return final


def _receive(resource: Resource, part: Path, start: int, progress: bool) -> int | None:
    """Append the bytes from ``start`` on to ``part`` (all of them when the server ignores the
    range); the expected final size, when the server says it."""
    with _open(resource.url, start) as response:
        resumed = start > 0 and response.status == 206
        if not resumed:
            start = 0
        total = response.headers.get("Content-Length")
        total = int(total) + start if total is not None else None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=total, initial=start, unit="B", unit_scale=True, desc=resource.filename
            )
        with open(part, "ab" if resumed else "wb") as out:
            while block := response.read(CHUNK):
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if bar is not None:
            bar.close()
    return total


def _inside(root: Path, name: str) -> bool:
    target = (root / name).resolve()
    return target == root.resolve() or root.resolve() in target.parents


def unpack(archive: Path, root: Path) -> None:
    """Unpack ``archive`` (``.zip``, ``.tar.gz``/``.tgz`` or a single ``.gz`` file) into ``root``:
    into a temporary folder first, whose entries are then moved into place."""
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=root) as tmp:
        staging = Path(tmp)
        name = archive.name
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                bad = [n for n in z.namelist() if not _inside(staging, n)]
                if bad:
                    raise UserError(f"{archive}: member {bad[0]!r} points outside the folder")
                z.extractall(staging)
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(archive) as t:
                t.extractall(staging, filter="data")
        elif name.endswith(".gz"):
            with gzip.open(archive, "rb") as src, open(staging / name[: -len(".gz")], "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        else:
            raise UserError(f"{archive}: unknown archive type; expected .zip, .tar.gz or .gz")
        for entry in staging.iterdir():
            target = root / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)


def fetch(
    name: str,
    root: Path,
    *,
    progress: bool = False,
    resources: tuple[Resource, ...] | None = None,
) -> None:
    """Download and unpack dataset ``name``'s archives into ``root`` (skipping those unpacked).

    Arguments:
        name: a dataset with an entry in :data:`RESOURCES`.
        root: the dataset folder (``--data-dir``).
        progress: show progress bars.
        resources: the archives (default ``RESOURCES[name]``; tests point them at a local server).
    """
    resources = RESOURCES[name] if resources is None else resources
    root.mkdir(parents=True, exist_ok=True)
    for resource in resources:
        marker = root / f".{resource.filename}.unpacked"
        if marker.is_file():
            continue
        try:
            archive = download(resource, root, progress=progress)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", None) or err
            raise _no_source(name, root, f"cannot download {resource.url} ({reason}); a partial "
                             "download is resumed on the next run") from err  # fmt: skip
        unpack(archive, root)
        marker.write_text(md5_of(archive) + "\n")
