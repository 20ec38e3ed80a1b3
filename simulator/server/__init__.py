"""`simulator serve`: many labs in one process, each with its own devices,
ports, clock, fault plan, journal and state directory, created and deleted
over HTTP (`/labs`), each lab's control API under `/labs/{id}/...`.

- hosting.py: the labs a server holds (create, delete, expire, the budgets);
  no HTTP.
- app.py: the HTTP service: `/labs`, and each lab's control routes
  dispatched in-process to that lab's own control application.
- remote.py: a client of a server and a handle on one of its labs (what the
  pytest plugin hands out with `--simulator-url`)."""
