"""The one hardened XML parser for untrusted SAML, and the decoders in front of it.

Every SAML message and metadata document goes through :func:`parse_xml`, and the
tree it returns is the tree that xmlsec verifies and that claims are read from. The
parser keeps comments, because removing them would change the tree that the IdP
signed; :func:`text_content` drops them when it reads a value instead.

Elements are matched by namespace URI and local name (see ``names``), never by
prefix, and claims are read by walking down from a verified element.
"""

import base64
import binascii
import re
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from scimbridge.sso.saml.errors import ErrorCode, SamlError


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Size and depth limits applied before and during parsing."""

    max_xml_bytes: int = 256 * 1024
    """Maximum size of the XML document after base64 or DEFLATE decoding, in bytes."""
    max_depth: int = 48
    """Maximum element nesting; a signed SAML Response needs about 10 levels."""


DEFAULT_LIMITS = XmlLimits()

# After `<!`, only a comment or a CDATA section may follow in a document without a
# DTD; DOCTYPE, ENTITY, ELEMENT and ATTLIST declarations all start this way.
_MARKUP_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
_WHITESPACE = b" \t\r\n"
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "remove_comments": False,
    "remove_pis": False,
    # Register no xml:id attributes. The signature check registers the SAML `ID`
    # attribute itself, and only that one.
    "collect_ids": False,
    "encoding": "utf-8",
}
_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers keep per-parse state, so each thread gets its own.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[call-overload]
        _local.parser = parser
    return parser


def parse_xml(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted XML into a tree, rejecting DTDs, PIs, deep nesting and size.

    Only UTF-8 documents are accepted, so the check for DTD declarations on the raw
    bytes finds every declaration that the parser would read.

    :raises SamlError: ``saml.message_too_large``, ``saml.doctype``,
        ``saml.xml_invalid`` or ``saml.xml_too_deep``.
    """
    if len(data) > limits.max_xml_bytes:
        raise SamlError(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"the XML document is {len(data)} bytes, more than the maximum of "
            f"{limits.max_xml_bytes}",
        )
    # The one-byte test skips the regular expression for the usual document,
    # which has no "!" at all. It is a memchr, and took about a tenth of the time
    # of a search for "<!" in the 4 KB benchmark Response.
    if b"!" in data and _MARKUP_DECLARATION.search(data):
        raise SamlError(
            ErrorCode.DOCTYPE,
            "the XML document contains a DOCTYPE or other DTD declaration, which "
            "SAML messages never need",
        )
    if b"\x00" in data:
        raise SamlError(
            ErrorCode.XML_INVALID, "the XML document is not UTF-8 (it has NUL bytes)"
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise SamlError(
            ErrorCode.XML_INVALID, f"the XML document is not well-formed: {exc.msg}"
        ) from exc
    _check_parsed(root, limits)
    return root


def _check_parsed(root: etree._Element, limits: XmlLimits) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SamlError(ErrorCode.DOCTYPE, "the XML document has a DOCTYPE")
    if not _has_pi_or_deeper_than(limits.max_depth)(root):
        return
    if _has_processing_instruction(root):
        raise SamlError(
            ErrorCode.XML_INVALID,
            "the XML document contains a processing instruction, which SAML "
            "messages never contain",
        )
    raise SamlError(
        ErrorCode.XML_TOO_DEEP,
        f"the XML document nests elements more than {limits.max_depth} deep",
    )


# These XPaths only reject documents; no element is selected from their results.
# The combined one runs on every document, and the other tells the two errors apart.
_has_processing_instruction = etree.XPath("boolean(//processing-instruction())")


@lru_cache(maxsize=8)
def _has_pi_or_deeper_than(max_depth: int) -> etree.XPath:
    return etree.XPath(
        "boolean(//processing-instruction() | " + "/*" * (max_depth + 1) + ")"
    )


def decode_base64(data: bytes | str, *, max_bytes: int) -> bytes:
    """Decode base64 text, ignoring line breaks, if it decodes to at most max_bytes.

    :raises SamlError: ``saml.message_too_large`` or ``saml.base64_invalid``.
    """
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    max_encoded = (max_bytes + 2) // 3 * 4
    # Line breaks can at most double the text; refuse to copy more than that.
    if len(raw) > 2 * max_encoded + 64:
        raise _too_large("the base64 message", max_bytes)
    compact = raw
    # Four one-byte scans (memchr) cost less than translate's copy of the text,
    # which is then needed only for base64 with line breaks.
    if b"\n" in raw or b"\r" in raw or b" " in raw or b"\t" in raw:
        compact = raw.translate(None, _WHITESPACE)
    if len(compact) > max_encoded:
        raise _too_large("the base64 message", max_bytes)
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error as exc:
        raise SamlError(
            ErrorCode.BASE64_INVALID, f"the message is not valid base64: {exc}"
        ) from exc


def inflate(data: bytes, *, max_bytes: int) -> bytes:
    """Inflate raw DEFLATE data (HTTP-Redirect binding) to at most max_bytes.

    The output is produced incrementally and decompression stops one byte past the
    limit, so a small compressed bomb costs at most ``max_bytes`` of memory.

    :raises SamlError: ``saml.message_too_large`` or ``saml.deflate_invalid``.
    """
    decompressor = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
    try:
        output = decompressor.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise SamlError(
            ErrorCode.DEFLATE_INVALID, f"the message is not valid DEFLATE data: {exc}"
        ) from exc
    if len(output) > max_bytes or decompressor.unconsumed_tail:
        raise _too_large("the inflated message", max_bytes)
    if not decompressor.eof:
        raise SamlError(
            ErrorCode.DEFLATE_INVALID, "the DEFLATE data ends before its final block"
        )
    return output


def decode_post_message(
    message: bytes | str, limits: XmlLimits = DEFAULT_LIMITS
) -> bytes:
    """Return the XML bytes of an HTTP-POST message given as XML or as base64.

    XML starts with ``<`` (after whitespace), a character base64 never contains.
    """
    raw = message.encode("utf-8") if isinstance(message, str) else message
    if raw.lstrip(_WHITESPACE + b"\xef\xbb\xbf").startswith(b"<"):
        return raw
    return decode_base64(raw, max_bytes=limits.max_xml_bytes)


def _too_large(what: str, max_bytes: int) -> SamlError:
    return SamlError(
        ErrorCode.MESSAGE_TOO_LARGE,
        f"{what} is larger than the maximum of {max_bytes} bytes",
    )


def local_name(element: etree._Element) -> str:
    """Return the local name of an element, for messages."""
    # Slicing the Clark-notation tag costs a fraction of building a QName.
    tag: str = element.tag
    return tag[tag.rfind("}") + 1 :]


def text_content(element: etree._Element) -> str:
    """Return all text of ``element``, joined across comments.

    ``<NameID>victim@corp.example<!---->.evil.net</NameID>`` yields the whole
    ``victim@corp.example.evil.net``, which is what exclusive canonicalization
    signed; lxml's ``.text`` alone would stop at the comment. CDATA sections are
    already merged into text by the parser.

    :raises SamlError: ``saml.schema_invalid`` when the element has child
        elements or processing instructions, so there is no single text value.
    """
    if len(element) == 0:
        return element.text or ""
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child, etree._Comment):
            is_pi = isinstance(child, etree._ProcessingInstruction)
            kind = "a processing instruction" if is_pi else "elements"
            raise SamlError(
                ErrorCode.SCHEMA_INVALID,
                f"{local_name(element)} contains {kind}, but must contain text only",
            )
        parts.append(child.tail or "")
    return "".join(parts)


class Children:
    """The element children of one element, listed once and grouped by tag.

    Comments and processing instructions are left out. An index is a snapshot:
    build a new one after the element's children change, as decryption does.
    """

    __slots__ = ("_by_tag", "element", "elements")

    def __init__(self, element: etree._Element) -> None:
        self.element = element
        self.elements = list(element.iterchildren(etree.Element))
        by_tag: dict[str, list[etree._Element]] = {}
        for child in self.elements:
            by_tag.setdefault(child.tag, []).append(child)
        self._by_tag = by_tag

    def all(self, tag: str) -> list[etree._Element]:
        """Return the children with this Clark-notation tag, in document order."""
        return list(self._by_tag.get(tag, ()))

    def count(self, tag: str) -> int:
        """Return how many children have this tag."""
        return len(self._by_tag.get(tag, ()))

    def one(self, tag: str) -> etree._Element | None:
        """Return the only child with this tag, or None when there is none.

        :raises SamlError: ``saml.schema_invalid`` when there are several.
        """
        found = self._by_tag.get(tag)
        if found is None:
            return None
        if len(found) > 1:
            raise _several_children(self.element, tag, len(found))
        return found[0]

    def require(self, tag: str) -> etree._Element:
        """Return the only child with this tag.

        :raises SamlError: ``saml.schema_invalid`` when there is none or several.
        """
        child = self.one(tag)
        if child is None:
            raise _missing_child(self.element, tag)
        return child


def child_elements(element: etree._Element) -> list[etree._Element]:
    """Return the element children of ``element``, skipping comments."""
    return [child for child in element.iterchildren(tag=etree.Element)]


def find_children(element: etree._Element, tag: str) -> list[etree._Element]:
    """Return the direct children of ``element`` with this Clark-notation tag."""
    return list(element.iterchildren(tag))


def find_child(element: etree._Element, tag: str) -> etree._Element | None:
    """Return the only direct child with this tag, or None when there is none.

    :raises SamlError: ``saml.schema_invalid`` when there are several.
    """
    found = find_children(element, tag)
    if len(found) > 1:
        raise _several_children(element, tag, len(found))
    return found[0] if found else None


def require_child(element: etree._Element, tag: str) -> etree._Element:
    """Return the only direct child with this tag.

    :raises SamlError: ``saml.schema_invalid`` when there is none or several.
    """
    child = find_child(element, tag)
    if child is None:
        raise _missing_child(element, tag)
    return child


def _several_children(element: etree._Element, tag: str, count: int) -> SamlError:
    return SamlError(
        ErrorCode.SCHEMA_INVALID,
        f"{local_name(element)} has {count} {etree.QName(tag).localname} "
        "elements, but may have one",
    )


def _missing_child(element: etree._Element, tag: str) -> SamlError:
    return SamlError(
        ErrorCode.SCHEMA_INVALID,
        f"{local_name(element)} has no {etree.QName(tag).localname} element",
    )


def require_attribute(element: etree._Element, name: str) -> str:
    """Return a non-empty attribute value.

    :raises SamlError: ``saml.schema_invalid`` when it is missing or empty.
    """
    value = element.get(name)
    if not value:
        raise SamlError(
            ErrorCode.SCHEMA_INVALID,
            f"{local_name(element)} has no {name} attribute, or it is empty",
        )
    return value
