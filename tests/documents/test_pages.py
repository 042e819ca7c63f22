"""The printed pages look as they did before the lean page design (issue 12): the
sample documents of ``tests/documents/samples.py`` rendered now are compared with
reference pictures and texts made from the templates as they were (flexbox labels, a
barcode of ``<rect>``s, a 9-column bordered table per invoice sheet).

* pictures: each page at 100 dpi in grey (pdftoppm), against ``reference/*.png`` (the
  same pages, stored with 16 grey levels to keep them small). A pixel counts as
  different only if no pixel of the other picture within one pixel of it is within
  ``LEVELS`` grey levels (anti-aliasing and sub-pixel placement move edges by a pixel);
  a page passes with under ``MAX_SHARE`` of its pixels different.
* text: ``pdftotext -layout`` of each page, whitespace runs collapsed (as every other
  document test reads them), equal to ``reference/texts.json``.

Reference files are rewritten, when a page is meant to change, with
``python -m tests.documents.test_pages`` (then look at them before committing).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter

from tests.documents import samples
from tests.documents.pdf import barcodes, fonts, pages_text
from worker.documents.labels import labels_html, write_labels
from worker.documents.render import html, write_pdf

REFERENCE = Path(__file__).parent / "reference"
DPI = 100
LEVELS = 48          # of 255: well above the 16-level storage step, well below ink on paper
MAX_SHARE = 0.005    # 0.5 % of a page's pixels
DOCUMENTS = ("invoices", "labels")
FACES = {"invoices": "Noto-Serif-CJK-SC", "labels": "Noto-Sans-CJK-SC"}


def invoices_source() -> str:
    return html("invoices.html", invoices=samples.invoices(), title="发票 5 张",
                created=samples.CREATED)


def render(folder: Path) -> dict[str, Path]:
    """The two sample documents as PDFs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    provider = folder / "provider.pdf"   # a stand-in for a provider's own label: no text,
    write_pdf('<style>@page { size: 100mm 140mm; margin: 5mm }</style>'   # so no font
              '<div style="border: 2pt solid #000; height: 120mm"></div>',
              provider, key="provider")
    pdfs = {name: folder / f"{name}.pdf" for name in DOCUMENTS}
    write_pdf(invoices_source(), pdfs["invoices"], key="invoices")
    write_labels(samples.labels(provider), pdfs["labels"], key="labels",
                 created=samples.CREATED)
    return pdfs


def pictures(pdf: Path, folder: Path) -> list[Image.Image]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(pdf),
                    str(folder / pdf.stem)], check=True)
    pngs = sorted(folder.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [Image.open(p).convert("L") for p in pngs]


def differing_share(a: Image.Image, b: Image.Image) -> float:
    """Share of pixels that differ beyond the one-pixel, ``LEVELS`` tolerance (1.0 when
    the page sizes differ)."""
    if a.size != b.size:
        return 1.0

    def outside(x: Image.Image, y: Image.Image) -> Image.Image:
        lo, hi = y.filter(ImageFilter.MinFilter(3)), y.filter(ImageFilter.MaxFilter(3))
        return ImageChops.lighter(ImageChops.subtract(x, hi), ImageChops.subtract(lo, x))

    worst = ImageChops.lighter(outside(a, b), outside(b, a))
    different = sum(worst.histogram()[LEVELS + 1:])
    return different / (a.size[0] * a.size[1])


def reference_pictures(name: str) -> list[Image.Image]:
    pngs = sorted(REFERENCE.glob(f"{name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [Image.open(p).convert("L") for p in pngs]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render(tmp_path_factory.mktemp("pages"))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_page_looks_as_before(rendered: dict[str, Path], name: str,
                                    tmp_path: Path) -> None:
    now, before = pictures(rendered[name], tmp_path), reference_pictures(name)
    assert before and len(now) == len(before)
    shares = [differing_share(a, b) for a, b in zip(now, before, strict=True)]
    assert max(shares) < MAX_SHARE, [f"{s:.4%}" for s in shares]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_page_reads_as_before(rendered: dict[str, Path], name: str) -> None:
    expected = json.loads((REFERENCE / "texts.json").read_text(encoding="utf-8"))[name]
    assert pages_text(rendered[name]) == expected


@pytest.mark.parametrize("name", DOCUMENTS)
def test_one_cjk_face_is_embedded(rendered: dict[str, Path], name: str) -> None:
    (font,) = fonts(rendered[name])
    assert font["name"].split("+")[1] == FACES[name]
    assert (font["emb"], font["sub"], font["uni"]) == ("yes", "yes", "yes")


def test_every_sample_barcode_scans(rendered: dict[str, Path], tmp_path: Path) -> None:
    found = barcodes(rendered["labels"], tmp_path)
    assert found[:4] == [[label.waybill] for label in samples.labels()]
    assert found[4] == []   # the provider's page carries its own code, not ours


def test_pages_are_lean() -> None:
    """What made a page cost several plain pages: per page, a few dozen elements, no
    flex container outside platform mode's facts row, and the barcode as one path."""
    sheets = invoices_source().split('<section class="sheet">')[1:]
    first = sheets[0].split("</section>")[0]
    assert len(re.findall(r"<[a-z]", first)) <= 60   # 114 before
    labels = labels_html(samples.labels()[:1], samples.CREATED)
    assert "facts-flex" not in labels
    (svg,) = re.findall(r'<svg[^>]*class="barcode".*?</svg>', labels)
    assert re.findall(r"<(\w+)", svg) == ["svg", "path"]


def write_references(folder: Path = REFERENCE) -> None:
    """Render the samples with the templates checked out now and store them as the
    reference (16 grey levels, 100 dpi) and their texts."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / ".scratch"
    pdfs = render(scratch)
    texts = {}
    for name, pdf in pdfs.items():
        for n, picture in enumerate(pictures(pdf, scratch), start=1):
            stored = picture.point(lambda v: round(v / 17) * 17).convert(
                "P", palette=Image.Palette.ADAPTIVE, colors=16)
            stored.save(folder / f"{name}-{n}.png", bits=4, optimize=True)
        texts[name] = pages_text(pdf)
    (folder / "texts.json").write_text(json.dumps(texts, ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")
    for leftover in scratch.iterdir():
        leftover.unlink()
    scratch.rmdir()


if __name__ == "__main__":
    write_references(Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE)
