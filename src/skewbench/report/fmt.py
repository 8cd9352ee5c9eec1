"""Number formatting shared by every table of the report: 3 significant digits, intervals as
``[lo, hi]``, counts with thousands separators, a real minus sign."""

from __future__ import annotations

import math

import numpy as np

DASH = "–"


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float | np.floating) and math.isnan(x))


def num(x: object, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, never in exponent form for |x| >= 1e-4;
    integers (and integral floats >= 1,000) as counts with thousands separators."""
    if _missing(x):
        return DASH
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}".replace("-", "−")
    v = float(x)  # type: ignore[arg-type]
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if abs(v) >= 1000 or (abs(v) >= 10 ** (digits - 1) and v == round(v)):
        return f"{v:,.0f}".replace("-", "−")
    if v != 0 and abs(v) < 1e-4:
        return f"{v:.{digits - 1}e}".replace("-", "−")
    if v == 0:
        return "0"
    # Round to `digits` significant digits first, then print with the decimals that keeps them
    # (0.320 has 3 significant digits; 0.32 has 2), so 0.9996 → 1.00.
    rounded = float(f"{v:.{digits}g}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:.{decimals}f}"
    return text.replace("-", "−")


def signed(x: object, digits: int = 3) -> str:
    """Like :func:`num` with an explicit sign (+0.012 / −0.012)."""
    if _missing(x):
        return DASH
    text = num(x, digits)
    return text if text.startswith("−") or float(x) == 0 else "+" + text  # type: ignore[arg-type]


def pct(x: object, digits: int = 3) -> str:
    """A relative change as a signed percentage (+12.3 %)."""
    if _missing(x):
        return DASH
    return signed(100 * float(x), digits) + " %"  # type: ignore[arg-type]


# A relative change is printed only where the baseline's magnitude is at least this: on a tiny
# base a percentage ("+4,264 %") says more about the base than about the change.
PCT_FLOOR = 0.05


def rel(delta: object, base: object) -> str:
    """``delta`` relative to ``base`` as a percentage; a dash where |base| < :data:`PCT_FLOOR`."""
    if _missing(delta) or _missing(base) or abs(float(base)) < PCT_FLOOR:  # type: ignore[arg-type]
        return DASH
    return pct(float(delta) / float(base))  # type: ignore[arg-type]


def pvalue(p: object) -> str:
    if _missing(p):
        return DASH
    p = float(p)  # type: ignore[arg-type]
    return "< 0.001" if p < 0.001 else num(p, 2)


def p_is(p: object) -> str:
    """``= 0.012`` or ``< 0.001``, to follow "p" in a sentence."""
    text = pvalue(p)
    return text if text.startswith("<") else f"= {text}"


def interval(mean: object, lo: object, hi: object) -> str:
    """``mean [lo, hi]``; the bracket is split off (`` [``) by the HTML renderer to style it."""
    if _missing(mean):
        return DASH
    if _missing(lo) or _missing(hi):
        return num(mean)
    return f"{num(mean)} [{num(_outward(lo, 2, up=False), 2)}, {num(_outward(hi, 2, up=True), 2)}]"


def _outward(x: object, digits: int, up: bool) -> float:
    """``x`` rounded to ``digits`` significant digits away from the interval's inside (lower
    bound down, upper bound up), so a printed interval never excludes its printed mean:
    194 [193.6, 194.4] prints as 194 [190, 200], not 194 [190, 190]."""
    v = float(x)  # type: ignore[arg-type]
    if v == 0 or math.isinf(v):
        return v
    step = 10 ** (math.floor(math.log10(abs(v))) - digits + 1)
    q = v / step
    if abs(q - round(q)) < 1e-9:  # already on the grid (no float noise pushed outward)
        return round(q) * step
    return (math.ceil(q) if up else math.floor(q)) * step
