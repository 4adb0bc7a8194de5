"""Points: an append-only ledger with lots, pending and available, FIFO spending and expiry."""
