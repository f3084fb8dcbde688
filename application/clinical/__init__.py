"""Clinical documentation: the note service and the practice's note templates."""
