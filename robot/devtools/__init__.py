"""Development tools, not the product: ``robot demo`` and ``robot bench``, the dashboard
sandbox (a real dialer with simulated calls), the chroot Asterisk with its loopback carrier
and impaired link (``robot asterisk ...``), and the private Redis / Redis Sentinel processes
that tests and measurements start.

The product (``robot.core``, ``robot.engine``, ``robot.adapters``, ``robot.web``,
``robot.service`` and the commands ``run``, ``serve``, ``worker``) never imports this package;
the dev commands (``robot.commands.demo``, ``bench``, ``asterisk``) and the tests do.
"""
