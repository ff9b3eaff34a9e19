"""Development tooling: nothing here is part of the pipeline a deployment runs.

- `history_seeding`: `intel-assets seed-history`, past days collected on the simulator.
- `background_seeding`: `dev`'s seeding beside a running Dagster (the flag that pauses live
  collection, and the backfills it launches through the webserver).
- `local_deployment`: a deployment of separate processes on this machine, driven as an
  operator would (shared by `test_scale_out.py` and the workers benchmark).
- `api_serving`: a warehouse filled through the real pipeline and a running read API (shared
  by the API tests and the API benchmark).
"""
