"""Typst documents: PDF/A that parses back with its text, stable bytes, HTML from the same template, and a
template error that names line and column."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from shared.documents import Template, TemplateError, render_html, render_pdf

TEMPLATE = Template(
    b"""#let data = json(bytes(sys.inputs.data))
= Settlement for claim #data.claim
The provider accepts #data.amount in full payment.
"""
)


def test_pdf_parses_back_with_the_data_and_is_pdf_a() -> None:
    pdf = render_pdf(TEMPLATE, {"claim": "CLM-77", "amount": "$1,250.00"})
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "CLM-77" in text
    assert "$1,250.00" in text
    assert b"pdfaid:part" in pdf  # PDF/A identification in the XMP metadata


def test_same_template_and_data_give_the_same_bytes() -> None:
    data = {"claim": "CLM-1", "amount": "$10.00"}
    assert render_pdf(TEMPLATE, data) == render_pdf(TEMPLATE, data)
    assert render_pdf(TEMPLATE, data) != render_pdf(TEMPLATE, {**data, "amount": "$10.01"})


def test_html_from_the_same_template() -> None:
    html = render_html(TEMPLATE, {"claim": "CLM-9", "amount": "$5.00"})
    assert "<h2>Settlement for claim CLM-9</h2>" in html


def test_a_template_error_names_line_and_column() -> None:
    with pytest.raises(TemplateError) as caught:
        render_pdf(TEMPLATE, {"claim": "CLM-1"})  # no amount
    assert (caught.value.line, caught.value.column) == (3, 28)  # the 'a' of 'amount'
    assert 'does not contain key "amount"' in str(caught.value)


def test_a_template_without_a_root_reads_no_file() -> None:
    # Typst would otherwise read relative to the working directory: the project's files and secrets.
    with pytest.raises(TemplateError) as caught:
        render_pdf(Template(b'#read("pyproject.toml")'), {})
    assert "file not found" in str(caught.value)
