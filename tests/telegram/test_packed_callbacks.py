from __future__ import annotations

from bot.telegram.callbacks import (
    CardAct,
    CardCallback,
    MissedAction,
    MissedCallback,
    packed,
)


def test_packed_data_is_what_the_callback_packs_and_is_worked_out_once() -> None:
    packed.cache_clear()
    first = packed(MissedCallback, action=MissedAction.CALL, ref="a1b2")
    again = packed(MissedCallback, action=MissedAction.CALL, ref="a1b2")
    assert first == again == MissedCallback(action=MissedAction.CALL, ref="a1b2").pack()
    assert packed.cache_info().hits == 1


def test_packed_data_tells_kinds_and_values_apart() -> None:
    call = packed(MissedCallback, action=MissedAction.CALL, ref="a1b2")
    take = packed(MissedCallback, action=MissedAction.TAKE, ref="a1b2")
    card = packed(CardCallback, act=CardAct.HANGUP, ext="201")
    assert len({call, take, card}) == 3
    assert MissedCallback.unpack(take) == MissedCallback(action=MissedAction.TAKE, ref="a1b2")
    assert CardCallback.unpack(card) == CardCallback(act=CardAct.HANGUP, ext="201")
