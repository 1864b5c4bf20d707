"""The CDN in front of the bucket, told what changed: exactly the changed URLs, or the
whole site at once when more than ``--cdn-purge-max-paths`` changed.

Two kinds of target (``--cdn-purge``): ``cloudfront://DISTRIBUTION`` (one invalidation
per pass, through boto3 in ``aws``), or a URL template, asked once per changed URL with
its method (PURGE unless another is named): ``{path}`` is the URL's path as a reader asks
for it (``/tags/harbour.atom``, ``/articles/<id>``, ``/tags/harbour/``), ``{url}`` the
whole URL, percent-encoded to sit in a query. Varnish, Fastly and nginx's cache_purge
take PURGE; a plain nginx cache takes a GET on a location that bypasses its cache. The
whole site is ``<base path>/*``. A purge that fails is retried with the next attempt:
the objects are in the bucket already, and a stale copy lasts at most ``--max-age``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from service.mirror.aws import CloudFront, StoreError
from service.mirror.objects import url_path

TIMEOUT = 10.0
CLOUDFRONT = "cloudfront://"


class PurgeFailed(StoreError):
    """The CDN did not take a purge."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: object) -> None:
        return None  # a purge endpoint that redirects is misconfigured: say so


class Purger:
    """Tells one CDN which URLs of the site changed."""

    def __init__(self, target: str, base_url: str, max_paths: int) -> None:
        self.target, self.base_url, self.max_paths = target, base_url, max_paths
        self.base_path = urlsplit(base_url).path.rstrip("/")
        self.cloudfront = (CloudFront(target[len(CLOUDFRONT):])
                           if target.startswith(CLOUDFRONT) else None)
        self.method, _, self.template = target.rpartition(" ")
        self._opener = urllib.request.build_opener(_NoRedirects)
        self.sent = 0  # purge requests made

    def paths(self, files: Iterable[str]) -> list[str]:
        """The URL paths to purge for these changed files (under feeds/): each one's, or
        the whole site's wildcard past ``max_paths``."""
        paths = sorted({self.base_path + url_path(path) for path in files})
        return paths if len(paths) <= self.max_paths else [f"{self.base_path}/*"]

    def purge(self, files: Iterable[str]) -> list[str]:
        """Purge what these changed files are served as; the URL paths purged."""
        paths = self.paths(files)
        if not paths:
            return paths
        if self.cloudfront is not None:
            self.sent += 1
            self.cloudfront.invalidate(paths)
            return paths
        for path in paths:
            self._ask(path)
        return paths

    def _ask(self, path: str) -> None:
        origin = self.base_url[:len(self.base_url) - len(self.base_path)]
        url = (self.template.replace("{path}", path)
               .replace("{url}", quote(origin + path, safe="")))
        request = urllib.request.Request(url, method=self.method,
                                         headers={"User-Agent": "seedfeeds"})
        self.sent += 1
        try:
            with self._opener.open(request, timeout=TIMEOUT) as answer:
                answer.read(65536)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: not in the cache, which is as good as purged
                raise PurgeFailed(f"{self.method} {url}: HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise PurgeFailed(f"{self.method} {url}: {exc}") from None
