"""Telegram's HTML parser (a port of tdlib's ``parse_html``) and the text clean-up Telegram applies."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

_TRIMMED = " \t\r\n\v\f"
# ------------------------------------------------------------------------------------ Telegram's HTML parser


class HtmlParseError(ValueError):
    """Why Telegram refuses the HTML; the API reports it as "Bad Request: can't parse entities: <reason>"."""


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPACES = frozenset(" \t\r\n\v\0")
_URL_RE = re.compile(r"(?:([A-Za-z][A-Za-z0-9+.-]*)://)?(\S+)")
_HOST_RE = re.compile(
    r"(?:[^\s/?#@:]+@)?([A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*(?::\d{1,5})?|localhost(?::\d{1,5})?"
)
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
_TEXT_MENTION_RE = re.compile(r"tg:(?://)?user\?id=(\d+)", re.IGNORECASE)
BAD_SURROGATES = "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Port of tdlib's ``decode_html_entity``: the character and the position after the reference."""
    size = len(text)
    end = pos + 1
    if end < size and text[end] == "#":
        end += 1
        code = 0
        if end < size and text[end] == "x":
            end += 1
            while end < size and text[end] in string.hexdigits:
                code = code * 16 + int(text[end], 16)
                end += 1
                if code >= 0x10FFFF:
                    return None
        else:
            while end < size and text[end] in string.digits:
                code = code * 10 + int(text[end])
                end += 1
                if code >= 0x10FFFF:
                    return None
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < size and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < size and text[end] == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the visible text
    begin: int  # index in the visible text


def check_link(url: str) -> str | None:
    """The normalized link Telegram keeps for a text_link or URL button, None if it refuses it."""
    match = _URL_RE.fullmatch(url)
    if match is None:
        return None
    scheme = (match.group(1) or "http").lower()
    rest = match.group(2)
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme not in ("http", "https"):
        return f"{scheme}://{rest}"
    host_end = min((rest.index(c) for c in "/?#" if c in rest), default=len(rest))
    host, path = rest[:host_end], rest[host_end:]
    if not _HOST_RE.fullmatch(host):
        return None
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{host}{path}"


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML like Telegram does (a port of tdlib's ``parse_html``).

    Returns the visible text and its entities (UTF-16 offsets, as in the Bot API), untrimmed.
    Raises HtmlParseError with Telegram's wording, byte offsets in UTF-8 as Telegram counts them.
    """
    size = len(text)

    def at(index: int) -> str:
        return text[index] if index < size else "\0"

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8", "surrogatepass"))

    result: list[str] = []
    result_len = 0
    utf16_offset = 0
    entities: list[dict[str, Any]] = []
    nested: list[_OpenTag] = []

    def emit(chunk: str) -> None:
        nonlocal result_len, utf16_offset
        result.append(chunk)
        result_len += len(chunk)
        utf16_offset += utf16_len(chunk)

    i = 0
    while i < size:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            emit(char)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # a start tag
            while at(i) not in _HTML_SPACES and at(i) != ">":
                i += 1
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument = ""
            while at(i) != ">":
                while i < size and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in _HTML_SPACES and at(i) not in "=>":
                    i += 1
                attribute = text[attribute_begin:i]
                if not attribute:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                while i < size and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                        continue
                    raise HtmlParseError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {byte_offset(begin)}"
                    )
                i += 1
                while i < size and at(i) in _HTML_SPACES:
                    i += 1
                if i >= size:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                value_chars: list[str] = []
                if at(i) not in "'\"":
                    # a name token: letters, digits, periods and hyphens, case-insensitive
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _HTML_SPACES and at(i) != ">":
                        raise HtmlParseError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < size and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if i >= size:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            nested.append(_OpenTag(tag, argument, utf16_offset, result_len))
            i += 1  # the '>'
            continue

        # an end tag
        if not nested:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        while at(i) not in _HTML_SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < size and at(i) in _HTML_SPACES:
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        opened = nested[-1]
        if end_tag and end_tag != opened.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{opened.name}>", '
                f'found "</{end_tag}>"'
            )
        if utf16_offset > opened.offset:
            entity = _html_entity(opened, entities, utf16_offset, "".join(result))
            if entity is not None:
                entities.append(entity)
        nested.pop()

    if nested:
        raise HtmlParseError(f"Can't find end tag corresponding to start tag {nested[-1].name}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    visible = "".join(result)
    try:  # entities may encode the halves of a surrogate pair separately
        visible = visible.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise HtmlParseError(BAD_SURROGATES) from None
    return visible, entities


def _html_entity(
    opened: _OpenTag,
    entities: list[dict[str, Any]],
    utf16_offset: int,
    visible: str,
) -> dict[str, Any] | None:
    offset = opened.offset
    length = utf16_offset - offset
    tag = opened.name
    if tag in _SIMPLE_TAG_ENTITIES:
        return {"type": _SIMPLE_TAG_ENTITIES[tag], "offset": offset, "length": length}
    if tag == "a":
        url = opened.argument or visible[opened.begin :]
        mention = _TEXT_MENTION_RE.fullmatch(url)
        if mention is not None:
            user = {"id": int(mention.group(1)), "is_bot": False, "first_name": visible[opened.begin :]}
            return {"type": "text_mention", "offset": offset, "length": length, "user": user}
        checked = check_link(url)
        if checked is None:
            return None  # Telegram silently drops links it can't use
        return {"type": "text_link", "offset": offset, "length": length, "url": checked}
    # <pre><code class="language-x"> (or the other way round) makes one pre entity with a language
    same_range = bool(entities) and entities[-1]["offset"] == offset and entities[-1]["length"] == length
    if tag == "code":
        if same_range and entities[-1]["type"] == "pre":
            if opened.argument:
                entities[-1]["language"] = opened.argument
            return None
        return {"type": "code", "offset": offset, "length": length, "_language": opened.argument}
    if tag == "pre":
        pre: dict[str, Any] = {"type": "pre", "offset": offset, "length": length}
        if same_range and entities[-1]["type"] == "code":
            code = entities.pop()
            if code.get("_language"):
                pre["language"] = code["_language"]
        return pre
    if tag == "blockquote":
        kind = "expandable_blockquote" if opened.argument else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": opened.argument,
        }
    raise AssertionError(f"unhandled tag {tag}")  # pragma: no cover - _HTML_TAGS and this function agree


def clean_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]


def trim_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading and trailing whitespace; entities move and shrink with the text."""
    left = len(text) - len(text.lstrip(_TRIMMED))
    trimmed = text.strip(_TRIMMED)
    if len(trimmed) == len(text):
        return text, entities
    shift = utf16_len(text[:left])
    total = utf16_len(trimmed)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return trimmed, kept
