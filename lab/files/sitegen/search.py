#!/usr/bin/env python3
"""The lab site's search endpoint: GET /api/search?q=WORDS -> {"query", "results": [{url, title, date}]}
from the site's search-index.json (written by mksite.py). Listens on 127.0.0.1:8081 behind nginx."""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

INDEX = sys.argv[1] if len(sys.argv) > 1 else "/var/www/yunwei/search-index.json"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        if url.path != "/api/search":
            self.send_error(404)
            return
        query = (parse_qs(url.query).get("q") or [""])[0].strip()
        with open(INDEX, encoding="utf-8") as fh:
            items = json.load(fh)
        words = query.split()
        hits = [i for i in items if words and all(w in i["title"] for w in words)]
        body = json.dumps({"query": query, "results": hits}, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", 8081), Handler).serve_forever()
