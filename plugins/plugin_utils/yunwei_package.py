# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``yunwei`` Python package, a declared dependency of this collection on the controller.

The controller-side plugins (the journal callback, the collectors' action plugins, the role's
filters) import it the way ARA's callback imports its own package: installed next to
ansible-core (``pip install yunwei``, or the execution environment's Python requirements),
never looked for through a path next to the collection. See docs/packaging.md.
"""

from __future__ import annotations

import importlib

try:
    import yunwei  # noqa: F401  pylint: disable=unused-import
except ImportError as exc:  # reported when a plugin needs it, with how to install it
    IMPORT_ERROR = exc
else:
    IMPORT_ERROR = None

MISSING = ("the yunwei Python package is not importable by the Python that runs Ansible on this controller (%s): "
           "install it there (pip install yunwei, or list it in the execution environment's Python requirements, "
           "see docs/packaging.md in the yunwei.ops collection)")


def missing_message():
    return MISSING % IMPORT_ERROR


def require(name):
    """The module ``name`` of the yunwei package; raises AnsibleError saying how to install the package."""
    if IMPORT_ERROR is not None:
        from ansible.errors import AnsibleError

        raise AnsibleError(missing_message())
    return importlib.import_module(name)


def preload():
    """Import the modules the collectors' action plugins use and read the check catalogue, in the
    process that forks Ansible's workers (the journal callback calls this when a run starts): each
    worker then inherits them instead of parsing the catalogue again. Pure data, no store, no lock
    (the history registry is filled later, by the callback, at the start of each inspect task)."""
    if IMPORT_ERROR is None:
        require("yunwei.inspection.judge")
        require("yunwei.inspection.dynamic")
        require("yunwei.inspection.history")
        require("yunwei.backup.judge")
        for name in ("rules", "judge", "settings", "waivers"):
            require("yunwei.baseline." + name)
        require("yunwei.catalogue").catalogue()
