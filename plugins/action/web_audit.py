# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.web_audit: runs the audit (on the controller, delegated to localhost)
and judges its findings against the check catalogue, like the inspection's action plugins. Nothing
here opens the journal store (fork safety): the judging reads only the packaged catalogue."""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.action.host_inspect import ActionModule as HostInspectAction


class ActionModule(HostInspectAction):
    MODULE = "yunwei.ops.web_audit"
    AREA = "webq"
