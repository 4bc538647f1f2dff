"""The API docs page needs nothing from another host, and the big OpenAPI document travels compressed."""
from __future__ import annotations

import gzip
import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_redoc_and_its_fonts_from_the_projects_own_static_files():
    client = Client()
    page = client.get("/api/v1/docs").content.decode()
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert references
    assert not [ref for ref in references if ref.startswith(("http:", "https:", "//"))], references
    assert not re.search(r"fonts\.(googleapis|gstatic)\.com|cdn\.", page)
    stylesheet = next(ref for ref in references if ref.endswith("fonts.css"))
    css = b"".join(client.get(stylesheet).streaming_content).decode()
    fonts = re.findall(r"url\(([^)]+)\)", css)
    assert {"Montserrat", "Roboto"} <= set(re.findall(r"font-family: '([^']+)'", css))
    base = stylesheet.rsplit("/", 1)[0]
    for font in fonts:
        assert client.get(f"{base}/{font}").status_code == 200, font
    script = next(ref for ref in references if ref.endswith(".js"))
    assert client.get(script).status_code == 200


def test_openapi_json_is_gzipped_for_a_client_that_accepts_it_and_plain_for_one_that_does_not():
    client = Client()
    plain = client.get("/api/v1/openapi.json")
    assert plain.status_code == 200 and "Content-Encoding" not in plain
    compressed = client.get("/api/v1/openapi.json", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert compressed.status_code == 200
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    assert len(compressed.content) < len(plain.content) / 4
    assert json.loads(gzip.decompress(compressed.content)) == json.loads(plain.content)
