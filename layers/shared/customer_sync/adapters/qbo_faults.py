"""The parser that turns any QBO error response into one of the typed errors of customer_sync/errors.py.

QBO answers errors in three shapes (reference/qbo-api.md): the capitalised `Fault.Error[]` of validation and
business faults, the lower-case `fault.error[]` of platform faults (401/403), and XML (often for 429 even
when JSON was asked for). Messages carry QBO's generic error text and code, never tokens; the `detail`
attribute may echo customer values, so it is kept off `str(error)` and out of logs.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from customer_sync.errors import (
    QboAuthExpired,
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboDuplicateName,
    QboError,
    QboNotFound,
    QboQueryError,
    QboStaleObject,
    QboThrottled,
    QboTransientError,
    QboValidationError,
)


@dataclass(frozen=True)
class FaultEntry:
    code: str | None
    message: str
    detail: str | None


_DUPLICATE_HOLDER = re.compile(r"Id\s*=\s*(\d+)")
_PLATFORM_ERROR_CODE = re.compile(r"errorCode=0*(\d+)")
_XML_ERROR = re.compile(r"<Error\b([^>]*)>(.*?)</Error>", re.DOTALL | re.IGNORECASE)
_XML_CODE_ATTRIBUTE = re.compile(r"\bcode\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL | re.IGNORECASE)
_XML_DETAIL = re.compile(r"<Detail>(.*?)</Detail>", re.DOTALL | re.IGNORECASE)

_VALIDATION_CODE_PREFIXES = ("2", "6")


def _normalized_code(raw_code: object, message: str) -> str | None:
    """QBO sends codes as strings ("6240"); platform faults sometimes hide it as `errorCode=003200`."""
    if raw_code is not None and str(raw_code).strip():
        return str(raw_code).strip().lstrip("0") or "0"
    found = _PLATFORM_ERROR_CODE.search(message)
    return found.group(1) if found else None


def _json_entries(document: Any) -> list[FaultEntry]:
    if not isinstance(document, dict):
        return []
    fault = document.get("Fault") or document.get("fault")
    if not isinstance(fault, dict):
        return []
    errors = fault.get("Error") or fault.get("error") or []
    entries: list[FaultEntry] = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        message = str(error.get("Message") or error.get("message") or "")
        detail = error.get("Detail") or error.get("detail")
        entries.append(
            FaultEntry(
                code=_normalized_code(error.get("code") or error.get("Code"), message),
                message=message,
                detail=str(detail) if detail is not None else None,
            )
        )
    return entries


def _xml_entries(body: str) -> list[FaultEntry]:
    """Regex, not an XML parser: we only need code/Message/Detail, and never parse untrusted entities."""
    entries: list[FaultEntry] = []
    for attributes, inner in _XML_ERROR.findall(body):
        code_match = _XML_CODE_ATTRIBUTE.search(attributes)
        message_match = _XML_MESSAGE.search(inner)
        detail_match = _XML_DETAIL.search(inner)
        message = html.unescape(message_match.group(1).strip()) if message_match else ""
        entries.append(
            FaultEntry(
                code=_normalized_code(code_match.group(1) if code_match else None, message),
                message=message,
                detail=html.unescape(detail_match.group(1).strip()) if detail_match else None,
            )
        )
    return entries


def parse_fault_entries(body: str) -> list[FaultEntry]:
    """Every error entry of a QBO error body, whatever its shape; [] when the body has none."""
    text = body.strip()
    if text.startswith("<"):
        return _xml_entries(text)
    try:
        document = json.loads(text)
    except ValueError:
        return []
    return _json_entries(document)


def _retry_after_seconds(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to the configured wait


def error_from_fault(
    entry: FaultEntry | None,
    *,
    status: int | None,
    intuit_tid: str | None = None,
    retry_after: float | None = None,
) -> QboError:
    """Map one fault (or none) plus the HTTP status to the typed error. Codes win over statuses."""
    code = entry.code if entry else None
    text = entry.message if entry and entry.message else f"HTTP {status}"
    context: dict[str, Any] = {
        "code": code,
        "intuit_tid": intuit_tid,
        "status": status,
        "detail": entry.detail if entry else None,
    }
    message = f"QBO error {code or '-'} (HTTP {status or '-'}): {text}"

    if code == "5010":
        return QboStaleObject(message, **context)
    if code == "6240":
        holder = _DUPLICATE_HOLDER.search(entry.detail or "") if entry else None
        return QboDuplicateName(message, holder_id=holder.group(1) if holder else None, **context)
    if code == "610":
        return QboNotFound(message, **context)
    if code == "4000":
        return QboQueryError(message, **context)
    if code == "3001" or status == 429:
        return QboThrottled(message, retry_after=retry_after, **context)
    if code == "120":
        return QboConnectionBroken(message, **context)
    if code == "3200" or (status == 401 and code is None):
        return QboAuthExpired(message, **context)
    if code == "3100" or status == 403:
        return QboAuthorizationFailed(message, **context)
    if status is not None and status >= 500:
        return QboTransientError(message, **context)
    if status == 401:
        return QboAuthExpired(message, **context)
    if code is not None and code.startswith(_VALIDATION_CODE_PREFIXES):
        context.pop("code")
        return QboValidationError(code, message, **context)
    if status == 404:
        return QboNotFound(message, **context)
    if status == 400 or (status is None and code is not None):
        context.pop("code")
        return QboValidationError(code, message, **context)
    return QboError(message, **context)


def error_from_response(
    status: int, body: str, *, intuit_tid: str | None = None, retry_after_header: str | None = None
) -> QboError:
    """The typed error for a whole HTTP error response (the first fault entry decides)."""
    entries = parse_fault_entries(body)
    return error_from_fault(
        entries[0] if entries else None,
        status=status,
        intuit_tid=intuit_tid,
        retry_after=_retry_after_seconds(retry_after_header),
    )


def error_from_batch_item(item: dict[str, Any], *, intuit_tid: str | None = None) -> QboError:
    """The typed error of one failed `/batch` item (`{"bId": .., "Fault": {...}}`); items have no status."""
    entries = _json_entries({"Fault": item.get("Fault") or item.get("fault")})
    return error_from_fault(entries[0] if entries else None, status=None, intuit_tid=intuit_tid)
