"""Regexes for the JSON Schema ``format`` keyword.

Each regex (text in the dialect of :mod:`constrain.regex.parser`, to be *fullmatched*) describes the
**content** of a JSON string, i.e. the characters between the quotes as they appear in the JSON
text. None of them can produce a character that JSON would have to escape (``"``, ``\\`` or a
control character), so the content is also the decoded value.

The guiding rule is **soundness**: every string a regex matches is valid both for the format's
defining RFC and for the ``jsonschema`` package's format checker
(``jsonschema.Draft202012Validator.FORMAT_CHECKER`` with ``rfc3339-validator``, ``fqdn``,
``rfc3986-validator``, ``isoduration`` and ``jsonpointer`` installed). Where a format's full
language cannot be written compactly, the regex accepts a documented *subset* that still covers
the common forms. Formats left out of :data:`FORMAT_REGEXES` (``idn-hostname``, ``idn-email``,
``iri``, ``iri-reference``) make :func:`format_regex` return None; the caller refuses
them (:data:`UNSUPPORTED_STANDARD_FORMATS`) and treats names outside the standard as annotations.

Accepted subsets, per format:

``date`` (RFC 3339 ``full-date``)
    ``YYYY-MM-DD`` with year 0001-9999 (year 0000 is rejected by ``jsonschema``/``datetime``),
    month 01-12 and the exact number of days of that month; February 29 only in leap years
    (divisible by 4, centuries only when divisible by 400), written out as a regex on the digits.

``time`` (RFC 3339 ``full-time``)
    ``hh:mm:ss[.frac]`` then ``Z`` or ``+hh:mm``/``-hh:mm``; hours 00-23, minutes/seconds 00-59 (no
    leap second ``60``: ``rfc3339-validator`` rejects it), 1 or more fraction digits, offset hours
    00-23. Only the upper-case ``Z`` (RFC 3339 also allows ``z``).

``date-time`` (RFC 3339 ``date-time``)
    ``date`` + ``T`` (upper case only) + ``time`` as above.

``duration`` (RFC 3339 Appendix A, ISO 8601)
    Exactly the ABNF of RFC 3339 Appendix A: ``P`` then ``nW``, or date parts in order Y, M, D
    without gaps (``nY[nM[nD]]``, ``nM[nD]``, ``nD``) optionally followed by ``T`` and time parts
    in order H, M, S without gaps; integers only (no fractions, no sign).

``email`` (RFC 5321 ``Mailbox``, restricted)
    ``local@domain`` where the local part is a dot-atom (atext characters
    ``A-Za-z0-9!#$%&'*+/=?^_`{|}~-``, dots only between atoms) of at most 64 characters: either
    1-64 atext characters without dots, or at most 32 atext characters with dots anywhere allowed
    (at most 63 characters then). The domain is a host name as for ``hostname`` but short enough
    that the whole address stays within RFC 5321's 254 octets: 1-2 labels of up to 63 characters,
    3-4 labels of up to 46, or 5-8 labels of up to 22. No quoted local parts, no address literals
    (``[1.2.3.4]``), no trailing dot.

``hostname`` (RFC 1123 / RFC 1035 preferred syntax)
    Dot-separated labels of ``[A-Za-z0-9-]``, 1-63 characters, not starting or ending with ``-``,
    and never with ``--`` in the 3rd and 4th positions: RFC 5891 reserves those for A-labels
    (``xn--...``), whose Punycode a regex cannot check, and the JSON Schema test suite rejects
    e.g. ``XN--aa---o47jg78q``; so internationalized (punycode) names are left out. No trailing
    dot. The total-length limit of 253 is guaranteed by bounding the label count and
    label length together: 1-3 labels of up to 63 characters (≤ 191), 4 labels of up to 62
    (≤ 251), 5-8 labels of up to 30 (≤ 247), or 9-16 labels of up to 14 (≤ 239).

``ipv4`` (RFC 2673 dotted quad)
    Four decimal octets 0-255 without leading zeros (``ipaddress`` rejects them).

``ipv6`` (RFC 4291 section 2.2)
    Eight groups of 1-4 hex digits (either case), with ``::`` compressing one or more groups at any
    position, optionally ending with a dotted-quad IPv4 address in place of the last two groups (as
    in RFC 3986's ``IPv6address`` rule). No zone index (``%eth0``).

``uuid`` (RFC 4122 / RFC 9562)
    ``8-4-4-4-12`` hex digits (either case), any version and variant.

``uri`` (RFC 3986 ``URI``)
    ``scheme ":" hier-part ["?" query] ["#" fragment]`` following the RFC 3986 ABNF, with the host
    being a ``reg-name`` (which covers IPv4 addresses) or an ``[IPv6]`` literal; no ``IPvFuture``
    literals. Only ASCII (percent-encoded octets for anything else).

``uri-reference`` (RFC 3986 ``URI-reference``)
    ``uri`` as above or a ``relative-ref`` (network-path, absolute-path, no-scheme path or empty
    path, with optional query and fragment); the empty string is a valid reference.

``json-pointer`` (RFC 6901)
    ``("/" reference-token)*`` where tokens use ``~0``/``~1`` escapes and otherwise any character
    except ``/``, ``~``, the characters JSON must escape (``"``, ``\\``, controls), and DEL/C1
    controls.

``relative-json-pointer`` (draft-handrews-relative-json-pointer-01)
    A non-negative integer then ``#`` or a ``json-pointer``. The integer is ``0`` or has no ``0``
    followed by another digit (``jsonschema``'s checker wrongly rejects e.g. ``100``), so ``0``,
    ``7``, ``10``, ``123`` and ``1230`` but not ``100`` or ``101``. No index manipulation (``+1``).
"""

from __future__ import annotations

__all__ = ["FORMAT_REGEXES", "format_regex"]

# ----------------------------------------------------------------------------------------------
# Dates and times (RFC 3339)
# ----------------------------------------------------------------------------------------------

_D = "[0-9]"
# Years 0001-9999.
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
# Leap years among 0001-9999: last two digits a nonzero multiple of 4, or 00 with the century a
# multiple of 4 (excluding year 0000).
_MULT4_2DIGITS_NONZERO = "(?:0[48]|[2468][048]|[13579][26])"  # 04, ..., 96
_LEAP_YEAR = f"(?:[0-9]{{2}}{_MULT4_2DIGITS_NONZERO}|{_MULT4_2DIGITS_NONZERO}00)"
_MONTH_DAY = (
    "(?:"
    "(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"  # every month has days 01-28
    "|(?:0[13-9]|1[0-2])-(?:29|30)"  # every month but February has 29 and 30
    "|(?:0[13578]|1[02])-31"  # the 31-day months
    ")"
)
DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"

_HOUR = "(?:[01][0-9]|2[0-3])"
_MIN_SEC = "[0-5][0-9]"
_OFFSET = f"(?:Z|[+-]{_HOUR}:{_MIN_SEC})"
TIME = f"{_HOUR}:{_MIN_SEC}:{_MIN_SEC}(?:\\.{_D}+)?{_OFFSET}"
DATE_TIME = f"{DATE}T{TIME}"

# RFC 3339 Appendix A.
_N = f"{_D}+"
_DUR_TIME = f"T(?:{_N}H(?:{_N}M(?:{_N}S)?)?|{_N}M(?:{_N}S)?|{_N}S)"
_DUR_DATE = f"(?:{_N}D|{_N}M(?:{_N}D)?|{_N}Y(?:{_N}M(?:{_N}D)?)?)(?:{_DUR_TIME})?"
DURATION = f"P(?:{_DUR_DATE}|{_DUR_TIME}|{_N}W)"

# ----------------------------------------------------------------------------------------------
# Host names, addresses, e-mail
# ----------------------------------------------------------------------------------------------


def _label(max_len: int) -> str:
    """A host name label of 1..max_len characters, not starting or ending with '-', and without
    ``--`` in its 3rd and 4th positions (reserved by RFC 5891 for A-labels such as ``xn--...``)."""
    assert max_len >= 5
    an, ldh = "[A-Za-z0-9]", "[A-Za-z0-9-]"
    return (
        f"{an}(?:{ldh}{{0,2}}{an}"  # 2-4 characters
        f"|{ldh}(?:{an}{ldh}|-{an}){ldh}{{0,{max_len - 5}}}{an})?"  # 5 or more
    )


def _labels(max_len: int, lo: int, hi: int) -> str:
    """lo..hi labels of at most max_len characters, separated by dots."""
    label = _label(max_len)
    assert lo >= 1 and hi * max_len + hi - 1 <= 253
    if hi == 1:
        return label
    return f"{label}(?:\\.{label}){{{lo - 1},{hi - 1}}}"


def _hostname(shapes: list[tuple[int, int, int]], limit: int) -> str:
    for max_len, lo, hi in shapes:
        assert hi * max_len + hi - 1 <= limit, (max_len, lo, hi)
    return "(?:" + "|".join(_labels(*shape) for shape in shapes) + ")"


# (max label length, min labels, max labels): every shape keeps the total within the limit.
HOSTNAME = _hostname([(63, 1, 3), (62, 4, 4), (30, 5, 8), (14, 9, 16)], 253)

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"

_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{IPV4})"


def _ipv6() -> str:
    # RFC 3986 IPv6address: one alternative per position of '::'.
    def left(n: int) -> str:  # up to n groups before '::'
        if n == 0:
            return ""
        if n == 1:
            return f"(?:{_H16})?"
        return f"(?:(?:{_H16}:){{0,{n - 1}}}{_H16})?"

    options = [
        f"(?:{_H16}:){{6}}{_LS32}",
        f"::(?:{_H16}:){{5}}{_LS32}",
        f"{left(1)}::(?:{_H16}:){{4}}{_LS32}",
        f"{left(2)}::(?:{_H16}:){{3}}{_LS32}",
        f"{left(3)}::(?:{_H16}:){{2}}{_LS32}",
        f"{left(4)}::{_H16}:{_LS32}",
        f"{left(5)}::{_LS32}",
        f"{left(6)}::{_H16}",
        f"{left(7)}::",
    ]
    return "(?:" + "|".join(options) + ")"


IPV6 = _ipv6()

_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
# Dot-atom local part of at most 64 characters (see the module docstring).
_LOCAL_PART = f"(?:{_ATEXT}{{1,64}}|{_ATEXT}(?:\\.?{_ATEXT}){{0,31}})"
# 64 + 1 + 189 = 254 (RFC 5321: a path is at most 256 octets including '<' and '>').
_EMAIL_DOMAIN = _hostname([(63, 1, 2), (46, 3, 4), (22, 5, 8)], 189)
EMAIL = f"{_LOCAL_PART}@{_EMAIL_DOMAIN}"

UUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"

# ----------------------------------------------------------------------------------------------
# URIs (RFC 3986)
# ----------------------------------------------------------------------------------------------

_PCT = "%[0-9A-Fa-f]{2}"
_UNRESERVED = "A-Za-z0-9._~\\-"
_SUB_DELIMS = "!$&'()*+,;="
_PCHAR = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_PCHAR_NC = f"(?:[{_UNRESERVED}{_SUB_DELIMS}@]|{_PCT})"  # segment-nz-nc: no ':'
_QUERY = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:@/?]|{_PCT})*"  # query and fragment
_USERINFO = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_REG_NAME = f"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"  # covers IPv4address too
_AUTHORITY = f"(?:{_USERINFO}@)?(?:\\[{IPV6}\\]|{_REG_NAME})(?::[0-9]*)?"
_PATH_ABEMPTY = f"(?:/{_PCHAR}*)*"
_PATH_ABSOLUTE = f"/(?:{_PCHAR}+{_PATH_ABEMPTY})?"
_PATH_ROOTLESS = f"{_PCHAR}+{_PATH_ABEMPTY}"
_PATH_NOSCHEME = f"{_PCHAR_NC}+{_PATH_ABEMPTY}"
_TAIL = f"(?:\\?{_QUERY})?(?:#{_QUERY})?"
_SCHEME = "[A-Za-z][A-Za-z0-9+.-]*"
URI = f"{_SCHEME}:(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS})?{_TAIL}"
_RELATIVE_REF = f"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_NOSCHEME})?{_TAIL}"
URI_REFERENCE = f"(?:{URI}|{_RELATIVE_REF})"

# ----------------------------------------------------------------------------------------------
# JSON pointers (RFC 6901)
# ----------------------------------------------------------------------------------------------

# Unescaped token characters: printable ASCII but '"', '/', '\\', '~', DEL; then U+00A0 and up.
_POINTER_CHAR = "[ !#-.0-\\[\\]-}\\u00A0-\\uD7FF\\uE000-\\u{10FFFF}]"
JSON_POINTER = f"(?:/(?:{_POINTER_CHAR}|~[01])*)*"
RELATIVE_JSON_POINTER = f"(?:0|[1-9]+0?)(?:#|{JSON_POINTER})"

# ----------------------------------------------------------------------------------------------
# URI templates (RFC 6570), ASCII subset
# ----------------------------------------------------------------------------------------------

# literals: %x21 / %x23-24 / %x26 / %x28-3B / %x3D / %x3F-5B / %x5D / %x5F / %x61-7A / %x7E, or
# pct-encoded (ucschar/iprivate left out). Expressions: "{" [operator] varspec *("," varspec) "}"
# with the operators of levels 2-3 (the reserved ones "=,!@|" left out).
_VARCHAR = f"(?:[A-Za-z0-9_]|{_PCT})"
_VARSPEC = f"{_VARCHAR}(?:\\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\\*)?"
URI_TEMPLATE = (f"(?:[!#$&(-;=?-\\[\\]_a-z~]|{_PCT}"
                f"|\\{{[+#./;?&]?{_VARSPEC}(?:,{_VARSPEC})*\\}})*")

# ----------------------------------------------------------------------------------------------
# Regular expressions (format "regex"), a subset valid in both ECMA-262 and Python's re
# ----------------------------------------------------------------------------------------------

# Escapes only of classes (\d \w \s and negations), controls (\n \t ...), hex/unicode code
# points and punctuation; word boundaries \b \B only outside classes (Python refuses \B in one)
# and unquantified (Python: "nothing to repeat"). Classes without ranges other than a-z, A-Z, 0-9
# (no out-of-order range) nor characters Python would read as set operations, groups one level
# deep, one quantifier per atom ({m}, {m,} and {m,n} where the digits show m <= n), ^ only first and $ only last.
_RE_ESCAPED = "[dDwWsSnrtfv]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[!-/:-@\\[-`{-~]"
_RE_LITERAL = '(?:[^\\\\()\\[\\]{}*+?|^$.\\u0000-\\u001f]|\\\\(?:' + _RE_ESCAPED + '))'
_RE_CLASS = '\\[\\^?(?:a-z|A-Z|0-9|[^\\]\\\\\\-\\[^&|~\\u0000-\\u001f]|\\\\(?:' + _RE_ESCAPED + '))+\\]'
_RE_BOUNDARY = "\\\\[bB]"
# {m,n} only where m <= n is plain from the digits: m of fewer digits, or one digit each.
_RE_RANGE = "[0-9],[1-9][0-9]{1,2}|[1-9][0-9],[1-9][0-9]{2}|%s" % "|".join(f"{a},[{a}-9]" for a in range(10))
_RE_QUANTIFIER = f"(?:[*+?]\\??|\\{{[0-9]{{1,3}},?\\}}\\??|\\{{(?:{_RE_RANGE})\\}}\\??)"
_RE_ATOM = f"(?:{_RE_LITERAL}|\\.|{_RE_CLASS})"
_RE_SEQUENCE = f"(?:{_RE_ATOM}{_RE_QUANTIFIER}?|{_RE_BOUNDARY})*"
_RE_GROUP = f"\\((?:\\?:)?{_RE_SEQUENCE}(?:\\|{_RE_SEQUENCE})*\\)"
_RE_TOP_SEQUENCE = f"(?:(?:{_RE_ATOM}|{_RE_GROUP}){_RE_QUANTIFIER}?|{_RE_BOUNDARY})*"
REGEX = f"\\^?{_RE_TOP_SEQUENCE}(?:\\|{_RE_TOP_SEQUENCE})*\\$?"

#: Standard formats that assert something we do not enforce: refused (see the compiler), while
#: names outside the standard are annotations that validators ignore too.
UNSUPPORTED_STANDARD_FORMATS = frozenset({"idn-email", "idn-hostname", "iri", "iri-reference"})

FORMAT_REGEXES: dict[str, str] = {
    "date-time": DATE_TIME,
    "date": DATE,
    "time": TIME,
    "duration": DURATION,
    "email": EMAIL,
    "hostname": HOSTNAME,
    "ipv4": IPV4,
    "ipv6": IPV6,
    "uuid": UUID,
    "uri": URI,
    "uri-reference": URI_REFERENCE,
    "json-pointer": JSON_POINTER,
    "relative-json-pointer": RELATIVE_JSON_POINTER,
    "uri-template": URI_TEMPLATE,
    "regex": REGEX,
}


def format_regex(name: str) -> str | None:
    """The regex (content of a JSON string) for format ``name``; None for an unsupported format."""
    return FORMAT_REGEXES.get(name)
