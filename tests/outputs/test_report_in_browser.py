"""The compliance report of the demo estate as a person sees it: opened in a real headless
Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright), on a screen and printed.

What makes it a page a person is glad to read is checked on the rendered page, not on the
HTML text: it loads nothing from the network, every control is a row with a coloured status
a reader can tell apart, the chart is drawn, nothing runs off the side of a laptop screen
or of an A4 sheet, and the screenshot and the PDF are real images of it."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clamp.compliance import framework
from report_cli import Cli

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: install Debian's chromium (apt-get install chromium) to run "
        "the report's browser test",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

A4_WIDTH = 794
"""An A4 sheet's width in CSS pixels (210 mm at 96 px per inch)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        running = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield running
        running.close()


def _png_size(data: bytes) -> tuple[int, int]:
    """The width and height in a PNG's header (its IHDR chunk)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_the_compliance_report_reads_well_on_screen_and_on_paper(
    estate: Cli, browser: Any, tmp_path: Path
) -> None:
    report = tmp_path / "cis-azure.html"
    result = estate("compliance", "report", "--framework", "cis-azure", "--format", "html")
    assert result.exit_code == 0, result.stderr
    report.write_text(result.stdout)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))

    page.goto(report.as_uri())

    assert fetched == [report.as_uri()], "the report must be one self-contained file"
    controls = framework("cis-azure").controls
    rows = page.locator("table tbody tr")
    assert rows.count() == len(controls)
    statuses = rows.locator(".badge")
    colours = {
        statuses.nth(i).inner_text(): statuses.nth(i).evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        for i in range(statuses.count())
    }
    assert "fail" in colours and len(colours) >= 2  # the demo estate fails some controls
    assert len(set(colours.values())) == len(colours), f"statuses look alike: {colours}"
    chart = page.locator(".charts svg").first.bounding_box()
    assert chart is not None and chart["width"] > 100 and chart["height"] > 50
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0, "the report runs off the side of a laptop screen"
    body_font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_font >= 12

    shot = page.screenshot(full_page=True, path=str(tmp_path / "cis-azure.png"))
    width, height = _png_size(shot)
    assert width == 1280 and height >= page.evaluate("document.body.scrollHeight")

    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_WIDTH, "height": 1123})
    assert page.evaluate(overflow) <= 0, "the printed report runs off the side of an A4 sheet"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    context.close()
