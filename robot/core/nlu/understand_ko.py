"""Korean replies understood: every intent, and the day / time / address of a change.

The word-level reading (yes, no, dnc, operator, later, repeat) stays in
:mod:`robot.core.lang_ko`; this module adds, as for Russian (:mod:`understand_ru`):

1. **machine**: voicemail (음성사서함, 삐 소리 후 / 신호음 후 메시지를 남겨 주세요), a carrier's
   announcement (전화를 받을 수 없어, 전원이 꺼져 있어), an assistant introducing itself
   (AI 비서, 통화 비서, 인공지능 비서입니다, 용건을 말씀해 주시면 전달해 드리겠습니다).
2. **dnc**, then **wrong_number** (잘못 거셨어요, 그런 사람 없어요, 저 민준 아닌데요, 제 번호가
   아니에요), then **not_ordered** (주문한 적 없어요, 주문 안 했어요, 제 주문 아니에요), then
   **operator**.
3. **question**: an interrogative (언제, 몇 시, 얼마, 어디, 어떻게, 왜, 무슨 / 뭐 + a topic) or a
   question ending (-나요, -까요, -ㄴ가요, -죠, or a question mark) about a delivery topic
   (배송, 택배, 기사, 결제, 카드, 현금, 배송비 ...). A question about anything else is unknown.
4. **change**: a day (오늘 / 내일 / 모레 / 글피, 토요일 / 다음 주 화요일, 3일 후, 일주일 뒤,
   12월 20일, 20일), a time (저녁 8시 이후, 9시부터 1시까지, 11시 전에, 오전 / 오후 / 저녁 as
   windows) or an address (주소가 바뀌었어요, 회사로 보내 주세요, 엄마 집으로); a time attached to
   "call me" (저녁에 전화해 주세요) is later. "X 말고 Y" / "X는 안 돼요": the day Y, X turned down.
5. **"yes, but"**: 네 followed by 근데 / 그런데 / 다만 / 대신 / 하지만 / 단 / 만약 ... is never
   yes; the condition wins (its own intent, else unknown). 네 answering the phone
   (여보세요, 네 말씀하세요) confirms nothing.

Hours: native (한 두 세 네 다섯 ... 열두) or Sino-Korean or digits before 시, 반 = :30; 오전 / 아침
keep the morning, 오후 / 저녁 / 밤 add 12; with neither, 1-7 is afternoon. Windows: 오전 / 아침
09:00-12:00, 오후 12:00-18:00, 점심 12:00-14:00, 저녁 18:00-22:00, 저녁쯤 / 저녁 무렵 after 17:00.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time, timedelta

from robot.core.langpack import Reply, RequestedChange
from robot.core.models import Intent
from robot.core.nlu.dates_ru import calendar_day, next_weekday

_MACHINE = re.compile(
    r"음성사서함|사서함|메시지를?남겨|메세지를?남겨|음성(메시지|메세지)|삐(소리|하는소리)|신호음|"
    r"전화를?받을수없|전화를?받지않|받을수없습니다|연결이?되지않|전원이?꺼져|통화중이오니|"
    r"(ai|인공지능|통화|전화|음성|가상|스마트)비서|비서입니다|비서에요|비서예요|어시스턴트|"
    r"용건을?말씀|전달해?드리겠|고객님의?전화|지금은?부재중|자동응답"
)
_WRONG = re.compile(
    r"잘못(거셨|걸었|거신|걸린|건|연락|연결)|번호(를|가)?잘못|잘못된번호|(그|이)번호(가|는)?(아니|아닌|아닙)|"
    r"그런(사람|분|이름)(은|는|이)?(없|안계|모르)|라는(사람|분|이름)(은|는|이)?(없|안계|모르|아니)|(여기|이번호)(에|는|엔)?(그런|그분|그사람)|"
    r"(제|내)번호(가|는)?아니|번호(가)?바뀌었|(저는|전|저|나는)[가-힣]{1,4}(이|가)?아니(에요|거든|고|라|ㅂ니다|야|ㄴ데)|"
    r"(저는|전|저|나는)[가-힣]{1,4}(이|가)?아닙니다|(저는|전|저)[가-힣]{1,4}(이|가)?아닌데"
)
_NOT_ORDERED = re.compile(
    r"(주문|구매|구입|결제)(을|를|은|는)?(한|하신)?적(이|은)?없|시킨적(이)?없|산적(이)?없|"
    r"(주문|구매|구입)(을|를|은|는)?(안|하지않)(했|한)|(저는|전|저|제가)?안시켰|"
    r"(제|내)(주문|거|것)(이|가)?(아니|아닌|아닙)|제가(주문한|산|시킨|구매한)(거|것|게)(아니|아닌|아닙)|주문한적도없|모르는주문|"
    r"처음듣는(주문|얘기|이야기)|(주문|구매|구입)(한|했던)?기억(이|은)?없|(시킨|산)기억(이|은)?없"
)
_WH = re.compile(r"언제|몇시|몇일|며칠|얼마|어디|어떻게|왜|무슨|뭐|무엇|어느|어떤")
_ASK_END = re.compile(r"(나요|까요|ㄹ까요|가요|죠|니까|습니까|ㅂ니까|예요\?|에요\?|요\?|\?)$")
_TOPIC = re.compile(
    r"배송|택배|기사|배달|결제|카드|현금|계좌|이체|가격|비용|금액|얼마|요금|배송비|도착|오나요|"
    r"받을|수령|반품|교환|환불|포장|영수증|사이즈|색상|상품|물건|무료|유료"
)
# "몇 시에 오세요?": the delivery comes, unless something else does ("버스가 언제 와요").
_COMES = re.compile(r"(몇시|언제)(쯤)?(에)?(오|와|도착)")
_DELIVERY_SUBJECT = re.compile(r"기사|택배|배송|배달|물건|주문|상품|소포|제품")
_IDENTITY = re.compile(r"누구|어디세요|어디시|무슨주문|어떤주문|무슨말|어디라고|얼마라고")
_CALL = re.compile(r"(전화|연락|콜)(하|해|주|드|좀|다시|부탁)|다시걸|걸어주")
_DELIVERY = re.compile(
    r"배송|배달|보내|가져|갖다|와주|오세요|와도|도착|받을|받겠|받고|옮겨|변경|바꿔"
)
_REQUEST = re.compile(
    r"해주세요|해줘|해주실|주세요|가능|좋겠|괜찮|할게요|원해|부탁|으로요|로요|에요$"
)
_CONTRAST = re.compile(r"근데|그런데|다만|대신|하지만|그러나|단,|단 |만약|그래도|그치만|그렇지만")
_PHONE = re.compile(r"^(네|예|여보세요)*(말씀하세요|말씀하십시오|전화받았습니다)+$")

# "지금 밥 먹고 있어요": busy right now (a call later).
_BUSY_NOW = re.compile(
    r"^(지금|제가지금|저지금)[가-힣]*(고있어|고있습|는중|하는중|중이에요|중입니다)"
)
_DAY_WORDS = {"오늘": 0, "내일": 1, "모레": 2, "내일모레": 2, "글피": 3}
_WEEKDAYS = {"월": 0, "화": 1, "수": 2, "목": 3, "금": 4, "토": 5, "일": 6}
_SINO = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_NATIVE = {
    "한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9,
    "열": 10, "열한": 11, "열두": 12,
}  # fmt: skip
_NUM = r"(\d{1,2}|열한|열두|다섯|여섯|일곱|여덟|아홉|한|두|세|네|열|[일이삼사오육칠팔구십]{1,3})"
_HOUR = re.compile(
    r"(오전|오후|아침|저녁|밤|낮|새벽)?"
    + _NUM
    + r"시(반|(\d{1,2}|[일이삼사오육십]{1,3})분)?"
    # 시 only as the clock: not 시간 (hours), 시켰어요 (ordered), 시작 ...
    + r"(?=반|\d|[일이삼사오육십]{1,3}분|이후|이전|부터|까지|전|에|쯤|경|넘|지나|후|뒤|로|요|말고|"
    r"는|은|도|$|사이|정도|이상|안|~|-|에서)"
)
_MONTH_DAY = re.compile(
    r"(\d{1,2}|[일이삼사오육칠팔구십]{1,3})월(\d{1,2}|[일이삼사오육칠팔구십]{1,4})일"
)
_DAY_ONLY = re.compile(
    r"(?<![월\d])(\d{1,2}|[이삼]?십[일이삼사오육칠팔구]?|[일이삼사오육칠팔구])일(에|날|로|까지|쯤|이요|요)"
)
_AFTER_DAYS = re.compile(
    r"(\d{1,2}|[일이삼사오육칠팔구십]{1,3}|이틀|사흘|나흘|일주|한주|일주일|두주)(일)?(후|뒤|있다)"
)
_WEEKDAY = re.compile(r"(다음주|다음|이번주|담주)?([월화수목금토일])요일")
_WINDOWS = (
    (re.compile(r"저녁(쯤|무렵|때쯤)|저녁가까이|늦은오후"), (time(17), None)),
    (re.compile(r"오전|아침"), (time(9), time(12))),
    (re.compile(r"점심"), (time(12), time(14))),
    (re.compile(r"오후|낮에"), (time(12), time(18))),
    (re.compile(r"저녁|밤에"), (time(18), time(22))),
)
_ADDRESS = re.compile(
    r"주소(가|를|는|도)?(좀)?(변경|바뀌|바꿔|바꾸|바꿀|달라|다른|틀렸|잘못|옮|새로)|(다른|새)주소|이사(했|갔|해서|를)|"
    r"(회사|직장|사무실|엄마|어머니|아빠|아버지|부모님|친구|언니|누나|오빠|형|동생|할머니|할아버지|"
    r"경비실|편의점|딸|아들|남편|아내|와이프|시댁|친정)(집|네|네집|댁)?(으로|로|에)(보내|배송|배달|가져|갖다|와|부탁)|"
    r"다른(곳|데|장소)(으로|로|에)|직접(가지러|찾으러|픽업|받으러|수령)|픽업할|방문수령|"
    r"(회사|직장|사무실|학교|엄마|어머니|부모님|친구|친정|시댁|가게|매장)(집)?주소|"
    r"(경비실|관리실|편의점|택배함|무인함|보관함|이웃|옆집)(에|에다|으로|로)(맡|두|보관|보내|넣)"
)


def _sino(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if not s or any(c not in "일이삼사오육칠팔구십" for c in s):
        return None
    if "십" in s:
        head, _, tail = s.partition("십")
        tens = _SINO.get(head, 1) if head else 1
        return tens * 10 + (_SINO.get(tail, 0) if tail else 0)
    return _SINO.get(s)


def _hour_value(s: str) -> int | None:
    return _NATIVE.get(s) or _sino(s)


def _days(joined: str, today: date | None) -> tuple[list[tuple[int, date | None]], bool]:
    """(position, day) for every day named and not turned down, and whether one was."""
    found: list[tuple[int, date | None]] = []
    rejected = False

    def add(pos: int, end: int, value: date | None) -> None:
        nonlocal rejected
        tail = joined[end : end + 8]
        if re.match(
            r"(은|는|이|가)?(말고|아니고|아니라|안돼|안되|곤란|빼고|안됩|힘들|어렵|못)", tail
        ):
            rejected = True
        else:
            found.append((pos, value))

    for m in _WEEKDAY.finditer(joined):
        value = None
        if today:
            wd = _WEEKDAYS[m.group(2)]
            value = next_weekday(today, wd)
            if m.group(1) in ("다음주", "담주"):
                monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
                value = monday + timedelta(days=wd)
        add(m.start(), m.end(), value)
    for m in _MONTH_DAY.finditer(joined):
        month, day = _sino(m.group(1)), _sino(m.group(2))
        value = calendar_day(today, day, month) if today and month and day else None
        add(m.start(), m.end(), value)
    for m in _DAY_ONLY.finditer(joined):
        if any(p <= m.start() < p + 8 for p, _ in found):
            continue
        day = _sino(m.group(1))
        add(
            m.start(),
            m.end() - len(m.group(2)),
            calendar_day(today, day, None) if today and day else None,
        )
    for m in _AFTER_DAYS.finditer(joined):
        word = m.group(1)
        n = {"이틀": 2, "사흘": 3, "나흘": 4, "일주": 7, "한주": 7, "일주일": 7, "두주": 14}.get(
            word
        )
        if n is None:
            if not m.group(2):
                continue  # "3 후" is no day count; "한 시간 후" is later
            n = _sino(word)
        add(m.start(), m.end(), today + timedelta(days=n) if today and n else None)
    for word, n in sorted(_DAY_WORDS.items(), key=lambda kv: -len(kv[0])):
        for m in re.finditer(word, joined):
            if word == "내일" and joined[m.end() : m.end() + 2] == "모레":
                continue
            if any(p <= m.start() < p + 4 for p, _ in found):
                continue
            add(m.start(), m.end(), today + timedelta(days=n) if today else None)
    if re.search(r"주말", joined):
        add(
            joined.index("주말"),
            joined.index("주말") + 2,
            next_weekday(today, 5) if today else None,
        )
    if re.search(r"다음주|담주|다른날|다른요일", joined) and not _WEEKDAY.search(joined):
        found.append((joined.find("다"), None))
    found.sort()
    return found, rejected


def _clock(m: re.Match[str], floor: int | None = None) -> time | None:
    half, h_s, minute_s = m.group(1), m.group(2), m.group(3)
    h = _hour_value(h_s)
    if h is None or h > 24:
        return None
    minute = 30 if minute_s == "반" else (_sino(m.group(4)) or 0) if minute_s else 0
    if half in ("오후", "저녁", "밤") and h < 12:
        h += 12
    elif half == "낮" and h <= 6:
        h += 12
    elif half is None and 1 <= h <= 7:
        h += 12
    if floor is not None and h <= floor and half is None and h + 12 < 24:
        h += 12
    return time(h % 24, minute if minute < 60 else 0)


def _times(joined: str) -> tuple[time | None, time | None, bool]:
    after: time | None = None
    before: time | None = None
    hours = list(_HOUR.finditer(joined))
    if hours:
        first = hours[0]
        tail = joined[first.end() : first.end() + 6]
        start = _clock(first)
        if start is None:
            return None, None, False
        if len(hours) > 1 and re.match(r"(부터|에서|~|-)", tail):
            end = _clock(hours[1], start.hour)
            return start, end, True
        if re.match(r"(이후|넘어|지나|부터|후|뒤|이상|늦게)", tail):
            return start, None, True
        if re.match(r"(전|이전|까지|안에|앞)", tail):
            return None, start, True
        return start, start, True
    for rx, window in _WINDOWS:
        if rx.search(joined):
            after, before = window
            return after, before, False
    return None, None, False


# "배송 날짜 변경하고 싶어요", "배달 좀 미뤄 주세요": another day, none named.
_MOVE = re.compile(
    r"(날짜|날|시간|요일|배송일|도착일|일정|배송|배달)(을|를|은|는|좀)*(변경|바꾸|바꿔|바꿀|미루|미뤄|미룰|연기)"
)
_WHEN_SPANS = (_WEEKDAY, _MONTH_DAY, _DAY_ONLY, _AFTER_DAYS, _HOUR)
_LEFTOVER = re.compile(
    r"에|요|로|으로|은|는|이|가|도|쯤|까지|부터|이후|전|후|뒤|말고|아니고|정도|경|좀|그럼|음|아"
)


def _only_when(joined: str) -> bool:
    """Is the reply (nearly) only a day or a time ("토요일에요", "저녁 7시 이후")?"""
    rest = joined
    for rx in _WHEN_SPANS:
        rest = rx.sub("", rest)
    for word in (*_DAY_WORDS, "다음주", "주말", "오전", "오후", "아침", "저녁", "점심", "밤", "낮"):
        rest = rest.replace(word, "")
    return len(_LEFTOVER.sub("", rest)) <= 1


def understand(text: str, today: date | None, words: Callable[[str], Intent]) -> Reply:
    """``words`` is the pack's word-level classifier (yes/no/dnc/operator/later/repeat)."""
    toks = re.findall(r"[가-힣a-z0-9]+", re.sub(r"\[unk\]|<unk>", " ", text.lower()))
    if not toks:
        return Reply(Intent.UNKNOWN)
    joined = "".join(toks)
    if _MACHINE.search(joined):
        return Reply(Intent.MACHINE)
    if _PHONE.match(joined):
        return Reply(Intent.UNKNOWN)
    base = words(text)
    if base is Intent.DNC:
        return Reply(base)
    if _WRONG.search(joined):
        return Reply(Intent.WRONG_NUMBER)
    if _NOT_ORDERED.search(joined):
        return Reply(Intent.NOT_ORDERED)
    if base is Intent.OPERATOR:
        return Reply(base)
    asked = text.rstrip().endswith("?") or bool(_ASK_END.search(joined))
    wh = _WH.search(joined)
    topic = _TOPIC.search(joined)
    comes = _COMES.search(joined)
    if not topic and comes:
        prefix = joined[: comes.start()]
        topic = comes if not prefix or _DELIVERY_SUBJECT.search(prefix) else None
    if wh and topic and not _IDENTITY.search(joined):
        return Reply(Intent.QUESTION)
    if asked and re.search(r"기사|배송|택배|배달|결제", joined) and base is not Intent.NO:
        if not re.search(r"(해|와|보내|갖다|가져다)\s*주세요|부탁", joined):
            return Reply(Intent.QUESTION)  # "기사님이 미리 전화해 주나요?" asks, it is no request
    found, rejected = _days(joined, today)
    after, before, hours = _times(joined)
    address = bool(_ADDRESS.search(joined))
    moved = bool(_MOVE.search(joined))
    said = bool(found) or rejected or after is not None or before is not None or address or moved
    asked_for = (
        address
        or _DELIVERY.search(joined)
        or _REQUEST.search(joined)
        or base in (Intent.YES, Intent.NO)
        or rejected
        or moved
        or _only_when(joined)
    )
    if said and asked_for:
        calls = _CALL.search(joined) and not _DELIVERY.search(joined) and not address
        later_only = base is Intent.LATER and not _DELIVERY.search(joined) and not address
        if not calls and not (later_only and not hours and not found) and not (wh and not topic):
            day = found[-1][1] if found else None
            return Reply(Intent.CHANGE, RequestedChange(day, after, before, address, text.strip()))
    if base is Intent.LATER or _BUSY_NOW.search(joined):
        return Reply(Intent.LATER)
    if topic and asked and base in (Intent.UNKNOWN, Intent.YES, Intent.REPEAT):
        if not _IDENTITY.search(joined) or re.search(r"배송|기사|결제|카드", joined):
            return Reply(Intent.QUESTION)
    if wh and not topic and base is Intent.UNKNOWN:
        return Reply(Intent.UNKNOWN)
    if base is Intent.YES:
        m = _CONTRAST.search(" ".join(toks))
        if m:
            rest = " ".join(toks)[m.end() :].strip()
            own = words(rest) if rest else Intent.UNKNOWN
            if rest and own is not Intent.YES:
                return Reply(
                    own if own in (Intent.NO, Intent.LATER, Intent.REPEAT) else Intent.UNKNOWN
                )
        if re.match(r"^(네|예)+(잠깐|잠시만|잠시|기다려|말씀하세요)", joined):
            return Reply(Intent.UNKNOWN)
    return Reply(base)
