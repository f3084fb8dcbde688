"""What every CareLedger event declares about itself for the audit trail.

`subject_field` names the attribute holding the client the event is about (its history and its
data key); `phi_fields` names the attributes encrypted with that client's key. Both are domain
knowledge, so they live on the event classes; the mapper in `application/` acts on them.
"""

from __future__ import annotations

from typing import ClassVar

ERASED = "erased"


class Audited:
    subject_field: ClassVar[str | None] = None
    phi_fields: ClassVar[tuple[str, ...]] = ()
