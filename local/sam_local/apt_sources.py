"""Finds the machine's configured Debian mirror in its APT sources, so the image is bootstrapped from the same
mirror the machine already trusts and reaches (never a host written into the repository)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

APT_DIR = Path("/etc/apt")


def read_apt_sources(apt_dir: Path = APT_DIR) -> list[tuple[str, str]]:
    """(file name, text) of sources.list then sources.list.d/*.list and *.sources, in APT's order."""
    files = [apt_dir / "sources.list"]
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    return [(path.name, path.read_text(encoding="utf-8")) for path in files if path.is_file()]


def _one_line_entries(text: str) -> Iterable[tuple[str, list[str], list[str], list[str]]]:
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 3:
            continue
        kind, rest = words[0], words[1:]
        if rest[0].startswith("["):  # options such as [signed-by=...], possibly several words
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if len(rest) >= 2:
            yield kind, [rest[0]], [rest[1]], rest[2:]


def _deb822_entries(text: str) -> Iterable[tuple[str, list[str], list[str], list[str]]]:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = ""
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and current:  # continuation line
                fields[current] += " " + raw.strip()
                continue
            name, _, value = raw.partition(":")
            current = name.strip().lower()
            fields[current] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for kind in fields.get("types", "").split():
            yield (
                kind,
                fields.get("uris", "").split(),
                fields.get("suites", "").split(),
                fields.get("components", "").split(),
            )


def debian_mirror(sources: Iterable[tuple[str, str]], suite: str) -> str | None:
    """The first binary (`deb`) source serving `suite` with component `main`, or None."""
    for name, text in sources:
        entries = _deb822_entries(text) if name.endswith(".sources") else _one_line_entries(text)
        for kind, uris, suites, components in entries:
            if kind == "deb" and suite in suites and "main" in components and uris:
                return uris[0]
    return None
