"""The one HTTP surface: CRM API (``api/``), dashboard and metrics, built by ``app.make_web_app``.

``access`` (principal, roles, the route table), ``security`` (the one middleware that sets the
principal), ``errors`` (the one JSON error shape), ``context`` (what routes share). This
package does not import ``robot.engine``.
"""
