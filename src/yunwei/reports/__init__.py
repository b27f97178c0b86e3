"""Records and reports rendered from the journal (issue 5): see docs/reports.md.

    periods   - period parsing in the client's zone (YUNWEI_TZ)
    assemble  - store -> plain data (what tests assert against)
    document  - data -> format-neutral blocks; charts - matplotlib PNGs with a CJK font
    render_*  - HTML (Jinja2, reports/templates), DOCX (python-docx), XLSX (openpyxl)
    generate  - the whole pipeline with atomic writes
"""
