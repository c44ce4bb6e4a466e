"""The auditor's package: a run's evidence as one archive per tier of reader (``export-audit``).

The step after the reports. It reads a sealed run folder and writes into it only the quarantine
access log; everything made for an archive (a datasheet without sample documents, the review
sample with personal information redacted, the algorithm-filing section) is rendered in a scratch
folder. The archive format and how ``verify`` checks it are :mod:`pipeline.record.audit_archive`.

* ``public``: the dataset card, the EU AI Act training-content summary, Croissant, the datasheet
  without samples, and the run's seal; scanned for personal information, refused if any is found.
* ``regulator``: public, plus the TC260-003 assessment and technical check, the review sample with
  its text redacted, the full ledger, the run record and input inventory, the signed attestation,
  and the training-data section of a Chinese algorithm filing (算法备案).
* ``internal``: every file of the run folder, quarantined documents included (as stored: encrypted
  when a quarantine key is configured), plus the regulator tier's files; the export is appended to
  the run's access log first, with who, when and why.
"""

from __future__ import annotations

PUBLIC, REGULATOR, INTERNAL = "public", "regulator", "internal"
TIERS = (PUBLIC, REGULATOR, INTERNAL)
"""From the widest audience to the narrowest; each tier holds everything of the one before."""


class ExportError(RuntimeError):
    """The archive cannot be written as asked; nothing was written."""
