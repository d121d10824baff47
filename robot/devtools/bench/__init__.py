"""Load testing: ``robot bench`` (runner), simulated customers over AudioSocket (customers,
protocol) with the fake Asterisk of ``robot.testing.fake_ami``, CPU accounting (procstat) and
the report with its plot."""
