"""The shapes that stages share, each defined once.

- Tables (column lists, Arrow schemas, the snapshot frames): `intel_assets.contracts.tables`.
- Redis keys and their TTLs: `intel_assets.resources.hot_tier` (one function per key).
- The game catalog and its constants: `intel_assets.catalog`.

Writers, rollups, the archive and the read API import these; nothing else spells a table's
columns or a Redis key.
"""
