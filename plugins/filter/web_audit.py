# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the web_audit role: validate the site settings before anything is fetched (each
problem names its variable and, where Ansible knows it, its file), and shape them for the module."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.yunwei.ops.plugins.filter.inspection import origin
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require


def web_audit_problems(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("web_audit_problems expects a mapping")
    return require("yunwei.webaudit.config").problems(settings, origin)


def web_audit_sections(sections):
    return require("yunwei.webaudit.config").module_sections(sections or [])


def web_audit_pages(pages):
    return require("yunwei.webaudit.config").module_pages(pages or [])


class FilterModule(object):
    def filters(self):
        return {"web_audit_problems": web_audit_problems, "web_audit_sections": web_audit_sections,
                "web_audit_pages": web_audit_pages}
