"""Checks the UI crawl applies to every HTML page a node serves: well-formed enough for html5lib, the right
``<html lang>``, nothing loaded from another host, a CSRF token in every POST form, English chrome without Chinese
and no raw internal codes (snake_case enum values) shown to the clerk."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

import html5lib

HTML_LANG = {"zh": "zh-CN", "en": "en"}
CHROME_TAGS = ("label", "button", "th", "h1", "h2", "h3", "nav", "legend", "title")
HAN = re.compile(r"[\u3400-\u9fff]+")
# A raw code: lower-case words joined by underscores, not glued to other letters, digits or underscores.
RAW_CODE = re.compile(r"(?<![A-Za-z0-9_])[a-z]+_[a-z_]*[a-z](?![A-Za-z0-9_])")
INVISIBLE = frozenset({"script", "style", "code", "pre", "input", "textarea", "select", "option", "head"})
# English chrome may gloss a domain term with its Chinese name, e.g. "Accept with gaps (容缺受理)".
GLOSS = re.compile(r"\s*[(（][\u3400-\u9fff、/·\s]+[)）]")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def parse(html: str) -> ET.Element:
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    return parser.parse(html)


def text_of(element: ET.Element, skip: frozenset[str] = frozenset()) -> str:
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        if not isinstance(node.tag, str) or node.tag in skip:
            return
        parts.append(node.text or "")
        for child in node:
            walk(child)
            parts.append(child.tail or "")

    walk(element)
    return " ".join(" ".join(parts).split())


def _without(text: str, allowed: Iterable[str]) -> str:
    for value in sorted(allowed, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _english_chrome(text: str) -> str:
    return GLOSS.sub(" ", text) if re.search(r"[A-Za-z]", text) else text


def page_problems(
    html: str,
    lang: str,
    *,
    data_strings: Iterable[str] = (),
    allowed_codes: Iterable[str] = (),
    paper_document: bool = False,
) -> Iterator[str]:
    """Every rule the page breaks, one line each (an empty iterator means the page is fine). A paper document
    (official print, always Chinese: docs/DEVELOPING.md) must say ``lang="zh-CN"`` in either UI language."""
    root = parse(html)
    html_lang = root.get("lang")
    expected_lang = HTML_LANG["zh"] if paper_document else HTML_LANG[lang]
    if html_lang != expected_lang:
        yield f"<html lang={html_lang!r}>, expected {expected_lang!r}"
    for element in root.iter():
        for attribute in ("src", "href", "action"):
            value = (element.get(attribute) or "").strip()
            if EXTERNAL.match(value):
                yield f"external reference <{element.tag} {attribute}={value!r}>"
    for form in root.iter("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        tokens = [i for i in form.iter("input") if i.get("name") == "csrf_token" and i.get("value")]
        if not tokens:
            yield f"POST form without csrf_token: action={form.get('action')!r}"
    data = list(data_strings)
    if lang == "en" and not paper_document:
        for tag in CHROME_TAGS:
            for element in root.iter(tag):
                chinese = HAN.findall(_english_chrome(_without(text_of(element, INVISIBLE), data)))
                if chinese:
                    yield f"untranslated Chinese in <{tag}>: {' '.join(chinese)!r} in {text_of(element)[:120]!r}"
    body = root.find("body")
    visible = text_of(body if body is not None else root, INVISIBLE)
    codes = sorted(set(RAW_CODE.findall(_without(visible, data))) - set(allowed_codes))
    if codes:
        yield f"raw internal codes in visible text: {codes}"
