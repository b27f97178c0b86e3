"""The baseline rules: facts of one host (plugins/module_utils/baseline_collector.py) -> one verdict per rule.

A verdict (a *finding* in docs/data-model.md's terms) is ``{id, outcome, value, evidence, data}``:
``outcome`` is pass, fail, not_applicable (with the reason in the evidence: never a pass for something
that cannot apply, e.g. kernel parameters in a container) or manual (an interview item, or a section the
collector could not read); ``data`` is what enforce needs to remediate exactly what failed (the
accounts to lock, the packages to remove). One function per rule id, registered with :func:`rule`;
the catalogue (checks/baseline.yml) holds everything the client reads about a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yunwei.catalogue import Catalogue, catalogue

Finding = dict[str, Any]
RULES: dict[str, tuple[Callable[..., Finding], tuple[str, ...]]] = {}

WEAK_CIPHERS = re.compile(r"cbc|3des|arcfour|blowfish|cast128|rijndael", re.I)
WEAK_MACS = re.compile(r"md5|sha1|umac-64|ripemd", re.I)
WEAK_KEX = re.compile(r"sha1$|group1-|gss-.*sha1", re.I)
STRONG_HASHES = ("yescrypt", "gost_yescrypt", "sha512", "blowfish")
WEAK_HASHES = ("md5", "bigcrypt", "descrypt")
OS_ESCAPES = re.compile(r"\\[srvmoln]|debian|ubuntu|centos|red hat|rhel|kylin|openeuler|kernel \d", re.I)
IDENTITY_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/security/opasswd")
SUDO_FILES = ("/etc/sudoers", "/etc/sudoers.d")
EVIDENCE_LIST = 20


@dataclass
class Context:
    """What a verdict depends on besides the facts: the effective parameters (catalogue defaults with the
    site's baseline_params), the OS family's variables and the site's settings."""

    params: dict[str, float]
    osv: dict[str, Any] = field(default_factory=dict)
    admins: tuple[str, ...] = ()            # accounts allowed NOPASSWD ALL (the automation account)
    su_group: str = ""
    risky_ports: dict[int, str] = field(default_factory=dict)
    allowed_ports: tuple[int, ...] = ()
    required_packages: tuple[str, ...] = ()


def rule(rule_id: str, *sections: str) -> Callable[[Callable[..., Finding]], Callable[..., Finding]]:
    """Register the judgement of ``rule_id``; ``sections`` are the collector sections it reads (a section
    the collector could not read makes the rule manual, with the reason)."""

    def register(func: Callable[..., Finding]) -> Callable[..., Finding]:
        RULES[rule_id] = (func, sections)
        return func

    return register


def _f(outcome: str, value: Any, evidence: str, **data: Any) -> Finding:
    return {"outcome": outcome, "value": value, "evidence": evidence, "data": data}


def ok(value: Any, evidence: str, **data: Any) -> Finding:
    return _f("pass", value, evidence, **data)


def bad(value: Any, evidence: str, **data: Any) -> Finding:
    return _f("fail", value, evidence, **data)


def na(evidence: str) -> Finding:
    return _f("not_applicable", "不适用", evidence)


def manual(evidence: str) -> Finding:
    return _f("manual", "人工核查", evidence)


def listed(items: list[str], limit: int = EVIDENCE_LIST) -> str:
    shown = "、".join(str(i) for i in items[:limit])
    return shown + (f" 等共 {len(items)} 项" if len(items) > limit else "")


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def container_na(facts: dict[str, Any], what: str) -> Finding | None:
    kind = facts.get("container")
    if kind:
        return na(f"容器（{kind}）共享宿主机的{what}，容器内无法设置，应在宿主机上核查")
    return None


# -- helpers on facts -----------------------------------------------------------------------

def users(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return facts.get("accounts", {}).get("users", [])


def sshd(facts: dict[str, Any]) -> dict[str, list[str]]:
    return facts.get("sshd", {}).get("config") or {}


def sshd_value(facts: dict[str, Any], key: str) -> str:
    return (sshd(facts).get(key) or [""])[0]


def sshd_unusable(facts: dict[str, Any]) -> Finding | None:
    s = facts.get("sshd") or {}
    if not s.get("installed"):
        return na("未安装 SSH 服务端（sshd）")
    if not s.get("config"):
        return manual(f"sshd -T 未能输出生效配置：{s.get('error') or '未知原因'}")
    return None


def pam_stack(facts: dict[str, Any], service: str, ptype: str) -> list[dict[str, Any]]:
    return ((facts.get("pam") or {}).get(service) or {}).get(ptype) or []


def pam_args(entry: dict[str, Any]) -> dict[str, str]:
    out = {}
    for a in entry.get("args") or []:
        k, _, v = str(a).partition("=")
        out[k.strip().lower()] = v.strip()
    return out


def find_module(stack: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [e for e in stack if e.get("module") in names]


def enforcing(entry: dict[str, Any]) -> bool:
    """A PAM entry whose failure fails the stack (required, requisite, or [.. default=die/bad])."""
    control = entry.get("control", "")
    if control in ("required", "requisite"):
        return True
    return control.startswith("[") and bool(re.search(r"default=(die|bad)|(?<!\w)(bad|die)\b", control))


def mode_of(stat: dict[str, Any] | None) -> int | None:
    return None if stat is None else int(stat["mode"], 8)


def installed(facts: dict[str, Any], names: list[str] | tuple[str, ...]) -> dict[str, str]:
    pkgs = facts.get("packages") or {}
    return {n: pkgs[n] for n in names if n in pkgs}


# -- 身份鉴别 ----------------------------------------------------------------------------------

@rule("BASE-ACCT-001", "accounts")
def empty_passwords(facts: dict[str, Any], ctx: Context) -> Finding:
    if not facts["accounts"].get("shadow_readable"):
        return manual("无法读取 /etc/shadow（需以 root 运行）")
    empty = [u["name"] for u in users(facts) if u.get("password") == "empty"]
    if empty:
        return bad(len(empty), f"空口令账户：{listed(empty)}", users=empty)
    return ok(0, f"{len(users(facts))} 个账户均无空口令")


@rule("BASE-ACCT-002", "accounts")
def uid_zero(facts: dict[str, Any], ctx: Context) -> Finding:
    zero = [u["name"] for u in users(facts) if u.get("uid") == 0]
    others = [n for n in zero if n != "root"]
    if others:
        return bad(len(others), f"UID 为 0 的账户：{listed(zero)}", users=others)
    return ok(0, "UID 为 0 的账户只有 root")


def _duplicates(values: list[tuple[Any, str]]) -> dict[Any, list[str]]:
    seen: dict[Any, list[str]] = {}
    for key, name in values:
        seen.setdefault(key, []).append(name)
    return {k: v for k, v in seen.items() if len(v) > 1}


@rule("BASE-ACCT-003", "accounts")
def unique_uids(facts: dict[str, Any], ctx: Context) -> Finding:
    dups = _duplicates([(u["uid"], u["name"]) for u in users(facts) if u.get("uid") is not None])
    if dups:
        return bad(len(dups), "重复的 UID：" + "；".join(f"{k}：{'、'.join(v)}" for k, v in sorted(dups.items())))
    return ok(0, f"{len(users(facts))} 个账户的 UID 均唯一")


@rule("BASE-ACCT-004", "accounts")
def unique_names(facts: dict[str, Any], ctx: Context) -> Finding:
    groups = facts["accounts"].get("groups", [])
    problems = []
    for what, dups in (("用户名", _duplicates([(u["name"], u["name"]) for u in users(facts)])),
                       ("组名", _duplicates([(g["name"], g["name"]) for g in groups])),
                       ("GID", _duplicates([(g["gid"], g["name"]) for g in groups if g.get("gid") is not None]))):
        if dups:
            problems.append(f"重复的{what}：" + "；".join(f"{k}（{'、'.join(v)}）" for k, v in sorted(dups.items(), key=str)))
    if problems:
        return bad(len(problems), "；".join(problems))
    return ok(0, f"{len(users(facts))} 个用户名、{len(groups)} 个组名与 GID 均唯一")


@rule("BASE-PWD-001", "pam")
def password_quality(facts: dict[str, Any], ctx: Context) -> Finding:
    stack = pam_stack(facts, "passwd", "password")
    mods = find_module(stack, "pam_pwquality.so", "pam_cracklib.so")
    if not mods:
        return bad("未启用", "修改口令时未检查复杂度：passwd 的 password 栈中无 pam_pwquality / pam_cracklib"
                   + (f"（栈：{' → '.join(e['module'] for e in stack)}）" if stack else ""), missing=True)
    entry = mods[0]
    conf = (facts.get("pam_conf") or {}).get("pwquality", {}) if entry["module"] == "pam_pwquality.so" else {}
    eff = {**conf, **pam_args(entry)}
    minlen = _int(eff.get("minlen"), 8 if entry["module"] == "pam_pwquality.so" else 9) or 0
    credits = [_int(eff.get(k), 0) or 0 for k in ("dcredit", "ucredit", "lcredit", "ocredit")]
    classes = max(_int(eff.get("minclass"), 0) or 0, sum(1 for c in credits if c < 0))
    where = f"{entry['module']}（{entry['file']}，{entry['control']}）"
    value = f"minlen={minlen}，字符类别≥{classes}"
    if not enforcing(entry):
        return bad(value, f"{where} 的控制标志不强制（{entry['control']}），复杂度不足时仍可修改", missing=False)
    want_len, want_cls = ctx.params["minlen"], ctx.params["minclass"]
    if minlen < want_len or classes < want_cls:
        return bad(value, f"{where}：最小长度 {minlen}、至少 {classes} 类字符，要求 ≥ {want_len:g} 位、≥ {want_cls:g} 类",
                   missing=False, args=[a for a in entry["args"] if a.split("=")[0] in ("minlen", "minclass")])
    return ok(value, f"{where}：最小长度 {minlen}、至少 {classes} 类字符")


@rule("BASE-PWD-002", "login_defs")
def password_ageing(facts: dict[str, Any], ctx: Context) -> Finding:
    defs = facts.get("login_defs") or {}
    mx = _int(defs.get("PASS_MAX_DAYS"), 99999)
    mn = _int(defs.get("PASS_MIN_DAYS"), 0)
    warn = _int(defs.get("PASS_WARN_AGE"), 7)
    value = f"PASS_MAX_DAYS={mx}，PASS_MIN_DAYS={mn}，PASS_WARN_AGE={warn}"
    wrong = []
    if mx is None or mx > ctx.params["pass_max_days"] or mx <= 0:
        wrong.append(f"最长使用期 {mx} 天（要求 ≤ {ctx.params['pass_max_days']:g}）")
    if mn is None or mn < ctx.params["pass_min_days"]:
        wrong.append(f"最短使用期 {mn} 天（要求 ≥ {ctx.params['pass_min_days']:g}）")
    if warn is None or warn < ctx.params["pass_warn_age"]:
        wrong.append(f"提前提醒 {warn} 天（要求 ≥ {ctx.params['pass_warn_age']:g}）")
    if wrong:
        return bad(value, "/etc/login.defs：" + "，".join(wrong))
    return ok(value, f"/etc/login.defs：{value}")


@rule("BASE-PWD-003", "accounts")
def existing_ageing(facts: dict[str, Any], ctx: Context) -> Finding:
    if not facts["accounts"].get("shadow_readable"):
        return manual("无法读取 /etc/shadow（需以 root 运行）")
    with_pw = [u for u in users(facts) if u.get("password") == "hash"]
    limit = ctx.params["pass_max_days"]
    wrong = [u for u in with_pw if u.get("max") is None or u["max"] > limit or u["max"] < 0]
    if wrong:
        return bad(len(wrong), "口令最长使用期不符合要求的账户：" + listed(
            [f"{u['name']}（{'不过期' if u.get('max') in (None, 99999) else str(u['max']) + ' 天'}）" for u in wrong]),
            users=[u["name"] for u in wrong])
    if not with_pw:
        return ok(0, "没有设置了口令的账户（均为锁定或仅密钥登录）")
    return ok(0, f"{len(with_pw)} 个设有口令的账户，口令最长使用期均 ≤ {limit:g} 天")


@rule("BASE-PWD-004", "pam")
def password_history(facts: dict[str, Any], ctx: Context) -> Finding:
    stack = pam_stack(facts, "passwd", "password")
    want = ctx.params["remember"]
    hist = find_module(stack, "pam_pwhistory.so")
    if hist:
        eff = {**(facts.get("pam_conf") or {}).get("pwhistory", {}), **pam_args(hist[0])}
        n = _int(eff.get("remember"), 10) or 0  # pam_pwhistory's default is 10
        where = f"pam_pwhistory（{hist[0]['file']}）"
        if n >= want and enforcing(hist[0]):
            return ok(n, f"{where}：remember={n}")
        return bad(n, f"{where}：remember={n}、控制标志 {hist[0]['control']}（要求 ≥ {want:g} 且强制）")
    unix = [e for e in find_module(stack, "pam_unix.so") if "remember" in pam_args(e)]
    if unix:
        n = _int(pam_args(unix[0])["remember"], 0) or 0
        if n >= want:
            return ok(n, f"pam_unix remember={n}（{unix[0]['file']}）")
        return bad(n, f"pam_unix remember={n}（要求 ≥ {want:g}）")
    return bad(0, "passwd 的 password 栈中无 pam_pwhistory，也无 pam_unix remember：可重复使用旧口令")


@rule("BASE-PWD-005", "pam", "login_defs")
def password_hash(facts: dict[str, Any], ctx: Context) -> Finding:
    unix = find_module(pam_stack(facts, "passwd", "password"), "pam_unix.so")
    method = str((facts.get("login_defs") or {}).get("ENCRYPT_METHOD", "")).lower()
    args = [str(a).lower() for a in (unix[0]["args"] if unix else [])]
    pam_method = next((a for a in args if a in STRONG_HASHES + WEAK_HASHES), "")
    value = f"pam_unix {pam_method or '（默认）'}，ENCRYPT_METHOD {method or '（未设）'}"
    if pam_method in WEAK_HASHES:
        return bad(value, f"pam_unix 使用弱散列 {pam_method}（{unix[0]['file']}）")
    if method and method not in STRONG_HASHES:
        return bad(value, f"/etc/login.defs 的 ENCRYPT_METHOD 为 {method.upper()}")
    if not pam_method and not method:
        return bad(value, "pam_unix 与 login.defs 均未指定散列算法（默认可能为 DES）")
    return ok(value, value)


@rule("BASE-PAM-001", "pam")
def faillock(facts: dict[str, Any], ctx: Context) -> Finding:
    deny_max, unlock_min = ctx.params["faillock_deny"], ctx.params["faillock_unlock_time"]
    conf = (facts.get("pam_conf") or {}).get("faillock", {})
    parts, wrong = [], []
    values = []
    for service in ("sshd", "login"):
        auth = pam_stack(facts, service, "auth")
        if not auth and not pam_stack(facts, service, "account"):
            continue
        lock = find_module(auth, "pam_faillock.so")
        tally = find_module(auth, "pam_tally2.so", "pam_tally.so")
        if lock:
            eff = dict(conf)
            for e in lock:
                eff.update({k: v for k, v in pam_args(e).items() if k in ("deny", "unlock_time")})
            phases = {a for e in lock for a in e.get("args", []) if a in ("preauth", "authfail", "authsucc")}
            in_account = bool(find_module(pam_stack(facts, service, "account"), "pam_faillock.so"))
            deny = _int(eff.get("deny"), 3) or 0
            unlock = _int(eff.get("unlock_time"), 600)
            values.append(f"{service}: deny={deny} unlock_time={unlock}")
            if "authfail" not in phases or not in_account:
                wrong.append(f"{service}：pam_faillock 未同时配置 authfail 与 account 阶段，失败不会计数或锁定不生效")
            elif not 0 < deny <= deny_max:
                wrong.append(f"{service}：deny={deny}（要求 1–{deny_max:g}）")
            elif unlock is not None and unlock != 0 and unlock < unlock_min:
                wrong.append(f"{service}：unlock_time={unlock} 秒（要求 ≥ {unlock_min:g} 或 0）")
            parts.append(f"{service}：pam_faillock deny={deny}、unlock_time={unlock}")
        elif tally:
            a = pam_args(tally[0])
            deny = _int(a.get("deny"), 0) or 0
            values.append(f"{service}: tally deny={deny}")
            if not 0 < deny <= deny_max:
                wrong.append(f"{service}：{tally[0]['module']} deny={deny}")
            parts.append(f"{service}：{tally[0]['module']} deny={deny}")
        else:
            wrong.append(f"{service}：auth 栈中无 pam_faillock，登录失败不锁定")
            values.append(f"{service}: none")
    if not parts and not wrong:
        return manual("未找到 sshd 与 login 的 PAM 配置")
    if wrong:
        return bad("；".join(values), "；".join(wrong))
    return ok("；".join(values), "；".join(parts))


@rule("BASE-SESS-001", "shell")
def idle_timeout(facts: dict[str, Any], ctx: Context) -> Finding:
    probes = (facts.get("shell") or {}).get("probes") or {}
    if not probes:
        return manual("未能运行登录 shell 读取 TMOUT（未找到 bash）")
    limit = ctx.params["tmout"]
    wrong, seen = [], []
    for user, p in probes.items():
        t = p.get("tmout")
        desc = f"{user}：TMOUT={t if t is not None else '未设置'}{'，只读' if p.get('readonly') else ''}{'，已导出' if p.get('exported') else ''}"
        seen.append(desc)
        if t is None or not 0 < t <= limit or not p.get("readonly") or not p.get("exported"):
            wrong.append(desc)
    where = "；".join(f"{s['file']}:{s['line']} {s['text']}" for s in (facts["shell"].get("settings") or [])
                     if "TMOUT" in s["text"])[:300]
    if wrong:
        return bad("；".join(seen), f"登录 shell 中 {'；'.join(wrong)}（要求 1–{limit:g} 秒、只读并导出）"
                   + (f"；设置位置：{where}" if where else ""))
    return ok("；".join(seen), "登录 shell 中 " + "；".join(seen) + (f"；设置位置：{where}" if where else ""))


# -- sshd --------------------------------------------------------------------------------------

def _ssh_equals(facts: dict[str, Any], key: str, want: str, label: str) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    value = sshd_value(facts, key)
    if value.lower() == want:
        return ok(value, f"sshd -T：{key} {value}")
    return bad(value, f"sshd -T：{key} {value or '（未设置）'}，{label}")


@rule("BASE-SSH-001", "sshd")
def ssh_root(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_equals(facts, "permitrootlogin", "no", "root 可远程登录")


@rule("BASE-SSH-002", "sshd")
def ssh_empty(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_equals(facts, "permitemptypasswords", "no", "空口令账户可远程登录")


def _ssh_range(facts: dict[str, Any], key: str, low: int, high: float) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    value = _int(sshd_value(facts, key))
    if value is not None and low <= value <= high:
        return ok(value, f"sshd -T：{key} {value}")
    return bad(value, f"sshd -T：{key} {value}（要求 {low}–{high:g}）")


@rule("BASE-SSH-003", "sshd")
def ssh_tries(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_range(facts, "maxauthtries", 1, ctx.params["ssh_max_auth_tries"])


@rule("BASE-SSH-004", "sshd")
def ssh_alive(facts: dict[str, Any], ctx: Context) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    interval = _int(sshd_value(facts, "clientaliveinterval"), 0) or 0
    count = _int(sshd_value(facts, "clientalivecountmax"), 3)
    value = f"ClientAliveInterval={interval}，ClientAliveCountMax={count}"
    if 0 < interval <= ctx.params["ssh_client_alive_interval"] and count is not None \
            and 0 < count <= ctx.params["ssh_client_alive_count_max"]:
        return ok(value, f"sshd -T：空闲 {interval * count} 秒后断开（{value}）")
    return bad(value, f"sshd -T：{value}，" + ("未启用空闲断开" if interval == 0 or count == 0 else "超时过长"))


@rule("BASE-SSH-005", "sshd")
def ssh_grace(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_range(facts, "logingracetime", 1, ctx.params["ssh_login_grace_time"])


def _ssh_algorithms(facts: dict[str, Any], key: str, weak: re.Pattern[str]) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    algos = [a for a in sshd_value(facts, key).split(",") if a]
    found = [a for a in algos if weak.search(a)]
    if found:
        return bad(len(found), f"sshd -T {key} 含弱算法：{'、'.join(found)}", weak=found)
    return ok(0, f"sshd -T {key}：{'、'.join(algos)}")


@rule("BASE-SSH-006", "sshd")
def ssh_ciphers(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_algorithms(facts, "ciphers", WEAK_CIPHERS)


@rule("BASE-SSH-007", "sshd")
def ssh_macs(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_algorithms(facts, "macs", WEAK_MACS)


@rule("BASE-SSH-008", "sshd")
def ssh_kex(facts: dict[str, Any], ctx: Context) -> Finding:
    return _ssh_algorithms(facts, "kexalgorithms", WEAK_KEX)


@rule("BASE-SSH-009", "sshd")
def ssh_loglevel(facts: dict[str, Any], ctx: Context) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    level = sshd_value(facts, "loglevel").upper()
    if level in ("INFO", "VERBOSE"):
        return ok(level, f"sshd -T：loglevel {level}")
    return bad(level, f"sshd -T：loglevel {level}，登录日志不完整")


@rule("BASE-SSH-010", "sshd")
def ssh_features(facts: dict[str, Any], ctx: Context) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    want = {"x11forwarding": "no", "hostbasedauthentication": "no", "ignorerhosts": "yes", "permituserenvironment": "no"}
    wrong = [f"{k} {sshd_value(facts, k) or '（未设置）'}" for k, v in want.items() if sshd_value(facts, k).lower() != v]
    if wrong:
        return bad(len(wrong), "sshd -T：" + "、".join(wrong), keys=[w.split()[0] for w in wrong])
    return ok(0, "sshd -T：" + "、".join(f"{k} {v}" for k, v in want.items()))


@rule("BASE-SSH-011", "sshd")
def ssh_access(facts: dict[str, Any], ctx: Context) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    cfg = sshd(facts)
    limits = [f"{k} {' '.join(cfg[k])}" for k in ("allowusers", "allowgroups", "denyusers", "denygroups") if cfg.get(k)]
    s = facts.get("sshd") or {}
    if s.get("hosts_allow") and any(re.search(r"\bALL\b", x) for x in s.get("hosts_deny") or []):
        limits.append("hosts.allow：" + "；".join(s["hosts_allow"]))
    listen = [a for a in cfg.get("listenaddress", []) if not re.match(r"^(0\.0\.0\.0|\[::\]|::)(:\d+)?$", a)]
    if listen and len(listen) == len(cfg.get("listenaddress", [])):
        limits.append("ListenAddress " + " ".join(listen))
    if limits:
        return ok("；".join(limits), "SSH 接入限制：" + "；".join(limits))
    return bad("无", "sshd 未限定可登录的用户、组或来源地址（AllowUsers/AllowGroups 未设置，hosts.allow 无限制，监听所有地址）")


@rule("BASE-BANNER-001", "sshd", "system")
def banner(facts: dict[str, Any], ctx: Context) -> Finding:
    unusable = sshd_unusable(facts)
    if unusable:
        return unusable
    b = facts["sshd"].get("banner") or {}
    path = b.get("path") or "none"
    if path == "none":
        return bad("none", "sshd 未配置登录前横幅（Banner none）")
    text = (b.get("text") or "").strip()
    if not text:
        return bad(path, f"横幅文件 {path} 不存在或为空")
    leak = OS_ESCAPES.search(text)
    if leak:
        return bad(path, f"横幅 {path} 暴露系统信息（含“{leak.group(0)}”）")
    return ok(path, f"横幅 {path}：{' '.join(text.split())[:80]}")


# -- 访问控制 ----------------------------------------------------------------------------------

def _perm_problems(files: dict[str, Any], paths: list[str] | tuple[str, ...], forbidden: int, *,
                   groups: tuple[str, ...] = ("root",), owner_root: bool = True, label: str = "") -> tuple[list[str], list[str]]:
    wrong, seen = [], []
    for path in paths:
        st = files.get(path)
        if st is None:
            continue
        mode = mode_of(st)
        desc = f"{path} {st['owner']}:{st['group']} {st['mode']}"
        seen.append(desc)
        if (owner_root and st["uid"] != 0) or (groups and st["group"] not in groups) or (mode is not None and mode & forbidden):
            wrong.append(desc)
    return wrong, seen


@rule("BASE-FILE-001", "files")
def account_files(facts: dict[str, Any], ctx: Context) -> Finding:
    wrong, seen = _perm_problems(facts["files"], ("/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-"), 0o133)
    if wrong:
        return bad(len(wrong), "权限不符：" + "；".join(wrong), paths=[w.split()[0] for w in wrong])
    return ok(0, "；".join(seen))


@rule("BASE-FILE-002", "files")
def shadow_files(facts: dict[str, Any], ctx: Context) -> Finding:
    group = ctx.osv.get("shadow_group", "shadow")
    wrong, seen = _perm_problems(facts["files"], ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"), 0o137,
                                 groups=("root", group))
    if wrong:
        return bad(len(wrong), "权限不符：" + "；".join(wrong), paths=[w.split()[0] for w in wrong], group=group)
    return ok(0, "；".join(seen))


@rule("BASE-FILE-003", "sudo")
def sudo_files(facts: dict[str, Any], ctx: Context) -> Finding:
    files = (facts.get("sudo") or {}).get("files") or {}
    if not files:
        return na("未安装 sudo")
    wrong, seen = _perm_problems(files, sorted(files), 0o337, groups=())
    if wrong:
        return bad(len(wrong), "权限不符：" + "；".join(wrong), paths=[w.split()[0] for w in wrong])
    return ok(0, "；".join(seen))


@rule("BASE-FILE-004", "sshd")
def sshd_files(facts: dict[str, Any], ctx: Context) -> Finding:
    s = facts.get("sshd") or {}
    if not s.get("installed"):
        return na("未安装 SSH 服务端（sshd）")
    wrong_cfg, seen = _perm_problems({p: v for p, v in (s.get("files") or {}).items() if v and v["type"] == "file"},
                                     sorted(s.get("files") or {}), 0o022, groups=())
    keys = s.get("hostkeys") or {}
    key_group = ctx.osv.get("ssh_keys_group", "")
    wrong_keys = []
    for path, st in sorted(keys.items()):
        if st is None:
            continue
        mode = mode_of(st) or 0
        desc = f"{path} {st['owner']}:{st['group']} {st['mode']}"
        seen.append(desc)
        allowed = 0o177 if not (key_group and st["group"] == key_group) else 0o137
        if st["uid"] != 0 or mode & allowed:
            wrong_keys.append(desc)
    if wrong_cfg or wrong_keys:
        return bad(len(wrong_cfg) + len(wrong_keys), "权限不符：" + "；".join(wrong_cfg + wrong_keys),
                   configs=[w.split()[0] for w in wrong_cfg], keys=[w.split()[0] for w in wrong_keys])
    return ok(0, "；".join(seen))


@rule("BASE-UMASK-001", "shell", "login_defs")
def umask(facts: dict[str, Any], ctx: Context) -> Finding:
    want = int(str(int(ctx.params["umask"])), 8)
    defs = (facts.get("login_defs") or {}).get("UMASK")
    seen, wrong = [], []
    if defs is None or (int(defs, 8) & want) != want:
        wrong.append(f"login.defs UMASK {defs or '未设置'}")
    else:
        seen.append(f"login.defs UMASK {defs}")
    for user, p in ((facts.get("shell") or {}).get("probes") or {}).items():
        u = p.get("umask")
        (seen if u is not None and int(u, 8) & want == want else wrong).append(f"{user} 登录 shell umask {u or '未知'}")
    value = "；".join(seen + wrong)
    if wrong:
        return bad(value, f"{'；'.join(wrong)}（要求至少 0{int(ctx.params['umask']):03d}）")
    return ok(value, value)


@rule("BASE-ACCT-005", "accounts")
def inactive(facts: dict[str, Any], ctx: Context) -> Finding:
    value = _int((facts.get("useradd") or {}).get("INACTIVE"), -1)
    limit = ctx.params["inactive_days"]
    if value is not None and 0 <= value <= limit:
        return ok(value, f"useradd 默认 INACTIVE={value}")
    return bad(value, f"useradd 默认 INACTIVE={value}（{'口令过期后账户不停用' if value in (None, -1) else '过长'}，要求 0–{limit:g} 天）")


@rule("BASE-SUDO-001", "sudo", "accounts")
def sudo_nopasswd(facts: dict[str, Any], ctx: Context) -> Finding:
    s = facts.get("sudo") or {}
    if not s.get("installed"):
        return ok("未安装", "未安装 sudo，无 sudo 授权")
    if s.get("visudo_rc", 0) != 0:
        return bad("语法错误", f"visudo -c 报告 sudoers 有误：{s.get('visudo', '')[:200]}")
    grants = s.get("grants") or {}
    offenders = {u: g["nopasswd_all"] for u, g in grants.items() if g.get("nopasswd_all") and u not in ctx.admins}
    admins = [u for u, g in grants.items() if g.get("nopasswd_all") and u in ctx.admins]
    note = f"（已登记的管理账户 {'、'.join(admins)} 除外）" if admins else ""
    if offenders:
        groups = facts["accounts"].get("groups", [])
        gid_of = {u["name"]: u.get("gid") for u in users(facts)}
        members = {g["name"]: set(g["members"]) | {n for n, gid in gid_of.items() if gid == g["gid"]} for g in groups}
        lines = [x for x in s.get("lines") or []
                 if x["principal"] in offenders
                 or (x["principal"].startswith("%") and members.get(x["principal"][1:], set()) & set(offenders))]
        return bad(len(offenders), "可免密码执行全部命令的账户：" + "；".join(
            f"{u}：{' | '.join(r)}" for u, r in sorted(offenders.items())) + note, users=sorted(offenders), lines=lines)
    return ok(0, f"sudo -l 核对 {len(grants)} 个可登录账户，无普通账户拥有免密码的全部权限{note}")


@rule("BASE-SU-001", "pam", "accounts")
def su_wheel(facts: dict[str, Any], ctx: Context) -> Finding:
    wheel = [e for e in find_module(pam_stack(facts, "su", "auth"), "pam_wheel.so") if enforcing(e)
             and "trust" not in e.get("args", [])]
    if not wheel:
        return bad("未限制", "su 的 auth 栈中无强制的 pam_wheel：任何知道 root 口令的用户都可 su")
    group = pam_args(wheel[0]).get("group") or "wheel"
    members = next((g["members"] for g in facts["accounts"].get("groups", []) if g["name"] == group), None)
    if members is None:
        return ok(group, f"su 仅限组 {group}（该组不存在：无人可 su）")
    return ok(group, f"su 仅限组 {group}（成员：{'、'.join(members) or '无'}）")


@rule("BASE-FILE-005", "scan")
def world_writable(facts: dict[str, Any], ctx: Context) -> Finding:
    s = facts["scan"]
    n = s["counts"]["world_writable"]
    note = f"；扫描达到上限 {s['counts']['files']} 个文件后停止" if s.get("truncated") else ""
    if n:
        return bad(n, f"其他用户可写：{listed(s['world_writable'])}{note}",
                   files=[p for p in s["world_writable"] if not p.endswith("/")],
                   dirs=[p.rstrip("/") for p in s["world_writable"] if p.endswith("/")])
    return ok(0, f"扫描 {'、'.join(s.get('paths') or [])} 共 {s['counts']['files']} 项，无全局可写文件{note}")


@rule("BASE-FILE-006", "scan")
def unowned(facts: dict[str, Any], ctx: Context) -> Finding:
    s = facts["scan"]
    n = s["counts"]["unowned"]
    if n:
        return bad(n, f"无属主或无属组：{listed(s['unowned'])}")
    return ok(0, f"扫描 {s['counts']['files']} 项，无无属主文件")


@rule("BASE-CRON-001", "files")
def cron_files(facts: dict[str, Any], ctx: Context) -> Finding:
    files = facts["files"]
    present = [p for p in ("/etc/crontab", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly",
                           "/etc/cron.d") if files.get(p)]
    if not present or not installed(facts, ctx.osv.get("cron_packages", [])):
        return na("未安装 cron")
    wrong, seen = _perm_problems(files, present, 0o077, groups=())
    if wrong:
        return bad(len(wrong), "权限过宽：" + "；".join(wrong), paths=[w.split()[0] for w in wrong])
    return ok(0, "；".join(seen))


@rule("BASE-MAC-001", "mac", "system")
def mac(facts: dict[str, Any], ctx: Context) -> Finding:
    skip = container_na(facts, "内核安全模块（SELinux / AppArmor）")
    if skip:
        return skip
    m = facts["mac"]
    if m["selinux"].get("enforce") == "1":
        return ok("SELinux enforcing", "SELinux 处于 enforcing 模式")
    aa = m["apparmor"]
    if aa.get("enabled") == "Y" and aa["profiles"].get("enforce", 0) > 0:
        return ok("AppArmor", f"AppArmor 已启用，{aa['profiles']['enforce']} 个策略处于强制模式")
    detail = (f"SELinux {'permissive' if m['selinux'].get('enforce') == '0' else '未启用'}"
              f"（配置 {m['selinux'].get('config') or '无'}），AppArmor {'已启用但无强制策略' if aa.get('enabled') == 'Y' else '未启用'}")
    return bad("未启用", detail)


# -- 安全审计 ----------------------------------------------------------------------------------

@rule("BASE-AUD-001", "packages")
def auditd_installed(facts: dict[str, Any], ctx: Context) -> Finding:
    found = installed(facts, ctx.osv.get("auditd_packages", []))
    if found:
        return ok(", ".join(f"{k} {v}" for k, v in found.items()), "已安装 " + "、".join(f"{k} {v}" for k, v in found.items()))
    return bad("未安装", f"未安装审计服务（{'、'.join(ctx.osv.get('auditd_packages', []))}）")


@rule("BASE-AUD-002", "processes", "system")
def auditd_running(facts: dict[str, Any], ctx: Context) -> Finding:
    ka = facts.get("kernel_audit") or {}
    if not ka.get("available"):
        where = f"容器（{facts['container']}）" if facts.get("container") else "本机"
        return na(f"{where}内核审计不可用：{ka.get('reason') or '未知'}；审计由宿主机内核提供，应在宿主机上核查")
    running = "auditd" in (facts.get("processes") or [])
    enabled = ka.get("enabled")
    value = f"enabled={enabled}，auditd {'运行中' if running else '未运行'}"
    if enabled in (1, 2) and running:
        return ok(value, f"内核审计已启用（enabled={enabled}{'，规则已锁定' if enabled == 2 else ''}），auditd 运行中")
    return bad(value, f"内核审计 enabled={enabled}，auditd {'运行中' if running else '未运行'}")


def _rules(facts: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    a = facts.get("audit") or {}
    if a.get("loaded") is not None:
        return a["loaded"], "已加载的规则（auditctl -l）"
    if a.get("file") is not None:
        ka = facts.get("kernel_audit") or {}
        why = "内核审计不可用" if not ka.get("available") else "未能读取已加载的规则"
        return a["file"], f"编译后的规则文件 /etc/audit/audit.rules（{why}，按启动时将加载的规则判定）"
    return None, ""


def _watched(rules: dict[str, Any], path: str) -> bool:
    perms = rules["watches"].get(path, "")
    return "w" in perms and "a" in perms


@rule("BASE-AUD-003", "audit")
def audit_identity(facts: dict[str, Any], ctx: Context) -> Finding:
    rules, source = _rules(facts)
    if rules is None:
        return bad("无规则", "无审计规则（未安装 auditd 或无规则文件）", paths=list(IDENTITY_FILES))
    missing = [p for p in IDENTITY_FILES if not _watched(rules, p)]
    if missing:
        return bad(len(missing), f"{source}中未审计：{'、'.join(missing)}", paths=missing)
    return ok(0, f"{source}覆盖 {'、'.join(IDENTITY_FILES)}")


@rule("BASE-AUD-004", "audit")
def audit_sudoers(facts: dict[str, Any], ctx: Context) -> Finding:
    rules, source = _rules(facts)
    if rules is None:
        return bad("无规则", "无审计规则（未安装 auditd 或无规则文件）", paths=list(SUDO_FILES))
    missing = [p for p in SUDO_FILES if not _watched(rules, p)]
    if missing:
        return bad(len(missing), f"{source}中未审计：{'、'.join(missing)}", paths=missing)
    return ok(0, f"{source}覆盖 {'、'.join(SUDO_FILES)}")


@rule("BASE-AUD-005", "audit", "scan")
def audit_privileged(facts: dict[str, Any], ctx: Context) -> Finding:
    progs = facts["scan"].get("setuid") or []
    rules, source = _rules(facts)
    if rules is None:
        return bad("无规则", "无审计规则（未安装 auditd 或无规则文件）", programs=progs, all=progs)
    if rules.get("execve_all"):
        return ok(0, f"{source}记录全部 execve，覆盖 {len(progs)} 个特权程序")
    covered = set(rules.get("exec_paths") or [])
    missing = [p for p in progs if p not in covered]
    if missing:
        return bad(len(missing), f"{len(progs)} 个特权程序中 {len(missing)} 个无执行审计规则：{listed(missing)}",
                   programs=missing, all=progs)
    return ok(0, f"{source}覆盖全部 {len(progs)} 个特权程序")


@rule("BASE-AUD-006", "audit")
def audit_retention(facts: dict[str, Any], ctx: Context) -> Finding:
    conf = (facts.get("audit") or {}).get("auditd_conf")
    if conf is None:
        return bad("无配置", "未找到 auditd.conf（未安装审计服务）")
    action = conf.get("max_log_file_action", "rotate").lower()
    value = f"max_log_file_action={action}，num_logs={conf.get('num_logs', '5')}"
    if action == "keep_logs":
        return ok(value, f"auditd.conf：{value}（写满后保留，不删除旧日志）")
    return bad(value, f"auditd.conf：{value}，旧审计日志会被轮转删除（要求保留 ≥ {ctx.params['retention_days']:g} 天）")


@rule("BASE-AUD-007", "files")
def log_permissions(facts: dict[str, Any], ctx: Context) -> Finding:
    files = facts["files"]
    wrong, seen = [], []
    d = files.get("/var/log/audit")
    if d:
        (wrong if (mode_of(d) or 0) & 0o077 or d["uid"] != 0 else seen).append(f"/var/log/audit {d['owner']} {d['mode']}")
    for path, st in sorted(files.items()):
        if st is None or st["type"] != "file":
            continue
        if path.startswith("/var/log/audit/"):
            bits = 0o137
        elif path in ctx.osv.get("log_files", []):
            bits = 0o027 if path.endswith(("auth.log", "secure")) else 0o007
        else:
            continue
        (wrong if (mode_of(st) or 0) & bits else seen).append(f"{path} {st['owner']}:{st['group']} {st['mode']}")
    if wrong:
        return bad(len(wrong), "权限过宽：" + "；".join(wrong), paths=[w.split()[0] for w in wrong])
    if not seen:
        return ok(0, "无审计日志与系统日志文件（由日志服务规则核查）")
    return ok(0, "；".join(seen))


@rule("BASE-LOG-001", "processes")
def syslog_running(facts: dict[str, Any], ctx: Context) -> Finding:
    procs = set(facts.get("processes") or [])
    daemons = [p for p in ("rsyslogd", "syslog-ng", "syslogd") if p in procs]
    if daemons:
        return ok(daemons[0], f"{daemons[0]} 运行中")
    journald = "systemd-journal" in procs and (facts.get("logs") or {}).get("journald", {}).get("persistent")
    if journald:
        return ok("journald", "systemd-journald 运行中，日志持久保存于 /var/log/journal")
    return bad("未运行", "无系统日志服务在运行（rsyslogd / syslog-ng / 持久化的 journald）")


@rule("BASE-LOG-002", "logs")
def syslog_retention(facts: dict[str, Any], ctx: Context) -> Finding:
    want = ctx.params["retention_days"]
    files = (facts.get("logs") or {}).get("files") or {}
    present = {p: f for p, f in files.items() if f.get("exists")}
    if not present:
        j = (facts.get("logs") or {}).get("journald") or {}
        return bad("无日志文件", "未找到认证与系统日志文件（" + "、".join(files) + "）" +
                   ("；journald 持久化但保留期由空间决定" if j.get("persistent") else ""))
    wrong, seen = [], []
    for path, f in sorted(present.items()):
        if not f.get("configured"):
            seen.append(f"{path} 未轮转（不删除）")
            continue
        r = f.get("rotate") or {}
        days = f.get("days")
        desc = f"{path} {r.get('period') or '按大小'} × rotate {r.get('rotate', 0)}" + (
            f"，maxage {r['maxage']}" if r.get("maxage") is not None else "") + (f" ≈ {days:g} 天" if days is not None else "")
        (seen if days is not None and days >= want else wrong).append(desc)
    if wrong:
        return bad("；".join(wrong), f"保留期不足 {want:g} 天：{'；'.join(wrong)}", paths=sorted(present))
    return ok("；".join(seen), "；".join(seen))


@rule("BASE-LOG-003", "time", "processes", "system")
def time_sync(facts: dict[str, Any], ctx: Context) -> Finding:
    skip = container_na(facts, "系统时钟")
    if skip:
        return skip
    procs = set(facts.get("processes") or [])
    daemons = [p for p in ("chronyd", "ntpd", "ntpsec", "systemd-timesyn", "openntpd") if p in procs]
    servers = (facts.get("time") or {}).get("servers") or []
    synced = (facts.get("time") or {}).get("synced")
    if not daemons:
        return bad("未运行", "无时间同步服务在运行（chronyd / ntpd / systemd-timesyncd）")
    if not servers and daemons[0] != "systemd-timesyn":
        return bad(daemons[0], f"{daemons[0]} 运行中但未配置时间源")
    if synced is False:
        return bad(daemons[0], f"{daemons[0]} 运行中，但内核时钟未同步（时间源：{'、'.join(servers[:5]) or '默认'}）")
    return ok(daemons[0], f"{daemons[0]} 运行中，时间源：{'、'.join(servers[:5]) or '默认'}"
              + ("，内核时钟已同步" if synced else ""))


# -- 入侵防范 ----------------------------------------------------------------------------------

@rule("BASE-SVC-001", "packages", "ports")
def insecure_services(facts: dict[str, Any], ctx: Context) -> Finding:
    pkgs = installed(facts, ctx.osv.get("insecure_packages", []))
    clear_ports = {21: "FTP", 23: "Telnet", 69: "TFTP", 512: "rexec", 513: "rlogin", 514: "rsh"}
    ports = [f"{p['proto']}/{p['port']}（{clear_ports[p['port']]}，{p['process'] or '?'}）" for p in facts.get("ports") or []
             if p["port"] in clear_ports and not (p["proto"] == "udp" and p["port"] in (512, 513, 514))
             and not (p["proto"] == "tcp" and p["port"] == 69)]
    if pkgs or ports:
        return bad(len(pkgs) + len(ports), "；".join(filter(None, [
            ("已安装：" + "、".join(f"{k} {v}" for k, v in pkgs.items())) if pkgs else "",
            ("监听：" + "、".join(ports)) if ports else ""])), packages=sorted(pkgs))
    return ok(0, "未安装明文远程管理与文件传输服务，21、23、69、512–514 端口无监听")


@rule("BASE-SVC-002", "packages")
def unneeded(facts: dict[str, Any], ctx: Context) -> Finding:
    pkgs = {k: v for k, v in installed(facts, ctx.osv.get("unneeded_packages", [])).items() if k not in ctx.required_packages}
    kept = [k for k in installed(facts, ctx.osv.get("unneeded_packages", [])) if k in ctx.required_packages]
    note = f"（登记保留：{'、'.join(kept)}）" if kept else ""
    if pkgs:
        return bad(len(pkgs), "已安装：" + "、".join(f"{k} {v}" for k, v in sorted(pkgs.items())) + note, packages=sorted(pkgs))
    return ok(0, f"未安装清单中的 {len(ctx.osv.get('unneeded_packages', []))} 个服务组件{note}")


@rule("BASE-PORT-001", "ports")
def risky_ports(facts: dict[str, Any], ctx: Context) -> Finding:
    found = [f"{p['proto']}/{p['port']}（{ctx.risky_ports[p['port']]}，{p['process'] or '?'}）" for p in facts.get("ports") or []
             if p["port"] in ctx.risky_ports and p["port"] not in ctx.allowed_ports]
    allowed = sorted({p["port"] for p in facts.get("ports") or [] if p["port"] in ctx.allowed_ports and p["port"] in ctx.risky_ports})
    note = f"（登记放行：{'、'.join(str(p) for p in allowed)}）" if allowed else ""
    listening = sorted({f"{p['proto']}/{p['port']}" for p in facts.get("ports") or []})
    if found:
        return bad(len(found), "监听高危端口：" + "、".join(found) + note)
    return ok(0, f"监听端口：{'、'.join(listening) or '无'}；无高危端口{note}")


@rule("BASE-PKG-001", "updates")
def security_updates(facts: dict[str, Any], ctx: Context) -> Finding:
    u = facts.get("updates")
    if u is None:
        return manual("本次核查未检查软件更新（baseline_updates_enabled: false）")
    if u.get("error") or u.get("pending") is None:
        return manual(f"无法获取待安装更新：{u.get('error') or '未知原因'}")
    age = u.get("lists_age")
    note = f"；软件源索引已 {age // 86400} 天未更新，结果可能偏少" if age and age > 7 * 86400 else ""
    sec = u.get("security") or []
    if sec:
        names = [f"{s['name']} {s['current']}→{s['candidate']}".strip() if s.get("current") else s["name"] for s in sec]
        return bad(len(sec), f"待安装安全更新 {len(sec)} 个：{listed(names)}{note}", packages=[s["name"] for s in sec])
    return ok(0, f"无待安装的安全更新（待安装更新共 {u['pending']} 个）{note}")


@rule("BASE-AIDE-001", "packages", "integrity")
def aide(facts: dict[str, Any], ctx: Context) -> Finding:
    pkgs = installed(facts, ctx.osv.get("aide_packages", []))
    if not pkgs:
        return bad("未安装", "未安装 AIDE")
    dbs = {p: t for p, t in (facts.get("integrity") or {}).get("aide_db", {}).items() if t}
    schedules = (facts.get("integrity") or {}).get("aide_schedules") or []
    version = next(iter(pkgs.values()))
    if not dbs:
        return bad("未初始化", f"AIDE {version} 已安装，但基准数据库未初始化（{'、'.join((facts.get('integrity') or {}).get('aide_db', {}))}）")
    if not schedules:
        return bad("无定期校验", f"AIDE 数据库已初始化（{'、'.join(dbs)}），但无定期校验任务")
    import datetime as dt

    when = dt.datetime.fromtimestamp(max(dbs.values()), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ok(version, f"AIDE {version}，数据库 {'、'.join(dbs)}（{when}），定期校验：{'、'.join(schedules)}")


def _sysctl(facts: dict[str, Any], want: dict[str, str]) -> Finding:
    values = (facts.get("kernel") or {}).get("sysctl") or {}
    wrong = [f"{k}={values.get(k)}（应为 {v}）" for k, v in want.items() if values.get(k) is not None and values.get(k) != v]
    shown = "，".join(f"{k}={values.get(k)}" for k in want if values.get(k) is not None)
    if wrong:
        return bad(len(wrong), "；".join(wrong), sysctl={k: v for k, v in want.items() if values.get(k) != v})
    return ok(0, shown or "内核未提供这些参数")


@rule("BASE-KERN-001", "kernel", "system")
def aslr(facts: dict[str, Any], ctx: Context) -> Finding:
    return container_na(facts, "内核参数") or _sysctl(facts, {"kernel.randomize_va_space": "2"})


NET_SYSCTLS = {"net.ipv4.ip_forward": "0", "net.ipv4.conf.all.accept_redirects": "0",
               "net.ipv4.conf.default.accept_redirects": "0", "net.ipv4.conf.all.send_redirects": "0",
               "net.ipv4.conf.all.accept_source_route": "0", "net.ipv4.tcp_syncookies": "1",
               "net.ipv6.conf.all.accept_redirects": "0", "net.ipv6.conf.all.accept_source_route": "0"}


@rule("BASE-KERN-002", "kernel", "system")
def net_params(facts: dict[str, Any], ctx: Context) -> Finding:
    return container_na(facts, "内核参数") or _sysctl(facts, NET_SYSCTLS)


@rule("BASE-KERN-003", "kernel", "system")
def core_dumps(facts: dict[str, Any], ctx: Context) -> Finding:
    skip = container_na(facts, "内核参数")
    if skip:
        return skip
    k = facts.get("kernel") or {}
    dumpable = (k.get("sysctl") or {}).get("fs.suid_dumpable")
    limits = [x for x in k.get("core_limits") or [] if x[1] == "*"]
    hard_zero = any(x[2] == "0" for x in limits)
    value = f"fs.suid_dumpable={dumpable}，* hard core {'0' if hard_zero else '未限制'}"
    if dumpable == "0" and hard_zero:
        return ok(value, value)
    return bad(value, value + "（要求 suid_dumpable=0 且核心转储硬限制为 0）",
               sysctl={} if dumpable == "0" else {"fs.suid_dumpable": "0"}, limits=not hard_zero)


# -- 恶意代码防范 ------------------------------------------------------------------------------

@rule("BASE-AV-001", "packages", "integrity")
def antimalware(facts: dict[str, Any], ctx: Context) -> Finding:
    found = installed(facts, ctx.osv.get("antimalware_packages", []))
    clam_db = (facts.get("integrity") or {}).get("clamav_db")
    usable = {k: v for k, v in found.items() if not k.startswith("clamav") or clam_db}
    if usable:
        import datetime as dt

        db = f"，病毒库 {dt.datetime.fromtimestamp(clam_db, dt.timezone.utc):%Y-%m-%d}" if clam_db and any(
            k.startswith("clamav") for k in usable) else ""
        return ok("、".join(usable), "已安装 " + "、".join(f"{k} {v}" for k, v in usable.items()) + db)
    if found:
        return bad("无病毒库", f"已安装 {'、'.join(found)}，但没有病毒库（/var/lib/clamav）")
    return bad("未安装", f"未安装恶意代码防范软件（{'、'.join(ctx.osv.get('antimalware_packages', []))}）")


# -- 人工核查 ----------------------------------------------------------------------------------

@rule("BASE-MAN-004", "accounts")
def accounts_register(facts: dict[str, Any], ctx: Context) -> Finding:
    login = [f"{u['name']}（UID {u['uid']}，{u['shell']}，口令{ {'hash': '已设', 'locked': '锁定', 'empty': '空', 'none': '无'}.get(u.get('password'), '?') }）"
             for u in users(facts) if u.get("login")]
    return manual("本机可登录账户：" + ("、".join(login) or "无") + "。请与授权账户登记表比对")


# -- evaluation -------------------------------------------------------------------------------

def evaluate(facts: dict[str, Any], ctx: Context, cat: Catalogue | None = None,
             disabled: set[str] | frozenset[str] = frozenset()) -> list[Finding]:
    """A verdict for every baseline rule of the catalogue not in ``disabled``, in catalogue order."""
    cat = cat or catalogue()
    errors = facts.get("errors") or {}
    out = []
    for c in cat.checks_of(kind="baseline"):
        if c.id in disabled:
            continue
        func, sections = RULES.get(c.id, (None, ()))
        failed = [f"{s}：{errors[s]}" for s in sections if s in errors]
        if c.manual and func is None:
            f = manual("需人工核查")
        elif func is None:
            f = manual("该规则在本机 yunwei 包中没有判定逻辑：升级 yunwei 包与 yunwei.ops 集合到同一版本")
        elif "os" in errors and ctx.osv == {} and any(s in ("packages", "files", "logs", "integrity", "time") for s in sections):
            f = manual(f"未能判定：{errors['os']}")
        elif failed:
            f = manual("采集失败，未能自动判定：" + "；".join(failed))
        else:
            try:
                f = func(facts, ctx)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                f = manual(f"判定出错（{type(exc).__name__}: {exc}），请人工核查")
        out.append({"id": c.id, **f})
    return out
