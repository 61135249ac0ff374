"""What the model layer refuses: changing the audit trail, hard deletes, unstampable bulk writes."""


class AuditTrailImmutableError(Exception):
    """Audit events are append-only: the ORM refuses to change or delete them."""


class HardDeleteRefusedError(Exception):
    """Audited rows are soft-deleted (``soft_delete()``), never removed by the ORM."""


class BulkWriteUnsupportedError(Exception):
    """A bulk statement on an audited model that cannot be stamped and audited."""
