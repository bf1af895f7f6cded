"""`footprint serve`: the read-only transparency dashboard (Starlette + uvicorn, Jinja2 templates).

Nothing here is imported by `footprint --help` or `footprint report`: Starlette, uvicorn and Jinja2
load when the server starts.
"""
