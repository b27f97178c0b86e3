"""Development tools of yunwei (tests/devtools): the podman lab and the synthetic journal.

Installed by ``make bootstrap`` next to the editable ``yunwei`` package; not part of the wheel
or the collection (docs/packaging.md). ``yunwei lab ...`` reaches the lab through the
``yunwei.commands`` entry point this package declares.
"""
