"""The browser client: the tarot flow at / and the operator console at /admin."""
