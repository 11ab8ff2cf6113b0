"""Regexes for JSON Schema ``format`` (constrain.jsonschema.formats): soundness and completeness.

* every string drawn from a format's DFA (a random walk over ``ByteDFA.table``) and from the Python
  translation of its regex (hypothesis ``from_regex``) is accepted by the ``jsonschema`` format
  checker (when it checks that format), by an independent validator written here or taken from the
  standard library, and needs no escaping inside a JSON string;
* known-valid examples match, known-invalid ones do not;
* finite languages are checked exhaustively where cheap (every calendar date, IPv4 octets) and
  length limits are checked on the automaton itself (longest accepted string).

Checker dependencies (skipped per format when missing): ``rfc3339-validator`` (date-time, time),
``fqdn`` (hostname), ``rfc3986-validator`` (uri, uri-reference), ``isoduration`` (duration),
``jsonpointer`` (json-pointer, relative-json-pointer).
"""

from __future__ import annotations

import calendar
import functools
import ipaddress
import json
import random
import re
import string
import sys
import urllib.parse
import uuid
import warnings
from collections import deque
from datetime import date, datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.jsonschema import formats
from constrain.jsonschema.formats import FORMAT_REGEXES, format_regex
from constrain.regex import ByteDFA, compile_regex

jsonschema = pytest.importorskip("jsonschema")
CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))


@functools.lru_cache(maxsize=None)
def dfa(name: str) -> ByteDFA:
    return compile_regex(FORMAT_REGEXES[name])


def python_regex(pattern: str) -> str:
    """Our dialect -> Python ``re`` (only ``\\u{...}`` differs among the constructs used here)."""
    return re.sub(r"\\u\{([0-9A-Fa-f]+)\}", lambda m: "\\U%08X" % int(m.group(1), 16), pattern)


def hypothesis_regex(pattern: str) -> str:
    """``python_regex``, with the huge non-ASCII ranges of json-pointer narrowed to a sample.

    Hypothesis takes seconds to build a strategy for a class spanning all of Unicode; the random
    walk over the DFA covers the full ranges.
    """
    full = "\\u00A0-\\uD7FF\\uE000-\\U0010FFFF"
    sample = "\\u00A0-\\u00FF\\u2028\\u2029\\u4E00-\\u4E0F\\uFFFD\\U0001F600-\\U0001F60F\\U0010FFFF"
    return python_regex(pattern).replace(full, sample)


# ----------------------------------------------------------------------------------------------
# DFA helpers: random walk, language size, longest string
# ----------------------------------------------------------------------------------------------


def _class_bytes(d: ByteDFA) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(d.num_classes)]
    for b in range(256):
        out[int(d.byte_class[b])].append(b)
    return out


def _dist_to_accept(d: ByteDFA) -> list[int]:
    """Fewest bytes from each state to an accepting state (BFS on reversed edges)."""
    table = d.table.tolist()
    preds: list[list[int]] = [[] for _ in range(d.num_states)]
    for s, row in enumerate(table):
        for t in row:
            if t >= 0:
                preds[t].append(s)
    dist = [-1] * d.num_states
    queue = deque()
    for s in range(d.num_states):
        if d.accepting[s]:
            dist[s] = 0
            queue.append(s)
    while queue:
        t = queue.popleft()
        for s in preds[t]:
            if dist[s] < 0:
                dist[s] = dist[t] + 1
                queue.append(s)
    return dist


def random_walk(d: ByteDFA, rng: random.Random, stop: float, soft_max: int) -> bytes:
    """A random string of the DFA's language: random live classes, random bytes within them.

    At an accepting state the walk stops with probability ``stop``; past ``soft_max`` bytes it only
    takes steps that bring an accepting state closer, so it always ends.
    """
    table = d.table.tolist()
    classes = _class_bytes(d)
    dist = _dist_to_accept(d)
    state, out = d.start, bytearray()
    while True:
        if d.accepting[state] and (rng.random() < stop or len(out) >= soft_max):
            return bytes(out)
        live = [c for c, t in enumerate(table[state]) if t >= 0 and classes[c]]
        if not live:  # a final state with no way on (trimmed: it accepts)
            return bytes(out)
        if len(out) >= soft_max:
            live = [c for c in live if dist[table[state][c]] < dist[state]]
        c = rng.choice(live)
        out.append(rng.choice(classes[c]))
        state = table[state][c]


def language_size(d: ByteDFA, state: int | None = None) -> int:
    """Number of strings accepted from ``state`` (the DFA must be acyclic from there)."""
    table = d.table.tolist()
    sizes = [len(c) for c in _class_bytes(d)]
    memo: dict[int, int] = {}
    on_path: set[int] = set()

    def count(s: int) -> int:
        if s in memo:
            return memo[s]
        assert s not in on_path, "the language is infinite"
        on_path.add(s)
        n = int(d.accepting[s]) + sum(sizes[c] * count(t) for c, t in enumerate(table[s]) if t >= 0)
        on_path.discard(s)
        memo[s] = n
        return n

    return count(d.start if state is None else state)


def longest(d: ByteDFA) -> int:
    """Length of the longest accepted string (the DFA must be acyclic)."""
    table = d.table.tolist()
    memo: dict[int, int] = {}

    def go(s: int) -> int:
        if s not in memo:
            memo[s] = max([0] + [1 + go(t) for t in table[s] if t >= 0])
        return memo[s]

    return go(d.start)


def suffixes(d: ByteDFA, state: int) -> set[bytes]:
    """Every string accepted from ``state`` (a finite language)."""
    table = d.table.tolist()
    classes = _class_bytes(d)
    out: set[bytes] = set()

    def go(s: int, prefix: bytes) -> None:
        if d.accepting[s]:
            out.add(prefix)
        for c, t in enumerate(table[s]):
            if t >= 0:
                for b in classes[c]:
                    go(t, prefix + bytes((b,)))

    go(state, b"")
    return out


# ----------------------------------------------------------------------------------------------
# Independent validators (no jsonschema, no regexes from the module under test)
# ----------------------------------------------------------------------------------------------

DIGITS = set(string.digits)
HEX = set(string.hexdigits)
ATEXT = set(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-")
LDH = set(string.ascii_letters + string.digits + "-")


def _num(s: str, lo: int, hi: int) -> bool:
    return bool(s) and set(s) <= DIGITS and lo <= int(s) <= hi


def date_ok(s: str) -> bool:
    if len(s) != 10 or s[4] != "-" or s[7] != "-":
        return False
    y, m, d = s[:4], s[5:7], s[8:]
    if not (_num(y, 1, 9999) and _num(m, 1, 12) and len(m) == 2 and len(d) == 2):
        return False
    if not _num(d, 1, calendar.monthrange(int(y), int(m))[1]):
        return False
    return date.fromisoformat(s) == date(int(y), int(m), int(d))


def _truncate_fraction(s: str) -> str:
    # datetime.fromisoformat takes at most 6 fraction digits on older Pythons.
    return re.sub(r"\.([0-9]{6})[0-9]+", r".\1", s)


def time_ok(s: str) -> bool:
    """RFC 3339 full-time (leap second 60 allowed here; jsonschema's checker forbids it)."""
    if len(s) < 9 or s[2] != ":" or s[5] != ":":
        return False
    if not (_num(s[:2], 0, 23) and _num(s[3:5], 0, 59) and _num(s[6:8], 0, 60)):
        return False
    rest = s[8:]
    if rest.startswith("."):
        i = 1
        while i < len(rest) and rest[i] in DIGITS:
            i += 1
        if i == 1:
            return False
        rest = rest[i:]
    if rest != "Z":
        if len(rest) != 6 or rest[0] not in "+-" or rest[3] != ":":
            return False
        if not (_num(rest[1:3], 0, 23) and _num(rest[4:], 0, 59)):
            return False
    if s[6:8] != "60":
        time.fromisoformat(_truncate_fraction(s))  # raises if the stdlib disagrees
    return True


def date_time_ok(s: str) -> bool:
    if len(s) < 11 or s[10] != "T" or not date_ok(s[:10]) or not time_ok(s[11:]):
        return False
    datetime.fromisoformat(_truncate_fraction(s))
    return True


def duration_ok(s: str) -> bool:
    """RFC 3339 Appendix A duration."""
    if not s.startswith("P"):
        return False
    date_part, t, time_part = s[1:].partition("T")
    has_t = bool(t)

    def designators(text: str) -> list[str] | None:
        out, digits = [], ""
        for ch in text:
            if ch in DIGITS:
                digits += ch
            elif ch.isalpha() and digits:
                out.append(ch)
                digits = ""
            else:
                return None
        return None if digits else out

    ds, ts = designators(date_part), designators(time_part)
    if ds is None or ts is None:
        return False
    date_runs = ["".join("YMD"[i:j]) for i in range(3) for j in range(i + 1, 4)]
    time_runs = ["".join("HMS"[i:j]) for i in range(3) for j in range(i + 1, 4)]
    if "".join(ds) == "W":
        return not has_t
    if has_t and "".join(ts) not in time_runs:
        return False
    if ds and "".join(ds) not in date_runs:
        return False
    return bool(ds) or has_t


def hostname_ok(s: str, limit: int = 253) -> bool:
    if not s or len(s) > limit:
        return False
    for label in s.split("."):
        if not 1 <= len(label) <= 63 or not set(label) <= LDH:
            return False
        if label[0] == "-" or label[-1] == "-":
            return False
        if label[2:4] == "--":  # RFC 5891 R-LDH / A-labels: left out of our subset
            return False
    return True


def email_ok(s: str) -> bool:
    local, at, domain = s.rpartition("@")
    if not at or len(s) > 254 or not 1 <= len(local) <= 64:
        return False
    if not all(atom and set(atom) <= ATEXT for atom in local.split(".")):
        return False
    from email.utils import parseaddr

    return hostname_ok(domain) and parseaddr(s) == ("", s)


def ipv4_ok(s: str) -> bool:
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not _num(p, 0, 255) or (len(p) > 1 and p[0] == "0"):
            return False
    return str(ipaddress.IPv4Address(s)) == s


def ipv6_ok(s: str) -> bool:
    """RFC 4291 section 2.2 text forms (no zone index)."""
    if "." in s:
        i = s.rfind(":")
        if i < 0 or not ipv4_ok(s[i + 1:]):
            return False
        s = s[: i + 1] + "0:0"
    if "::" in s:
        if s.count("::") != 1:
            return False
        left, right = s.split("::")
        groups = (left.split(":") if left else []) + (right.split(":") if right else [])
        if len(groups) > 7:
            return False
    else:
        groups = s.split(":")
        if len(groups) != 8:
            return False
    return all(1 <= len(g) <= 4 and set(g) <= HEX for g in groups)


def uuid_ok(s: str) -> bool:
    return len(s) == 36 and str(uuid.UUID(s)) == s.lower()


# RFC 3986 Appendix A, transcribed independently; IP literals are checked by ipv6_ok / IPvFuture.
_U = r"[A-Za-z0-9\-._~]"
_P = r"%[0-9A-Fa-f]{2}"
_S = r"[!$&'()*+,;=]"
_PCHAR = rf"(?:{_U}|{_P}|{_S}|:|@)"
_QF = rf"(?:{_PCHAR}|/|\?)*"
_AUTH = rf"(?:(?:{_U}|{_P}|{_S}|:)*@)?(?P<host>\[[^\[\]]*\]|(?:{_U}|{_P}|{_S})*)(?::[0-9]*)?"
_ABEMPTY = rf"(?:/{_PCHAR}*)*"
_HIER = rf"(?://{_AUTH}{_ABEMPTY}|/(?:{_PCHAR}+{_ABEMPTY})?|{_PCHAR}+{_ABEMPTY}|)"
_REL = rf"(?://{_AUTH}{_ABEMPTY}|/(?:{_PCHAR}+{_ABEMPTY})?|(?:{_U}|{_P}|{_S}|@)+{_ABEMPTY}|)"
_URI_RE = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER}(?:\?{_QF})?(?:#{_QF})?")
_REL_RE = re.compile(rf"{_REL}(?:\?{_QF})?(?:#{_QF})?")
_IPVFUTURE = re.compile(rf"v[0-9A-Fa-f]+\.(?:{_U}|{_S}|:)+")


def _host_ok(m: re.Match) -> bool:
    host = m.group("host")
    if host and host.startswith("["):
        inner = host[1:-1]
        return ipv6_ok(inner) or bool(_IPVFUTURE.fullmatch(inner))
    return True


def uri_ok(s: str) -> bool:
    m = _URI_RE.fullmatch(s)
    if not (m and _host_ok(m)):
        return False
    parts = urllib.parse.urlsplit(s)  # raises ValueError on a malformed IP literal
    return parts.scheme == s.split(":", 1)[0].lower()


def uri_reference_ok(s: str) -> bool:
    if _URI_RE.fullmatch(s):
        return uri_ok(s)
    m = _REL_RE.fullmatch(s)
    if not (m and _host_ok(m)):
        return False
    urllib.parse.urlsplit(s)
    return True


def json_pointer_ok(s: str) -> bool:
    if s and not s.startswith("/"):
        return False
    for token in s.split("/")[1:]:
        i = 0
        while i < len(token):
            if token[i] == "~":
                if i + 1 >= len(token) or token[i + 1] not in "01":
                    return False
                i += 1
            i += 1
    jsonpointer = pytest.importorskip("jsonpointer")
    ptr = jsonpointer.JsonPointer(s)
    return jsonpointer.JsonPointer.from_parts(ptr.parts).path == s


def relative_json_pointer_ok(s: str) -> bool:
    i = 0
    while i < len(s) and s[i] in DIGITS:
        i += 1
    number, rest = s[:i], s[i:]
    if not number or (len(number) > 1 and number[0] == "0"):
        return False
    return rest == "#" or json_pointer_ok(rest)


def uri_template_ok(s: str) -> bool:
    """RFC 6570 section 2, written as a scanner (ASCII literals; levels 1-4 operators)."""
    hexdigits = set("0123456789abcdefABCDEF")
    literal = {0x21, 0x23, 0x24, 0x26, *range(0x28, 0x3C), 0x3D, *range(0x3F, 0x5C), 0x5D, 0x5F,
               *range(0x61, 0x7B), 0x7E}
    i = 0
    while i < len(s):
        c = s[i]
        if c == "%":
            if len(s) < i + 3 or not set(s[i + 1:i + 3]) <= hexdigits:
                return False
            i += 3
        elif c == "{":
            end = s.find("}", i)
            if end < 0:
                return False
            body = s[i + 1:end]
            if body[:1] and body[0] in "+#./;?&":
                body = body[1:]
            for varspec in body.split(","):
                name, _, modifier = varspec.partition(":")
                if name.endswith("*") and not modifier:
                    name = name[:-1]
                elif modifier and not (modifier.isdigit() and modifier[0] != "0" and len(modifier) <= 4):
                    return False
                parts = name.split(".")
                if not all(re.fullmatch(r"(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+", p) for p in parts):
                    return False
            i = end + 1
        elif ord(c) in literal:
            i += 1
        else:
            return False
    return True


def regex_ok(s: str) -> bool:
    """Python's re compiles it without a warning (a FutureWarning marks syntax whose meaning
    will change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        re.compile(s)
    return True


VALIDATORS = {
    "date-time": date_time_ok,
    "date": date_ok,
    "time": time_ok,
    "duration": duration_ok,
    "email": email_ok,
    "hostname": hostname_ok,
    "ipv4": ipv4_ok,
    "ipv6": ipv6_ok,
    "uuid": uuid_ok,
    "uri": uri_ok,
    "uri-reference": uri_reference_ok,
    "json-pointer": json_pointer_ok,
    "relative-json-pointer": relative_json_pointer_ok,
    "uri-template": uri_template_ok,
    "regex": regex_ok,
}
NAMES = sorted(FORMAT_REGEXES)


def assert_valid(name: str, s: str) -> None:
    if name != "regex":  # regexes hold backslashes and quotes, written escaped in JSON
        assert json.dumps(s, ensure_ascii=False)[1:-1] == s, f"{s!r} needs JSON escaping"
    if name in CHECKER.checkers:
        assert CHECKER.conforms(s, name), f"jsonschema rejects {s!r} as {name}"
    try:
        ok = VALIDATORS[name](s)
    except ValueError as e:
        raise AssertionError(f"independent validator rejects {s!r} as {name}: {e}") from e
    assert ok, f"independent validator rejects {s!r} as {name}"


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------


def test_api():
    assert set(VALIDATORS) == set(FORMAT_REGEXES)
    assert format_regex("date-time") == FORMAT_REGEXES["date-time"]
    for unknown in ("idn-hostname", "iri", "no-such-format"):
        assert format_regex(unknown) is None


@pytest.mark.parametrize("name", NAMES)
def test_checker_installed(name):
    """The formats the jsonschema checker validates in this environment (documents coverage)."""
    if name not in CHECKER.checkers:
        pytest.skip(f"jsonschema does not check {name!r} here (missing optional dependency)")


@pytest.mark.parametrize("name", NAMES)
def test_dfa_size(name):
    d = dfa(name)
    assert d.num_states < 2000


@pytest.mark.parametrize("name", NAMES)
def test_random_walk_sound(name):
    d = dfa(name)
    rng = random.Random(f"formats-{name}")
    for i in range(400):
        stop, soft_max = [(0.3, 40), (0.05, 120), (0.0, 300)][i % 3]
        data = random_walk(d, rng, stop, soft_max)
        assert d.fullmatch(data)
        assert_valid(name, data.decode("utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_from_regex_sound(name):
    pattern = re.compile(hypothesis_regex(FORMAT_REGEXES[name]))
    d = dfa(name)

    @SETTINGS
    @given(st.from_regex(pattern, fullmatch=True))
    def check(s):
        assert d.fullmatch(s.encode("utf-8")), f"DFA and Python regex disagree on {s!r}"
        assert_valid(name, s)

    check()


VALID = {
    "date-time": [
        "2024-02-29T12:34:56Z", "2023-12-31T23:59:59.123+05:30", "1970-01-01T00:00:00Z",
        "2000-02-29T00:00:00-00:00", "0001-01-01T00:00:00.000000001Z", "9999-12-31T23:59:59-23:59",
    ],
    "date": ["2024-02-29", "2000-02-29", "1600-02-29", "2023-02-28", "2023-04-30", "2023-01-31",
             "0004-02-29", "0400-02-29", "0001-01-01", "9999-12-31"],
    "time": ["12:34:56Z", "23:59:59.999+14:00", "00:00:00-12:30", "08:30:00.5Z"],
    "duration": ["P3Y6M4DT12H30M5S", "P1D", "PT1H", "PT30M", "PT5S", "P1W", "P2M", "P1Y2M",
                 "P1M2D", "PT1H30M", "PT1M5S", "P0D", "P10Y", "P1DT2H"],
    "email": ["user.name+tag@example.co.uk", "a@b", "john@example.com", "x_y-z@sub.domain.org",
              "o'brien@example.ie", "a@x--y.example", "!#$%&'*+/=?^_`{|}~-@x.io", "a" * 64 + "@example.com"],
    "hostname": ["example.com", "localhost", "a", "ab-c.x--y.a-b-c.abc--d", "www.example.co.uk",
                 "1.2.3.4", "a-b.c-d", "A" * 63, ".".join(["a" * 63] * 3),
                 ".".join(["b" * 62] * 4), "a.b.c.d.e.f.g.h.i.j"],
    "ipv4": ["192.168.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.254", "1.22.133.249"],
    "ipv6": ["::1", "::", "2001:db8::8a2e:370:7334", "1:2:3:4:5:6:7:8", "1::", "1:2:3:4:5:6:7::",
             "::2:3:4:5:6:7:8", "fe80::1", "::ffff:192.168.0.1", "1:2:3:4:5:6:1.2.3.4",
             "64:ff9b::192.0.2.33", "FFFF:ABCD::", "2001:0db8:0000:0000:0000:ff00:0042:8329"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000",
             "A987FBC9-4BED-3078-CF07-9141BA07C9F3"],
    "uri": ["https://example.com/path?q=1#frag", "urn:isbn:0451450523", "mailto:a@b.c",
            "file:///etc/hosts", "http://[::1]:8080/", "http://user:pw@host:80/a%20b",
            "ftp://192.168.0.1/", "x:", "tag:example.com,2005:foo", "http://a/b/c/./../g;x?y#s"],
    "uri-reference": ["../relative/path", "", "#frag", "?q=1", "//example.com/x", "/abs/path",
                      "https://example.com/path?q=1#frag", "a/b:c", "./a:b", "g;x=1/../y"],
    "json-pointer": ["", "/", "/foo", "/foo/0", "/a~1b", "/m~0n", "/ ", "/é/😀", "//"],
    "relative-json-pointer": ["0", "1/foo", "0#", "10/a~1b", "123", "2/"],
    "uri-template": ["http://example.com/{id}", "/a{/b,c}{?q*,r:3}", "x{+path}y", "{a.b}", "%2F{x}", "",
                     "/search{?q,lang}{#frag}", "{;x,y*}"],
    "regex": ["^feat.*", "a|b$", "[a-z]+@[A-Z0-9_]{2,}", "(ab|c)?x*?", "^$", "", "(?:x|y){3}", "[^0-9]",
              "^\\s*(it|describe)\\(\\s*['\"]([^'\"]+)['\"]", "\\bword\\B", "[\\w.\\-]+@\\S+",
              "\\x41\\u00e9\\\\", "[\\]\\\\]", "^[a-zA-Z0-9_]{3,16}$", "a{2,5}b{10,200}"],
}

INVALID = {
    "date-time": [
        "2023-02-29T12:00:00Z", "2024-02-30T12:00:00Z", "2024-04-31T00:00:00Z",
        "2024-01-01T25:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T12:60:00Z",
        "2024-01-01T23:59:60Z", "2024-01-01T12:00:00", "2024-01-01 12:00:00Z",
        "2024-01-01T12:00:00+24:00", "2024-01-01T12:00:00.Z", "0000-01-01T00:00:00Z",
        "2024-01-01t12:00:00z", "2024-1-01T12:00:00Z", "2024-01-01T12:00Z",
    ],
    "date": ["2023-02-29", "1900-02-29", "2100-02-29", "0000-02-29", "2024-02-30", "2023-04-31",
             "2023-13-01", "2023-00-10", "2023-01-00", "2023-01-32", "0000-01-01", "20230101",
             "2023-1-1", "12023-01-01"],
    "time": ["25:00:00Z", "24:00:00Z", "12:00:00", "12:00:60Z", "12:60:00Z", "1:00:00Z",
             "12:00:00+25:00", "12:00:00+05:60", "12:00:00.Z", "12:00Z"],
    "duration": ["P", "PT", "P1Y2D", "PT1H5S", "P1DT", "1D", "P1.5D", "P-1D", "P1W2D", "PT1W",
                 "P1S", "PT1D", "P1D2M", "P1Y1Y"],
    "email": ["plainaddress", "@example.com", "a@", "a..b@example.com", ".a@example.com",
              "a.@example.com", "a@-example.com", "a@example-.com", "a@exa_mple.com",
              '"quoted"@example.com', "a@[192.168.0.1]", "a b@example.com", "a@b@c",
              "a" * 65 + "@example.com", "a@example.com."],
    "hostname": ["-example.com", "example-.com", "exa_mple.com", "a" * 64, "a" * 64 + ".com",
                 "", ".", "example.com.", "a..b", "ex ample.com", "é.com",
                 "xn--bcher-kva.example", "XN--aa---o47jg78q", "ab--", "a.ab--c",
                 ".".join(["a" * 63] * 4), ".".join(["a"] * 128)],
    "ipv4": ["192.168.00.1", "01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.-4", "",
             "1.2.3.4 ", "١.2.3.4"],
    "ipv6": ["1::2::3", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4::5:6:7:8",
             "12345::", "::g", "1:", ":1", "::1%eth0", "::192.168.0.01", "1:2:3:4:5:6:7:1.2.3.4",
             "::1.2.3", "[::1]"],
    "uuid": ["123e4567-e89b-12d3-a456-42661417400", "123e4567e89b12d3a456426614174000",
             "{123e4567-e89b-12d3-a456-426614174000}", "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
             "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456_426614174000"],
    "uri": ["", "../relative/path", "//example.com", "1http://x", "http://exa mple.com",
            "http://[::1", "http://x/%zz", "http://x/\\", 'http://x/"', "#frag", "http://[1::2::3]/"],
    "uri-reference": ["a b", "%", "http://x/%zz", "a:b c", "\\", "http://[::1/", "<x>"],
    "json-pointer": ["foo", "/~", "/~2", "/a~", "#/foo", '/"', "/\\", "/\n"],
    "relative-json-pointer": ["", "/foo", "01/foo", "-1/foo", "1#/a", "#", "1a", "100", "101"],
    "uri-template": ["http://example.com/resource/{", "{", "}", "a b", "{a..b}", "{}", "{x:0}", "{x:10000}",
                     "%zz", "'", "{=x}", "a<b"],
    "regex": ["(", "a**", "[z-a]", "[]", "a{3,2}", "*a", "[a", "a)", "?", "\\q", "\\b*", "[\\B]", "\\1", "a\\", "a{5,2}", "a{20,10}"],
}


@pytest.mark.parametrize("name", NAMES)
def test_known_valid(name):
    d = dfa(name)
    for s in VALID[name]:
        assert d.fullmatch(s.encode("utf-8")), f"{s!r} should be a valid {name}"
        assert_valid(name, s)


@pytest.mark.parametrize("name", NAMES)
def test_known_invalid(name):
    d = dfa(name)
    for s in INVALID[name]:
        assert not d.fullmatch(s.encode("utf-8")), f"{s!r} should not match {name}"


def test_date_exhaustive():
    """The date DFA accepts exactly the calendar dates 0001-01-01 .. 9999-12-31."""
    d = dfa("date")
    by_state: dict[int, list[int]] = {}
    for year in range(10_000):
        state = d.walk(d.start, f"{year:04d}-".encode())
        if year == 0:
            assert state < 0 or not suffixes(d, state), "year 0000 must be rejected"
            continue
        by_state.setdefault(state, []).append(year)
    # The month-day strings of a year depend only on whether it is a leap year (2000 and 2001 as
    # representatives; calendar.monthrange decides).
    expected = {
        leap: {
            f"{m:02d}-{day:02d}".encode()
            for m in range(1, 13)
            for day in range(1, calendar.monthrange(2000 if leap else 2001, m)[1] + 1)
        }
        for leap in (False, True)
    }
    for state, years in by_state.items():
        accepted = suffixes(d, state)
        for year in years:
            assert accepted == expected[calendar.isleap(year)], year
    total = (date(9999, 12, 31) - date(1, 1, 1)).days + 1
    assert language_size(d) == total


def test_ipv4_octet_exhaustive():
    octet = compile_regex(formats._OCTET)
    assert suffixes(octet, octet.start) == {str(i).encode() for i in range(256)}
    assert language_size(dfa("ipv4")) == 256**4


def test_length_limits():
    assert longest(dfa("hostname")) <= 253
    assert longest(dfa("email")) <= 254
    assert longest(compile_regex(formats._LOCAL_PART)) == 64
    assert longest(compile_regex(formats._EMAIL_DOMAIN)) <= 189
    # The label-count/label-length shapes reach close to the limit.
    assert longest(dfa("hostname")) >= 250


def test_uuid_language():
    assert language_size(dfa("uuid")) == 22**32


def test_compile_time():
    import time as _time

    for name, pattern in FORMAT_REGEXES.items():
        t0 = _time.perf_counter()
        compile_regex(pattern)
        assert _time.perf_counter() - t0 < 2.0, name


# Differential checks on short strings built from tokens: the regex accepts exactly what the
# reference accepts (within the documented subset), so these test completeness as well.


def _token_strings(tokens: list[str], n: int, max_tokens: int, seed: str) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(tokens) for _ in range(rng.randint(0, max_tokens))) for _ in range(n)]


def test_duration_exactly_rfc3339_abnf():
    import itertools

    d = dfa("duration")
    for n in range(6):
        for chars in itertools.product("TYMWDHS1", repeat=n):
            s = "P" + "".join(chars)
            assert d.fullmatch(s.encode()) == duration_ok(s), s
            if d.fullmatch(s.encode()) and "duration" in CHECKER.checkers:
                assert CHECKER.conforms(s, "duration"), s


def test_ipv6_same_as_ipaddress():
    d = dfa("ipv6")
    tokens = ["1", "ab", "FFFF", "12345", ":", "::", "1.2.3.4", "0", "01.2.3.4", "g"]
    for s in _token_strings(tokens, 20_000, 14, "ipv6"):
        try:
            ipaddress.IPv6Address(s)
            expected = True
        except ValueError:
            expected = False
        assert d.fullmatch(s.encode()) == expected == ipv6_ok(s), s


def test_hostname_same_as_fqdn():
    if "hostname" not in CHECKER.checkers:
        pytest.skip("fqdn is not installed")
    d = dfa("hostname")
    for s in _token_strings(["a", "-", "0", ".", "ab", "Z9", "_"], 20_000, 12, "hostname"):
        # No trailing dot in our subset; otherwise the same language on short names.
        expected = CHECKER.conforms(s, "hostname") and not s.endswith(".") and s != ""
        expected = expected and not any(label[2:4] == "--" for label in s.split("."))
        assert d.fullmatch(s.encode()) == expected == hostname_ok(s), s


@pytest.mark.parametrize("name", ["uri", "uri-reference"])
def test_uri_same_as_rfc3986_validator(name):
    if name not in CHECKER.checkers:
        pytest.skip("rfc3986-validator is not installed")
    d = dfa(name)
    tokens = ["http", "a", ":", "//", "/", "?", "#", "%20", "%z", "[::1]", "[v1.x]", "@", "1",
              "[", "]", ".", "..", "-", "+", " ", "~", "!", "'", '"']
    for s in _token_strings(tokens, 10_000, 10, name):
        expected = CHECKER.conforms(s, name)
        if "[v" in s:  # IPvFuture literals are left out
            expected = False
        assert d.fullmatch(s.encode()) == expected, s


@pytest.mark.parametrize("max_len", [5, 6, 8])
def test_label_exhaustive(max_len):
    import itertools

    d = compile_regex(formats._label(max_len))
    for n in range(max_len + 2):
        for chars in itertools.product("a-0", repeat=n):
            s = "".join(chars)
            expected = 1 <= n <= max_len and s[0] != "-" and s[-1] != "-" and s[2:4] != "--"
            assert d.fullmatch(s.encode()) == expected, s
