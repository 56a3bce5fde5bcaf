"""The SMTP mailer (aiosmtplib): the court's mail server behind the ``Mailer`` port.

Wired by the composition root. A connection error, a timeout or a 4xx reply is a
temporary failure (the service tries again); a 5xx reply is permanent.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import aiosmtplib

from .services.ports import Mail, MailFailure
from .settings import Settings


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self.configured = bool(settings.smtp_host)

    async def send(self, mail: Mail) -> str:
        msg = EmailMessage()
        msg["From"] = self._s.smtp_from
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Date"] = email.utils.formatdate(usegmt=True)
        msg["Message-ID"] = email.utils.make_msgid(domain="hearing-server")
        msg.set_content(mail.text)
        if mail.html:
            msg.add_alternative(mail.html, subtype="html")
        try:
            _, reply = await aiosmtplib.send(
                msg, hostname=self._s.smtp_host, port=self._s.smtp_port,
                username=self._s.smtp_username or None,
                password=self._s.smtp_password or None,
                start_tls=self._s.smtp_starttls, use_tls=self._s.smtp_tls,
                timeout=self._s.smtp_timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise MailFailure(f"recipient refused: {exc}",
                              temporary=all(400 <= c < 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailFailure(f"{exc.code} {exc.message}",
                              temporary=400 <= exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailFailure(f"mail server unreachable: {exc}", temporary=True) from exc
        return reply
