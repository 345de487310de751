"""A small browser-like HTTP client for end-to-end tests: cookies, CSRF tokens from forms, redirects."""

from __future__ import annotations

import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    url: str
    text: str


class WebClient:
    """Talks to one node like a clerk's browser would (cookies kept, redirects followed)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def _open(self, request: urllib.request.Request) -> Response:
        try:
            with self.opener.open(request, timeout=self.timeout) as reply:
                return Response(reply.status, reply.geturl(), reply.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.geturl(), e.read().decode("utf-8", "replace"))

    def get(self, path: str) -> Response:
        return self._open(urllib.request.Request(self._url(path), method="GET"))

    def post(self, path: str, data: dict[str, str] | list[tuple[str, str]]) -> Response:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self._url(path), data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return self._open(request)

    def form_fields(self, page: Response, form_action: str | None = None) -> dict[str, str]:
        """Hidden inputs (csrf_token, token, …) of the first POST form, or of the POST form to ``form_action``."""
        forms = re.findall(r"<form\b([^>]*)>(.*?)</form>", page.text, flags=re.S)
        page_path = urllib.parse.urlsplit(page.url).path
        for attrs, body in forms:
            if not re.search(r'method="post"', attrs, flags=re.I):
                continue  # search boxes and other GET forms carry no CSRF token
            action = re.search(r'action="([^"]*)"', attrs)
            target = html.unescape(action.group(1)) if action and action.group(1) else page_path
            if form_action is None or urllib.parse.urlsplit(target).path == form_action:
                fields = {}
                for tag in re.findall(r"<input\b[^>]*>", body):
                    if 'type="hidden"' in tag:
                        name = re.search(r'name="([^"]+)"', tag)
                        value = re.search(r'value="([^"]*)"', tag)
                        if name:
                            fields[name.group(1)] = html.unescape(value.group(1) if value else "")
                return fields
        raise AssertionError(f"no form posting to {form_action!r} on {page.url}")

    def submit(self, path: str, fields: dict[str, str], form_action: str | None = None) -> Response:
        """GET the page at ``path``, take its form's hidden fields, add ``fields`` and POST it."""
        page = self.get(path)
        assert page.status == 200, (page.status, page.url)
        action = form_action or path
        data = {**self.form_fields(page, form_action), **fields}
        return self.post(action, data)

    def login(self, username: str, password: str) -> Response:
        reply = self.submit("/login", {"username": username, "password": password})
        assert reply.status == 200 and "/login" not in reply.url, f"login as {username} failed: {reply.url}"
        return reply
