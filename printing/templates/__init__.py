"""Jinja2 templates of the print view (a package only so that setuptools ships the .html files)."""
