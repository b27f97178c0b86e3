"""Security operations: the imported OVAL feed, the vulnerability scan, the exposure check and the findings
lifecycle (docs/security.md)."""
