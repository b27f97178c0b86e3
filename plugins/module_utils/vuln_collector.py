# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the vulnerability scan and the exposure check read on a host, in one call (yunwei.ops.vuln_scan):
the installed packages (dpkg status, reduced), the release, pending updates from the local package cache,
and the listening sockets with the process that holds each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STATUS_FIELDS = ("Package", "Status", "Priority", "Section", "Architecture", "Multi-Arch", "Source", "Version",
                 "Provides", "Depends", "Pre-Depends")


def reduce_status(text):
    """The dpkg status stanzas of installed packages with the fields apt needs to build its cache
    (descriptions and conffiles dropped: about a quarter of the size over the wire)."""
    out = []
    for stanza in text.split("\n\n"):
        keep = []
        installed = False
        for line in stanza.splitlines():
            if not line or line[0] in " \t":
                continue
            key = line.split(":", 1)[0]
            if key in STATUS_FIELDS:
                keep.append(line)
                if key == "Status" and line.rstrip().endswith(" installed"):
                    installed = True
        if installed:
            out.append("\n".join(keep))
    return "\n\n".join(out) + "\n"
