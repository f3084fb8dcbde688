"""Accountability e-mails (seed 001, Module 7): the daily digest and the Monday weekly report, one
`Digest` aggregate per member, kind and local date, and their plain-text content."""
