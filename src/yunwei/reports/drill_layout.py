"""Layouts of 《数据备份恢复测试报告》 and 《恢复演练报告》 (data: yunwei.reports.drills)."""

from __future__ import annotations

from typing import Any

from yunwei.reports.document import _doc, _h, _p, _table, fmt_cell
from yunwei.reports.drills import PHASES, _limit_text, _secs

RESULT_COL = "结果"


def _verdict(value: float | None, limit: float) -> str:
    return "—" if value is None else "通过" if value <= limit else "不通过"


def _checks_table(s: dict[str, Any], title: str, sheet: str) -> dict[str, Any]:
    return _table(title, sheet, ["验证项", RESULT_COL, "说明"],
                  [[x["title"], x["result"], x["evidence"]] for x in s["checks"] if not x["id"].startswith(("DRILL-RTO",
                                                                                                            "DRILL-RPO"))],
                  status_col=1, show_title=True) | {"fractions": [1.4, 0.6, 4.0]}


def _phase_row(s: dict[str, Any]) -> list[Any]:
    return [s["phases"].get(k) for k, _ in PHASES] + [s["total_s"]]


def _limits_rows(s: dict[str, Any], *, rto: float | None, rpo: float | None, rpo_note: str = "") -> list[list[Any]]:
    lim = s["limits"]
    return [["RTO（恢复时间）", _secs(rto), _limit_text(lim["rto_contract"]), _verdict(rto, lim["rto_contract"]),
             _limit_text(lim["rto_target"]), _verdict(rto, lim["rto_target"])],
            ["RPO（数据丢失时间）", _secs(rpo) if rpo is not None else (rpo_note or "—"), _limit_text(lim["rpo_contract"]),
             _verdict(rpo, lim["rpo_contract"]), _limit_text(lim["rpo_target"]), _verdict(rpo, lim["rpo_target"])]]


LIMIT_COLUMNS = ["指标", "实测", "合同要求", "结论（合同）", "运维目标", "结论（目标）"]


def restore_test(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    ob = data["obligation"]
    meta = [["月份", data["period"]["label"]], ["测试次数", data["tested"]], ["恢复数据集（个次）", data["sets"]],
            ["通过", data["passed"]], ["不通过", data["failed"]],
            ["恢复成功率", fmt_cell(data["rate"], "pct") if data["rate"] is not None else "—"], ["本月义务", ob["state"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本月无备份恢复测试记录。" + (
            "合同要求每月至少进行 1 次备份恢复测试，本月义务未履行。" if ob["missed"] else "")})
    blocks.append(_h("一、测试概况"))
    lim = data["limits"]
    text = (f"本月执行备份恢复测试 {data['tested']} 次，恢复数据集 {data['sets']} 个次，通过 {data['passed']} 个次，"
            f"不通过 {data['failed']} 个次，恢复成功率 {fmt_cell(data['rate'], 'pct') if data['rate'] is not None else '—'}"
            "（合同要求 100%）。" if data["tested"] else "本月未执行备份恢复测试。")
    if data["refused"]:
        text += f"另有 {data['refused']} 次因输入错误在执行前被拒绝（未恢复任何数据，不计入）。"
    text += ("每月备份恢复测试义务：" + ob["state"] + "。")
    blocks.append(_p(text, "crit" if data["failed"] or ob["missed"] else None))
    blocks.append(_p("测试方法：每个数据集的最新备份恢复到演练主机（drill01，从不恢复到生产主机）并验证可用。数据库：pgBackRest "
                     "恢复、集群启动、amcheck 校验全部 B-tree 索引、逐表行数与备份时记录一致、应用查询返回预期结果；文件：restic "
                     f"恢复后逐文件 sha256 与备份时的清单一致。恢复耗时对照合同 RTO（{_limit_text(lim['rto_contract'])}）与运维目标"
                     f"（{_limit_text(lim['rto_target'])}）；RPO 由季度恢复演练以心跳表测量（见《恢复演练报告》）。"))
    blocks.append(_table("测试记录", "测试记录", ["时间", "执行人", "数据集", "通过", "不通过", RESULT_COL],
                         [[r["time"], r["operator"] or "—", len(r["datasets"]), r["passed"], r["failed"],
                           r["result_label"]] for r in data["runs"]],
                         formats=[None, None, "int", "int", "int", None], status_col=5, empty="本月无测试记录。"))
    blocks.append(_h("二、各数据集恢复结果"))
    rows = []
    for r in data["runs"]:
        for s in r["datasets"]:
            restored = s["total_s"] if s["result"] == "pass" else None  # a failed restore has no restore time
            used = s["backup"] if s["backup_time"] == "—" else f"{s['backup']}（{s['backup_time']}）"
            rows.append([r["time"], s["dataset"], used, _secs(restored),
                         _verdict(restored, s["limits"]["rto_contract"]), _verdict(restored, s["limits"]["rto_target"]),
                         s["result_label"]])
    blocks.append(_table("各数据集恢复结果", "恢复结果", ["测试时间", "数据集", "所用备份（备份时间）", "恢复耗时",
                                                  "合同 RTO", "运维目标", RESULT_COL], rows, status_col=6,
                         empty="本月无恢复结果。") | {"fractions": [1.2, 1.0, 2.2, 0.9, 0.8, 0.8, 0.7]})
    n = 0
    for r in data["runs"]:
        for s in r["datasets"]:
            n += 1
            blocks.append(_h(f"{n}. {s['dataset']}（{r['time']}，{s['result_label']}）", 2))
            when = "" if s["backup_time"] == "—" else f"，备份时间 {s['backup_time']}"
            blocks.append(_p(f"所用备份：{s['backup']}{when}，存储库 {s['repo']}。",
                             "crit" if s["result"] != "pass" else None))
            blocks.append(_checks_table(s, "验证项", f"验证{n}"))
            blocks.append(_table("各阶段耗时（秒）", f"耗时{n}", [x for _, x in PHASES] + ["合计"], [_phase_row(s)],
                                 formats=["num"] * (len(PHASES) + 1)))
    blocks.append(_h("三、发现的问题与处理"))
    blocks.append(_table("发现的问题与处理措施", "问题与处理", ["时间", "数据集", "问题", "说明", "处理措施"],
                         [[p["time"], p["dataset"], p["title"] + " 不通过", p["evidence"], p["action"]] for p in data["problems"]],
                         empty="本月恢复测试未发现问题。") | {"fractions": [1.1, 0.9, 1.2, 2.2, 2.2]})
    return _doc(data, blocks, meta, contract)


def drill(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    ob = data["obligation"]
    meta = [["季度", data["period"]["label"]], ["演练次数", data["drills"]], ["通过", data["passed"]],
            ["不通过", data["failed"]], ["成功率", fmt_cell(data["rate"], "pct") if data["rate"] is not None else "—"],
            ["本季度义务", ob["state"]]]
    lim = data["limits"]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本季度无恢复演练记录。" + (
            "合同要求每季度至少进行 1 次恢复演练，本季度义务未履行。" if ob["missed"] else "")})
    blocks.append(_h("一、演练概况"))
    blocks.append(_p((f"本季度执行恢复演练 {data['drills']} 次，通过 {data['passed']} 次，不通过 {data['failed']} 次，成功率 "
                      f"{fmt_cell(data['rate'], 'pct')}。" if data["drills"] else "本季度未执行恢复演练。")
                     + (f"另有 {data['refused']} 次因输入错误在执行前被拒绝（不计入）。" if data["refused"] else "")
                     + f"每季度恢复演练义务：{ob['state']}。合同要求 RTO ≤ {_limit_text(lim['rto_contract'])}、RPO ≤ "
                     f"{_limit_text(lim['rpo_contract'])}；运维目标 RTO ≤ {_limit_text(lim['rto_target'])}、RPO ≤ "
                     f"{_limit_text(lim['rpo_target'])}。", "crit" if data["failed"] or ob["missed"] else None))
    blocks.append(_p("测量方法：RTO 为故障发生至恢复出的数据库上第一次应用查询验证通过的时间；RPO 为故障时间减去恢复后数据库中"
                     "最新的心跳记录时间（数据库主机上的心跳程序每秒写入一行）。演练环境中故障实际注入；在生产清单上演练只声明故障"
                     "时间、不触碰生产主机（模拟），恢复一律在演练主机上进行。"))
    rows = []
    for r in data["runs"]:
        rto = next((s["rto_s"] for s in r["datasets"] if s["rto_s"] is not None), None)
        rpo = next((s["rpo_s"] for s in r["datasets"] if s["rpo_s"] is not None), None)
        rows.append([r["time"], r["scenario_label"], r["fault_mode"], _secs(rto), _secs(rpo), r["result_label"]])
    blocks.append(_table("演练记录", "演练记录", ["时间", "场景", "故障方式", "RTO", "RPO", RESULT_COL], rows, status_col=5,
                         empty="本季度无演练记录。") | {"fractions": [1.2, 1.9, 1.4, 0.8, 0.8, 0.8]})
    blocks.append(_h("二、演练过程与结果"))
    for n, r in enumerate(data["runs"], 1):
        blocks.append(_h(f"{n}. {r['scenario_label']}（{r['time']}，{r['result_label']}）", 2))
        blocks.append(_p(f"故障方式：{r['fault_mode']}。" + ("；".join(x["evidence"].split("；")[0] for s in r["datasets"][:1]
                                                              for x in s["checks"] if x["id"] == "DRILL-RESTORE-001")) + "。",
                         "crit" if r["result"] != "pass" else None))
        blocks.append(_table("时间线", f"时间线{n}", ["节点", "时间", "距故障", "说明"],
                             [[t["what"], t["time"], t["since"], t["note"]] for t in r["timeline"]]) | {"fractions": [1.5, 1.6, 0.9, 2.6]})
        for s in r["datasets"]:
            if s["rto_s"] is not None or any(x["id"].startswith("DRILL-RTO") for x in s["checks"]):
                blocks.append(_table(f"RTO / RPO（{s['dataset']}）", f"RTO-RPO{n}", LIMIT_COLUMNS,
                                     _limits_rows(s, rto=s["rto_s"], rpo=s["rpo_s"]), status_col=3)
                              | {"fractions": [1.5, 1.0, 1.0, 1.0, 1.0, 1.0]})
            blocks.append(_checks_table(s, f"验证项（{s['dataset']}，所用备份 {s['backup']}）", f"验证{n}-{s['dataset']}"[:28]))
            blocks.append(_table(f"各阶段耗时（秒，{s['dataset']}）", f"耗时{n}-{s['dataset']}"[:28],
                                 [x for _, x in PHASES] + ["合计"], [_phase_row(s)], formats=["num"] * (len(PHASES) + 1)))
    blocks.append(_h("三、经验与改进"))
    for i, lesson in enumerate(data["lessons"], 1):
        blocks.append(_p(f"{i}. {lesson}"))
    if not data["lessons"]:
        blocks.append(_p("本季度无演练数据可供总结。"))
    blocks.append(_h("四、本季度恢复测试与演练义务"))
    blocks.append(_table("每月备份恢复测试", "每月义务", ["月份", "测试次数", "通过次数", "义务", "结论"],
                         [[m["month"], m["runs"], m["passed"], m["state"], m["status"]] for m in data["months"]],
                         formats=[None, "int", "int", None, None], status_col=4))
    blocks.append(_p(f"每季度恢复演练：{ob['state']}。", "crit" if ob["missed"] else None))
    return _doc(data, blocks, meta, contract)
