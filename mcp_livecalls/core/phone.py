"""Phone numbers in one vocabulary: E.164 (``+919262171438``) for every provider.

Providers write numbers differently: Vobiz (like Plivo) writes E.164 digits without the ``+``
(``919262171438``), Exotel v3, Zudu, Retell and Twilio write E.164 with it, Exotel v1 documents
national forms (``09262171438``). ``NumberStyle`` turns any of them into E.164, given the region
that national and ambiguous forms belong to and whether the provider's bare digits are
international. What is not a phone number (a SIP URI, ``anonymous``, ``client:alice``, an empty
string, garbage) is kept as the provider wrote it.

``NumberFilter`` is the ``number`` filter of ``list_active_calls``: a number in any written form
matches a call whose from/to (or a leg's contact) is that number; a shorter string of at least
4 digits matches the numbers that end with those digits.

Parsing is Google's libphonenumber (the ``phonenumbers`` port): trunk prefixes, international
dialling prefixes and leading country codes differ per country, and a kept library knows them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers

from mcp_livecalls.core.models import CallLeg, LiveCall, StreamDetails
from mcp_livecalls.errors import InvalidArgument

__all__ = [
    "DEFAULT_REGION",
    "MIN_SUFFIX_DIGITS",
    "NumberFilter",
    "NumberStyle",
    "dialable",
    "is_region",
    "to_e164",
]

DEFAULT_REGION = "IN"
"""India: the seed providers (Vobiz, Exotel, Zudu) serve mostly Indian numbers."""

MIN_SUFFIX_DIGITS = 4
_MIN_DIGITS = 7
MAX_FILTER_CHARS = 64

_NUMBER_CHARS = re.compile(r"[0-9 ()./+-]+")
_URI_SCHEME = re.compile(r"(?i)^(sips?|tel|client|webrtc):")


def is_region(code: str) -> bool:
    """Whether ``code`` is an ISO 3166 alpha-2 region libphonenumber knows (``IN``, ``US`` …)."""
    return code in phonenumbers.SUPPORTED_REGIONS


@functools.lru_cache(maxsize=8192)
def to_e164(raw: str, *, region: str = DEFAULT_REGION, bare_digits_international: bool = False) -> str:
    """``raw`` as E.164, or ``raw`` unchanged when it is not a phone number.

    National forms (``09262171438``), international dialling prefixes (``0091…``), a leading
    country code without ``+`` (``919262171438``), spaces, dashes, dots and parentheses are read
    for ``region``. Bare digits that make no valid number there are also read as international
    (``971567342709`` is +971…, not an Indian number). With ``bare_digits_international`` (the
    provider writes E.164 without ``+``, as Vobiz and Plivo do) bare digits are international
    whenever that reading has a possible length, and national only otherwise.

    Pure, and cached: polling sees the same numbers again and again, and a reading costs tens
    of microseconds.
    """
    text = raw.strip()
    if text[:4].lower() == "tel:":
        text = text[4:].split(";", 1)[0]
    written_with_plus = _written_with_plus(text)
    if written_with_plus is None:
        return raw
    digits = _digits(text)
    international = "+" + digits if not written_with_plus and not digits.startswith("0") else None
    candidates = [text] if written_with_plus else [text, international]
    if bare_digits_international and text.isdigit() and international is not None:
        stated = _reading(international, region)
        if stated is not None:  # the provider says bare digits are E.164: a possible reading stands
            return phonenumbers.format_number(stated, phonenumbers.PhoneNumberFormat.E164)
        candidates = [text]
    readings = [number for c in candidates if c is not None and (number := _reading(c, region)) is not None]
    if not readings:
        return raw
    if len(readings) > 1:
        readings.sort(key=lambda number: not phonenumbers.is_valid_number(number))  # stable: valid first
    best = readings[0]
    return phonenumbers.format_number(best, phonenumbers.PhoneNumberFormat.E164)


def _reading(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """``text`` parsed for ``region`` if it has a possible length there, else ``None``.

    Fewer than 7 digits in all (country code included) is an extension or a short code, not a
    number anyone dials from abroad: the shortest E.164 numbers in use have 7 (+683 4002).
    """
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if len(str(parsed.country_code)) + len(phonenumbers.national_significant_number(parsed)) < _MIN_DIGITS:
        return None
    return parsed if phonenumbers.is_possible_number(parsed) else None


def dialable(value: str) -> str:
    """The part of ``value`` that could be dialled: the user part of a URI, else ``value``.

    ``sip:+919262171438@gw.example`` → ``+919262171438``; ``client:alice`` → ``alice``.
    """
    match = _URI_SCHEME.match(value.strip())
    if match is None:
        return value
    rest = value.strip()[match.end() :]
    return rest.split("@", 1)[0].split(";", 1)[0]


def _written_with_plus(text: str) -> bool | None:
    """Whether ``text`` is a number written with a leading ``+`` (``(+91) 80…`` too); ``None``
    when it is not written like a number at all (letters, ``@``, ``:``, a ``+`` in the middle)."""
    if not _NUMBER_CHARS.fullmatch(text) or text.count("+") > 1:
        return None
    with_plus = text.lstrip(" (").startswith("+")
    if "+" in text and not with_plus:
        return None
    return with_plus


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isascii() and ch.isdigit())


@dataclass(frozen=True)
class NumberStyle:
    """How one provider writes numbers, and the normalization that follows from it."""

    region: str = DEFAULT_REGION
    """Where national and ambiguous forms belong (ISO 3166 alpha-2)."""
    bare_digits_international: bool = False
    """The provider writes E.164 digits without ``+`` (Vobiz, Plivo)."""

    def e164(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        return to_e164(raw, region=self.region, bare_digits_international=self.bare_digits_international)

    def _leg(self, leg: CallLeg) -> CallLeg:
        contact = self.e164(leg.contact)
        return leg if contact == leg.contact else leg.model_copy(update={"contact": contact})

    def _legs(self, legs: list[CallLeg]) -> list[CallLeg]:
        return [self._leg(leg) for leg in legs]

    def call(self, call: LiveCall) -> LiveCall:
        """``call`` with from/to and every leg's contact in E.164 (raw where not a number)."""
        update = {
            "from_number": self.e164(call.from_number),
            "to_number": self.e164(call.to_number),
            "legs": self._legs(call.legs),
        }
        return call.model_copy(update=update)

    def stream(self, details: StreamDetails) -> StreamDetails:
        """``details`` with every leg's contact in E.164 (raw where not a number)."""
        return details.model_copy(update={"legs": self._legs(details.legs)})


@dataclass(frozen=True)
class NumberFilter:
    """The ``number`` filter: a number in any written form, or its last 4+ digits."""

    text: str
    e164: str | None
    """The filter as a full number, where it reads as one."""
    digits: str
    international: bool
    """A whole number written with ``+``: only that number matches, not numbers ending with it."""

    @classmethod
    def parse(cls, text: str, *, region: str = DEFAULT_REGION) -> NumberFilter:
        """Read the filter; ``InvalidArgument`` says what is wrong with it."""
        cleaned = text.strip()
        written_with_plus = _written_with_plus(cleaned)
        if len(cleaned) > MAX_FILTER_CHARS or (cleaned and written_with_plus is None):
            shown = repr(cleaned) if len(cleaned) <= MAX_FILTER_CHARS else f"{len(cleaned)} characters"
            raise InvalidArgument(
                "number must be a phone number (digits, optionally with '+', spaces, dashes or "
                f"parentheses) or its last {MIN_SUFFIX_DIGITS} or more digits; got {shown}."
            )
        digits = _digits(cleaned)
        if len(digits) < MIN_SUFFIX_DIGITS:
            raise InvalidArgument(
                f"number needs at least {MIN_SUFFIX_DIGITS} digits (a whole number or its last "
                f"{MIN_SUFFIX_DIGITS}+ digits); got {len(digits)} in {cleaned!r}."
            )
        e164: str | None = to_e164(cleaned, region=region)
        if e164 is not None and not e164.startswith("+"):
            e164 = None  # not a whole number: its digits still match as the end of one
        return cls(
            text=cleaned,
            e164=e164,
            digits=digits,
            international=e164 is not None and bool(written_with_plus),
        )

    def matches_number(self, value: str | None) -> bool:
        """Whether one written number (normalized already, or raw) is the filter's number."""
        if not value:
            return False
        candidate = dialable(value)
        if self.e164 is not None and self.e164 in (value, candidate):
            return True
        return not self.international and _digits(candidate).endswith(self.digits)

    def matches(self, call: LiveCall) -> bool:
        """Whether the call's from, to or a leg's contact is the filter's number."""
        return any(
            self.matches_number(value)
            for value in (call.from_number, call.to_number, *(leg.contact for leg in call.legs))
        )
