"""Load testing: ``robot bench`` (runner), a fake Asterisk (fake_ami), simulated customers over
AudioSocket (customers, protocol), CPU accounting (procstat) and the report with its plot."""
