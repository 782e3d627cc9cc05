"""Mail that is never lost: queued in the database with the change that causes it, delivered in the background."""
