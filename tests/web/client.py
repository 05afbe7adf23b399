"""A browser-like client of the console over ``httpx.ASGITransport``."""

from __future__ import annotations

import re
from typing import Any

import httpx

from api.conftest import PASSWORD, Api

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console(Api):
    """A browser-like client of the console: cookies, and the CSRF token of its pages."""

    csrf = ""

    def page(self, url: str) -> httpx.Response:
        """GET a page, keeping the CSRF token its forms carry."""
        response = self.get(url)
        if found := CSRF.search(response.text):
            self.csrf = found.group(1)
        return response

    def submit(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """POST a form as the page's forms do (with the CSRF token)."""
        return self.post(url, data={"csrf_token": self.csrf, **(data or {})})

    def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        """Sign in through the form."""
        self.page("/login")
        response = self.submit("/login", {"username": name, "password": password})
        self.page("/")
        return response
