"""Long-running and shared work: the catalog cache, renting, SMS polling, the outbox, expiry."""
