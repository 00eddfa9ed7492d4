"""The Partner API: FastAPI routers under /api/v1, bearer tokens, roles, strict tenancy."""
