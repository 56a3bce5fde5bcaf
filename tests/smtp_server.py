"""A real SMTP server on loopback (aiosmtpd, in its own thread) that keeps what it received.

``refuse_next`` makes it answer the next messages with a temporary (451) or permanent
(550) refusal, as a court's mail server may."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    host: str = "127.0.0.1"
    port: int = 0

    def refuse_next(self, *replies: str) -> None:
        with self.lock:
            self.refusals.extend(replies)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.attempts += 1
            if self.refusals:
                return self.refusals.pop(0)
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            self.messages.append(msg)
        return "250 2.0.0 queued"

    def last_text(self) -> str:
        with self.lock:
            msg = self.messages[-1]
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
