"""Generated docs sections: the text between a pair of HTML-comment markers is replaced."""

from __future__ import annotations

from skewbench.errors import ConfigError


def replace_between(text: str, markers: tuple[str, str], body: str) -> str:
    """``text`` with ``body`` between ``markers`` (start, end); both must be present."""
    start, end = markers
    if start not in text or end not in text:
        raise ConfigError(f"the page has no {start} … {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"
