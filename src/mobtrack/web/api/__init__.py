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
from mobtrack.web.api.models import answers

# Any route answers 401 to an invalid, expired or revoked token, public ones included.
router = APIRouter(prefix="/api/v1", responses=answers(None, 401))
for module in (operations, figures, forecasts, flows, profiles, locations, quality, imports, exports, account):
    router.include_router(module.router)
