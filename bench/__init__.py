"""Bridge's benchmark harness: generate data at a named scale, then time pages beside raw SQL.

    python -m bench.generate --scale audit-1m
    python -m bench.run --scale audit-1m --user director --repeat 30

See bench/README.md.
"""
