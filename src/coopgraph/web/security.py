"""Browser hardening: the headers on every response, and which IRIs become links.

Every response carries a Content-Security-Policy, ``X-Content-Type-Options: nosniff`` and a
``Referrer-Policy`` (:func:`register` adds them in an ``after_request`` hook, so they are
also in the responses that :class:`~coopgraph.web.replay.Replay` keeps and sends again).
An HTML page gets :data:`PAGE_POLICY`: everything from this origin only, no inline script,
no plugins, no ``<base>`` or form target elsewhere, and no framing by another site. Any
other response (RDF, query results, errors, scripts, style sheets, the class diagram) gets
:data:`OTHER_POLICY`: it may load and run nothing.

Two kinds of inline style are allowed, by hash (never by 'unsafe-inline'): the style
sheets that the query editor's YASR adds (:data:`YASGUI_STYLE_SHEETS`), and on the pages
that pyLODE writes (the ontology's and the concept schemes' documentation) pyLODE's own
style sheet. Those pages go through the ``vetted`` filter (:func:`vet_html`), which also
takes out what the data's HTML (pyLODE writes comments as HTML) may hold: unsafe links,
scripts, styles, event handlers; the class diagram (an ``<object>`` of this site) is
allowed there by ``object-src 'self'``.

Links: :func:`is_web_iri` says which IRIs of the data or the request may be a link
(absolute ``http:`` and ``https:`` IRIs, nothing a browser would strip or reinterpret);
the ``local`` template filter writes any other IRI as text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

from flask import Flask, Response, g
from markupsafe import Markup

from coopgraph import formats


def _hash_source(text: str) -> str:
    """The CSP source that allows an inline ``<style>`` (or style attribute) of ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


#: The style sheets that YASR's column resizer (in yasgui.min.js) adds to the query editor
#: as <style> elements when it shows a table, and while a column is dragged: fixed texts,
#: so allowed by their hash rather than by 'unsafe-inline'. (Should a new YASGUI change
#: them, the browser tests fail with the CSP violation and the hash Chromium expects.)
YASGUI_STYLE_SHEETS = (
    " .grip-resizable{table-layout:fixed;} .grip-resizable > tbody > tr > td,"
    " .grip-resizable > tbody > tr > th{overflow:hidden} .grip-padding > tbody > tr > td,"
    " .grip-padding > tbody > tr > th{padding-left:0!important; padding-right:0!important;}"
    " .grip-container{ height:0px; position:relative;} .grip-handle{margin-left:-5px;"
    " position:absolute; z-index:5; } .grip-handle .grip-resizable{position:absolute;"
    "background-color:red;filter:alpha(opacity=1);opacity:0;width:10px;height:100%;"
    "cursor: col-resize;top:0px} .grip-lastgrip{position:absolute; width:1px; } .grip-drag{"
    " border-left:1px dotted black;\t} .grip-flex{width:auto!important;}"
    " .grip-handle.grip-disabledgrip .grip-resizable{cursor:default; display:none;}",
    "*{cursor:col-resize!important}",
)

#: The policy of an HTML page, directive by directive.
PAGE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    # No inline script: the editor's settings are a JSON data block (which CSP does not
    # check, as it is never run) read by the site's own static script. No 'unsafe-eval'.
    "script-src": ("'self'",),
    "style-src": ("'self'", *map(_hash_source, YASGUI_STYLE_SHEETS)),
    "img-src": ("'self'",),
    "object-src": ("'none'",),
    # The documentation pages of the alignment module set a <base> of the site's own path.
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    # 'self', not 'none': the ontology page shows the class diagram (an SVG document of this
    # site) in an <object>, which frame-ancestors governs; other sites still cannot frame.
    "frame-ancestors": ("'self'",),
}
#: The policy of anything else: nothing may load or run (see frame-ancestors above).
OTHER_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'none'",),
    "frame-ancestors": ("'self'",),
}
#: Full URL to this origin, the origin alone to another one, nothing over plain HTTP from
#: HTTPS. Not ``no-referrer``: under it a browser sends ``Origin: null`` even on the
#: editor's same-origin POST to /sparql.
REFERRER_POLICY = "strict-origin-when-cross-origin"
#: The media types that get :data:`PAGE_POLICY`.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

#: The ``flask.g`` key of the sources a page adds to its policy (see :func:`vet_html`).
_EXTRA = "coopgraph_csp_extra"


def register(app: Flask) -> None:
    """Send the hardening headers on every response of ``app``, and add the ``vetted``
    template filter."""
    app.add_template_filter(vet_html, "vetted")
    app.after_request(harden)


def harden(response: Response) -> Response:
    """Set the security headers on ``response`` (an ``after_request`` hook)."""
    if response.mimetype in HTML_TYPES:
        policy = content_security_policy(PAGE_POLICY, g.get(_EXTRA))
    else:
        policy = content_security_policy(OTHER_POLICY)
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    return response


def content_security_policy(
    policy: dict[str, tuple[str, ...]], extra: dict[str, set[str]] | None = None
) -> str:
    """The header value of ``policy``, with the sources of ``extra`` added (an added source
    replaces ``'none'``)."""
    parts = []
    for directive, sources in policy.items():
        added = sorted((extra or {}).get(directive, ()))
        if added:
            sources = tuple(s for s in sources if s != "'none'") + tuple(added)
        parts.append(" ".join((directive, *sources)))
    return "; ".join(parts)


# --------------------------------------------------------------------------- links

#: An absolute http(s) IRI with a host, without whitespace, controls or the characters an
#: IRI may not hold (RFC 3987), so that a browser reads it exactly as written.
_WEB_IRI = re.compile(
    r"https?://[^\s\x00-\x1f\x7f-\x9f<>\"`{}|\\^/?#][^\s\x00-\x1f\x7f-\x9f<>\"`{}|\\^]*",
    re.IGNORECASE,
)
#: What a browser strips from both ends of a URL (C0 controls and space) ...
_STRIPPED = "".join(map(chr, range(0x21)))
#: ... and removes from inside it, before reading its scheme.
_REMOVED = str.maketrans("", "", "\t\n\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_web_iri(iri: str) -> bool:
    """True for an IRI that may be written in a link: an absolute ``http:`` or ``https:``
    IRI, with nothing in it that a browser would strip or read otherwise. Any other IRI
    (``javascript:``, ``data:``, ``mailto:``, ``urn:``, a relative reference ...) is shown
    as text."""
    return _WEB_IRI.fullmatch(iri) is not None


def is_safe_url(value: str) -> bool:
    """True for the value of a URL attribute (``href``, ``src`` ...; entities already
    decoded) that cannot run script: an ``http:`` or ``https:`` URL, or a reference to
    this site (a path, a query, a fragment). Read as a browser reads it."""
    if _CONTROL.search(value.strip(" ")):
        return False
    view = value.translate(_REMOVED).strip(_STRIPPED)
    if ":" in re.split(r"[/?#]", view, maxsplit=1)[0]:  # a scheme, or what may pass for one
        return view.lower().startswith(("http:", "https:"))
    # A reference without a scheme; but "//host" and "/\host" leave the site.
    return not re.match(r"[/\\]{2}", view)


# --------------------------------------------------------------------------- pyLODE's HTML

#: The attributes whose value is a URL (``srcset``: a list of them).
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "data",
        "poster",
        "cite",
        "background",
        "ping",
        "xlink:href",
        "manifest",
        "codebase",
        "longdesc",
        "icon",
        "srcset",
    }
)
#: The style attributes the documentation may have, allowed by hash (coopgraph's own
#: markup around the class diagram); any other is taken out, as it comes from the data.
STYLE_ATTRIBUTES = frozenset({"overflow: auto"})
#: The types of a ``<script>`` that is a data block (never run); any other is taken out.
DATA_BLOCKS = frozenset({formats.JSONLD.media_type, "application/json"})
#: Elements taken out of a page's body with what they hold (the data's markdown may hold
#: anything: pyLODE writes comments and definitions as HTML).
_RAW_TEXT = frozenset({"script", "style"})
#: Elements taken out of a page's body (no content): a refresh, another base.
_VOID_DROPPED = frozenset({"meta", "base"})


@dataclass(frozen=True)
class Vetted:
    """HTML made safe to include, and what the page's policy must allow for it."""

    html: str
    #: directive -> the sources to add.
    allow: tuple[tuple[str, tuple[str, ...]], ...]


def vet_html(html: object, part: str = "body") -> Markup:
    """The ``vetted`` filter: pyLODE's HTML, to include in a page as is but for:

    - a URL attribute that is not :func:`safe <is_safe_url>`: taken out (an ``<a>``
      without ``href`` is text; a ``<link>`` without it is taken out);
    - event handler attributes, and style attributes other than :data:`STYLE_ATTRIBUTES`
      (those are allowed in the page's policy by their hash): taken out;
    - ``<script>`` elements that are not a data block: taken out;
    - in the ``"body"`` part, ``<style>``, ``<meta>`` and ``<base>``: taken out. In the
      ``"head"`` part (pyLODE's own), the ``<style>`` elements are allowed by their hash.

    An ``<object>`` (the class diagram, an SVG document of this site) is allowed by
    ``object-src 'self'`` on the page that has one.
    """
    if part not in ("head", "body"):
        raise ValueError(f"vetted: part is 'head' or 'body', not {part!r}")
    found = _vet(str(html), part == "head")
    extra = g.setdefault(_EXTRA, {})
    for directive, sources in found.allow:
        extra.setdefault(directive, set()).update(sources)
    return Markup(found.html)


@functools.lru_cache(maxsize=16)
def _vet(html: str, head: bool) -> Vetted:
    vetting = _Vetting(html, head)
    vetting.feed(html)
    vetting.close()
    return vetting.result()


def _url_ok(name: str, value: str) -> bool:
    if name == "srcset":
        return all(is_safe_url(c.strip().split(" ")[0]) for c in value.split(",") if c.strip())
    return is_safe_url(value)


class _Vetting(HTMLParser):
    """Copies the HTML, but for the tags (and elements) it rewrites or takes out."""

    def __init__(self, html: str, head: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.source = html
        self.head = head
        # Where each line starts (HTMLParser counts lines by "\n" alone).
        self.lines = [0, *(m.end() for m in re.finditer("\n", html))]
        self.out: list[str] = []
        self.copied = 0  # how much of the source is in self.out, or skipped
        self.styles: set[str] = set()
        self.style_start: int | None = None  # where the content of a kept <style> starts
        self.dropping: str | None = None  # the raw-text element being taken out
        self.style_attributes = False
        self.objects = False

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def _replace(self, start: int, end: int, text: str = "") -> None:
        """Write ``text`` in place of the source from ``start`` to ``end``."""
        self.out.append(self.source[self.copied : start])
        self.out.append(text)
        self.copied = end

    def result(self) -> Vetted:
        if self.dropping is None:  # (an element left open runs to the end, as in a browser)
            self.out.append(self.source[self.copied :])
        allow: dict[str, tuple[str, ...]] = {}
        styles = set(self.styles)
        if styles:
            if self.style_attributes:
                styles.add("'unsafe-hashes'")
            allow["style-src"] = tuple(sorted(styles))
        if self.objects:
            allow["object-src"] = ("'self'",)
        return Vetted("".join(self.out), tuple(allow.items()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, closed=True)

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        start = self._offset()
        end = start + len(self.get_starttag_text() or "")
        if self._dropped(tag, attrs):
            self._replace(start, end)
            if tag in _RAW_TEXT and not closed:
                self.dropping = tag
            return
        kept = []
        for name, value in attrs:
            if name.startswith("on"):
                continue
            if name in URL_ATTRIBUTES and value is not None and not _url_ok(name, value):
                if tag == "link":  # a <link> is nothing without its href
                    self._replace(start, end)
                    return
                continue
            if name == "style":
                if value not in STYLE_ATTRIBUTES:
                    continue
                self.styles.add(_hash_source(value))
                self.style_attributes = True
            kept.append((name, value))
        if tag == "object":
            self.objects = True
        if tag == "style":
            self.style_start = end
        if len(kept) < len(attrs):
            written = "".join(
                f" {n}" if v is None else f' {n}="{escape(v, quote=True)}"' for n, v in kept
            )
            self._replace(start, end, f"<{tag}{written}{' /' if closed else ''}>")

    def _dropped(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag == "script":
            kind = dict(attrs).get("type") or ""
            return kind.strip().lower() not in DATA_BLOCKS
        if self.head:
            return False
        return tag == "style" or tag in _VOID_DROPPED

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        if self.dropping is not None:
            if tag == self.dropping:
                self.dropping = None
                close = self.source.find(">", start)
                self._replace(self.copied, len(self.source) if close < 0 else close + 1)
            return
        if tag == "style" and self.style_start is not None:
            self.styles.add(_hash_source(self.source[self.style_start : start]))
            self.style_start = None
