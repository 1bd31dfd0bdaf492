"""Who is calling: the client's name, organisation and personal manager.

Sources, first match wins: the PBX's address book (MANGO), the name the PBX sends with
the call (MTS), the company's phonebook. Use :meth:`CallerIdentity.known` while a card is
being drawn (no PBX request: cached answers only), then :meth:`CallerIdentity.look_up`
in the background where :meth:`known` says the address book must still be asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain import CallerId, CallerSource, Contact
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.services.employee_names import DirectoryCache
from bot.services.phonebook import Phonebook
from bot.storage import Keys

log = logging.getLogger(__name__)

FOUND_TTL = 3600  # seconds an address-book answer is kept
NOT_FOUND_TTL = 900  # "nobody by that number": asked again after this
FAILED_TTL = 60  # the PBX could not answer: not asked again for a minute
LOOKUP_TIMEOUT = 5.0  # seconds a look-up may take before the card stays as it is
NOBODY = ""  # cached answer of a look-up that found no one


@dataclass(frozen=True)
class Known:
    """What is known without asking the PBX, and whether its address book must be asked."""

    caller: CallerId | None
    ask_address_book: bool


class CallerIdentity:
    """Look callers up, within the PBX's limits, with answers cached in Redis."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        providers: Providers,
        phonebook: Phonebook,
        directory: DirectoryCache,
        *,
        timeout: float = LOOKUP_TIMEOUT,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._providers = providers
        self._phonebook = phonebook
        self._directory = directory
        self.timeout = timeout

    async def known(self, account: str, number: str, pbx_name: str | None = None) -> Known:
        # One round trip: the address book's cached answer and the phonebook's entry.
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_known(pipe, account, number)
            answers = await pipe.execute()
        return self.known_from(account, pbx_name, answers)

    def queue_known(self, pipe: Pipeline, account: str, number: str) -> None:
        """Add :meth:`known`'s reads to ``pipe`` (another's, say); give their answers to
        :meth:`known_from`."""
        pipe.get(self._keys.caller_identity(account, number))
        self._phonebook.queue_find(pipe, number)

    def known_from(self, account: str, pbx_name: str | None, answers: Sequence[Any]) -> Known:
        """What :meth:`known` says, from what :meth:`queue_known`'s reads answered."""
        cached, listed = answers
        provider = self._providers.get(account)
        asks = provider is not None and provider.supports(Capability.ADDRESS_BOOK)
        if asks and cached:
            try:
                return Known(CallerId.model_validate_json(cached), False)
            except ValidationError:
                cached = None
        return Known(self._from(pbx_name, Phonebook.parse(listed)), asks and cached is None)

    async def look_up(self, account: str, number: str) -> CallerId | None:
        """Ask the PBX's address book (at most :attr:`timeout` seconds) and remember the
        answer; None when it knows nobody by that number or cannot answer."""
        key = self._keys.caller_identity(account, number)
        provider = self._providers.get(account)
        if provider is None:
            return None
        try:
            async with asyncio.timeout(self.timeout):
                contact = await provider.find_contact(number)
        except (PbxError, TimeoutError) as exc:
            log.info("address book of %s did not answer: %s", account, type(exc).__name__)
            await self._redis.set(key, NOBODY, ex=FAILED_TTL, nx=True)
            return None
        if contact is None:
            await self._redis.set(key, NOBODY, ex=NOT_FOUND_TTL)
            return None
        caller = await self._caller(account, contact)
        await self._redis.set(key, caller.model_dump_json(), ex=FOUND_TTL)
        return caller

    @staticmethod
    def _from(pbx_name: str | None, contact: Contact | None) -> CallerId | None:
        """The PBX's name for the caller first, else the phonebook's entry."""
        if pbx_name:
            return CallerId(name=pbx_name, source=CallerSource.PBX)
        if contact is None:
            return None
        return CallerId(
            name=contact.name, organisation=contact.organisation, source=CallerSource.PHONEBOOK
        )

    async def _caller(self, account: str, contact: Contact) -> CallerId:
        """An address-book contact as cards show it, its personal employee by extension."""
        manager = None
        if contact.manager_user_id:
            users = await self._directory.user_extensions(account)
            manager = users.get(contact.manager_user_id)
        return CallerId(
            name=contact.name,
            organisation=contact.organisation,
            manager=manager,
            source=CallerSource.ADDRESS_BOOK,
        )
