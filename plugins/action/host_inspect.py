# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.host_inspect: the controller side of yunwei.ops.inspect for one area."""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.action.inspect import ActionModule as InspectAction


class ActionModule(InspectAction):
    MODULE = "yunwei.ops.host_inspect"
    AREA = "host"

    def areas(self, args):
        return [self.AREA]

    def area_args(self, args, area):
        return args  # the module's own options are the area's
