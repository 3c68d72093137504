"""The REST API under /api/v1: one module per resource, each a thin layer over web/services."""

from fastapi import APIRouter

from mobtrack.web.api import (
    account,
    exports,
    figures,
    flows,
    forecasts,
    imports,
    locations,
    operations,
    profiles,
    quality,
)

router = APIRouter(prefix="/api/v1")
for module in (operations, figures, forecasts, flows, profiles, locations, quality, imports, exports, account):
    router.include_router(module.router)
