"""Usage tracking, analytics and billing: records buffered in memory, rolled up per hour, written in batches."""
