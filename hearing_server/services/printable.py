"""Printable PDFs of electronic service (fpdf2, QR codes by segno; blocking: run off the loop).

- the **notice of hearing** of one participant: case, title, time, how to join and a QR
  code of their join link, in English and Chinese;
- the **certificate of service** of a hearing: every service with its documents'
  SHA-256 and when it was sent, opened, downloaded and acknowledged, from where.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, Final

import segno
from fpdf import FPDF

from ..domain.hearing import Hearing

#: A font with Chinese glyphs (Debian's fonts-wqy-microhei, installed by setup.sh).
CJK_FONT: Final = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def _pdf(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("hearing-server")
    pdf.set_creation_date(dt.datetime.now(dt.UTC))
    if CJK_FONT.exists():
        pdf.add_font("body", fname=str(CJK_FONT), collection_font_number=0)
        pdf.set_font("body", size=11)
    else:  # without the font Chinese text cannot be shown: keep Latin-1 only
        pdf.set_font("helvetica", size=11)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, text: str, size: int = 11, gap: float = 6) -> None:
    if pdf.font_family != "body":
        text = text.encode("latin-1", "replace").decode("latin-1")
    pdf.set_font(size=size)
    pdf.multi_cell(0, gap, text, new_x="LMARGIN", new_y="NEXT")


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def notice_pdf(court: str, hearing: Hearing, name: str, role: str, link: str,
               contact: str = "") -> bytes:
    pdf = _pdf(f"Notice of hearing {hearing.case_number}")
    kind = "mediation" if hearing.kind.value == "mediation" else "hearing"
    _text(pdf, court, 12)
    _text(pdf, f"Notice of {kind} / {'调解' if kind == 'mediation' else '开庭'}通知", 18, 10)
    start = hearing.scheduled_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for line in (f"Case / 案号: {hearing.case_number}",
                 f"Title / 案由: {hearing.title}",
                 f"To / 受送达人: {name} ({role})",
                 f"Time / 时间: {start} ({hearing.duration_minutes} min)",
                 "How to join / 如何参加: open the link below (or scan the QR code) on a "
                 "computer or phone with a camera and microphone a few minutes before "
                 "the time; you wait in the lobby until the court admits you. / "
                 "请在开始前几分钟用带摄像头和麦克风的电脑或手机打开下方链接 (或扫描二维码) , "
                 "在等候室等待法庭准许进入。"):
        _text(pdf, line)
    qr = io.BytesIO()
    segno.make(link, error="m").save(qr, kind="png", scale=6, border=2)
    qr.seek(0)
    pdf.image(qr, w=55)
    _text(pdf, link, 8, 4)
    _text(pdf, "This link is personal: do not pass it on. / 此链接仅供本人使用, 请勿转发。", 9)
    if contact:
        _text(pdf, f"Questions / 咨询: {court}, {contact}", 9)
    return bytes(pdf.output())


def certificate_pdf(court: str, hearing: Hearing, services: list[dict[str, Any]],
                    made_at: float) -> bytes:
    pdf = _pdf(f"Certificate of service {hearing.case_number}")
    _text(pdf, court, 12)
    _text(pdf, "Certificate of service / 送达证明", 18, 10)
    _text(pdf, f"Case / 案号: {hearing.case_number} — {hearing.title}")
    _text(pdf, f"Hearing / 庭审: {hearing.id}, "
               f"{hearing.scheduled_at.astimezone(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    _text(pdf, f"Made at / 出具时间: {when(made_at)}")
    for number, s in enumerate(services, start=1):
        pdf.ln(3)
        _text(pdf, f"{number}. {s['name']} <{s['address']}> — {s['status']}", 12, 7)
        _text(pdf, f"Served by / 送达人: {s['served_by']} at {when(s['served_at'])}", 9, 5)
        for a in s["attempts"]:
            state = "accepted by the mail server" if a["ok"] else "FAILED"
            _text(pdf, f"  e-mail {when(a['at'])}: {state} {a['detail']}", 9, 5)
        for o in s["opened"][:1]:
            _text(pdf, f"  opened / 打开: {when(o['at'])} from {o['from']}", 9, 5)
        for d in s["downloads"]:
            _text(pdf, f"  downloaded / 下载: {when(d['at'])} from {d['from']} "
                       f"sha256 {d['document']}", 9, 5)
        ack = s["acknowledged"]
        if ack:
            _text(pdf, f"  acknowledged / 确认收到: {when(ack['at'])} from {ack['from']}, "
                       f"typed name \"{ack['typed_name']}\"", 9, 5)
        for doc in s["documents"]:
            _text(pdf, f"  document: {doc['name']} ({doc['size']} bytes) "
                       f"sha256 {doc['sha256']}", 8, 4)
        if s["include_link"]:
            _text(pdf, "  with the join link / 附参加链接", 8, 4)
    return bytes(pdf.output())
