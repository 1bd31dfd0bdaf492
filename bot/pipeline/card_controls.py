"""What a card offers and says about actions on its call: the buttons of a live or ringing
call, and the line telling how the latest action went. :class:`~bot.pipeline.notify.Notifier`
draws cards with them; :mod:`handlers.call_control` answers the buttons.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.formatting import reason
from bot.pbx.base import Capability, Provider
from bot.phones import display
from bot.pipeline.caller_view import NameOf
from bot.pipeline.sessions import ActionKind, ActionState, CallSession
from bot.telegram.callbacks import CardAct, CardCallback, packed
from bot.telegram.outbox import Button
from bot.texts import Translator

Rows = tuple[tuple[Button, ...], ...]
PASSING = frozenset({ActionKind.TRANSFER, ActionKind.CONSULT, ActionKind.ROUTE})


def control_rows(
    t: Translator, session: CallSession, extension: str, state: str, provider: Provider | None
) -> Rows:
    """The buttons of ``extension``'s card in ``state``, as far as the PBX offers them."""
    if provider is None or session.finished:
        return ()

    def button(label: str, act: CardAct) -> Button:
        return Button(
            text=t.label(f"control.buttons.{label}"),
            callback_data=packed(CardCallback, act=act, ext=extension),
        )

    if state == "ringing" and provider.supports(Capability.ROUTE):
        return ((button("to_mobile", CardAct.MOBILE), button("to_colleague", CardAct.COLLEAGUE)),)
    if state not in ("talking", "on_hold"):
        return ()
    first: list[Button] = []
    if provider.supports(Capability.TRANSFER):
        first.append(button("transfer", CardAct.TRANSFER))
    action = session.actions.get(extension)
    recording = action is not None and action.kind is ActionKind.RECORD
    if provider.supports(Capability.RECORD) and not (
        recording and action is not None and action.state is not ActionState.FAILED
    ):
        first.append(button("record", CardAct.RECORD))
    rows: list[tuple[Button, ...]] = [tuple(first)] if first else []
    if provider.supports(Capability.HANGUP):
        rows.append((button("hangup", CardAct.HANGUP),))
    return tuple(rows)


async def action_line(
    t: Translator,
    session: CallSession,
    extension: str,
    names: NameOf,
    people: Callable[[int], Awaitable[str | None]],
) -> str | None:
    """How the latest action on ``extension``'s side went, in one line; None: none yet.

    ``names`` names extensions; ``people`` names a presser by Telegram id, shown when
    it was not the card's own employee (a manager acting for them)."""
    action = session.actions.get(extension)
    if action is None:
        return await _passed_on_by(t, session, extension, names)
    target = action.target
    if target.startswith("+"):
        target = display(target)
    elif target:
        target = await names(target) or target
    why = reason(t, action.reason or "") if action.state is ActionState.FAILED else None
    line = t.label(f"control.{action.kind.value}.{action.state.value}", target=target, reason=why)
    owner = session.cards.get(extension)
    if owner is not None and owner != action.by:
        name = await people(action.by)
        if name:
            line += t.label("control.by.someone", name=name)
    return line


async def _passed_on_by(
    t: Translator, session: CallSession, extension: str, names: NameOf
) -> str | None:
    """ "Passed on by Anna" on the card of the colleague a call was transferred or sent to."""
    for other, action in session.actions.items():
        passing = action.kind in PASSING and action.state is not ActionState.FAILED
        if passing and other != extension and action.target == extension:
            return t.label("control.passed_on_by", name=await names(other) or other)
    return None
