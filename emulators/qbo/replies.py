"""An HTTP reply before it becomes a werkzeug Response (so it can be stored for `requestid` replays)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self, intuit_tid: str) -> Response:
        response = Response(self.body, status=self.status, content_type=self.content_type)
        for name, value in self.headers.items():
            response.headers[name] = value
        response.headers["intuit_tid"] = intuit_tid
        return response


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), JSON_TYPE, headers or {})


def empty_reply(status: int = 204) -> Reply:
    return Reply(status, b"", TEXT_TYPE)


def raw_reply(status: int, body: str) -> Reply:
    """An injected body, typed by what it looks like."""
    stripped = body.lstrip()
    if stripped.startswith("<?xml") or stripped.startswith("<IntuitResponse"):
        content_type = XML_TYPE
    elif stripped.startswith("<"):
        content_type = HTML_TYPE
    elif stripped.startswith(("{", "[")):
        content_type = JSON_TYPE
    else:
        content_type = TEXT_TYPE
    return Reply(status, body.encode(), content_type)
