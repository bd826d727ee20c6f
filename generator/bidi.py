"""The Unicode bidi algorithm (UAX #9) for one line of a share card: levels and order.

Pillow draws one font per call, so a line mixing Hebrew, Latin and digits is drawn as
runs, and the order of those runs is ours to find; Raqm (FriBiDi) then orders the
characters inside each run. Titles carry no explicit embeddings, so this is the
algorithm without them (rules W1–W7, N0–N2, I1–I2, L1–L2): paired brackets are
resolved together (N0), so in ``انٹرفیس(API)`` both brackets belong to the
right-to-left side and are mirrored there, instead of one joining "API" and the line
showing "((API". Formatting characters (marks such as RLM excepted, which are strong)
stay with the character before them.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

STRONG = {"L": "L", "R": "R", "AL": "R", "EN": "R", "AN": "R"}  # for N0 and N1
NEUTRAL = {"B", "S", "WS", "ON"}
FORMATTING = {"BN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "NSM"}
MAX_BRACKET_DEPTH = 63  # BD16: deeper nesting stops the pairing

# Bidi_Paired_Bracket (BidiBrackets.txt): opening and closing, side by side.
BRACKETS = ("()[]{}\u0f3a\u0f3b\u0f3c\u0f3d\u169b\u169c\u2045\u2046\u207d\u207e\u208d\u208e"
            "\u2308\u2309\u230a\u230b\u2329\u232a\u2768\u2769\u276a\u276b\u276c\u276d"
            "\u276e\u276f\u2770\u2771\u2772\u2773\u2774\u2775\u27c5\u27c6\u27e6\u27e7"
            "\u27e8\u27e9\u27ea\u27eb\u27ec\u27ed\u27ee\u27ef\u2983\u2984\u2985\u2986"
            "\u2987\u2988\u2989\u298a\u298b\u298c\u298d\u2990\u298f\u298e\u2991\u2992"
            "\u2993\u2994\u2995\u2996\u2997\u2998\u29d8\u29d9\u29da\u29db\u29fc\u29fd"
            "\u2e22\u2e23\u2e24\u2e25\u2e26\u2e27\u2e28\u2e29\u3008\u3009\u300a\u300b"
            "\u300c\u300d\u300e\u300f\u3010\u3011\u3014\u3015\u3016\u3017\u3018\u3019"
            "\u301a\u301b\ufe59\ufe5a\ufe5b\ufe5c\ufe5d\ufe5e\uff08\uff09\uff3b\uff3d"
            "\uff5b\uff5d\uff5f\uff60\uff62\uff63")
OPENING = dict(zip(BRACKETS[::2], BRACKETS[1::2], strict=True))  # opening → closing
CLOSING = {close: opening for opening, close in OPENING.items()}
EQUIVALENT = {"\u2329": "\u3008", "\u232a": "\u3009"}  # canonical equivalents pair too
# Bidi_Mirroring_Glyph (BidiMirroring.txt) beyond the brackets: quotes and comparisons.
MIRROR_PAIRS = "<>«»‹›≤≥≪≫⊂⊃⊆⊇∈∋⁅⁆﹤﹥＜＞"
MIRRORS = {**OPENING, **CLOSING,
           **dict(zip(MIRROR_PAIRS[::2], MIRROR_PAIRS[1::2], strict=True)),
           **dict(zip(MIRROR_PAIRS[1::2], MIRROR_PAIRS[::2], strict=True))}


def levels(text: str, direction: str) -> list[int]:
    """Each character's embedding level in a paragraph of ``direction`` ("ltr" or
    "rtl"): even levels read left to right, odd ones right to left."""
    return list(_resolved(text, direction)[0])


def number_like(text: str, direction: str) -> list[bool]:
    """Which characters resolved as numbers (digits with their signs and separators):
    Raqm orders those itself inside a right-to-left run."""
    return list(_resolved(text, direction)[1])


@lru_cache(maxsize=4096)
def _resolved(text: str, direction: str) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    embedding = 1 if direction == "rtl" else 0
    edge = "R" if embedding else "L"  # sos and eos: no embeddings, the paragraph's own
    original = [unicodedata.bidirectional(c) or "L" for c in text]
    types = _weak(original, edge)
    _brackets(text, original, types, edge, embedding)
    _neutrals(types, edge, embedding)
    found = [_level(kind, embedding) for kind in types]
    _line_end(original, found, embedding)
    return tuple(found), tuple(kind in ("EN", "AN") for kind in types)


def _weak(original: list[str], edge: str) -> list[str]:
    """Rules W1–W7 (formatting characters take the type of the one before: X9)."""
    types: list[str] = []
    for kind in original:
        types.append((types[-1] if types else edge) if kind in FORMATTING else kind)
    strong = edge
    for index, kind in enumerate(types):  # W2, W3
        if kind in ("L", "R", "AL"):
            strong = kind
        if kind == "EN" and strong == "AL":
            types[index] = "AN"
    types[:] = ["R" if kind == "AL" else kind for kind in types]
    for index in range(1, len(types) - 1):  # W4
        before, kind, after = types[index - 1], types[index], types[index + 1]
        if (before == after == "EN" and kind in ("ES", "CS")) or \
                (before == after == "AN" and kind == "CS"):
            types[index] = before
    index = 0
    while index < len(types):  # W5: terminators next to European numbers
        end = index
        while end < len(types) and types[end] == "ET":
            end += 1
        if end > index and ((index and types[index - 1] == "EN")
                            or (end < len(types) and types[end] == "EN")):
            types[index:end] = ["EN"] * (end - index)
        index = max(end, index + 1)
    types[:] = ["ON" if kind in ("ES", "ET", "CS") else kind for kind in types]  # W6
    strong = edge
    for index, kind in enumerate(types):  # W7
        if kind in ("L", "R"):
            strong = kind
        elif kind == "EN" and strong == "L":
            types[index] = "L"
    return types


def _brackets(text: str, original: list[str], types: list[str], edge: str,
              embedding: int) -> None:
    """Rule N0: a bracket pair takes the embedding direction when it holds text of that
    direction, else the opposite one when that is what it holds and follows."""
    own = "R" if embedding else "L"
    for opening, closing in _pairs(text, types):
        inside = {STRONG.get(kind) for kind in types[opening + 1:closing]} - {None}
        if not inside:
            continue
        # the opposite direction only when the text before the pair has it too
        chosen = own if own in inside else next(
            (STRONG[kind] for kind in reversed(types[:opening]) if kind in STRONG), edge)
        for index in (opening, closing):
            types[index] = chosen
            after = index + 1
            while after < len(types) and original[after] == "NSM":
                types[after] = chosen
                after += 1


def _pairs(text: str, types: list[str]) -> list[tuple[int, int]]:
    """Bracket pairs (rule BD16), by the position of their opening bracket."""
    stack: list[tuple[str, int]] = []
    found: list[tuple[int, int]] = []
    for index, char in enumerate(text):
        if types[index] != "ON":
            continue
        char = EQUIVALENT.get(char, char)
        if char in OPENING:
            if len(stack) == MAX_BRACKET_DEPTH:
                break
            stack.append((EQUIVALENT.get(OPENING[char], OPENING[char]), index))
        elif char in CLOSING:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == char:
                    found.append((stack[depth][1], index))
                    del stack[depth:]
                    break
    return sorted(found)


def _neutrals(types: list[str], edge: str, embedding: int) -> None:
    """Rules N1 and N2: neutrals between two sides of one direction take it; others
    take the embedding direction."""
    index = 0
    while index < len(types):
        if types[index] in STRONG:
            index += 1
            continue
        end = index
        while end < len(types) and types[end] not in STRONG:
            end += 1
        before = STRONG[types[index - 1]] if index else edge
        after = STRONG[types[end]] if end < len(types) else edge
        chosen = before if before == after else ("R" if embedding else "L")
        types[index:end] = [chosen] * (end - index)
        index = end


def _level(kind: str, embedding: int) -> int:
    """Rules I1 and I2."""
    if embedding:
        return embedding + (kind != "R")
    return {"L": 0, "R": 1}.get(kind, 2)


def _line_end(original: list[str], found: list[int], embedding: int) -> None:
    """Rule L1: spaces at the end of the line (and before tabs) are the paragraph's."""
    trailing = True
    for index in range(len(original) - 1, -1, -1):
        kind = original[index]
        if kind in ("S", "B"):
            found[index] = embedding
            trailing = True
        elif trailing and kind in ("WS", "BN", "LRI", "RLI", "FSI", "PDI"):
            found[index] = embedding
        else:
            trailing = False


def visual_order(levels_: list[int]) -> list[int]:
    """Rule L2: indices in display order, left to right: from the highest level down
    to the lowest odd one, every stretch at that level or above is reversed."""
    order = list(range(len(levels_)))
    if not levels_:
        return order
    lowest_odd = min(level for level in levels_) | 1
    for level in range(max(levels_), lowest_odd - 1, -1):
        index = 0
        while index < len(order):
            if levels_[order[index]] < level:
                index += 1
                continue
            end = index
            while end < len(order) and levels_[order[end]] >= level:
                end += 1
            order[index:end] = reversed(order[index:end])
            index = end
    return order


def mirrored(char: str) -> str:
    """The character a right-to-left run shows for ``char`` (rule L4): ``(`` for ``)``,
    ``»`` for ``«``; itself when it has no mirror."""
    return MIRRORS.get(char, char) if unicodedata.mirrored(char) else char


def display(text: str, direction: str, mirror: bool = True) -> str:
    """``text`` as it reads on screen, left to right, mirrored where right to left
    (what a line looks like: used by the unshaped fallback and by tests)."""
    found = levels(text, direction)
    return "".join(mirrored(text[i]) if mirror and found[i] % 2 else text[i]
                   for i in visual_order(found))
