"""A manifest's two files under ``output_dir/manifests/``, paths stored relative to
``output_dir`` (like mail attachments), each file written atomically."""

from __future__ import annotations

import logging
from pathlib import Path

from worker.atomic import write_atomic
from worker.db.models import Manifest
from worker.errors import StorageError
from worker.manifest.pdf import write_manifest_pdf
from worker.manifest.sheet import ManifestSheet
from worker.manifest.xlsx import manifest_xlsx

log = logging.getLogger(__name__)

FOLDER = "manifests"


def write_files(sheet: ManifestSheet, output_dir: Path) -> tuple[str, str]:
    """Both files; returns their paths relative to ``output_dir``."""
    xlsx_rel, pdf_rel = f"{FOLDER}/{sheet.stem}.xlsx", f"{FOLDER}/{sheet.stem}.pdf"
    try:
        write_atomic(output_dir / xlsx_rel, manifest_xlsx(sheet))
        write_manifest_pdf(sheet, output_dir / pdf_rel)
    except OSError as e:
        raise StorageError(f"cannot write manifest {sheet.number} to {output_dir}: {e}") from e
    return xlsx_rel, pdf_rel


def files_of(manifest: Manifest, sheet: ManifestSheet, output_dir: Path) -> tuple[Path, Path]:
    """The stored files; written again from the database if someone removed them."""
    if manifest.xlsx_path and manifest.pdf_path:
        xlsx, pdf = output_dir / manifest.xlsx_path, output_dir / manifest.pdf_path
        if xlsx.is_file() and pdf.is_file():
            return xlsx, pdf
    log.warning("manifest %d: files missing, writing them again", manifest.id)
    manifest.xlsx_path, manifest.pdf_path = write_files(sheet, output_dir)
    return output_dir / manifest.xlsx_path, output_dir / manifest.pdf_path
