"""The Twilio family's signed callbacks: form parameters signed over the URL and the sorted
parameters, read for every member (``twilio/webhook.py``, ``signalwire/webhook.py``).

A member declares ``signature_header``, how a form is written into the signed text
(``form_text``) and how a JSON body is verified (``json_signed``); the rest is shared: the
signature is ``base64(HMAC-SHA1(secret, url + form_text))``, checked against the URL with and
without its port (Twilio's own signing is inconsistent about it, and SignalWire's SDKs try both).
No timestamp is signed: replays are caught by the dedupe key (the signature). Call status callbacks
carry ``CallSid``, ``CallStatus`` and ``SequenceNumber``; conference participant events carry
``StatusCallbackEvent`` (``participant-hold`` / ``participant-unhold``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.hooks import SecretReader, WebhookEvent, WebhookRefused, WebhookRequest
from mcp_livecalls.providers.reading import rest_call_status

__all__ = ["FormSignedReader", "body_sha256_signed", "port_variants", "sorted_form_text"]

_HOLD_EVENTS = {"participant-hold": CallStatus.ON_HOLD, "participant-unhold": CallStatus.IN_PROGRESS}


def sorted_form_text(form: Mapping[str, tuple[str, ...]] | None) -> str:
    """Each name followed by each of its values, names sorted and a name's distinct values sorted
    (twilio-python's ``compute_signature``)."""
    return "".join(name + value for name in sorted(form or {}) for value in sorted(set((form or {})[name])))


def port_variants(url: str) -> tuple[str, str]:
    """``url`` without its port and with its (default) port."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    port = parts.port or (443 if parts.scheme == "https" else 80)
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, parts.fragment))


def body_sha256_signed(reader: FormSignedReader, request: WebhookRequest, signature: str | None) -> bool:
    """A JSON body signed the compatible way: the URL's ``bodySHA256`` is the body's hex SHA-256
    (else ``WebhookRefused``) and the signature is the URL's with no parameters."""
    declared = parse_qs(urlsplit(request.url).query).get("bodySHA256", [None])[0]
    if not hooks.same(hashlib.sha256(request.body).hexdigest(), declared):
        raise WebhookRefused("signature", "bodySHA256 does not match")
    return reader.form_signed(request, signature, {})


class FormSignedReader(SecretReader):
    """A member's reader: its header, its form text and its JSON rule; the events are the family's."""

    signs_body = True
    signature_header: ClassVar[str]
    """The header carrying the signature (lower case)."""
    signature_words: ClassVar[str]
    """How a refusal names it (``X-Twilio-Signature``)."""

    def form_text(self, form: Mapping[str, tuple[str, ...]]) -> str:
        return sorted_form_text(form)

    def form_signature(self, url: str, form: Mapping[str, tuple[str, ...]] | None) -> str:
        """``base64(HMAC-SHA1(secret, url + form_text))``."""
        return hooks.b64_hmac(self._secret, url + self.form_text(form or {}), "sha1")

    def form_signed(
        self, request: WebhookRequest, signature: str | None, form: Mapping[str, tuple[str, ...]]
    ) -> bool:
        return any(
            hooks.same(self.form_signature(url, form), signature) for url in port_variants(request.url)
        )

    def json_signed(self, request: WebhookRequest, signature: str | None) -> bool:
        """Whether a JSON body is signed as this member signs one (``WebhookRefused`` when it is
        refused for a reason of its own)."""
        raise NotImplementedError

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        signature = request.header(self.signature_header)
        if request.json is not None:
            signed = self.json_signed(request, signature)
        else:
            signed = self.form_signed(request, signature, request.form)
        if not signed:
            raise WebhookRefused("signature", f"{self.signature_words} does not match")
        call_id = request.param("CallSid")
        if not call_id or signature is None:
            return []
        event = request.param("StatusCallbackEvent") or ""
        status = _HOLD_EVENTS.get(event)
        raw_status = request.param("CallStatus")
        if status is None and raw_status:
            status = rest_call_status(raw_status)
        sequence = request.param("SequenceNumber")
        return [
            self.event(
                call_id,
                f"signature:{signature}",
                status=status,
                provider_status=event or raw_status,
                sequence=int(sequence) if sequence and sequence.isdigit() else None,
            )
        ]
