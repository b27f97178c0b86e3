#!/usr/bin/env python3
"""Generate the lab's sample government website (run on web01 by lab/provision.yml).

Deterministic: the same NOW gives the same bytes. Dates are relative to NOW (the provisioning
time), so the known defects stay true whenever the lab is provisioned:
- the news section's newest article is 120 days old (freshness limit 30 days);
- /news/n003.html links to /news/n099.html, which does not exist (a broken link); the home page links
  to /policy, which nginx redirects to /policy/;
- /img/banner.png is 1200x675 shown at 480 px wide (oversized), /img/logo.png has no width/height;
- /assets/vendor/legacy.js is served without compression and /img/ without cache headers (nginx
  site template).
A search endpoint (search.py, behind /api/search) answers from search-index.json written here.

Usage: mksite.py ROOT BASE_URL [NOW_EPOCH]   (BASE_URL: the site address the sitemap names)
"""

import json
import os
import struct
import sys
import time
import zlib

DAY = 86400
SITE = "省政务云上云服务平台"

POLICIES = [  # (id, days before NOW, title)
    ("p001", 10, "关于推进政务信息系统整合上云的实施意见"),
    ("p002", 45, "省级政务云资源申请与审批管理办法"),
    ("p003", 90, "政务云网络安全等级保护工作指引"),
    ("p004", 200, "政务数据共享开放管理暂行办法"),
    ("p005", 400, "政务云服务质量考核细则"),
]
NEWS = [  # the newest is 120 days old: the section is stale
    ("n001", 120, "政务云平台完成年度扩容"),
    ("n002", 150, "上云服务窗口延长服务时间"),
    ("n003", 180, "全省政务云运维培训圆满结束"),
    ("n004", 240, "政务云平台通过等保三级测评"),
]


def day(now, days_ago):
    return time.strftime("%Y-%m-%d", time.gmtime(now - days_ago * DAY))


def page(title, body, extra_head=""):
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"description\" content=\"%s\">\n<title>%s</title>\n"
            "<link rel=\"stylesheet\" href=\"/css/site.css\">\n"
            "<script src=\"/assets/vendor/legacy.js\"></script>\n%s</head>\n<body>\n"
            "<header><a href=\"/\"><img src=\"/img/logo.png\" alt=\"%s\"></a>\n"
            "<nav><a href=\"/\">首页</a> <a href=\"/policy/\">政策文件</a> <a href=\"/news/\">新闻动态</a> "
            "<a href=\"/search.html\">站内搜索</a> <a href=\"/guide.html\">办事指南</a></nav></header>\n"
            "<main>\n%s</main>\n<footer>运维服务热线：12345（工作日 9:00-17:30）</footer>\n"
            "<script src=\"/js/app.js\" defer></script>\n</body>\n</html>\n"
            % (title, title, extra_head, SITE, body))


def article(kind, item, now):
    ident, ago, title = item
    body = "<article><h1>%s</h1><p class=\"date\">发布日期：<time datetime=\"%s\">%s</time></p>\n" % (
        title, day(now, ago), day(now, ago))
    body += "".join("<p>%s（第 %d 段）：围绕政务云建设、运维保障与服务质量，明确工作要求和责任分工。</p>\n" % (title, n)
                    for n in range(1, 6))
    if ident == "n003":
        body += "<p>相关报道：<a href=\"/news/n099.html\">培训资料下载</a></p>\n"  # the broken link
    body += "<p><a href=\"/%s/\">返回列表</a></p></article>\n" % kind
    return page(title + " - " + SITE, body)


def listing(kind, title, items, now):
    rows = "".join("<li><a href=\"/%s/%s.html\">%s</a> <time datetime=\"%s\">%s</time></li>\n"
                   % (kind, i, t, day(now, a), day(now, a)) for i, a, t in items)
    return page(title + " - " + SITE, "<h1>%s</h1>\n<ul class=\"list\">\n%s</ul>\n" % (title, rows))


def png(width, height, seed):
    """An RGB PNG with deterministic noise (does not compress well: a heavy, oversized image)."""
    state = seed
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        row = bytearray(width * 3)
        for x in range(0, width * 3, 3):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            row[x] = (x // 3 * 255 // width + (state & 31)) & 255
            row[x + 1] = (y * 255 // height + (state >> 5 & 31)) & 255
            row[x + 2] = 160 + (state >> 10 & 63)
        raw += row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def home(now):
    latest = "".join("<li><a href=\"/news/%s.html\">%s</a> %s</li>\n" % (i, t, day(now, a)) for i, a, t in NEWS[:3])
    body = ("<h1>%s</h1>\n<p>为全省各级政务部门提供云资源申请、审批与交付服务。</p>\n"
            "<img src=\"/img/banner.png\" alt=\"政务云平台\" width=\"480\" height=\"270\">\n"
            "<h2>新闻动态</h2>\n<ul>\n%s</ul>\n<ul>\n<li><a href=\"/notice.html\">服务公告</a></li>\n"
            "<li><a href=\"/guide.html\">上云办事指南</a></li>\n"
            "<li><a href=\"/policy\">全部政策文件</a></li>\n</ul>\n" % (SITE, latest))  # a redirect (301 to /policy/)
    return page(SITE, body)


def search_page():
    body = ("<h1>站内搜索</h1>\n<form action=\"/api/search\" method=\"get\"><input name=\"q\" aria-label=\"关键词\">"
            "<button type=\"submit\">搜索</button></form>\n<ul id=\"results\"></ul>\n")
    return page("站内搜索 - " + SITE, body)


def sitemap(now, base):
    urls = [("", 10), ("policy/", 10), ("news/", 120), ("search.html", 400), ("guide.html", 400), ("notice.html", 400)]
    urls += [("policy/%s.html" % i, a) for i, a, _ in POLICIES] + [("news/%s.html" % i, a) for i, a, _ in NEWS]
    rows = "".join("  <url><loc>%s%s</loc><lastmod>%s</lastmod></url>\n" % (base, u, day(now, a)) for u, a in urls)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n%s</urlset>\n" % rows)


CSS = ("body{font-family:sans-serif;margin:0 auto;max-width:60rem;padding:0 1rem;color:#222}"
       "header{display:flex;gap:1rem;align-items:center}nav a{margin-right:.8rem}"
       ".list li{margin:.3rem 0}.date{color:#666}img{max-width:100%;height:auto}\n")
# an unused-heavy legacy script: large, render-blocking, served uncompressed
LEGACY = "/* legacy compatibility bundle */\n" + "".join(
    "function legacyHelper%d(a,b){var r=[];for(var i=0;i<a.length;i++){r.push(a[i]+b+%d)}return r.join(',')}\n"
    % (n, n) for n in range(1500)) + "window.legacyReady=true;\n"
APP = ("document.addEventListener('DOMContentLoaded',function(){var f=document.querySelector('form');"
       "if(!f)return;f.addEventListener('submit',function(e){e.preventDefault();var q=f.q.value;"
       "fetch('/api/search?q='+encodeURIComponent(q)).then(function(r){return r.json()}).then(function(d){"
       "var ul=document.getElementById('results');ul.innerHTML='';d.results.forEach(function(x){"
       "var li=document.createElement('li');var a=document.createElement('a');a.href=x.url;a.textContent=x.title;"
       "li.appendChild(a);ul.appendChild(li)})})})});\n")


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(path, "rb") as fh:
            if fh.read() == data:
                return False
    except OSError:
        pass
    with open(path, "wb") as fh:
        fh.write(data)
    return True


def main():
    root = sys.argv[1]
    base = sys.argv[2].rstrip("/") + "/"
    now = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
    now -= now % DAY  # the same day gives the same bytes
    files = {
        "index.html": home(now),
        "policy/index.html": listing("policy", "政策文件", POLICIES, now),
        "news/index.html": listing("news", "新闻动态", NEWS, now),
        "search.html": search_page(),
        "sitemap.xml": sitemap(now, base),
        "css/site.css": CSS,
        "js/app.js": APP,
        "assets/vendor/legacy.js": LEGACY,
        "img/banner.png": png(1200, 675, 7),
        "img/logo.png": png(96, 96, 3),
        "search-index.json": json.dumps(
            [{"url": "/policy/%s.html" % i, "title": t, "date": day(now, a)} for i, a, t in POLICIES]
            + [{"url": "/news/%s.html" % i, "title": t, "date": day(now, a)} for i, a, t in NEWS],
            ensure_ascii=False, indent=1),
    }
    for item in POLICIES:
        files["policy/%s.html" % item[0]] = article("policy", item, now)
    for item in NEWS:
        files["news/%s.html" % item[0]] = article("news", item, now)
    changed = [rel for rel, data in sorted(files.items()) if write(root, rel, data)]
    print(json.dumps({"changed": changed}))


if __name__ == "__main__":
    main()
