"""Notification channels, each in its documented message format, and the Chinese message text.

- 企业微信群机器人 (``wecom``): POST JSON ``{"msgtype": "markdown", "markdown": {"content": ...}}`` to the
  robot's webhook URL (``.../cgi-bin/webhook/send?key=KEY``); success is ``{"errcode": 0}``.
- 钉钉自定义机器人 (``dingtalk``), signed: POST JSON ``{"msgtype": "markdown", "markdown": {"title", "text"}}``
  to the webhook URL (``.../robot/send?access_token=TOKEN``) plus ``&timestamp=MS&sign=SIGN`` where
  SIGN = urlencode(base64(HMAC-SHA256(key=secret, msg="MS\\nsecret"))); success is ``{"errcode": 0}``.
- Email (``email``): SMTP (``ssl`` on 465, ``starttls`` on 587, or ``none``), optional login, a
  UTF-8 plain-text message with the subject ``[级别] 主机 标题``.

A failed send raises :class:`SendError` with a text free of the channel's secrets (the caller redacts
with the configuration too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from yunwei.monitoring.config import Channel

SEVERITY_TEXT = {"critical": "严重", "warning": "警告", "info": "提示"}


class SendError(Exception):
    pass


def local(ts: float | None) -> str:
    from yunwei.servicedesk.tickets import local as _local

    return _local(ts)


def duration_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分 {seconds % 60} 秒"
    return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分"


def message(alert: dict[str, Any], kind: str, on_duty: Any = ()) -> dict[str, Any]:
    """The Chinese message of one alert: ``title`` (one line) and ``lines`` (plain text lines).

    ``on_duty``: the people on duty (yunwei.schedule.model.Operator) when the alert started inside a
    重保 window; they are named with their contacts, and ``send`` mentions them (WeCom, DingTalk by phone)
    and mails them (email channels)."""
    from yunwei.reports.periods import client_tz

    sev = SEVERITY_TEXT.get(alert["severity"], alert["severity"] or "告警")
    head = "【恢复】" if kind == "resolved" else f"【{sev}告警】"
    title = f"{head}{alert['host'] or '—'} {alert['title'] or alert['alertname']}"
    lines = [alert["summary"] or alert["title"]]
    lines.append(f"开始时间：{local(alert['starts_at'])}（{client_tz().key}）")
    if kind == "resolved" and alert.get("ends_at"):
        lines.append(f"恢复时间：{local(alert['ends_at'])}，持续 {duration_text(alert['ends_at'] - alert['starts_at'])}")
    lines.append(f"规则：{alert['rule_id'] or alert['alertname']}（主机 {alert['host'] or '—'}）")
    if alert.get("ticket_id"):
        lines.append(f"工单：{alert['ticket_id']}")
    if kind == "firing" and alert.get("suggestion"):
        lines.append(f"处理建议：{alert['suggestion']}")
    if on_duty:
        from yunwei.schedule.model import duty_text

        lines.append("重保值守：" + duty_text(on_duty))
    return {"title": title, "text": "\n".join(lines), "severity": sev, "kind": kind,
            "on_duty_phones": [o.phone for o in on_duty if o.phone],
            "on_duty_emails": [o.email for o in on_duty if o.email]}


def _merged(configured: Any, extra: list[str]) -> list[str]:
    out = list(configured or [])
    return out + [x for x in extra if x not in out]


def _post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json; charset=utf-8"},
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured https/http URL
            raw = resp.read(65536)
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"cannot connect: {reason}") from None
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        raise SendError("the robot answered with something that is not JSON") from None
    if answer.get("errcode", 0) != 0:
        raise SendError(f"the robot refused the message: errcode {answer.get('errcode')} {answer.get('errmsg', '')}")
    return answer


def wecom_body(msg: dict[str, str], mentioned: list[str] | None = None) -> dict[str, Any]:
    color = "info" if msg["kind"] == "resolved" else "warning"
    lines = msg["text"].split("\n")
    content = f"**<font color=\"{color}\">{msg['title']}</font>**\n" + "\n".join(f"> {x}" for x in lines)
    body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": content[:4000]}}
    return body


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_body(msg: dict[str, str], at_mobiles: list[str] | None = None) -> dict[str, Any]:
    text = f"#### {msg['title']}\n\n" + "\n\n".join(f"> {x}" for x in msg["text"].split("\n"))
    body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": msg["title"][:60], "text": text}}
    if at_mobiles:
        body["at"] = {"atMobiles": at_mobiles, "isAtAll": False}
    return body


def email_message(msg: dict[str, str], sender: str, to: list[str]) -> EmailMessage:
    em = EmailMessage()
    em["Subject"] = msg["title"]
    em["From"] = sender
    em["To"] = ", ".join(to)
    em["Date"] = formatdate(localtime=True)
    em["Message-ID"] = make_msgid(domain="yunwei")
    em.set_content(msg["text"] + "\n\n—— yunwei 实时监控告警（自动发送，请勿直接回复）\n", charset="utf-8")
    return em


def send(channel: Channel, msg: dict[str, Any], timeout: float = 5.0) -> None:
    s = channel.settings
    phones, emails = msg.get("on_duty_phones") or [], msg.get("on_duty_emails") or []
    if channel.type == "wecom":
        body = wecom_body(msg)
        mentioned = _merged(s.get("mentioned_mobile_list"), phones)
        if mentioned:
            body["markdown"]["mentioned_mobile_list"] = mentioned
        _post_json(str(s["url"]), body, timeout)
    elif channel.type == "dingtalk":
        ts = int(time.time() * 1000)
        sep = "&" if "?" in str(s["url"]) else "?"
        url = f"{s['url']}{sep}timestamp={ts}&sign={dingtalk_sign(str(s['secret']), ts)}"
        _post_json(url, dingtalk_body(msg, _merged(s.get("at_mobiles"), phones)), timeout)
    elif channel.type == "email":
        em = email_message(msg, str(s["from"]), _merged(s["to"], emails))
        security = s.get("security", "starttls")
        port = int(s.get("port") or {"ssl": 465, "starttls": 587, "none": 25}[security])
        try:
            if security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(str(s["host"]), port, timeout=timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(str(s["host"]), port, timeout=timeout)
            with smtp:
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.get("username"):
                    smtp.login(str(s["username"]), str(s.get("password") or ""))
                smtp.send_message(em)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {type(exc).__name__}: {exc}") from None
    else:  # pragma: no cover - the configuration refuses other types
        raise SendError(f"unknown channel type {channel.type}")
