"""MANGO OFFICE result codes: the spec's "Список кодов результатов" table as data.

Use :func:`lookup` to explain a ``result``, ``code``, ``reason``, ``disconnect_reason`` or
``completion_code`` from the API, and :func:`message_key` for the label
(``templates/<lang>/pbx_codes.toml``) that tells a person what it means.

The spec groups the codes into classes and subclasses (``1xxx``, ``11xx``, ``111x``) and
says: "Если внешняя система не распознает код результата, она должна интерпретировать его
как код известного класса/подкласса" -- so 2219 reads as 2210 (class ``221x``) and 1090 as
1000 (class ``1xxx``). Every class code in the table is its prefix padded with zeros, so
:func:`lookup` zeroes the last one, two, then three digits until it finds a known code.

A few codes appear only in the spec's text, not in the table (:data:`OTHER_CODES`): they are
looked up before any class, so 5201 is not read as 5000 "Ошибка сервера".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class CodeKind(StrEnum):
    """What a result code means for the person who acted, derived from the spec's classes.

    The campaign codes 5101-5212 sit in the table under ``5xxx`` "Ошибка сервера" but are not
    server faults, so they get the kind of what they say (a limit, a missing item, ...); so
    do the codes of :data:`OTHER_CODES`.
    """

    SUCCESS = "success"  # 1000
    CALL_ENDED = "call_ended"  # 11xx: why a call ended (``disconnect_reason``)
    CONTACT_CENTER = "contact_center"  # 12xx: contact-centre sessions
    BILLING = "billing"  # 2xxx but the two below; 5101: account or service blocked or missing
    LIMIT = "limit"  # 221x, 222x, 225x usage limits; 5102, 5103, 5107 campaign limits; 5008
    FUNDS = "funds"  # 224x: not enough money on the account
    BAD_REQUEST = "bad_request"  # 3xxx except 33xx; 5212
    NOT_FOUND = "not_found"  # 33xx; 5105
    REJECTED = "rejected"  # 4xxx except 43xx: the PBX cannot do it now; 5106; 5202-5204
    SMS_FAILED = "sms_failed"  # 43xx
    SERVER_ERROR = "server_error"  # 5000-5007: PBX trouble, worth retrying later
    FAX_FAILED = "fax_failed"  # 6xxx
    SETTINGS = "settings"  # 5201: an option of the PBX account is off
    UNKNOWN = "unknown"  # not in the table and in no known class


_K = CodeKind

RESULT_CODES: Mapping[int, tuple[str, CodeKind]] = MappingProxyType(
    {
        1000: ("Действие успешно выполнено", _K.SUCCESS),  # class 1xxx
        1100: ("Вызов завершен в нормальном режиме", _K.CALL_ENDED),  # class 11xx
        1110: ("Вызов завершен вызывающим абонентом", _K.CALL_ENDED),  # class 111x
        1111: ("Вызов не получил ответа в течение времени ожидания", _K.CALL_ENDED),
        1120: ("Вызов завершен вызываемым абонентом", _K.CALL_ENDED),  # class 112x
        1121: ('Получен ответ "занято" от удаленной стороны', _K.CALL_ENDED),
        1122: ("Вызов отклонен вызываемым абонентом", _K.CALL_ENDED),
        1123: ('Получен сигнал "не беспокоить"', _K.CALL_ENDED),
        1124: ("Вызов завершен по причине недоступности сотрудника", _K.CALL_ENDED),
        1130: ("Ограничения для вызываемого номера", _K.CALL_ENDED),  # class 113x
        1131: ("Вызываемый номер недоступен", _K.CALL_ENDED),
        1132: ("Вызываемый номер не обслуживается", _K.CALL_ENDED),
        1133: ("Вызываемый номер не существует", _K.CALL_ENDED),
        1134: ("Превышено максимальное число переадресаций", _K.CALL_ENDED),
        1140: ("Вызовы на регион запрещены настройками ВАТС", _K.CALL_ENDED),  # class 114x
        1150: ("Ограничения для вызывающего номера", _K.CALL_ENDED),  # class 115x
        1151: ("Вызывающий номер в «черном» списке", _K.CALL_ENDED),
        1152: ("Вызывающий номер не найден в «белом» списке", _K.CALL_ENDED),
        1160: ("Вызов на группу не удался", _K.CALL_ENDED),  # class 116x
        1161: ("Удержание запрещено настройками ВАТС", _K.CALL_ENDED),
        1162: ("Очередь удержания заполнена", _K.CALL_ENDED),
        1163: ("Превышено время ожидания в очереди удержания", _K.CALL_ENDED),
        1164: ("Все операторы в данный момент недоступны", _K.CALL_ENDED),
        1170: ("Вызов завершен согласно схеме переадресации", _K.CALL_ENDED),  # class 117x
        1171: ("Неверно настроена схема переадресации", _K.CALL_ENDED),
        1180: ("Вызов завершен командой пользователя", _K.CALL_ENDED),  # class 118x
        1181: ("Вызов завершен по команде из внешней системы", _K.CALL_ENDED),
        1182: (
            ("Вызов завершен перехватом на другого оператора (только для исходящих плеч)"),
            _K.CALL_ENDED,
        ),
        1183: (
            ("Назначен новый оператор (при команде ApiConnect, обычно при переводах)"),
            _K.CALL_ENDED,
        ),
        1190: ("Вызываемый номер неактивен либо нерабочее расписание", _K.CALL_ENDED),  # class 119x
        1191: ("Вызываемый номер неактивен (снят флажок активности ЛК)", _K.CALL_ENDED),
        1192: ("Вызываемый номер неактивен по расписанию", _K.CALL_ENDED),
        1200: ("Ошибка сессий КЦ", _K.CONTACT_CENTER),  # class 12xx
        1201: ("Достигнут лимит подключений", _K.CONTACT_CENTER),
        1202: ("Данные сессии не найдены", _K.CONTACT_CENTER),
        1210: ("Сервер КЦ не может принять подключение", _K.CONTACT_CENTER),  # class 121x
        1211: ("Режим обслуживания", _K.CONTACT_CENTER),
        1212: ("Сервер отключен от БД (БРТ)", _K.CONTACT_CENTER),
        1230: (
            ("Звершение сессии КЦ по независимым от пользователя причинам"),
            _K.CONTACT_CENTER,
        ),  # class 123x
        1231: ("Перезагрузка сервера КЦ", _K.CONTACT_CENTER),
        1232: ("Сессия завершена администратором", _K.CONTACT_CENTER),
        1233: ("Сессия завершена администратором, рекомендовано восстановление", _K.CONTACT_CENTER),
        1234: (
            ("Сессия завершена администратором, рекомендовано оставаться в оффлайн"),
            _K.CONTACT_CENTER,
        ),
        1235: ("Сервер отключился от БД (переход в БРТ)", _K.CONTACT_CENTER),
        1236: (
            ("Изменены критичные данные сессии (логин, пароль, номер телефона, и т.д.)"),
            _K.CONTACT_CENTER,
        ),
        2000: ("Ограничение биллинговой системы", _K.BILLING),  # class 2xxx
        2100: ("Доступ к счету невозможен", _K.BILLING),  # class 21xx
        2110: ("Счет заблокирован", _K.BILLING),  # class 211x
        2120: ("Счет закрыт", _K.BILLING),  # class 212x
        2130: ("Счет не обслуживается (frozen)", _K.BILLING),  # class 213x
        2140: ("Счет недействителен", _K.BILLING),  # class 214x
        2200: ("Доступ к счету ограничен", _K.BILLING),  # class 22xx
        2210: ("Доступ ограничен периодом использования", _K.LIMIT),  # class 221x
        2211: ("Достигнут дневной лимит использования услуги", _K.LIMIT),
        2212: ("Достигнут месячный лимит использования услуги", _K.LIMIT),
        2220: ("Количество одновременных вызовов/действий ограничено", _K.LIMIT),  # class 222x
        2230: ("Услуга недоступна", _K.BILLING),  # class 223x
        2240: ("Недостаточно средств на счете", _K.FUNDS),  # class 224x
        2250: ("Ограничение на количество использований услуги в биллинге", _K.LIMIT),  # class 225x
        2300: ("Направление заблокировано", _K.BILLING),  # class 23xx
        2400: ("Ошибка биллинга", _K.BILLING),  # class 24xx
        3000: ("Неверный запрос", _K.BAD_REQUEST),  # class 3xxx
        3100: ("Переданы неверные параметры команды", _K.BAD_REQUEST),  # class 31xx
        3101: ("Запрос выполнен по методу, отличному от POST", _K.BAD_REQUEST),
        3102: ("Значение ключа не соответствуют рассчитанному", _K.BAD_REQUEST),
        3103: ("В запросе отсутствует обязательный параметр", _K.BAD_REQUEST),
        3104: ("Параметр передан в неправильном формате", _K.BAD_REQUEST),
        3105: ("Неверный ключ доступа", _K.BAD_REQUEST),
        3200: ("Неверно указан номер абонента", _K.BAD_REQUEST),  # class 32xx
        3300: ("Объект не существует", _K.NOT_FOUND),  # class 33xx
        3310: ("Вызов не найден", _K.NOT_FOUND),  # class 331x
        3320: ("Запись разговора не найдена", _K.NOT_FOUND),  # class 332x
        3330: ("Номер не найден у ВАТС или сотрудника", _K.NOT_FOUND),  # class 333x
        3340: ("Файл не найден", _K.NOT_FOUND),  # class 334x
        4000: ("Действие не может быть выполнено", _K.REJECTED),  # class 4xxx
        4001: ("Команда не поддерживается", _K.REJECTED),
        4002: (
            (
                "Продолжительность записи меньше минимально возможной в ВАТС, запись не "
                "будет сохранена"
            ),
            _K.REJECTED,
        ),
        4100: ("Выполнить команду по логике работы ВАТС невозможно", _K.REJECTED),  # class 41xx
        4101: ("Вызов завершен либо не существует", _K.REJECTED),
        4102: ("Запись разговора уже осуществляется", _K.REJECTED),
        4200: ("Связаться с абонентом в данный момент невозможно", _K.REJECTED),  # class 42xx
        4300: ("SMS сообщение отправить не удалось", _K.SMS_FAILED),  # class 43xx
        4301: ("SMS сообщение устарело", _K.SMS_FAILED),
        4391: ("SMS сообщение утеряно (статус возвращает внешний оператор)", _K.SMS_FAILED),
        4392: ("SMS сообщение отклонено (статус возвращает внешний оператор)", _K.SMS_FAILED),
        4393: ("SMS сообщение отменено (статус возвращает внешний оператор)", _K.SMS_FAILED),
        4400: ("Невозможно добавить участника в конференцию", _K.REJECTED),  # class 44xx
        4401: ("Аппаратная ошибка", _K.REJECTED),
        4402: ("Сервис не доступен", _K.REJECTED),
        4403: ("Недостаточно ресурсов", _K.REJECTED),
        4404: ("Превышено ограничение на количество участников конференции", _K.REJECTED),
        4405: ("Подключение запрещено настройками комнаты конференций", _K.REJECTED),
        4500: ("Ограничения системы безопасности", _K.REJECTED),  # class 45xx
        4501: ("Установлено ограничение частоты звонков", _K.REJECTED),
        4502: ("Вызывающий номер в черном списке входящих номеров", _K.REJECTED),
        4503: ("Превышен максимальный размер файла", _K.REJECTED),
        4504: ("Не удалось определить размер файла", _K.REJECTED),
        4505: ("Формат файла не соответствует разрешенному", _K.REJECTED),
        5000: ("Ошибка сервера", _K.SERVER_ERROR),  # class 5xxx
        5001: (
            (
                "Перезапуск коммутатора, выполняется при срабатывании какого-либо "
                "ограничения канала или уровня на коммутаторе."
            ),
            _K.SERVER_ERROR,
        ),
        5002: ("Перезапуск коммутатора по команде администратора / разработчика", _K.SERVER_ERROR),
        5003: ("Технические проблемы, внутренняя ошибка на коммутаторе", _K.SERVER_ERROR),
        5004: (
            (
                "Проблемы доступа к базе данных коммутатора: не удалось подключиться к "
                "базе данных или в результате обработки запроса на манипуляцию с "
                "данными (чтение/вставка/удаление/ и так далее) в базе данных выдано "
                "сообщение об ошибке."
            ),
            _K.SERVER_ERROR,
        ),
        5007: (
            (
                "Во сторонней системе, связанной с коммутатором, выдано сообщение о "
                "внутренней ошибке. Сторонняя система не доступна коммутатору."
            ),
            _K.SERVER_ERROR,
        ),
        5101: ("Нет продукта ЦОВ/ Контакт центр", _K.BILLING),
        5102: ("Превышен лимит активных кампаний", _K.LIMIT),
        5103: ("Превышен лимит кампаний", _K.LIMIT),
        5105: (
            'Указанный при создании кампании "abonent_id" в поле "created by" не существует',
            _K.NOT_FOUND,
        ),
        5106: ("Не удалось вставить задания из-за неподходящего статуса кампании", _K.REJECTED),
        5107: ("Количество заданий для кампании превышает допустимое значение (10 000)", _K.LIMIT),
        5212: ("Нет активных номеров. Укажите хотя бы один номер", _K.BAD_REQUEST),
        6000: ("Доставка факса не выполнялась", _K.FAX_FAILED),  # class 6xxx (printed "бxxx")
        6010: ("Технические проблемы сервиса факс-рассылок", _K.FAX_FAILED),  # class 601x
        6011: ("Указанный в задании на рассылку номер недоступен в течение часа", _K.FAX_FAILED),
        6012: ("Указанный в задании на рассылку номер не существует", _K.FAX_FAILED),
        6013: ("На указанном номере не установлен факс-аппарат", _K.FAX_FAILED),
        6014: ("Адресат отказался принимать факс", _K.FAX_FAILED),
        6100: ("Ошибка при преобразовании факса", _K.FAX_FAILED),  # class 61xx
        6101: ("Превышен допустимый размер исходного файла (10 мегабайт)", _K.FAX_FAILED),
        6102: ("Превышено допустимое число страниц (30)", _K.FAX_FAILED),
    }
)
"""Every row of the spec's table: code -> (the spec's Russian description, kind)."""

OTHER_CODES: Mapping[int, tuple[str, CodeKind]] = MappingProxyType(
    {
        # 1.4.2 (and 4.1: "услуга не доступна"): the contact-centre API's request limit.
        5008: ("Услуга не доступна: превышен лимит запросов к API КЦ либо он недоступен", _K.LIMIT),
        # 2.3 and 3.6.5: the account's API connector is not switched on.
        5201: (
            'Опция "Разрешаю подключать услуги ВАТС средствами API конструктора" не активирована',
            _K.SETTINGS,
        ),
        5202: ("Группа/сотрудник задействованы в схеме переадресации", _K.REJECTED),
        5203: ("Группа/сотрудник задействованы в переадресации по номеру клиента", _K.REJECTED),
        5204: ("Группа/сотрудник задействованы в виджете обратных звонков", _K.REJECTED),
    }
)
"""Codes the spec names outside its table: code -> (its Russian wording, kind)."""

_UNKNOWN_CODE = 0
_MESSAGE_PREFIX = "pbx_codes.mango."


@dataclass(frozen=True)
class ResultCode:
    """One code explained: the table row it matched, exactly or through its class.

    ``code`` is 0, ``description_ru`` empty and ``kind`` UNKNOWN when nothing matched;
    ``requested`` is 0 when the input was not a number.
    """

    code: int
    requested: int
    description_ru: str
    kind: CodeKind

    @property
    def is_success(self) -> bool:
        """True only for 1000; a normal call end (11xx) is ``CodeKind.CALL_ENDED``."""
        return self.kind is CodeKind.SUCCESS

    @property
    def exact(self) -> bool:
        """False when the code was unknown and its class (or nothing) was used instead."""
        return self.code == self.requested and self.kind is not CodeKind.UNKNOWN


def lookup(code: int | str) -> ResultCode:
    """The table row for ``code`` (an int or a numeric string), else its class, else UNKNOWN."""
    requested = _as_int(code)
    if requested is not None and requested in OTHER_CODES:
        description, kind = OTHER_CODES[requested]
        return ResultCode(requested, requested, description, kind)
    if requested is not None and 1000 <= requested <= 9999:
        for step in (1, 10, 100, 1000):
            found = requested // step * step
            row = RESULT_CODES.get(found)
            if row is not None:
                return ResultCode(found, requested, row[0], row[1])
    return ResultCode(_UNKNOWN_CODE, requested or 0, "", CodeKind.UNKNOWN)


def message_key(code: int | str) -> str:
    """The ``Texts.label`` key of the sentence explaining ``code`` to a person."""
    found = lookup(code)
    if found.kind is CodeKind.UNKNOWN:
        return _MESSAGE_PREFIX + "unknown"
    return f"{_MESSAGE_PREFIX}{found.code}"


def _as_int(code: object) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    text = str(code).strip()
    return int(text) if text.isascii() and text.isdigit() else None
