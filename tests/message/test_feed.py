"""parse_bytes: the stdlib's compat32 parse, boundary lines found as Python 3.13 finds
them; every mail must come out as the stdlib's own parser gives it."""

from __future__ import annotations

import re
from email import policy
from email.feedparser import BufferedSubFile
from email.message import Message
from email.parser import BytesParser
from typing import Any

import pytest

from tests.builders.mail import build_bounce, build_mail
from worker.message.feed import _BoundaryMatcher, _BoundaryRe, _SubFile, parse_bytes


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


@pytest.mark.parametrize("nl", ["\r\n", "\n"])
def test_delivery_status_blocks_as_the_stdlib_reads_them(nl: str) -> None:
    """Inside message/delivery-status the parser ends each block at a blank line (a
    predicate other than a boundary's): every line is tested there, "--" or not."""
    b = "rep"
    status = ("Reporting-MTA: dns; 163.com\n\n--not a boundary: a dash line\n"
              "Final-Recipient: rfc822; unit@163.com\n\nAction: failed\n\n")
    body = (f"--{b}\nContent-Type: text/plain\n\nsorry\n--{b}\n"
            f"Content-Type: message/delivery-status\n\n{status}--{b}\n"
            f"Content-Type: message/rfc822\n\nSubject: x\n\n--{b}x body\n--{b}--\n")
    for raw in (_mail(b, body, nl), build_bounce(build_mail())):
        assert _shape(parse_bytes(raw)) == _shape(BytesParser(policy=policy.compat32).parsebytes(raw))


def _reads(buffer: Any, boundary: Any, blank: Any) -> list[object]:
    buffer.push("a\n--b\n--bx\n\n--b--\n-- b\n--c\nlast")
    buffer.close()
    buffer.push_eof_matcher(boundary)
    reads: list[object] = [buffer.readline(), buffer.readline()]  # "a", then "--b" ends it
    buffer.pop_eof_matcher()
    reads.append(buffer.readline())
    buffer.push_eof_matcher(boundary)
    buffer.push_eof_matcher(blank)
    reads += [buffer.readline(), buffer.readline()]  # "--bx", then the blank line ends it
    buffer.pop_eof_matcher()
    reads += [buffer.readline(), buffer.readline()]  # the blank line, then "--b--" ends it
    buffer.pop_eof_matcher()
    reads.append(buffer.readline())
    buffer.push_eof_matcher(boundary)
    return [*reads, list(buffer), buffer.readline()]


def test_line_reads_agree_with_the_stdlib_buffer() -> None:
    """``_SubFile`` against ``BufferedSubFile``: the same lines and false EOFs under a
    boundary's predicate, a blank-line predicate above it, and after that is popped."""
    boundary, blank = _BoundaryMatcher("--b").match, re.compile(r"\r\n|\r|\n").match
    ours = _reads(_SubFile(), boundary, blank)
    assert ours == _reads(BufferedSubFile(), boundary, blank)
    assert ours[:4] == ["a\n", "", "--b\n", "--bx\n"] and ours[-2:] == [["-- b\n", "--c\n", "last"], ""]
