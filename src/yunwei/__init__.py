"""yunwei (运维): the Python layer of the yunwei.ops Ansible collection."""

__version__ = "0.1.0"
