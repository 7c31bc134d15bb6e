"""Characters from data that a format cannot carry, made visible instead.

A patient id is free text: it may hold NUL, ESC or U+FFFE. XML 1.0 (GraphML,
SVG) cannot contain most control characters even as character references,
Graphviz stops reading DOT at a NUL, HTML checkers reject them, and on a
terminal ESC starts an escape sequence. Every renderer of such a format
passes its text through :func:`visible`, which writes each of these
characters as a visible ``\\uXXXX`` escape (``\\UXXXXXXXX`` above U+FFFF):

* C0 controls other than tab, line feed and (where the format carries it)
  carriage return; DEL and the C1 controls U+0080..U+009F;
* surrogates (they cannot be encoded) and the noncharacters U+FDD0..U+FDEF
  and U+xFFFE/U+xFFFF of every plane.

The escape is for people reading the output; it is not reversible (a
literal backslash is left as it is).

>>> print(visible("a\\x00b\\x1b[31mc\\ufffe"))
a\\u0000b\\u001b[31mc\\ufffe
>>> visible("line\\nnext\\tcell\\r")
'line\\nnext\\tcell\\r'
>>> print(visible("a\\r\\nb\\rc", cr="crlf"), visible("a\\r\\nb", cr="escape"))
a\r
b\\u000dc a\\u000d
b
"""

from __future__ import annotations

import re

__all__ = ["visible"]

_NONCHARACTERS = "".join(chr(plane * 0x10000 + low) for plane in range(17) for low in (0xFFFE, 0xFFFF))
_UNSAFE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef" + _NONCHARACTERS
_PATTERNS = {
    # XML, DOT and JSON carry a carriage return.
    "keep": re.compile(f"[{_UNSAFE}]"),
    # A terminal moves the cursor back to the start of the line.
    "escape": re.compile(f"[{_UNSAFE}\r]"),
    # On a terminal, CSV's "\r\n" line ends are fine; a lone "\r" is not.
    "crlf": re.compile(f"[{_UNSAFE}]|\r(?!\n)"),
}


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text, cr: str = "keep") -> str:
    """``text`` with every unsafe character written as a visible escape.

    Tab and line feed are kept. ``cr`` says what happens to a carriage
    return: ``"keep"``, ``"escape"``, or ``"crlf"`` (kept before a line feed).
    """
    return _PATTERNS[cr].sub(_escape, str(text))
