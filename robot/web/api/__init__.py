"""The CRM API (``/api/v1/...``): one route module per resource, registered by ``robot.web.app``."""
