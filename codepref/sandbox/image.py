"""The sandbox image: built from `sandbox/Dockerfile` where a registry is reachable, else from Debian packages.

Images are tagged with their recipe and a hash of everything that goes into them, so a build is skipped
when an image with the same content already exists, a changed runner always gets a new image, and the two
recipes (python:3.12 from the Dockerfile, Debian's python3 offline) never share a tag.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
import docker.errors

log = logging.getLogger(__name__)

IMAGE_REPOSITORY = "codepref-sandbox"
SANDBOX_UID = 10001
RUNNER_DIR_IN_IMAGE = "/opt/codepref"  # runner.py and its package codepref_runtime/
RUNNER_PATH_IN_IMAGE = f"{RUNNER_DIR_IN_IMAGE}/runner.py"
RUNTIME_PACKAGE = "codepref_runtime"
DEBIAN_SUITE = "bookworm"
# Bump when the offline recipe below changes what ends up in the image.
OFFLINE_RECIPE_VERSION = "2"  # 2: numpy, which generated code often imports


class ImageBuildError(RuntimeError):
    pass


def sandbox_dir() -> Path:
    """The folder holding the Dockerfile and runner: inside an installed wheel, or the source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_sandbox_image"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sandbox"


def runner_source() -> Path:
    return sandbox_dir() / "runner.py"


def runner_files() -> list[Path]:
    """Everything the runner runs: runner.py and its package's modules, in a stable order."""
    package = sandbox_dir() / RUNTIME_PACKAGE
    return [runner_source(), *sorted(package.glob("*.py"))]


RECIPES = ("dockerfile", "offline")  # the order the sandbox looks for an existing image in


def content_hash(recipe: str) -> str:
    digest = hashlib.sha256(recipe.encode() + b"\0")
    files = ([sandbox_dir() / "Dockerfile"] if recipe == "dockerfile" else []) + runner_files()
    for path in files:
        name = path.relative_to(sandbox_dir()).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    if recipe == "offline":
        digest.update(f"offline-recipe-{OFFLINE_RECIPE_VERSION}-{DEBIAN_SUITE}".encode())
    return digest.hexdigest()[:16]


def image_tag(recipe: str = "offline") -> str:
    if recipe not in RECIPES:
        raise ValueError(f"unknown image recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return f"{IMAGE_REPOSITORY}:{recipe}-{content_hash(recipe)}"


def find_image(client: docker.DockerClient) -> str | None:
    """The tag of a built image for this runner, by either recipe; None when neither is built."""
    return next((tag for tag in map(image_tag, RECIPES) if image_exists(client, tag)), None)


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_image(client: docker.DockerClient, offline: bool | None = None, force: bool = False) -> str:
    """Build the image unless one with the same content exists; returns its tag.

    offline=None tries the Dockerfile first and falls back to the offline recipe when it fails (no registry).
    """
    wanted = RECIPES if offline is None else ("offline",) if offline else ("dockerfile",)
    existing = next((tag for tag in map(image_tag, wanted) if image_exists(client, tag)), None)
    if existing and not force:
        log.info("sandbox image %s is up to date", existing)
        return existing
    if offline is None:
        try:
            return _build_from_dockerfile(client)
        except (docker.errors.BuildError, docker.errors.APIError) as exc:
            log.warning(
                "Dockerfile build failed (%s); building offline from Debian packages",
                str(exc).splitlines()[0],
            )
            return _build_offline()
    return _build_offline() if offline else _build_from_dockerfile(client)


def _build_from_dockerfile(client: docker.DockerClient) -> str:
    tag = image_tag("dockerfile")
    client.images.build(
        path=str(sandbox_dir()),
        tag=tag,
        rm=True,
        labels={"codepref.sandbox.hash": content_hash("dockerfile")},
    )
    return tag


def _build_offline() -> str:
    """debootstrap a minimal Debian with python3, add the runner and the sandbox user, then `docker import`."""
    tag = image_tag("offline")
    if os.geteuid() != 0:
        raise ImageBuildError(
            "the offline image build runs debootstrap and needs root (or use the Dockerfile)"
        )
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("the offline image build needs debootstrap: apt-get install -y debootstrap")
    mirror = os.environ.get("CODEPREF_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with tempfile.TemporaryDirectory(prefix="codepref-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-numpy",
                DEBIAN_SUITE,
                str(root),
                mirror,
            ],
            "debootstrap",
        )
        _add_sandbox_user(root)
        for source in runner_files():
            target = root / RUNNER_DIR_IN_IMAGE.lstrip("/") / source.relative_to(sandbox_dir())
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            target.chmod(0o644)
        for cache in ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(root / cache, ignore_errors=True)
        changes = [
            f"USER {SANDBOX_UID}:{SANDBOX_UID}",
            "WORKDIR /tmp",
            f"LABEL codepref.sandbox.hash={content_hash('offline')}",
        ]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        change_args = [arg for change in changes for arg in ("--change", change)]
        imported = subprocess.run(
            ["docker", "import", *change_args, "-", tag], stdin=tar.stdout, capture_output=True, text=True
        )
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise ImageBuildError(f"docker import failed: {imported.stderr.strip()}")
    return tag


def _add_sandbox_user(root: Path) -> None:
    with open(root / "etc/passwd", "a") as passwd:
        passwd.write(f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}::/tmp:/usr/sbin/nologin\n")
    with open(root / "etc/group", "a") as group:
        group.write(f"sandbox:x:{SANDBOX_UID}:\n")


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ImageBuildError(f"{what} failed: {' | '.join(tail)}")
