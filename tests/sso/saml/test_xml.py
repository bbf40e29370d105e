"""The hardened parser and decoders: DTDs, sizes, depth, DEFLATE bombs and text."""

import base64
import time
import zlib

import pytest
from lxml import etree

from scimbridge.sso.saml.bindings import decode_message, encode_message
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import (
    Children,
    XmlLimits,
    decode_base64,
    decode_post_message,
    inflate,
    parse_xml,
    text_content,
)
from tests.sso.saml.idp import expect_error, signed_response, to_bytes

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
>&xxe;</samlp:Response>
"""
XXE_NETWORK = b"""<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>"""
PARAMETER_ENTITY = (
    b"""<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><r/>"""
)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<r>&lol4;</r>
"""


def parse_error(data: bytes, limits: XmlLimits | None = None) -> SamlError:
    with pytest.raises(SamlError) as raised:
        parse_xml(data, limits or XmlLimits())
    return raised.value


@pytest.mark.parametrize(
    "document", [XXE_FILE, XXE_NETWORK, PARAMETER_ENTITY, BILLION_LAUGHS]
)
def test_doctype_rejected_before_parsing(
    document: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any DTD is rejected on the raw bytes, before the parser runs."""
    import scimbridge.sso.saml.xml as xml_module

    def no_parser() -> None:
        raise AssertionError("the parser ran on a document with a DTD")

    monkeypatch.setattr(xml_module, "_parser", no_parser)
    assert parse_error(document).code == ErrorCode.DOCTYPE


def test_doctype_rejected_in_response() -> None:
    """A DOCTYPE in a SAMLResponse fails as saml.doctype at the parse step."""
    expect_error(base64.b64encode(XXE_FILE), ErrorCode.DOCTYPE)


def test_doctype_after_parse_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parsed tree's docinfo is checked too, in case the byte check misses."""
    import scimbridge.sso.saml.xml as xml_module

    monkeypatch.setattr(xml_module, "_MARKUP_DECLARATION", _NeverMatches())
    assert parse_error(b"<!DOCTYPE r><r/>").code == ErrorCode.DOCTYPE


class _NeverMatches:
    def search(self, data: bytes) -> None:
        return None


def test_undefined_entity_rejected() -> None:
    """Without a DTD an entity reference cannot resolve and is not well-formed."""
    assert parse_error(b"<r>&xxe;</r>").code == ErrorCode.XML_INVALID


def test_utf16_rejected() -> None:
    """Only UTF-8 is parsed, so no DTD can hide in another encoding."""
    document = '<?xml version="1.0" encoding="UTF-16"?><r/>'.encode("utf-16")
    error = parse_error(document)
    assert error.code == ErrorCode.XML_INVALID
    assert "not UTF-8" in error.detail


def test_multiple_roots_rejected() -> None:
    assert parse_error(b"<r/><r/>").code == ErrorCode.XML_INVALID


def test_processing_instruction_rejected() -> None:
    error = parse_error(b"<r><?evil data?></r>")
    assert error.code == ErrorCode.XML_INVALID
    assert "processing instruction" in error.detail


def test_document_size_limit() -> None:
    limits = XmlLimits(max_xml_bytes=100)
    assert parse_xml(b"<r>" + b"x" * 90 + b"</r>", limits) is not None
    error = parse_error(b"<r>" + b"x" * 100 + b"</r>", limits)
    assert error.code == ErrorCode.MESSAGE_TOO_LARGE


def test_huge_response_rejected() -> None:
    """A multi-megabyte SAMLResponse fails before base64 decoding."""
    message = base64.b64encode(b"<r>" + b"x" * 3_000_000 + b"</r>")
    started = time.perf_counter()
    expect_error(message, ErrorCode.MESSAGE_TOO_LARGE)
    assert time.perf_counter() - started < 0.5


def test_depth_limit() -> None:
    limits = XmlLimits(max_depth=5)
    assert parse_xml(b"<a><b><c><d><e/></d></c></b></a>", limits) is not None
    error = parse_error(b"<a><b><c><d><e><f/></e></d></c></b></a>", limits)
    assert error.code == ErrorCode.XML_TOO_DEEP


def test_comments_kept_in_tree() -> None:
    """Comments stay in the tree, because xmlsec must see what the IdP signed."""
    root = parse_xml(b"<r>a<!-- c -->b</r>")
    assert len(root) == 1


def test_text_content_joins_across_comments() -> None:
    """A comment inside a value cannot truncate it."""
    root = parse_xml(b"<NameID>victim@corp.example<!---->.evil.net</NameID>")
    assert root.text == "victim@corp.example"
    assert text_content(root) == "victim@corp.example.evil.net"


def test_text_content_merges_cdata() -> None:
    root = parse_xml(b"<v>a<![CDATA[b<c]]>d</v>")
    assert text_content(root) == "ab<cd"


def test_text_content_rejects_processing_instruction() -> None:
    """A PI inside a value is rejected even when the parser would keep it."""
    root = etree.fromstring(b"<v>a<?pi x?>b</v>")
    with pytest.raises(SamlError) as raised:
        text_content(root)
    assert raised.value.code == ErrorCode.SCHEMA_INVALID
    assert "processing instruction" in raised.value.detail


def test_text_content_rejects_child_elements() -> None:
    root = parse_xml(b"<v>a<b>c</b></v>")
    with pytest.raises(SamlError) as raised:
        text_content(root)
    assert raised.value.code == ErrorCode.SCHEMA_INVALID


def test_base64_with_line_breaks() -> None:
    encoded = base64.encodebytes(b"<r>" + b"x" * 200 + b"</r>")
    assert b"\n" in encoded
    assert decode_base64(encoded, max_bytes=1000).startswith(b"<r>")


@pytest.mark.parametrize("separator", [b" ", b"\t", b"\r", b"\n", b"\r\n"])
def test_base64_ignores_each_whitespace(separator: bytes) -> None:
    encoded = base64.b64encode(b"<r>" + b"x" * 200 + b"</r>")
    spaced = separator.join(encoded[i : i + 64] for i in range(0, len(encoded), 64))
    assert decode_base64(spaced, max_bytes=1000).startswith(b"<r>")


def test_base64_size_limit() -> None:
    encoded = base64.b64encode(b"x" * 301)
    with pytest.raises(SamlError) as raised:
        decode_base64(encoded, max_bytes=300)
    assert raised.value.code == ErrorCode.MESSAGE_TOO_LARGE


def test_base64_invalid() -> None:
    with pytest.raises(SamlError) as raised:
        decode_base64("not*base64", max_bytes=300)
    assert raised.value.code == ErrorCode.BASE64_INVALID


def test_post_message_accepts_xml_or_base64() -> None:
    xml = to_bytes(signed_response())
    assert decode_post_message(xml) == xml
    assert decode_post_message(base64.b64encode(xml)) == xml
    assert decode_post_message(base64.b64encode(xml).decode()) == xml


def test_inflate_round_trip() -> None:
    xml = b"<samlp:AuthnRequest/>"
    assert decode_message(encode_message(xml)) == xml


def test_deflate_bomb_stops_at_limit() -> None:
    """A 100 MB bomb inflates only to the limit plus one byte, then fails."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bomb = compressor.compress(b"\0" * 100_000_000) + compressor.flush()
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(SamlError) as raised:
        inflate(bomb, max_bytes=256 * 1024)
    assert raised.value.code == ErrorCode.MESSAGE_TOO_LARGE
    assert time.perf_counter() - started < 0.5


def test_deflate_bomb_in_redirect_parameter() -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bomb = compressor.compress(b"<a>" + b"a" * 10_000_000) + compressor.flush()
    with pytest.raises(SamlError) as raised:
        decode_message(base64.b64encode(bomb).decode())
    assert raised.value.code == ErrorCode.MESSAGE_TOO_LARGE


def test_truncated_deflate_rejected() -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = compressor.compress(b"<r>" * 1000) + compressor.flush()
    with pytest.raises(SamlError) as raised:
        inflate(data[: len(data) // 2], max_bytes=10_000)
    assert raised.value.code == ErrorCode.DEFLATE_INVALID


def test_invalid_deflate_rejected() -> None:
    with pytest.raises(SamlError) as raised:
        inflate(b"\xff\xff\xff\xff", max_bytes=10_000)
    assert raised.value.code == ErrorCode.DEFLATE_INVALID


def test_children_index_skips_comments() -> None:
    root = parse_xml(b"<r><a/><!-- c --><b/><a/></r>")
    children = Children(root)
    assert [child.tag for child in children.elements] == ["a", "b", "a"]
    assert children.count("a") == 2
    assert children.all("a") == [children.elements[0], children.elements[2]]
    assert children.one("b") is children.elements[1]
    assert children.one("c") is None


def test_children_index_one_rejects_several() -> None:
    children = Children(parse_xml(b"<r><a/><a/></r>"))
    with pytest.raises(SamlError) as raised:
        children.one("a")
    assert raised.value.code == ErrorCode.SCHEMA_INVALID
    assert "2 a elements" in raised.value.detail


def test_children_index_require_rejects_missing() -> None:
    children = Children(parse_xml(b"<r><a/></r>"))
    with pytest.raises(SamlError) as raised:
        children.require("b")
    assert raised.value.code == ErrorCode.SCHEMA_INVALID
    assert "no b element" in raised.value.detail


def test_children_index_all_returns_copy() -> None:
    children = Children(parse_xml(b"<r><a/></r>"))
    children.all("a").clear()
    assert children.count("a") == 1
