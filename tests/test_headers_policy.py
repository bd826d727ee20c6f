"""A page's policy read from its first kilobyte is the one its whole head states
(``headers.policy_of`` decodes 8 KB only when the first kilobyte cannot settle it)."""

from __future__ import annotations

import random

from generator.csp import META
from generator.outputs import headers
from generator.outputs.headers import FIRST_BYTES, HEAD_BYTES, policy_of
from tests.conftest import FIXTURES, build_copy


def whole_head(data: bytes) -> str:
    """The policy as the whole head states it (what ``policy_of`` must always give)."""
    found = META.search(data[:HEAD_BYTES].decode("utf-8", "replace"))
    return found.group(2).strip() if found else ""


PIECES = ('<meta', '<META', ' http-equiv', '=', '"', "'", 'content-security-policy',
          'Content-Security-Policy', ' content', '="', "default-src 'self'", '>', ' ',
          '\n', 'é', 'ſ', '\u00a0', '\u2003', 'x', '<title>عنوان</title>', '<meta charset="utf-8">',
          '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">',
          "<meta http-equiv=content-security-policy content=\"img-src 'self'\">",
          '<meta http-equiv="content-security-policy" data-x="y" content="a ', 'b">')


def test_policy_of_gives_what_the_whole_head_states_around_the_first_kilobyte() -> None:
    chance = random.Random(20)
    for _ in range(20_000):
        pieces = [chance.choice(PIECES) for _ in range(chance.randrange(1, 40))]
        text = "".join(pieces)
        pad = chance.choice((0, FIRST_BYTES - len(text.encode()) // 2, FIRST_BYTES - 40,
                             FIRST_BYTES - 5, FIRST_BYTES + 3))
        data = (" " * max(pad, 0)).encode() + text.encode() + \
            "".join(chance.choice(PIECES) for _ in range(chance.randrange(0, 400))).encode()
        if chance.random() < 0.2:  # a character cut by the kilobyte's end
            data = data[:FIRST_BYTES - 1] + "é>\"".encode() + data[FIRST_BYTES - 1:]
        assert policy_of(data) == whole_head(data), data


def test_pages_starting_as_one_read_before_have_the_policy_of_their_whole_head(
        monkeypatch) -> None:
    """A remembered head (``headers._HEADS``) gives its policy only to pages whose own
    whole head states it, whatever follows the head."""
    monkeypatch.setattr(headers, "_HEADS", {})
    chance = random.Random(13)
    starts = ["".join(chance.choice(PIECES) for _ in range(chance.randrange(1, 30)))
              for _ in range(300)]
    found = 0
    for _ in range(20_000):
        start = chance.choice(starts)
        pad = chance.choice((0, FIRST_BYTES - len(start.encode()) // 2, FIRST_BYTES - 40))
        data = (" " * max(pad, 0) + start).encode() + \
            "".join(chance.choice(PIECES) for _ in range(chance.randrange(0, 300))).encode()
        found += any(data[:length] in heads for length, heads in headers._HEADS.items())
        assert policy_of(data) == whole_head(data), data
    assert found > 500  # heads were remembered, and pages found by them


def test_policy_of_reads_every_built_page_as_its_whole_head(tmp_path) -> None:
    built = build_copy(FIXTURES / "multilingual", tmp_path)
    pages = sorted(built.output.rglob("*.html"))
    assert pages
    policies = {page: policy_of(page.read_bytes()) for page in pages}
    assert all(policy == whole_head(page.read_bytes()) for page, policy in policies.items())
    assert sum(1 for policy in policies.values() if "script-src" in policy) > len(pages) // 2
