"""Platform mode end to end (issue 8): the stored invoices meet ``worker.tax``.

``worker.tax`` is pure (workbooks, XML, zips, matching, no storage); this package is
where it meets the database, the output folder and the replies. Callers (the CLI's
``tax export`` / ``tax import``, the console's 税务平台 page) use these functions:

* ``export_planned(sessions, config, out_dir, actor=..., template=None)`` -- every
  planned, not yet exported invoice into the batch-issuing workbook(s); ``ExportResult``.
* ``export_again(sessions, config, export_id, out_dir, actor=..., template=None)`` --
  the invoices of an earlier export (still waiting for issue) written again.
* ``import_files(sessions, config, sources, actor=...)`` -- what the platform gave back
  (XML, zips of XML/PDF/OFD, failure workbooks) recorded; ``ImportResult``.
* ``planned_invoice(invoice, config)`` -- one stored invoice as the platform sees it.
"""

from __future__ import annotations

from worker.taxflow.export import ExportResult, export_again, export_planned
from worker.taxflow.importing import ImportResult, Source, import_files
from worker.taxflow.planned import planned_invoice

__all__ = ["ExportResult", "ImportResult", "Source", "export_again", "export_planned",
           "import_files", "planned_invoice"]
