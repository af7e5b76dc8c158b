"""API for sales: thin handlers over the services; records reached through visible kartes."""

from ninja import Router

router = Router()
