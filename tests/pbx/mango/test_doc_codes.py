"""Result codes the MANGO spec names outside its code table: each has its own sentence,
none reads as 5000 "Ошибка сервера" (line numbers are those of mango-office-api.txt)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.domain import Language
from bot.pbx.base import PbxRejected, ProviderDeps
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.codes import OTHER_CODES, RESULT_CODES, CodeKind, lookup, message_key
from bot.pbx.mango.provider import MangoProvider
from bot.ratelimit import SharedRateLimiter
from bot.texts import Texts
from sandbox.mango import Employee, MangoLimits, MangoSimulator

KEY, SALT = "test-api-key", "test-api-salt"
SERVER_ERROR = 5000

# code -> (the doc's wording, kind, a word of the English sentence, one of the Russian)
CASES = {
    # Lines 220-236 (1.4.2: the contact-centre API over its limit answers {"result": 5008})
    # and 7485 (4.1: "ошибку 5008 - услуга не доступна").
    5008: ("лимит запросов к API КЦ", CodeKind.LIMIT, "too many requests", "лимит запросов"),
    # Lines 352-361 (2.3: "Интеграции → API коннектор" not switched on: {result: 5201}) and
    # 3084 ('Опция "Разрешаю подключать услуги ВАТС средствами API конструктора" не
    # активирована').
    5201: ("не активирована", CodeKind.SETTINGS, "API connector", "API коннектор"),
    # Lines 3085-3087 (3.6.5, deleting a group).
    5202: ("в схеме переадресации", CodeKind.REJECTED, "forwarding scheme", "схеме"),
    5203: (
        "в переадресации по номеру клиента",
        CodeKind.REJECTED,
        "client's number",
        "номеру клиента",
    ),
    5204: ("в виджете обратных звонков", CodeKind.REJECTED, "callback widget", "виджете"),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_code_is_its_own_not_a_server_error(code: int) -> None:
    """Lines 232, 360, 3084-3087: the codes the table's 5xxx rows (lines 7955-7967) do not list;
    before, they fell back to their class 5000 "Ошибка сервера"."""
    wording, kind, _, _ = CASES[code]
    assert code not in RESULT_CODES
    found = lookup(code)
    assert (found.code, found.requested, found.kind) == (code, code, kind)
    assert found.exact
    assert wording in found.description_ru
    assert message_key(code) == f"pbx_codes.mango.{code}"
    assert message_key(str(code)) == f"pbx_codes.mango.{code}"


def test_the_codes_outside_the_table_are_these() -> None:
    """Lines 232, 360, 3084-3087 name exactly these codes outside the table."""
    assert set(OTHER_CODES) == set(CASES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_code_has_a_sentence_in_both_languages(code: int) -> None:
    """Each code's sentence (ru and en) is its own, not the 5000 one."""
    texts = Texts()
    _, _, english, russian = CASES[code]
    for language, word in ((Language.EN, english), (Language.RU, russian)):
        sentence = texts.label(language, message_key(code))
        assert word in sentence, (language, sentence)
        assert sentence.endswith(".")
        assert sentence != texts.label(language, message_key(SERVER_ERROR))


@pytest_asyncio.fixture
async def provider(redis: Redis) -> AsyncIterator[tuple[MangoSimulator, MangoProvider]]:
    async with MangoSimulator(KEY, SALT, limits=MangoLimits.disabled()) as sim:
        sim.auto_play = False
        sim.add_employee(Employee(extension="101", name="Anna", phones=["79991112233"]))
        account = MangoAccount(
            id="main", provider="mango", api_key=KEY, api_salt=SALT, api_url=sim.base_url
        )
        async with httpx.AsyncClient() as http:
            deps = ProviderDeps(http=http, limiter=SharedRateLimiter(redis))
            yield sim, MangoProvider(account, deps, retry_delays=())


@pytest.mark.parametrize("http_status", [None, 420])
@pytest.mark.parametrize("code", sorted(CASES))
async def test_a_refusal_with_the_code_carries_its_sentence(
    provider: tuple[MangoSimulator, MangoProvider], code: int, http_status: int | None
) -> None:
    """Line 232 and 360 show the codes as {"result": N}; section 2.1.1 as HTTP 420
    {"code": N}: either way the refusal names the code's own sentence."""
    sim, mango = provider
    sim.fail_next("commands/callback", code=code, http_status=http_status)
    with pytest.raises(PbxRejected) as caught:
        await mango.callback("101", "74955404444")
    assert caught.value.vendor_code == code
    assert caught.value.message_key == f"pbx_codes.mango.{code}"
