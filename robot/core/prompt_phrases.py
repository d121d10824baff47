"""The words of every recorded phrase, per language: the recording script of ``audio/``.

Data only; ``robot.core.prompts`` plans prompts from these keys (``<lang>/phrase/<key>``) and
``scripts/build_audio.py`` records them.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "ru": {
        "hello": "Здравствуйте",
        "recording_notice": "Разговор записывается.",
        "this_is_shop": "Это магазин",
        "calling_to_confirm": "Звоню подтвердить заказ номер",
        "calling_to_confirm_order": "Звоню подтвердить заказ",
        "order_number": "заказ номер",
        "order": "заказ",
        "for_amount": "на сумму",
        "delivery": "доставка",
        "items": "В заказе",
        "question": "Вы подтверждаете заказ?",
        "say_yes_no": "Скажите да или нет, или нажмите один или два.",
        "confirm_order_number": "Подтверждаете заказ номер",
        "confirm_order": "Подтверждаете заказ",
        "please_say_yes_no": "Пожалуйста, скажите да или нет, или нажмите один или два.",
        "reprompt_2": "Если заказ верный, скажите да или нажмите один. "
        "Если хотите отменить заказ, скажите нет или нажмите два.",
        "repeating": "Повторяю",
        "goodbye_confirmed": "Спасибо, заказ подтверждён. Хорошего дня, до свидания!",
        "goodbye_rejected": "Хорошо, заказ будет отменён. Спасибо, до свидания!",
        "goodbye_unclear": "К сожалению, не удалось получить ответ. "
        "С вами свяжется менеджер магазина. До свидания!",
        "goodbye_dnc": "Хорошо, больше не будем вам звонить. "
        "Извините за беспокойство, до свидания!",
        "transfer": "Соединяю с оператором. Пожалуйста, оставайтесь на линии.",
        "goodbye_later": "Хорошо, мы перезвоним позже. До свидания!",
        # Replies beyond yes and no (issue 9): a change read back, answers, other endings.
        "deliver_order": "Доставить заказ",
        "time_after": "после",
        "time_before": "до",
        "time_from": "с",
        "hours_1": "часа",
        "hours_5": "часов",
        "yes_or_no": "Скажите да или нет.",
        "goodbye_changed": "Хорошо, передам вашу просьбу магазину, он подтвердит новую доставку. "
        "Спасибо, до свидания!",
        "change_handover": "Поняла, передам вашу просьбу магазину, с вами свяжутся. "
        "Спасибо, до свидания!",
        "change_transfer": "Поняла. Соединяю с оператором, он запишет изменения. "
        "Пожалуйста, оставайтесь на линии.",
        "sorry_misunderstood": "Простите, я вас неправильно поняла.",
        "delivery_is": "Доставка",
        "delivery_unknown": "Дату доставки магазин сообщит отдельно.",
        "amount_is": "Сумма заказа",
        "shop_is": "Звонит магазин",
        "ask_operator": "На этот вопрос ответит оператор. Чтобы соединиться, скажите оператор "
        "или нажмите ноль.",
        "ask_shop": "На этот вопрос ответит магазин, когда заказ будет подтверждён.",
        "goodbye_wrong_number": "Извините за беспокойство. До свидания!",
        "goodbye_not_ordered": "Спасибо, что сообщили, мы передадим это магазину. До свидания!",
        "machine_hello": "Здравствуйте! Это магазин",
        "machine_about_order": "по заказу номер",
        "machine_call_back": "Мы перезвоним позже. До свидания!",
        # Informing purposes (robot.core.purposes): the message was heard.
        "goodbye_informed": "Спасибо, что выслушали. Хорошего дня, до свидания!",
    },
    "ko": {
        "hello": "안녕하세요",
        "recording_notice": "통화 내용이 녹음됩니다.",
        "customer": "고객님",
        "calling_from": "에서 전화드렸습니다",
        "order_number": "주문 번호",
        "amount": "금액",
        "delivery": "배송은",
        "is": "입니다",
        "items": "주문 상품은",
        "question": "주문 내용이 맞으신가요?",
        "say_yes_no": "네 또는 아니요로 말씀해 주시거나, 일 번 또는 이 번을 눌러 주세요.",
        "confirm_question": "이 주문을 확정할까요?",
        "please_say_yes_no": "네 또는 아니요로 답해 주세요.",
        "reprompt_2": "주문이 맞으면 네, 또는 일 번을 눌러 주세요. "
        "취소하시려면 아니요, 또는 이 번을 눌러 주세요.",
        "repeating": "다시 말씀드리겠습니다",
        "goodbye_confirmed": "감사합니다. 주문이 확인되었습니다. 좋은 하루 보내세요.",
        "goodbye_rejected": "알겠습니다. 주문을 취소하겠습니다. 감사합니다.",
        "goodbye_unclear": "답변을 확인하지 못했습니다. "
        "담당자가 다시 연락드리겠습니다. 감사합니다.",
        "goodbye_dnc": "알겠습니다. 앞으로 전화드리지 않겠습니다. 불편을 드려 죄송합니다.",
        "transfer": "상담원에게 연결해 드리겠습니다. 잠시만 기다려 주세요.",
        "goodbye_later": "알겠습니다. 나중에 다시 전화드리겠습니다. 감사합니다.",
        # Replies beyond yes and no (issue 9): a change read back, answers, other endings.
        "change_delivery": "배송을",
        "time_after": "이후로",
        "time_before": "이전으로",
        "time_from": "부터",
        "time_until": "까지로",
        "change_question": "변경할까요?",
        "goodbye_changed": "알겠습니다. 요청하신 배송 변경을 가게에 전달하겠습니다. 감사합니다.",
        "change_handover": "알겠습니다. 요청 내용을 가게에 전달하겠습니다. "
        "담당자가 연락드리겠습니다. 감사합니다.",
        "change_transfer": "알겠습니다. 변경 내용은 상담원이 도와드리겠습니다. "
        "잠시만 기다려 주세요.",
        "sorry_misunderstood": "죄송합니다. 제가 잘못 이해했습니다.",
        "delivery_unknown": "배송 날짜는 가게에서 따로 알려 드립니다.",
        "amount_is": "금액은",
        "ask_operator": "그 질문은 상담원이 답변해 드립니다. "
        "상담원이라고 말씀하시거나 영 번을 눌러 주세요.",
        "ask_shop": "그 질문은 주문이 확인된 뒤 가게에서 답변해 드리겠습니다.",
        "goodbye_wrong_number": "잘못 걸었습니다. 불편을 드려 죄송합니다. 안녕히 계세요.",
        "goodbye_not_ordered": "알려 주셔서 감사합니다. 가게에 전달하겠습니다. 안녕히 계세요.",
        "from_shop": "에서",
        "machine_call_back": "건으로 전화드렸습니다. 다시 전화드리겠습니다.",
        # Informing purposes (robot.core.purposes): the message was heard.
        "goodbye_informed": "들어 주셔서 감사합니다. 좋은 하루 보내세요.",
    },
}
