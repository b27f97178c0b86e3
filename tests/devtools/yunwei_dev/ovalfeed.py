"""Build OVAL 5 vulnerability feeds in Debian's format for the lab, the tests and the benchmark.

Debian publishes one OVAL definitions file per release (oval-definitions-bookworm.xml): one definition per
DSA/CVE, its criteria "Debian 12 is installed" (a textfilecontent54_test on /etc/debian_version) AND
"<package> DPKG is earlier than <fixed>" (a dpkginfo_test whose dpkginfo_state has an evr ``less than``).
This writes the same structure, with definitions chosen to match versions actually installed on the lab
hosts (``fixed`` = a version just above the installed one), plus filler definitions (packages the hosts do not
have, or fixed versions below what they have) to reach a realistic size. A severity is carried the way
vendor feeds do (``metadata/advisory/severity``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Vuln:
    cve: str
    package: str
    fixed: str          # the first fixed version (the evr the test compares with, "less than")
    severity: str = "high"
    title: str = ""


HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" \
xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" \
xmlns:ind-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent" \
xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <generator>
    <oval:product_name>Debian</oval:product_name>
    <oval:schema_version>5.11.2</oval:schema_version>
    <oval:timestamp>{stamp}</oval:timestamp>
  </generator>
"""


def above(version: str) -> str:
    """A Debian version just above ``version`` (what a security update would carry)."""
    return version + "+deb12u99"


def filler(count: int, start: int = 1) -> list[Vuln]:
    """Definitions that match nothing on a Debian 12 lab host: packages that are not installed."""
    sev = ("critical", "high", "medium", "low")
    return [Vuln(cve=f"CVE-2025-{90000 + i}", package=f"yunwei-absent-pkg{i}", fixed=f"1.{i}-1",
                 severity=sev[i % 4]) for i in range(start, start + count)]


def build(vulns: list[Vuln], *, version: int = 12, generated: dt.datetime | None = None) -> str:
    """The feed's XML text."""
    generated = generated or dt.datetime.now(dt.timezone.utc)
    stamp = generated.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
    defs, tests, objects, states = [], [], [], []
    tests.append(f"""    <ind-def:textfilecontent54_test check="all" check_existence="at_least_one_exists" \
comment="Debian GNU/Linux {version} is installed" id="oval:org.debian.oval:tst:1" version="1">
      <ind-def:object object_ref="oval:org.debian.oval:obj:1"/>
      <ind-def:state state_ref="oval:org.debian.oval:ste:1"/>
    </ind-def:textfilecontent54_test>""")
    objects.append("""    <ind-def:textfilecontent54_object id="oval:org.debian.oval:obj:1" version="1">
      <ind-def:path>/etc</ind-def:path>
      <ind-def:filename>debian_version</ind-def:filename>
      <ind-def:pattern operation="pattern match">(\\d+)\\.\\d</ind-def:pattern>
      <ind-def:instance datatype="int">1</ind-def:instance>
    </ind-def:textfilecontent54_object>""")
    states.append(f"""    <ind-def:textfilecontent54_state id="oval:org.debian.oval:ste:1" version="1">
      <ind-def:subexpression operation="equals">{version}</ind-def:subexpression>
    </ind-def:textfilecontent54_state>""")
    pkg_obj: dict[str, int] = {}
    for n, v in enumerate(vulns, start=2):
        if v.package not in pkg_obj:
            pkg_obj[v.package] = len(pkg_obj) + 2
            objects.append(f"""    <linux-def:dpkginfo_object id="oval:org.debian.oval:obj:{pkg_obj[v.package]}" version="1">
      <linux-def:name>{escape(v.package)}</linux-def:name>
    </linux-def:dpkginfo_object>""")
        title = v.title or f"{v.cve} {v.package}"
        defs.append(f"""    <definition class="vulnerability" id="oval:org.debian.oval:def:{n}" version="1">
      <metadata>
        <title>{escape(title)}</title>
        <affected family="unix">
          <platform>Debian GNU/Linux {version}</platform>
          <product>{escape(v.package)}</product>
        </affected>
        <reference ref_id="{v.cve}" ref_url="https://security-tracker.debian.org/tracker/{v.cve}" source="CVE"/>
        <description>{escape(v.package)} 中的安全漏洞（实验环境测试数据）</description>
        <advisory><severity>{v.severity}</severity></advisory>
        <debian><moreinfo>lab test feed</moreinfo></debian>
      </metadata>
      <criteria comment="Release section" operator="AND">
        <criterion comment="Debian GNU/Linux {version} is installed" test_ref="oval:org.debian.oval:tst:1"/>
        <criterion comment="{escape(v.package)} DPKG is earlier than {escape(v.fixed)}" test_ref="oval:org.debian.oval:tst:{n}"/>
      </criteria>
    </definition>""")
        tests.append(f"""    <linux-def:dpkginfo_test check="all" check_existence="at_least_one_exists" \
comment="{escape(v.package)} is earlier than {escape(v.fixed)}" id="oval:org.debian.oval:tst:{n}" version="1">
      <linux-def:object object_ref="oval:org.debian.oval:obj:{pkg_obj[v.package]}"/>
      <linux-def:state state_ref="oval:org.debian.oval:ste:{n}"/>
    </linux-def:dpkginfo_test>""")
        fixed = v.fixed if ":" in v.fixed else "0:" + v.fixed
        states.append(f"""    <linux-def:dpkginfo_state id="oval:org.debian.oval:ste:{n}" version="1">
      <linux-def:evr datatype="debian_evr_string" operation="less than">{escape(fixed)}</linux-def:evr>
    </linux-def:dpkginfo_state>""")
    return (HEAD.format(stamp=stamp) + "  <definitions>\n" + "\n".join(defs) + "\n  </definitions>\n"
            + "  <tests>\n" + "\n".join(tests) + "\n  </tests>\n" + "  <objects>\n" + "\n".join(objects)
            + "\n  </objects>\n" + "  <states>\n" + "\n".join(states) + "\n  </states>\n</oval_definitions>\n")
