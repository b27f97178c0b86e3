"""Website performance and content quality (the web-audit job, docs/web_quality.md): validation of
the site settings, comparison of audits, and the data of the quarterly reports."""
