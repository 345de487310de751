"""Fixtures for real components: servers on 127.0.0.1, Chromium through Playwright, child processes."""
