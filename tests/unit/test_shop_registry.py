"""The shops registry: documents, files (JSON and YAML), errors naming shop and field, hot
reload of the file keeping the last good configuration, and lookups by token."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from robot.adapters.shop_registry import (
    ShopRegistry,
    ShopsConfigError,
    limits_fields,
    mask_secret,
    public_document,
    read_shops_file,
    stored_document,
)
from robot.config import load_settings
from robot.core.shops import ShopConfig, parse_shops

YAML_DOC = """\
shops:
  - name: Ромашка
    api_token: token-romashka-0123456789
    webhook_url: http://127.0.0.1:9001/hook
    webhook_secret: secret-romashka
    caller_id: '"Ромашка" <+74951234567>'
    timezone: Europe/Moscow
    hours: "10:00-20:00"
    max_calls: 3
    cps: 0.5
  - name: Лютик
    api_token: token-lyutik-0123456789
    paused: true
    statuses: {shipped: courier_slot}
"""


def write(path: Path, text: str, bump: int = 0) -> None:
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    # a reload is by mtime: make each write's distinct even within one clock tick
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_yaml_and_json_files_give_the_same_shops(tmp_path: Path) -> None:
    y = tmp_path / "shops.yaml"
    write(y, YAML_DOC)
    import yaml

    j = tmp_path / "shops.json"
    write(j, json.dumps(yaml.safe_load(YAML_DOC), ensure_ascii=False))
    assert read_shops_file(y) == read_shops_file(j)
    shops = read_shops_file(y)
    assert sorted(shops) == ["Лютик", "Ромашка"]
    assert shops["Ромашка"].max_calls == 3 and shops["Ромашка"].cps == 0.5
    assert shops["Лютик"].paused is True
    assert shops["Лютик"].status_map()["shipped"] == "courier_slot"


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"shops": [{"name": "A", "webhok_url": "x"}]}, ["shops.A.webhok_url", "Extra"]),
        ({"A": {"max_calls": -1}}, ["shops.A.max_calls"]),
        ({"A": {"timezone": "Mars/Olympus"}}, ["shops.A.timezone"]),
        ({"A": {"statuses": {"Shipped!": "confirm"}}}, ["shops.A.statuses"]),
        ({"shops": [{"name": "A"}, {"name": "A"}]}, ["shops.A", "twice"]),
        ([1, 2], ["shops"]),
    ],
)
def test_bad_documents_name_the_shop_and_field(doc: object, words: list[str]) -> None:
    with pytest.raises(ValueError) as e:
        parse_shops(doc)
    for w in words:
        assert w in str(e.value)


def test_a_bad_file_at_start_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "shops.yaml"
    write(f, "shops:\n  - name: A\n    caler_id: x\n")
    with pytest.raises(ShopsConfigError, match=r"shops\.A\.caler_id"):
        ShopRegistry(file=f)
    write(f, "shops: [unclosed\n")
    with pytest.raises(ShopsConfigError, match="not valid"):
        ShopRegistry(file=f)
    with pytest.raises(ShopsConfigError, match=r"missing\.yaml"):
        ShopRegistry(file=tmp_path / "missing.yaml")


def test_the_file_reloads_and_a_bad_edit_keeps_the_last_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    f = tmp_path / "shops.yaml"
    write(f, YAML_DOC)
    reg = ShopRegistry(file=f, file_check_s=0)
    assert reg.names() == ["Лютик", "Ромашка"]
    assert reg.get("Ромашка").hours == "10:00-20:00"  # type: ignore[union-attr]

    write(f, YAML_DOC.replace("10:00-20:00", "11:00-19:00"), bump=1)
    assert reg.get("Ромашка").hours == "11:00-19:00"  # type: ignore[union-attr]

    write(f, YAML_DOC.replace("max_calls: 3", "max_calls: lots"), bump=2)
    assert reg.get("Ромашка").max_calls == 3  # type: ignore[union-attr]
    assert "shops.Ромашка.max_calls" in caplog.text and "last good" in caplog.text

    write(f, "shops:\n  - name: Лютик\n", bump=3)
    assert reg.names() == ["Лютик"]
    assert reg.get("Ромашка") is None


def test_env_shops_keep_old_documents_and_the_file_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DOZVON_SHOPS",
        '{"Ромашка": {"caller_id": "\\"Env\\" <+70000000001>", "announce_recording": true},'
        ' "Астра": {"caller_id": "\\"Астра\\" <+70000000002>"}}',
    )
    f = tmp_path / "shops.yaml"
    write(f, YAML_DOC)
    monkeypatch.setenv("DOZVON_SHOPS_FILE", str(f))
    reg = ShopRegistry.from_settings(load_settings())
    assert reg.names() == ["Астра", "Лютик", "Ромашка"]
    assert reg.get("Астра").caller_id == '"Астра" <+70000000002>'  # type: ignore[union-attr]
    assert reg.get("Ромашка").caller_id == '"Ромашка" <+74951234567>'  # type: ignore[union-attr]
    assert reg.source("Астра") == "env" and reg.source("Ромашка") == "file"


def test_a_bad_env_document_names_the_shop_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOZVON_SHOPS", '{"Ромашка": {"caler_id": "x"}}')
    with pytest.raises(ValueError, match=r"shops\.Ромашка\.caler_id"):
        load_settings()


def test_by_token_finds_only_the_exact_token(tmp_path: Path) -> None:
    f = tmp_path / "shops.yaml"
    write(f, YAML_DOC)
    reg = ShopRegistry(file=f)
    assert reg.by_token("token-romashka-0123456789").name == "Ромашка"  # type: ignore[union-attr]
    assert reg.by_token("token-lyutik-0123456789").name == "Лютик"  # type: ignore[union-attr]
    for wrong in ("token-romashka-012345678", "token-romashka-01234567890", "", None, "ё"):
        assert reg.by_token(wrong) is None


def test_secrets_are_masked_for_the_api_and_kept_for_storage() -> None:
    shop = ShopConfig(name="A", api_token="token-0123456789abcdef", webhook_secret="short")
    pub = public_document(shop)
    assert pub["api_token"] == "****cdef" and pub["webhook_secret"] == "****"
    assert "0123456789" not in json.dumps(pub)
    assert mask_secret(None) is None
    back = parse_shops({"shops": [stored_document(shop)]})["A"]
    assert back == shop


def test_limits_fields() -> None:
    assert limits_fields(ShopConfig(name="A")) == {"paused": "0"}
    assert limits_fields(ShopConfig(name="A", paused=True, max_calls=2, cps=1.5)) == {
        "paused": "1",
        "max_calls": "2",
        "cps": "1.5",
    }


def test_the_readme_shops_file_example_is_valid() -> None:
    import re

    import yaml

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Shops\n") :]
    example = re.search(r"```yaml\n(# DOZVON_SHOPS_FILE.*?)```", section, re.S)
    assert example is not None
    shops = parse_shops(yaml.safe_load(example.group(1)))
    assert sorted(shops) == ["Лютик", "Ромашка"]
    assert shops["Ромашка"].weekdays == {"sat": "11:00-18:00", "sun": "closed"}
    assert shops["Лютик"].paused is True


def test_tokens_must_tell_the_shops_apart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "shops.yaml"
    write(f, "A: {api_token: same-token-0123456789}\nB: {api_token: same-token-0123456789}\n")
    with pytest.raises(ShopsConfigError, match=r"shops\.B\.api_token: the same token as shop 'A'"):
        ShopRegistry(file=f)
    write(f, "A: {api_token: the-installation-token}\n", bump=1)
    with pytest.raises(ShopsConfigError, match=r"shops\.A\.api_token: the installation's"):
        ShopRegistry(file=f, reserved_tokens=("the-installation-token",))
    # on reload: logged, the last good configuration stays
    write(f, "A: {api_token: token-a-0123456789}\nB: {api_token: token-b-0123456789}\n", bump=2)
    reg = ShopRegistry(file=f, file_check_s=0)
    write(f, "A: {api_token: token-a-0123456789}\nB: {api_token: token-a-0123456789}\n", bump=3)
    assert reg.by_token("token-b-0123456789").name == "B"  # type: ignore[union-attr]
    assert "the same token as shop 'A'" in caplog.text
