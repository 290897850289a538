# ruff: noqa: RUF001 - the patterns hold words and punctuation of many languages on purpose
"""The part of an inbound mail the customer wrote now: quoted replies and signatures cut off.

For display only (email lessons §5): the stored message keeps the whole text and HTML, and
the timeline shows the trimmed reply with the full original one click away. Trimming is
lossy and sometimes wrong, so it never returns an empty reply for a mail that has content.

Plain text is cut line by line. Each line gets a kind (text, blank, quoted, a reply header
such as "On … wrote:" or "Pada … menulis:", an Outlook "From:/Sent:" field, a forward marker,
a signature delimiter, a mobile signature); the cut is the first reply header, header block
or forward marker below some text that starts the quoted tail, and what trails the reply
(quoted lines, "Sent from my iPhone", delimiters) goes too. HTML is cut by structure
(``trim_html``). Only the first ``MAX_LINES`` lines are looked at, lines longer than
``MAX_LINE`` characters never count as headers, and the patterns use bounded or atomic
repetition, so no mail makes the regular expressions blow up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

MAX_LINES = 1000
MAX_LINE = 400  # characters: a longer line is text, never a header
MAX_HTML = 500_000  # characters of HTML looked at
MAX_DEPTH = 500  # nested HTML elements followed
MAX_PIECES = 1000  # pieces of HTML text searched for a reply header

# Line kinds.
TEXT = "t"
EMPTY = "e"
QUOTE = "q"
HEADER = "h"  # "On … wrote:" and its translations, possibly spread over a few lines
MARKER = "m"  # "-----Original Message-----", "Begin forwarded message:"
FIELD = "f"  # "From: …", "Sent: …", "Dari: …" (an Outlook-style header block)
RULE = "r"  # a line of only punctuation ("____", "ᐧ", "***")
SIG = "s"  # the "-- " signature delimiter
MOBILE = "p"  # "Sent from my iPhone", "Dikirim dari iPhone saya"
FORWARD = "w"  # "---------- Forwarded message ---------": what follows is content


@dataclass(frozen=True, slots=True)
class Trimmed:
    """A plain-text body split into what the customer wrote now and what was cut off."""

    reply: str
    signature: str = ""  # the signature below the reply ("-- " block, "Sent from my iPhone")
    quoted: str = ""  # the quoted mail(s) below, from the reply header on

    @property
    def trimmed(self) -> bool:
        return bool(self.signature or self.quoted)


# --- line patterns ------------------------------------------------------------------------
# Words that open a reply header ("On … wrote:") in the languages of the corpus and ours.
_OPENERS = (
    r"On|At|In message|Pada(?: tanggal| hari)?|Op|Am|Le|El|En|Em|Il(?: giorno)?|Dnia|W dniu"
    r"|Dňa|Dne|Den|Päivänä|Tanggal|Vào|在"
)
# Words that close it, before the colon.
_WROTE = (
    r"wrote|writes|said|says|menulis|schreef|het volgende geschreven|geschrieben|schrieb"
    r"|a écrit|a ecrit|nous a dit|escribió|escribio|escreveu|ha scritto|napisał\(a\)|napisał"
    r"|napisała|napísal|napsal|skrev|kirjoitti|написал\(а\)|написала|написал|пише|yazdı|đã viết"
)
# Each reply-header shape is tested by a few cheap, linear checks on the line's start and end
# (never one regular expression with two unbounded wildcards): no mail can make them blow up.
_OPENER_START = re.compile(rf"^[\s>*-]*+(?:{_OPENERS})\b", re.IGNORECASE)
_WROTE_END = re.compile(
    rf"(?:\b(?:{_WROTE})|写道)\s*+(?:\([^)]{{0,8}}\))?[\s.]*+[:：]?[\s.-]*+$", re.IGNORECASE
)
_WROTE_COLON_END = re.compile(
    rf"(?:\b(?:{_WROTE})|写道)\s*+(?:\([^)]{{0,8}}\))?\s*+[:：]\s*+$", re.IGNORECASE
)
_VERB_INSIDE = re.compile(r"\b(?:schreef|schrieb|skrev|menulis|wrote|escribió)\s", re.IGNORECASE)
_WROTE_ON = re.compile(r"\b(?:wrote|schrieb|menulis|a écrit)\s++(?:on|am|pada|le)\b", re.I)
_WROTE_PLAIN_END = re.compile(r"\b(?:wrote|schrieb|menulis)\s*+:?\s*+$", re.IGNORECASE)
_SENT_END = re.compile(r"\bsent\s*+:\s*+$", re.IGNORECASE)
_DASHED_WROTE = re.compile(r"^[\s>]*+-{2,}.{1,120}\b(?:wrote|menulis|schrieb)\s*+-{2,}\s*+$", re.I)
_ADDRESS_END = re.compile(r"<[^<>\s@]{1,100}@[^<>\s]{1,200}>\s*+([:：]?)\s*+$")
_ISO_DATE_START = re.compile(r"^[\s>]*+\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b")
_YEAR = re.compile(r"\b\d{4}\b")
_GMT_LINE = re.compile(r"^[\s>]*+20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [\w ]+$")
_DIGIT = re.compile(r"\d")


def _is_header(line: str) -> bool:  # noqa: PLR0911 - one return per header shape
    """Whether a line (or a few joined lines) is a reply header in one of its shapes."""
    s = line.strip()
    if not s or len(s) > MAX_LINE:
        return False
    tail = s[-32:]  # the closing words ("het volgende geschreven:") fit in it
    # On <date>, <name> wrote:  /  Pada <tanggal>, <nama> menulis:  (and translations)
    if _OPENER_START.match(s) and _WROTE_END.search(tail) and (_DIGIT.search(s) or "@" in s):
        return True  # a date or an address: "On the phone he said:" is no header
    # <date> <name> napisał(a):  /  … пише:  (a date, no opener)
    if _WROTE_COLON_END.search(tail) and _DIGIT.search(s):
        return True
    if s.endswith((":", "：")):
        # <date> … schreef/schrieb/skrev <name>:
        verb = _VERB_INSIDE.search(s, 0, 200)
        if verb and _DIGIT.search(s, 0, verb.start()) and len(s) - verb.end() <= 200:
            return True
        # <name> <address> schrieb am <date>:  /  <name> wrote on <date>:
        if _WROTE_ON.search(s):
            return True
    # <name> via <list> wrote:  /  <name> <address> wrote
    if _WROTE_PLAIN_END.search(tail) and ("@" in s or " via " in s):
        return True
    # On <date>, <name> sent:
    if (
        _OPENER_START.match(s)
        and s.lower().lstrip("> *-").startswith("on")
        and (_SENT_END.search(tail) and _DIGIT.search(s))
    ):
        return True
    # ---- John Smith wrote ----
    if _DASHED_WROTE.match(s):
        return True
    # 2015-10-18 0:17 GMT+03:00 Matt Palmer <info@discourse.org>:  /  … 2016 … <a@b>:
    address = _ADDRESS_END.search(s[-320:]) if s.endswith((">", ">:", ":", "：")) else None
    if address and (_ISO_DATE_START.match(s) or (address.group(1) and _YEAR.search(s, 0, 200))):
        return True
    # 2016-03-03 17:21 GMT+01:00 Some One
    return bool(_GMT_LINE.match(s))


# A line that may start a reply header spread over a few lines.
_HEADER_START = re.compile(
    rf"^[\s>*-]*+(?:(?:{_OPENERS})\b|.{{0,200}}?\d{{4}}|[^<\n]{{0,200}}+<[^<>\s]+@)",
    re.IGNORECASE,
)

_MARKERS = (
    r"Original Message|Reply Message|Pesan Asli|Pesan Balasan|Ursprüngliche Nachricht"
    r"|Originalnachricht|Oorspronkelijk bericht|Message d'origine|Message original"
    r"|Mensaje original|Mensagem original|Messaggio originale|Oprindelig meddelelse"
    r"|Oprindelig besked|Opprinnelig melding|Ursprungligt meddelande|Alkuperäinen viesti"
    r"|Wiadomość oryginalna|Oryginalna wiadomość|Původní zpráva|Исходное сообщение"
    r"|Оригинальное сообщение|Orijinal mesaj|Tin nhắn gốc|原始邮件|原始郵件"
)
_MARKER_PATTERNS = [
    re.compile(rf"^[\s*_]*+-{{2,}}+[\s*_]*+(?:{_MARKERS})[\s*_]*+-{{2,}}", re.IGNORECASE),
    re.compile(rf"^[\s*_]*+(?:{_MARKERS})\s*+-{{2,}}", re.IGNORECASE),
]

# Header fields of an Outlook-style block, in many languages. "From"-like ones start a block.
_FROM_FIELDS = (
    r"From|Von|De|Van|Da|Fra|Från|Dari|Od|От|Від|Kimden|Lähettäjä|Feladó|Afzender|Expéditeur"
    r"|Remitente|Mittente|Avsändare|Nadawca|发件人|寄件者|差出人|보낸 사람"
)
_OTHER_FIELDS = (
    r"Sent|Date|To|Cc|Bcc|Subject|Reply-To|Gesendet|Datum|An|Betreff|Envoyé|Date d'envoi|À|A"
    r"|Objet|Cc|Copie à|Sujet|Message du|Destinataire|Répondre à|Enviado|Enviada em"
    r"|Enviado el|Fecha|Para|Asunto"
    r"|Assunto|Inviato|Data|Oggetto|Verzonden|Aan|Onderwerp|Beantwoorden - Aan|Sendt|Dato"
    r"|Til|Emne|Skickat|Till|Ämne|Dikirim|Terkirim|Tanggal|Kepada|Subjek|Perihal|Tembusan"
    r"|Wysłano|Do|Temat|DW|Отправлено|Дата|Кому|Тема|Копия|Lähetetty|Vastaanottaja|Aihe"
    r"|Gönderildi|Kime|Konu|Odesláno|Komu|Předmět|发送时间|收件人|主题|抄送|日期"
)
_FIELD_FROM = re.compile(rf"^[\s>*]*+(?:{_FROM_FIELDS})[\s*]*+[:：]\s*+\S", re.IGNORECASE)
_FIELD_PRIMARY = re.compile(
    rf"^[\s>*]*+(?:{_FROM_FIELDS}|Message du|Sent|Date|Gesendet|Datum|Envoyé|Enviado"
    r"|Enviada em|Fecha|Data|Verzonden|Sendt|Dato|Skickat|Dikirim|Terkirim|Tanggal|Wysłano"
    r"|Отправлено|Дата"
    r"|Lähetetty|发送时间|日期)[\s*]*+[:：]\s*+\S",
    re.IGNORECASE,
)
_SUBJECT_FIELD = re.compile(
    r"^[\s>*]*+(?:Subject|Betreff|Objet|Sujet|Asunto|Assunto|Oggetto|Onderwerp|Emne|Ämne"
    r"|Subjek|Perihal|Temat|Тема|Aihe|Konu|Předmět|主题)[\s*]*+[:：]",
    re.IGNORECASE,
)
_FIELD_ANY = re.compile(rf"^[\s>*]*+(?:{_FROM_FIELDS}|{_OTHER_FIELDS})[\s*]*+[:：]", re.IGNORECASE)
_FORWARD_PATTERNS = [
    re.compile(
        r"^[\s*_]*+-{2,}+[\s*_]*+(?:Forwarded message|Forwarded e-?mail|Pesan terusan"
        r"|Pesan yang diteruskan|Pesan diteruskan|Weitergeleitete Nachricht|Message transféré"
        r"|Mensaje reenviado|Mensagem encaminhada|Messaggio inoltrato|Doorgestuurd bericht"
        r"|Videresendt (?:meddelelse|melding)|Vidarebefordrat meddelande|Välitetty viesti"
        r"|Przekazana wiadomość|Přeposlaná zpráva|Пересылаемое сообщение)[\s*_]*+-{2,}",
        re.IGNORECASE,
    ),
    re.compile(
        r"^[\s*]*+(?:Begin forwarded message|Début du message (?:transféré|réexpédié)"
        r"|Anfang der weitergeleiteten Nachricht|Inicio del mensaje reenviado"
        r"|Início da mensagem reencaminhada|Awal pesan yang diteruskan"
        r"|Doorgestuurd bericht begint hier)\s*+:",
        re.IGNORECASE,
    ),
]
_STARTS_OPENER = re.compile(rf"^[\s>*-]*+(?:{_OPENERS})\b", re.IGNORECASE)
_INNER_OPENER = re.compile(r"(?<=\S)[\s-]+(?=(?:On|Pada|Le|Am|Op|El|Em|Il|Vào)\s)")
_RULE = re.compile(r"^[\s\-_=+~#*ᐧ—–•]+$")
_SIG_DELIMITER = re.compile(r"^(?:-- ?|--\s+|__)\s*$")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]{0,200})\]\([^)\n]{0,500}\)")
# What a mobile signature is sent from: a device, an app, a mail service.
_DEVICE = (
    r"(?:iphone|ipad|ipod|android|mobile|phone|device|cell|tablet|smartphone|ponsel|perangkat"
    r"|seluler|hp|yahoo|outlook|mail|mailbox|airmail|blackberry|samsung|galaxy|gmail|proton"
    r"|spark|xiaomi|redmi|oppo|vivo|huawei|realme|ti-\d+|htc|nokia|alcatel|windows|pc)\b"
)
# Words that let a mobile signature run longer ("please excuse any typos").
_EXCUSE = re.compile(r"excuse|typo|brevity|maaf|salah ketik", re.IGNORECASE)
# One alternation, one match per line.
_MOBILE = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            rf"^[(<\[]*+sent (?:from|via|with|by|using) (?:my\b|(?:\S+\s+){{0,4}}?{_DEVICE})",
            r"^\w+ from mobile$",
            r"^from my (?:iphone|ipad|android|mobile|phone|samsung|galaxy|blackberry).{0,20}$",
            r"^get outlook for \S",
            r"^envoyé (?:depuis|de|à partir de|avec) ",
            r"^von meinem .{1,60} gesendet",
            r"^diese nachricht wurde von .{1,80} gesendet",
            r"^gesendet (?:von|mit) \S",
            r"^dapatkan outlook untuk \S",
            r"^inviato (?:da|dal|dal mio) ",
            r"^sendt fra (?:min|mit) ",
            r"^enviado (?:do|desde|de) (?:meu|mi|o|el|mi) ",
            r"^enviado desde ",
            r"^verzonden (?:met|vanaf|vanuit) ",
            r"^verstuurd (?:met|vanaf|vanuit) ",
            r"^skickat från ",
            r"^från min ",
            r"^lähetetty (?:iphonesta|laitteesta|.{1,40}-laitteesta)",
            r"^wysłane (?:z|za pomocą) ",
            r"^отправлено (?:с|из) ",
            r"^(?:dikirim|terkirim) (?:dari|dengan|menggunakan|melalui|via) "
            rf"(?:(?:\S+\s+){{0,4}}?{_DEVICE}|.{{1,60}}\bsaya\W*$)",
            r"^從我的 ?iphone 傳送",
            r"^发自我的",
            r"^<<sent by .{1,40}>>$",
            r"^\(sent from .{1,40}\)$",
        )
    ),
    re.IGNORECASE,
)
_QUOTE = re.compile(r"^[ \t]*>")


def _is_mobile(line: str) -> bool:
    stripped = _MARKDOWN_LINK.sub(r"\1", line.strip())
    words = len(stripped.split())
    if len(stripped) > 120 or words > 14 or (words > 8 and not _EXCUSE.search(stripped)):
        return False  # a sentence that starts like a signature ("Sent from my iPhone app to …")
    return bool(_MOBILE.match(stripped))


def _kind(line: str) -> str:  # noqa: PLR0911 - one return per kind
    if not line.strip():
        return EMPTY
    if _QUOTE.match(line):
        return QUOTE
    if _SIG_DELIMITER.match(line):
        return SIG
    if len(line) <= MAX_LINE:
        if any(p.match(line) for p in _FORWARD_PATTERNS):
            return FORWARD
        if any(p.match(line) for p in _MARKER_PATTERNS):
            return MARKER
        if _RULE.match(line):
            return RULE
        if _is_header(line):
            return HEADER
        if _is_mobile(line):
            return MOBILE
        if _FIELD_ANY.match(line):
            return FIELD
    return TEXT


def _split_shared_lines(lines: list[str]) -> list[str]:
    """ "reply On Wed, … wrote:" on one line becomes two lines: the reply and the header."""
    out: list[str] = []
    for line in lines:
        last = line.rstrip()[-1:]
        if last in (":", "：", "-") and len(line) <= MAX_LINE and not _QUOTE.match(line):
            for found in list(_INNER_OPENER.finditer(line))[:3]:
                head, tail = line[: found.start()].rstrip(" -"), line[found.start() :].lstrip(" -")
                if head.strip(" -") and not _STARTS_OPENER.match(line) and _is_header(tail):
                    out += [head, tail]
                    break
            else:
                out.append(line)
            continue
        out.append(line)
    return out


def _classify(lines: list[str]) -> list[str]:
    """The kind of every line; a reply header wrapped over up to five lines marks them all."""
    kinds = [_kind(line) for line in lines]
    n = len(lines)
    i = 0
    while i < n:
        if kinds[i] == TEXT and len(lines[i]) <= MAX_LINE and _HEADER_START.match(lines[i]):
            joined = lines[i].strip()
            for k in range(i + 1, min(i + 5, n)):
                if kinds[k] == EMPTY and k + 1 < n and kinds[k + 1] == EMPTY:
                    break
                joined = f"{joined} {lines[k].strip().lstrip('>').strip()}".strip()
                joined = joined.replace("< ", "<").replace(" >", ">")
                if len(joined) > MAX_LINE:
                    break
                if _is_header(joined):
                    for m in range(i, k + 1):
                        kinds[m] = HEADER
                    i = k
                    break
        i += 1
    # A wrapped link inside a quoted block ("_nonce=3dd518)", " (http://…) >") is quoted too.
    for i in range(1, n - 1):
        if kinds[i] == TEXT and kinds[i - 1] == QUOTE and kinds[i + 1] == QUOTE:
            line = lines[i]
            wrapped = len(lines[i - 1]) >= 60 and len(line) < 80
            if wrapped or not line[:1].isalnum() or line.rstrip().endswith(">"):
                kinds[i] = QUOTE
    return kinds


def _first(kinds: list[str], i: int) -> int:
    """The first non-empty line from ``i`` on (``len(kinds)`` when there is none)."""
    while i < len(kinds) and kinds[i] == EMPTY:
        i += 1
    return i


def _field_block(lines: list[str], kinds: list[str], i: int) -> int:
    """If an Outlook-style header block ("From:", "Sent:", "To:", "Subject:") starts at ``i``
    (perhaps under a rule line), the index after its last field line; else -1."""
    ruled = kinds[i] == RULE
    if ruled:
        i = _first(kinds, i + 1)
    if i >= len(kinds) or kinds[i] != FIELD:
        return -1
    primary = bool(_FIELD_PRIMARY.match(lines[i]))
    fields, end, gap = 0, i, 0
    for n in range(i, min(i + 14, len(lines))):
        if kinds[n] == FIELD:
            fields += 1
            end, gap = n + 1, 0
        elif kinds[n] == EMPTY:
            gap += 1
            if gap > 1 and fields >= 2:
                break
        elif kinds[n] in (TEXT, HEADER) and n > i and n - end < 2 and not gap:
            continue  # a field value wrapped onto the next line
        else:
            break
    enough = fields >= 3 or (fields >= 2 and (primary or ruled))
    # A mail header names an address or a subject; "Dari: Jakarta / Kepada: Surabaya" does not.
    mail_like = any("@" in lines[k] or _SUBJECT_FIELD.match(lines[k]) for k in range(i, end))
    return end if enough and mail_like else -1


def _has_text(kinds: list[str], start: int, end: int) -> bool:
    return TEXT in kinds[start:end]


def _starts_quote(lines: list[str], kinds: list[str], i: int) -> bool:
    if kinds[i] in (HEADER, MARKER, QUOTE, FORWARD):
        return True
    return kinds[i] in (FIELD, RULE) and _field_block(lines, kinds, i) > 0


def _quoted_block_end(kinds: list[str], i: int) -> int | None:
    """After a reply header ending before ``i``: the index after the ">"-quoted block that
    follows, or ``None`` when what follows is not ">"-quoted (the old mail pasted as is)."""
    i = _first(kinds, i)
    if i >= len(kinds) or kinds[i] != QUOTE:
        return None
    while i < len(kinds) and kinds[i] in (QUOTE, EMPTY):
        i += 1
    return i


def _rule_signature(lines: list[str], kinds: list[str], start: int, end: int) -> int:
    """A "---" or "____" line with a few short lines below it at the end: the signature's
    first line (else ``end``)."""
    for r in range(end - 1, start, -1):
        if kinds[r] == RULE:
            below = [k for k in range(r + 1, end) if kinds[k] != EMPTY]
            short = all(kinds[k] == TEXT and len(lines[k].strip()) <= 80 for k in below)
            mark = lines[r].strip()
            if below and len(below) <= 4 and short and len(mark) >= 3 and set(mark) <= set("-_"):
                return r if _has_text(kinds, start, r) else end
            return end
        if kinds[r] != EMPTY and kinds[r] != TEXT:
            return end
    return end


def _join(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n").rstrip()
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text)


@dataclass
class _Body:
    lines: list[str]
    kinds: list[str]
    moved: set[int]  # quoted lines above or inside the reply

    @property
    def n(self) -> int:
        return len(self.lines)


def _top(body: _Body) -> int:
    """Where the reply starts.

    A forward at the very top: its header block goes, the forwarded text is the content. A
    reply header at the top over unquoted text: the header goes. A reply header and its quote
    at the top, the answer below and no quote further down (a bottom post): the quote goes.
    A bare quote at the top stays (it is what the answer below refers to).
    """
    kinds, n = body.kinds, body.n
    start = _first(kinds, 0)
    if start < n and kinds[start] in (FORWARD, MARKER, FIELD, RULE):
        block = _first(kinds, start + 1) if kinds[start] in (FORWARD, MARKER) else start
        end = _field_block(body.lines, kinds, block) if block < n else -1
        if end > 0:
            start = _first(kinds, end)
        elif kinds[start] in (FORWARD, MARKER):
            start = block
    if start >= n or kinds[start] != HEADER:
        return start
    j = start
    while j < n and kinds[j] == HEADER:
        j += 1
    k = _first(kinds, j)
    if k < n and kinds[k] == TEXT:
        return k
    block_end = _quoted_block_end(kinds, j)
    if block_end is None or block_end >= n or not _has_text(kinds, block_end, n):
        return start
    if {QUOTE, HEADER} & set(kinds[block_end:]):
        return start  # an interleaved answer: the quotes give it context
    body.moved.update(range(start, block_end))
    return block_end


def _header_cut(body: _Body, i: int) -> tuple[bool, int]:
    """At a reply header ``i`` below the reply: (True, i) when the quoted tail starts here;
    else (False, where to go on), having moved the header and its quote out of the reply
    when only a greeting follows."""
    kinds = body.kinds
    end = i
    while end + 1 < body.n and kinds[end + 1] == HEADER:
        end += 1
    block_end = _quoted_block_end(kinds, end + 1)
    if block_end is None:
        return True, i  # the old mail pasted below its header without ">"
    below = [k for k in kinds[block_end:] if k != EMPTY]
    if not below or below[0] in (SIG, MARKER, HEADER, FIELD, FORWARD):
        return True, i
    if all(k in (RULE, MOBILE) for k in below):
        return True, i
    until_sig = below[: below.index(SIG)] if SIG in below else below
    if QUOTE not in until_sig and HEADER not in until_sig and until_sig.count(TEXT) <= 3:
        # "Regards, Roman" below the quote: the quote goes, the greeting stays.
        body.moved.update(range(i, block_end))
    return False, block_end


def _find_cut(body: _Body, start: int) -> tuple[int, int]:
    """(cut, sig): where the quoted tail starts and where the signature above it starts
    (``n`` when there is none): the first reply header, header block, marker, signature
    delimiter or mobile signature below some text."""
    lines, kinds, n = body.lines, body.kinds, body.n
    first_text = next((k for k in range(start, n) if kinds[k] == TEXT), n)
    i = start
    while i < n:
        kind = kinds[i]
        if kind == FORWARD:
            break  # a forwarded mail below the text is part of the message
        if kind in (EMPTY, TEXT, QUOTE) or i <= first_text:
            i += 1
        elif kind == MOBILE:
            # "Sent from my iPhone" ends the reply; below it is the old mail, quoted or not.
            cut = i
            while cut < n and kinds[cut] in (MOBILE, EMPTY, RULE):
                cut += 1
            return cut, i
        elif kind == SIG:
            cut = i + 1
            while cut < n and not _starts_quote(lines, kinds, cut):
                cut += 1
            return cut, i
        elif kind == MARKER or _field_block(lines, kinds, i) > 0:
            return i, n
        elif kind == HEADER:
            found, i = _header_cut(body, i)
            if found:
                return i, n
        else:
            i += 1
    return n, n


def _reply_end(body: _Body, start: int, end: int) -> int:
    """The end of the reply above ``end``: quoted lines without a header, mobile signatures
    and rules that trail it are not part of it (a forward quoted with ">" is)."""
    kinds = body.kinds
    stop = end
    while stop > start and (
        kinds[stop - 1] in (EMPTY, QUOTE, MOBILE, RULE, HEADER) or (stop - 1 in body.moved)
    ):
        stop -= 1
    trailing = [body.lines[k].lstrip("> \t") for k in range(stop, end) if kinds[k] == QUOTE]
    if any(_kind(line) == FORWARD for line in trailing[:20]):
        stop = end  # Apple Mail quotes a forward with ">": it is the message
        while stop > start and kinds[stop - 1] == EMPTY:
            stop -= 1
    if not _has_text(kinds, start, stop):
        return end  # a mail that is only a quote keeps it
    return stop


def trim_text(text: str) -> Trimmed:
    """Split a plain-text mail body into the new reply, its signature and the quoted tail."""
    if not text or not text.strip():
        return Trimmed(reply=text or "")
    whole = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = whole.split("\n")
    considered, rest = _split_shared_lines(lines[:MAX_LINES]), lines[MAX_LINES:]
    body = _Body(considered, _classify(considered), set())
    n = body.n
    start = _top(body)
    cut, sig = _find_cut(body, start)
    if rest and cut == n and sig == n:
        return Trimmed(reply=whole.strip("\n").rstrip())  # the unread part may be the answer
    head_end = min(cut, sig)
    # A "____" line over a few short lines (a list footer, a signature) at the end.
    end = _first_trailing_empty(body.kinds, start, head_end)
    rule_sig = _rule_signature(considered, body.kinds, start, end)
    end = _reply_end(body, start, rule_sig)
    first_quote = next(
        (k for k in range(end, rule_sig) if body.kinds[k] in (QUOTE, HEADER) or k in body.moved),
        rule_sig,
    )
    reply = _join([considered[k] for k in range(start, end) if k not in body.moved])
    if not reply.strip():
        return Trimmed(reply=whole.strip("\n").rstrip())
    signature = _join(
        considered[end:first_quote] + considered[rule_sig:head_end] + considered[sig:cut]
    )
    quoted = _join(
        [considered[k] for k in sorted(body.moved)]
        + considered[first_quote:rule_sig]
        + considered[cut:]
        + rest
    )
    return Trimmed(reply=reply, signature=signature, quoted=quoted)


def _first_trailing_empty(kinds: list[str], start: int, end: int) -> int:
    while end > start and kinds[end - 1] == EMPTY:
        end -= 1
    return end


# --- HTML ---------------------------------------------------------------------------------
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
_HIDDEN = frozenset({"style", "script", "head", "title", "xml"})
_OUTLOOK_DIVIDER = re.compile(
    r"border-top\s*:\s*(?:solid\s+#(?:e1e1e1|b5c4df)|1(?:\.0)?pt\s+solid\s+#(?:e1e1e1|b5c4df))"
    r"|border-top-color\s*:\s*rgb\(\s*229\s*,\s*229\s*,\s*229\s*\)",
    re.IGNORECASE,
)
# Containers of the quoted mail, by id (Outlook) and by class (Yahoo, Thunderbird, Zoho …).
_QUOTE_IDS = frozenset(
    {
        "OLK_SRC_BODY_SECTION",
        "divRplyFwdMsg",
        "appendonsend",
        "mail-editor-reference-message-container",
    }
)
_QUOTE_CLASSES = frozenset({"yahoo_quoted", "moz-cite-prefix", "zmail_extra", "protonmail_quote"})


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    start: int  # offset of the start tag in the source
    end: int = -1  # offset just after the end tag (the start tag for void elements)
    parent: _Node | None = None
    quoted: bool = False  # inside a blockquote


@dataclass(frozen=True)
class _Text:
    pos: int  # offset in the source
    parent: _Node | None
    text: str


class _Outline(HTMLParser):
    """Element and text offsets in the source; the source is cut, never rebuilt."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.nodes: list[_Node] = []
        self.stack: list[_Node] = []
        self.texts: list[_Text] = []
        self.hidden = 0  # open <style>, <script>, <head> … elements

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1] if self.stack else None
        node = _Node(
            tag,
            {k.lower(): (v or "") for k, v in attrs},
            self._offset(),
            parent=parent,
            quoted=parent is not None and (parent.quoted or parent.tag == "blockquote"),
        )
        self.nodes.append(node)
        if tag in _VOID:
            node.end = node.start + len(self.get_starttag_text() or "")
        elif len(self.stack) < MAX_DEPTH:
            self.stack.append(node)
            self.hidden += tag in _HIDDEN
        else:
            node.end = node.start  # too deep to follow: treated as empty

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack and self.stack[-1].tag == tag:
            node = self.stack.pop()
            node.end = node.start + len(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        for pos in range(len(self.stack) - 1, -1, -1):
            if self.stack[pos].tag == tag:
                offset = self._offset()
                close = self.source.find(">", offset)
                for node in self.stack[pos:]:
                    node.end = close + 1 if close >= 0 else len(self.source)
                    self.hidden -= node.tag in _HIDDEN
                del self.stack[pos:]
                return

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        visible = " ".join(data.split())
        if visible:
            self.texts.append(
                _Text(self._offset(), self.stack[-1] if self.stack else None, visible)
            )

    def finish(self) -> None:
        for node in self.stack:
            node.end = len(self.source)
        self.stack.clear()


def _ancestors(node: _Node | None) -> list[_Node]:
    found = []
    while node is not None:
        found.append(node)
        node = node.parent
    return found


def _text_before(outline: _Outline, pos: int) -> bool:
    return bool(outline.texts) and outline.texts[0].pos < pos  # texts are in source order


def _structural(outline: _Outline) -> tuple[int, int] | None:
    """The quoted part marked by the mail program (class, id, style): a (start, end) range."""
    for node in outline.nodes:
        classes = set(node.attrs.get("class", "").split())
        if node.tag == "div" and classes & {"gmail_quote", "gmail_quote_container"}:
            inside = [t.text for t in outline.texts if node.start <= t.pos < node.end][:6]
            if _FORWARD_HTML.search(" ".join(inside)):
                return None  # a forward: the forwarded mail is the message
            return node.start, node.end
        ident = node.attrs.get("id", "")
        if ident in _QUOTE_IDS or classes & _QUOTE_CLASSES:
            return node.start, len(outline.source)
        if node.tag == "div" and _OUTLOOK_DIVIDER.search(node.attrs.get("style", "")):
            return node.start, len(outline.source)
        if node.tag == "hr" and ident == "stopSpelling":
            return node.start, len(outline.source)
    return None


def _by_text(outline: _Outline) -> tuple[int, int] | None:
    """A reply header ("On … wrote:"), an "Original Message" marker or a "From:/Sent:" block
    in the text: from there to the end, or to the end of the blockquote right below it."""
    texts = outline.texts[:MAX_PIECES]
    for i, first in enumerate(texts):
        if not _PIECE_START.match(first.text):
            continue
        joined = ""
        for k in range(i, min(i + 6, len(texts))):
            joined = f"{joined} {texts[k].text}".strip()
            joined = joined.replace("< ", "<").replace(" >", ">")
            kind = _kind(joined)
            if kind == FORWARD:
                return None
            if kind in (HEADER, MARKER):
                later = " ".join(t.text for t in texts[i + 1 : k + 1])
                if k > i and _kind(later.replace("< ", "<").replace(" >", ">")) == kind:
                    break  # the header starts at a later piece of text
                return _from_header(outline, first, texts[k])
            if k == i and _html_field_block(texts, i):
                return _from_header(outline, first, texts[k])
            if len(joined) > MAX_LINE:
                break
    return None


def _html_field_block(texts: list[_Text], i: int) -> bool:
    """ "From:" (its value perhaps in the next piece of text) and more header fields below."""
    first = texts[i].text
    if i + 1 < len(texts) and first.endswith((":", "：")):
        first = f"{first} {texts[i + 1].text}"
    fields = sum(1 for t in texts[i : i + 12] if _FIELD_ANY.match(t.text))
    if not any("@" in t.text or _SUBJECT_FIELD.match(t.text) for t in texts[i : i + 12]):
        return False
    return bool(
        (_FIELD_FROM.match(first) and fields >= 2) or (_FIELD_PRIMARY.match(first) and fields >= 3)
    )


def _from_header(outline: _Outline, first: _Text, last: _Text) -> tuple[int, int] | None:
    start = first.pos
    if not _text_before(outline, start):
        return None
    # Inside a blockquote it opens: the blockquote goes.
    for node in _ancestors(first.parent):
        if node.tag == "blockquote" and not any(node.start <= t.pos < start for t in outline.texts):
            start = node.start
    # A rule just above ("<hr>From: …") goes with it.
    for node in outline.nodes:
        if (
            node.tag == "hr"
            and node.end <= start
            and not any(node.end <= t.pos < start for t in outline.texts)
        ):
            start = min(start, node.start)
    # Right below it a blockquote and after that more text: only the header and quote go.
    below = next((n for n in outline.nodes if n.start > last.pos), None)
    if (
        below is not None
        and below.tag == "blockquote"
        and not any(last.pos < t.pos < below.start for t in outline.texts)
        and any(t.pos >= below.end for t in outline.texts)
    ):
        return start, below.end
    return start, len(outline.source)


def _last_blockquote(outline: _Outline) -> tuple[int, int] | None:
    """The last outer blockquote (not Gmail's), with a reply header just above it."""
    outer = [
        n
        for n in outline.nodes
        if n.tag == "blockquote"
        and "gmail_quote" not in n.attrs.get("class", "").split()
        and not n.quoted
    ]
    if not outer:
        return None
    last = outer[-1]
    start = last.start
    before = [t for t in outline.texts if t.pos < last.start]
    joined = ""
    for t in reversed(before[-4:]):
        joined = f"{t.text} {joined}".strip().replace("< ", "<").replace(" >", ">")
        if _is_header(joined):
            start = t.pos
            break
    if not _text_before(outline, start):
        return None
    return start, last.end


# What a piece of HTML text that starts a header, marker or field block can start with.
_PIECE_START = re.compile(
    rf"(?:{_HEADER_START.pattern})|[\s>*_-]*+(?:-|Begin|Début|Anfang|Inicio|Início|Awal"
    rf"|Doorgestuurd|{_FROM_FIELDS}|{_OTHER_FIELDS}|{_MARKERS})",
    re.IGNORECASE,
)
_FORWARD_HTML = re.compile(
    r"-{2,}\s*(?:Forwarded message|Pesan terusan|Weitergeleitete Nachricht|Message transféré"
    r"|Mensaje reenviado|Doorgestuurd bericht)|Begin forwarded message|Awal pesan yang diteruskan",
    re.IGNORECASE,
)


def trim_html(markup: str) -> str | None:
    """The HTML body with the quoted mail cut off (sanitised), or ``None`` when nothing was cut.

    Cuts by structure first: Gmail's ``div.gmail_quote`` (not for a forward), Outlook's
    ``#OLK_SRC_BODY_SECTION``, ``#divRplyFwdMsg``, ``#appendonsend`` and its border-top
    divider, Yahoo's ``.yahoo_quoted``, Thunderbird's ``.moz-cite-prefix``; then by the text:
    an "On … wrote:" header, an "Original Message" marker or a "From:/Sent:/To:" block (and
    the blockquote below it); then the last outer ``<blockquote>`` with its header. Classes,
    ids and styles are gone after sanitising, so on stored HTML only the text and blockquote
    rules apply; ``trim_raw_html`` on the mail's own HTML uses them all.
    """
    outline = _outline(markup)
    found = _quote_range(outline) if outline is not None else None
    if found is None:
        return None
    start, end = found
    # Imported here so that parse may call trim_raw_html while it parses (no import cycle).
    from loket.channels.email.parse import sanitize_html

    kept = sanitize_html(markup[:start] + markup[end:])
    return kept if kept.strip() else None


def _outline(markup: str) -> _Outline | None:
    if not markup or len(markup) > MAX_HTML:
        return None
    outline = _Outline(markup)
    try:
        outline.feed(markup)
        outline.close()
    except Exception:  # HTMLParser is lenient; a body must never break the page
        return None
    outline.finish()
    return outline if outline.texts else None


def _quote_range(outline: _Outline) -> tuple[int, int] | None:
    """The (start, end) source range of the quote, with some of the reply above it and no
    forward above its end (a forwarded mail is the message, not a quote)."""
    found = _structural(outline) or _by_text(outline) or _last_blockquote(outline)
    if found is None or not _text_before(outline, found[0]):
        return None
    forward = next(
        (t.pos for t in outline.texts[:MAX_PIECES] if _FORWARD_HTML.search(t.text)), None
    )
    return None if forward is not None and forward < found[1] else found


def trim_raw_html(markup: str) -> str | None:
    """``trim_html`` for the unsanitised HTML of a mail, where Gmail's and Outlook's class,
    id and style markers still exist; the result is sanitised like the stored HTML."""
    return trim_html(markup)
