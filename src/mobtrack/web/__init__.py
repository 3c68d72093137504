"""The web server: REST API (/api/v1), DTM API v3 compatibility (/v3), pages, accounts.

`create_app(db_url)` in `mobtrack.web.app` builds the ASGI application; `mobtrack serve` runs it.
"""
