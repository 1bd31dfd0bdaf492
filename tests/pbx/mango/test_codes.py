"""The MANGO OFFICE result-code table, its class fallback and its ru/en sentences."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.domain import Language
from bot.pbx.mango.codes import (
    OTHER_CODES,
    RESULT_CODES,
    CodeKind,
    ResultCode,
    lookup,
    message_key,
)
from bot.texts import TEMPLATES_DIR, Texts


@pytest.mark.parametrize(
    ("code", "description", "kind"),
    [
        (1000, "Действие успешно выполнено", CodeKind.SUCCESS),
        (1110, "Вызов завершен вызывающим абонентом", CodeKind.CALL_ENDED),
        (1121, 'Получен ответ "занято" от удаленной стороны', CodeKind.CALL_ENDED),
        (1201, "Достигнут лимит подключений", CodeKind.CONTACT_CENTER),
        (2110, "Счет заблокирован", CodeKind.BILLING),
        (2211, "Достигнут дневной лимит использования услуги", CodeKind.LIMIT),
        (2240, "Недостаточно средств на счете", CodeKind.FUNDS),
        (3104, "Параметр передан в неправильном формате", CodeKind.BAD_REQUEST),
        (3320, "Запись разговора не найдена", CodeKind.NOT_FOUND),
        (4101, "Вызов завершен либо не существует", CodeKind.REJECTED),
        (4392, "SMS сообщение отклонено (статус возвращает внешний оператор)", CodeKind.SMS_FAILED),
        (5003, "Технические проблемы, внутренняя ошибка на коммутаторе", CodeKind.SERVER_ERROR),
        (5102, "Превышен лимит активных кампаний", CodeKind.LIMIT),
        (6102, "Превышено допустимое число страниц (30)", CodeKind.FAX_FAILED),
    ],
)
def test_known_codes_match_the_spec(code: int, description: str, kind: CodeKind) -> None:
    assert RESULT_CODES[code] == (description, kind)
    assert lookup(code) == ResultCode(code, code, description, kind)
    assert lookup(code).exact
    assert message_key(code) == f"pbx_codes.mango.{code}"


def test_the_table_has_every_row() -> None:
    assert len(RESULT_CODES) == 120
    assert min(RESULT_CODES) == 1000
    assert max(RESULT_CODES) == 6102


def test_only_1000_is_success() -> None:
    assert lookup(1000).is_success
    assert [code for code in RESULT_CODES if lookup(code).is_success] == [1000]


@pytest.mark.parametrize(
    ("requested", "found"),
    [
        (2219, 2210),  # the spec's own example: class 221x
        (1090, 1000),  # the spec's own example: class 1xxx
        (1125, 1120),
        (4399, 4300),
        (5212, 5212),
        (5213, 5000),
        (6019, 6010),
        (6020, 6000),
    ],
)
def test_unknown_codes_fall_back_to_their_class(requested: int, found: int) -> None:
    result = lookup(requested)
    assert (result.code, result.requested) == (found, requested)
    assert result.description_ru == RESULT_CODES[found][0]
    assert result.kind is RESULT_CODES[found][1]
    assert result.exact is (requested == found)
    assert message_key(requested) == f"pbx_codes.mango.{found}"


def test_the_fallback_keeps_the_class_kind() -> None:
    result = lookup(2219)
    assert result.description_ru == "Доступ ограничен периодом использования"
    assert result.kind is CodeKind.LIMIT
    assert not result.is_success
    assert lookup(1090).is_success


@pytest.mark.parametrize("code", [7000, 9999, 999, 10000, 0, -1000, "", "abc", "12.5", "-1000"])
def test_codes_outside_every_class_are_unknown(code: int | str) -> None:
    result = lookup(code)
    assert result.kind is CodeKind.UNKNOWN
    assert result.code == 0
    assert result.description_ru == ""
    assert not result.exact
    assert not result.is_success
    assert message_key(code) == "pbx_codes.mango.unknown"


def test_unknown_keeps_the_requested_number() -> None:
    assert lookup(7000).requested == 7000
    assert lookup("abc").requested == 0


def test_string_codes_work_like_ints() -> None:
    assert lookup("2240") == lookup(2240)
    assert lookup(" 1121 ") == lookup(1121)
    assert lookup("2219") == ResultCode(
        2210, 2219, "Доступ ограничен периодом использования", CodeKind.LIMIT
    )
    assert message_key("2240") == "pbx_codes.mango.2240"
    assert message_key("1090") == "pbx_codes.mango.1000"


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


@pytest.mark.parametrize("language", list(Language))
def test_every_code_has_a_sentence(texts: Texts, language: Language) -> None:
    codes: list[int | str] = [*RESULT_CODES, 1090, "abc"]
    for code in codes:
        sentence = texts.label(language, message_key(code))
        assert sentence.strip(), (language, code)
        assert sentence.endswith("."), (language, code)
        assert "{" not in sentence
        assert "<" not in sentence


def test_both_languages_have_the_same_keys() -> None:
    ru, en = (_load(TEMPLATES_DIR / lang / "pbx_codes.toml") for lang in ("ru", "en"))
    assert ru.keys() == en.keys() == {"mango"}
    expected = {str(code) for code in (*RESULT_CODES, *OTHER_CODES)} | {"unknown"}
    assert set(ru["mango"]) == set(en["mango"]) == expected


def _load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_the_sentences_are_in_their_language(texts: Texts) -> None:
    assert texts.label(Language.RU, "pbx_codes.mango.2240") == "Недостаточно средств на счёте АТС."
    assert (
        texts.label(Language.EN, "pbx_codes.mango.2240") == "Not enough funds on the PBX account."
    )
    assert texts.label(Language.EN, "pbx_codes.mango.1121") == "The number is busy."
