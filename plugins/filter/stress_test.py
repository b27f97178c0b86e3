# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of the stress_test role: the problems of a stress test's settings (yunwei.stress.plan),
each naming its variable. A pure function: no store, no lock, no connection (it runs in a worker)."""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require


def stress_test_problems(s):
    return require("yunwei.stress.plan").problems(dict(s))


class FilterModule(object):
    def filters(self):
        return {"stress_test_problems": stress_test_problems}
