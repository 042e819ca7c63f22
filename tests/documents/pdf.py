"""Reading rendered PDFs back the way a person or a scanner would: poppler's
pdftotext/pdftoppm/pdffonts, zbarimg, and pypdf for page geometry."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pypdf import PdfReader

MM = 72 / 25.4  # PDF points per millimetre


def pages_text(path: Path | str) -> list[str]:
    """The text of each page, whitespace collapsed. ``-layout`` keeps each table row on
    one line (raw order would follow the content stream, cell by cell)."""
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                         capture_output=True,
                         text=True, check=True).stdout
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return [" ".join(p.split()) for p in pages]


def page_sizes_mm(path: Path | str) -> list[tuple[float, float]]:
    reader = PdfReader(str(path))
    return [(round(float(p.mediabox.width) / MM, 2), round(float(p.mediabox.height) / MM, 2))
            for p in reader.pages]


def fonts(path: Path | str) -> list[dict[str, str]]:
    """pdffonts' table: name, type, emb (yes/no), sub, uni."""
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    rows = []
    for line in out:
        parts = line.split()
        # name, type words..., encoding, emb, sub, uni, object, id
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def images_and_attachments(path: Path | str) -> tuple[int, int]:
    reader = PdfReader(str(path))
    images = sum(len(p.images) for p in reader.pages)
    return images, len(reader.attachments)


def barcodes(path: Path | str, workdir: Path, dpi: int = 300) -> list[list[str]]:
    """Each page rasterised (pdftoppm) and scanned (zbarimg): the codes found per page."""
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-gray", str(path),
                    str(workdir / "page")], check=True)
    found = []
    for png in sorted(workdir.glob("page-*.png")):
        done = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Scode128.enable",
                               str(png)], capture_output=True, text=True, check=False)
        assert done.returncode in (0, 4), done.stderr  # 4: nothing found on the page
        found.append(done.stdout.split())
    return found
