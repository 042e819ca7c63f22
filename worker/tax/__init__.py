"""The tax platform round trip (issue 8), self-contained: no database, CLI or console.

* ``model``    — frozen values: PlannedInvoice/PlannedLine, IssuedInvoice/IssuedLine,
                 RedLetterInfo, FailedRow, Problem, ImportReport; 备注 reference helpers.
* ``columns``  — the batch-issuing workbook's columns as one table (sources cited).
* ``workbook`` — write planned invoices into that workbook (≤ 998 per file).
* ``xml``      — parse an issued invoice's XML (defusedxml; hostile input -> TaxXmlUnreadable).
* ``failures`` — read the platform's failure workbook (失败明细).
* ``archive``  — read a zip of XML/PDF/OFD safely and group files per invoice.
* ``match``    — pure matching of issued to planned invoices.
"""
