"""parse_bytes: the stdlib's compat32 parse, boundary lines found as Python 3.13 finds
them; every mail must come out as the stdlib's own parser gives it."""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser

import pytest

from worker.message.feed import _BoundaryRe, parse_bytes


def _shape(msg: Message) -> list[tuple[object, ...]]:
    """Everything the parser sets on each part."""
    return [(part._headers, part._payload if isinstance(part._payload, str) else len(part._payload),
             part.preamble, part.epilogue, [type(d).__name__ for d in part.defects],
             part._default_type, part._unixfrom, part.get_content_type())
            for part in msg.walk()]


def _mail(boundary: str, body: str, nl: str = "\r\n") -> bytes:
    head = f'MIME-Version: 1.0{nl}Content-Type: multipart/mixed; boundary="{boundary}"{nl}{nl}'
    return (head + body.replace("\n", nl)).encode("utf-8", "surrogateescape")


BOUNDARIES = ["simple", "----=_Part_0_1.2", "a+b*c?(d)[e]{f}|g^h$i\\j", "--lead", "x y", "点"]


def _bodies(b: str) -> list[str]:
    return [
        f"--{b}\nContent-Type: text/plain\n\nhello\n--{b}--\n",
        f"preamble\n--{b}\n\none\n--{b}  \t\n\ntwo\n--{b}--  \nepilogue\n",
        f"--{b}\n\none\n--{b}x\nnot a boundary\n--{b}-\n--{b}--",  # no line end at the end
        f"--{b}\n\nunclosed\n",
        f"--{b}\n--{b}\n\ndouble boundary\n--{b}--\n",
        f"--{b}\nContent-Type: multipart/alternative; boundary=\"in{b}\"\n\n"
        f"--in{b}\n\ninner\n--{b}\n\nouter closes the inner\n--{b}--\n",
        f"no boundary at all\n-- {b}\n",
        f" --{b}\n\nindented\n--{b}--\n",
    ]


@pytest.mark.parametrize("nl", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_message_as_the_stdlib(boundary: str, nl: str) -> None:
    for body in _bodies(boundary):
        raw = _mail(boundary, body, nl)
        assert _shape(parse_bytes(raw)) == _shape(BytesParser(policy=policy.compat32).parsebytes(raw))


def test_long_mail_fed_in_pieces_as_the_stdlib_does() -> None:
    b = "chunks"
    raw = _mail(b, f"--{b}\n\n" + ("x" * 8191 + "\r\n") * 5 + f"--{b}--\n", "\r\n")
    assert _shape(parse_bytes(raw)) == _shape(BytesParser(policy=policy.compat32).parsebytes(raw))


def test_only_the_boundary_pattern_is_replaced() -> None:
    fake = _BoundaryRe()
    pattern = "(?P<sep>" + re.escape("--a.b") + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    matcher = fake.compile(pattern)
    assert not isinstance(matcher, re.Pattern)
    for line in ["--a.b\r\n", "--a.b--\n", "--a.b  ", "--aXb\n", "--a.b x\n", "x--a.b\n"]:
        real = re.compile(pattern).match(line)
        mine = matcher.match(line)
        assert (mine is None) == (real is None)
        if real is not None:
            assert mine.group("end", "ws", "linesep") == real.group("end", "ws", "linesep")
    # anything else (another pattern, flags, an unescaped special) is re's own compile
    assert isinstance(fake.compile(r"(\r\n|\r|\n)"), re.Pattern)
    assert isinstance(fake.compile(pattern, re.I), re.Pattern)
    odd = "(?P<sep>a.b" + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    assert isinstance(fake.compile(odd), re.Pattern)
    assert fake.escape("a.b") == re.escape("a.b")
