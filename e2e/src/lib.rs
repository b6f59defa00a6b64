//! End-to-end tests live in `tests/`: the services started in-process, nginx in front of them.
