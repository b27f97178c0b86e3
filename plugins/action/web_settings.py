# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.web_settings: one module call on the web host, judged on the controller."""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.action.host_inspect import ActionModule as HostInspectAction


class ActionModule(HostInspectAction):
    MODULE = "yunwei.ops.web_settings"
    AREA = "webq"
