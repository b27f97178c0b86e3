"""The lab: real Debian 12 hosts as podman containers on this machine (the bastion).

See docs/lab.md. ``Lab.from_env().up()`` is what tests and ``yunwei lab up`` call.
"""

from yunwei_dev.lab.lab import HOSTS, Lab, LabState

__all__ = ["HOSTS", "Lab", "LabState"]
