"""Each shop's purposes and clips (robot.adapters.purpose_book) and the prompt library playing a
shop's recording of a purpose's own words (robot.adapters.prompt_audio)."""

from __future__ import annotations

import math
import os
from array import array
from datetime import date
from pathlib import Path

import pytest

from robot.adapters import prompt_audio
from robot.adapters.prompt_audio import PromptLibrary, write_wav
from robot.adapters.purpose_book import PurposeBook
from robot.core.prompts import Prompt
from robot.core.purposes import PurposeError, UnknownPurpose, builtin_purposes
from robot.core.shops import ShopConfig
from robot.testing import make_order

AUDIO = Path(__file__).resolve().parents[2] / "audio"
TODAY = date(2026, 12, 1)
REWORD = "name: pickup_ready\nsay:\n  intro:\n    ru: ['{greeting}', 'Заказ {order_id} у нас.']\n"


def tone(ms: int, hz: float = 440.0) -> bytes:
    n = 8 * ms
    return array("h", (round(8000 * math.sin(2 * math.pi * hz * i / 8000)) for i in range(n)))\
        .tobytes()  # fmt: skip


class Shops:
    def __init__(self, *shops: ShopConfig) -> None:
        self.shops = {s.name: s for s in shops}

    def get(self, name: str, /) -> ShopConfig | None:
        return self.shops.get(name)


def test_a_shop_without_files_has_the_builtin_purposes() -> None:
    book = PurposeBook(Shops(ShopConfig(name="Ромашка")))
    assert book.catalog("Ромашка") is builtin_purposes()
    assert book.catalog("unknown shop") is builtin_purposes()
    assert book.clips_dir("Ромашка") is None
    assert book.for_order(make_order("ru", TODAY, purpose="pickup_ready")).name == "pickup_ready"


def test_a_shops_file_is_read_and_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "romashka.yaml"
    path.write_text(REWORD, encoding="utf-8")
    book = PurposeBook(Shops(ShopConfig(name="Ромашка", purpose_files=[str(path)])))
    o = make_order("ru", TODAY, purpose="pickup_ready")
    assert book.for_order(o).say[Prompt.INTRO]["ru"][1] == "Заказ {order_id} у нас."
    path.write_text(REWORD.replace("у нас", "ждёт"), encoding="utf-8")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert book.for_order(o).say[Prompt.INTRO]["ru"][1] == "Заказ {order_id} ждёт."
    # Another shop keeps the built-in wording.
    other = o.model_copy(update={"shop_name": "Лютик"})
    assert book.for_order(other) is builtin_purposes()["pickup_ready"]


def test_a_bad_file_keeps_the_last_good_purposes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(REWORD, encoding="utf-8")
    shop = ShopConfig(name="Ромашка", purpose_files=[str(path)])
    book = PurposeBook(Shops(shop))
    good = book.catalog("Ромашка")
    path.write_text("name: pickup_ready\nsay: {intro: {ru: ['{adress}']}}\n", encoding="utf-8")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert book.catalog("Ромашка") is good
    assert "unknown field {adress}" in caplog.text
    with pytest.raises(PurposeError, match="adress"):
        PurposeBook.check(shop)


def test_an_order_naming_a_purpose_its_shop_lacks() -> None:
    with pytest.raises(UnknownPurpose):
        PurposeBook().for_order(make_order("ru", TODAY, purpose="packed"))


def test_a_shops_recording_replaces_the_synthesized_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synthesized: list[str] = []

    def fake_synthesize(text: str, lang: str, **kw: object) -> tuple[bytes, str]:
        synthesized.append(text)
        return tone(200, 300), "fake"

    monkeypatch.setattr(prompt_audio, "synthesize", fake_synthesize)
    path = tmp_path / "shop.yaml"
    path.write_text(REWORD, encoding="utf-8")
    clips = tmp_path / "clips"
    shop = ShopConfig(name="Ромашка", purpose_files=[str(path)], clips_dir=str(clips))
    book = PurposeBook(Shops(shop))
    library = PromptLibrary(
        AUDIO, tmp_path / "cache", purposes=book.for_order, clips_dirs=book.clips_dir
    )
    o = make_order("ru", TODAY, purpose="pickup_ready", customer_name=None)
    assert library.prompt_text(Prompt.INTRO, o, TODAY).endswith(
        "Заказ двенадцать тридцать четыре у нас."
    )
    library.render_prompt(Prompt.INTRO, o, TODAY)
    assert synthesized == ["Ромашка", "Заказ", "у нас."]  # the shop's name and its own words
    # The shop records one of its runs: it plays instead, the other is still synthesized.
    write_wav(clips / "ru" / "purpose" / "pickup_ready" / "intro.1.wav", tone(500))
    synthesized.clear()
    fresh = PromptLibrary(
        AUDIO, tmp_path / "cache2", purposes=book.for_order, clips_dirs=book.clips_dir
    )
    fresh.render_prompt(Prompt.INTRO, o, TODAY)
    assert synthesized == ["Ромашка", "у нас."]
    # A built-in clip can be re-recorded in the clips directory too.
    write_wav(clips / "ru" / "phrase" / "hello.wav", tone(300))
    assert fresh.clip("ru/phrase/hello", None, clips) != fresh.clip("ru/phrase/hello")


def test_a_shops_settings_refuse_bad_purpose_files_and_unknown_purposes(tmp_path: Path) -> None:
    from robot.core.shops import parse_shops

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: packed\nkind: inform\nanswers: {}\nsay: {intro: {ru: ['{adress}']}}\n")
    with pytest.raises(ValueError, match=r"shops\.A\.purpose_files: .*bad.yaml: packed\.say"):
        parse_shops({"A": {"purpose_files": [str(bad)]}})
    with pytest.raises(ValueError, match=r"shops\.A: statuses\.packed: no purpose 'packed'"):
        parse_shops({"A": {"statuses": {"packed": "packed"}}})
    good = tmp_path / "good.yaml"
    good.write_text(
        "name: packed\nkind: inform\nanswers: {'yes': informed}\nsay: {intro: {ru: ['Собран.']}}\n"
    )
    shops = parse_shops({"A": {"purpose_files": [str(good)], "statuses": {"packed": "packed"}}})
    assert shops["A"].status_map()["packed"] == "packed"


def test_a_file_that_is_not_a_purpose_file_is_not_quoted(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password: [hunter2\n", encoding="utf-8")
    with pytest.raises(PurposeError) as e:
        PurposeBook.check(ShopConfig.model_construct(name="A", purpose_files=[str(secret)]))
    assert "hunter2" not in str(e.value) and "(line 2, column 1)" in str(e.value)
