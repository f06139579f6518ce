"""WeChat official-account template messages (微信公众号模板消息) on the outbox.

The channel's URL is the API base (https://api.weixin.qq.com, or a gateway/test server answering the
same way), its secret the account's AppSecret, its options `app_id` and `template_id`. An access token
is fetched with `POST /cgi-bin/stable_token` (so the AppSecret never travels in a URL) and reused until
shortly before it expires; the message goes to `POST /cgi-bin/message/template/send?access_token=…`
with `touser` = the recipient's openid (a binding: `riskgraph channel-bind wechat RECIPIENT OPENID`).
WeChat answers HTTP 200 with `errcode`: 0 delivered (`msgid` is the receipt); 40001, 40014, 42001
(token invalid or expired) → a new token and one more try; -1 (busy) and 45009 (quota) → retried
later; anything else (43004 not following, 40003 bad openid …) → dead letter.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from riskgraph.notify.adapters import USER_AGENT, DeliveryError, http_error, transport_error
from riskgraph.notify.channels import Channel
from riskgraph.notify.outbox import Delivery
from riskgraph.ontology.errors import N_

# httpx logs request URLs at INFO; WeChat's URLs carry the access token
logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TRANSIENT_ERRORS = frozenset({-1, 45009, 45011})
TOKEN_MARGIN_S = 300


class WeChatAdapter:
    kind = "wechat"

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.client = httpx.Client(timeout=timeout_s, headers={"User-Agent": USER_AGENT})
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _base(self, channel: Channel) -> str:
        return channel.url.rstrip("/")

    def token(self, channel: Channel, *, fresh: bool = False) -> str:
        with self._lock:
            cached = self._tokens.get(channel.id)
            if cached and not fresh and cached[1] > time.monotonic():
                return cached[0]
        try:
            response = self.client.post(f"{self._base(channel)}/cgi-bin/stable_token", json={
                "grant_type": "client_credential", "appid": channel.options["app_id"], "secret": channel.secret,
                "force_refresh": fresh})
        except httpx.HTTPError as exc:
            raise transport_error(exc, "WeChat token endpoint") from None
        if not response.is_success:
            raise http_error(response, "WeChat token endpoint")
        data = response.json()
        if "access_token" not in data:
            code = data.get("errcode")
            raise DeliveryError(N_("WeChat refused a token: errcode {code} {errmsg}"), code=code, errmsg=data.get('errmsg', ''),
                                transient=code in TRANSIENT_ERRORS)
        expires = float(data.get("expires_in") or 7200)
        with self._lock:
            self._tokens[channel.id] = (data["access_token"], time.monotonic() + max(60.0, expires - TOKEN_MARGIN_S))
        return data["access_token"]

    def message(self, delivery: Delivery, channel: Channel) -> dict[str, Any]:
        body = delivery.body()
        w = body.get("warning") or {}
        title = w.get("title") or body.get("title") or "RiskGraph 通知"
        data = {
            "first": {"value": title},
            "keyword1": {"value": w.get("levelName") or w.get("level") or ""},
            "keyword2": {"value": w.get("subjectName") or w.get("enterpriseName") or ""},
            "keyword3": {"value": w.get("publishedAt") or body.get("at") or ""},
            "keyword4": {"value": w.get("regionCode") or ""},
            "remark": {"value": (w.get("description") or body.get("summary") or "")[:180]},
        }
        out = {"touser": delivery.address, "template_id": channel.options["template_id"], "data": data}
        if channel.options.get("link"):
            out["url"] = str(channel.options["link"]).replace("{id}", str(w.get("id", "")))
        return out

    def send(self, delivery: Delivery, channel: Channel | None) -> Mapping[str, Any]:
        if channel is None or not channel.active:
            raise DeliveryError(N_("WeChat channel {channel} is no longer configured"), channel=delivery.channel_id,
                                transient=False)
        if not delivery.address:
            raise DeliveryError(N_("{recipient} has no WeChat openid bound"), recipient=delivery.recipient_id, transient=False)
        message = self.message(delivery, channel)
        for attempt in (1, 2):
            token = self.token(channel, fresh=attempt == 2)
            try:
                response = self.client.post(f"{self._base(channel)}/cgi-bin/message/template/send",
                                            params={"access_token": token}, json=message)
            except httpx.HTTPError as exc:
                raise transport_error(exc, "WeChat template send") from None
            if not response.is_success:
                raise http_error(response, "WeChat template send")
            data = response.json()
            code = int(data.get("errcode", 0))
            if code == 0:
                return {"msgid": data.get("msgid"), "errmsg": data.get("errmsg")}
            if code in TOKEN_ERRORS and attempt == 1:
                continue
            raise DeliveryError(N_("WeChat errcode {code}: {errmsg}"), code=code, errmsg=data.get('errmsg', ''),
                                transient=code in TRANSIENT_ERRORS)
        raise DeliveryError(N_("WeChat kept refusing fresh access tokens"), transient=True)

    def close(self) -> None:
        self.client.close()
