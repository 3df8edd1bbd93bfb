"""The REST API: Onetime Secret v1 and v2 compatible, plus our own additions under /api/v2."""
