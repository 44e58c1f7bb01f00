"""The DICOMweb connection: one `requests` session with the credentials, TLS verification and retries.

Credentials never come from the command line: a user name with a password file, or a bearer token from the
environment (`CARDIACCLIP_PACS_TOKEN`) or a file. Transient failures (connection errors, 429, 502, 503, 504) are
retried with exponential backoff; a 401 or 403 is an error at once. Nothing here logs a credential.

Tested by tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import requests
from dicomweb_client.api import DICOMwebClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cardiacclip.config import ConfigError, Validated

TOKEN_VARIABLE = "CARDIACCLIP_PACS_TOKEN"
TRANSIENT = (429, 502, 503, 504)


class PacsError(Exception):
    """A PACS that cannot be used (unreachable, credentials refused, not DICOMweb); one line saying which."""


@dataclass(frozen=True)
class PacsSettings(Validated):
    """How to reach a PACS: its DICOMweb root URL and the credentials' sources (never the secrets themselves).

    Args:
        url: the DICOMweb root, e.g. https://pacs.example.org/dicom-web.
        user: HTTP basic user name (with `password_file`).
        password_file: a file whose first line is the password.
        token_file: a file holding a bearer token (else the environment's CARDIACCLIP_PACS_TOKEN, if set).
        insecure: skip TLS certificate verification (a self-signed test server only).
        retries: attempts after the first for transient failures; backoff 0.5 s, 1 s, 2 s, ...
        timeout: seconds for one request.
    """

    url: str
    user: str | None = None
    password_file: str | None = None
    token_file: str | None = None
    insecure: bool = False
    retries: int = 4
    timeout: float = 60.0

    def validate(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.url}: a DICOMweb URL starts with http:// or https://")
        if bool(self.user) != bool(self.password_file):
            raise ConfigError("give --user together with --password-file (the password is never a command option)")
        if self.retries < 0 or self.timeout <= 0:
            raise ConfigError("retries must be >= 0 and timeout > 0")


def _secret(path: str, what: str) -> str:
    try:
        return Path(path).read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        raise ConfigError(f"{path}: cannot read the {what} from it (one line, the {what})") from None


class _Session(requests.Session):
    """A session with a default timeout on every request (requests has none)."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def session(settings: PacsSettings) -> requests.Session:
    """A session with the credentials, TLS verification, timeout and retries of `settings`."""
    s = _Session(settings.timeout)
    if settings.user:
        s.auth = (settings.user, _secret(settings.password_file, "password"))
    token = _secret(settings.token_file, "token") if settings.token_file else os.environ.get(TOKEN_VARIABLE)
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    s.verify = not settings.insecure
    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=0.5,
        status_forcelist=TRANSIENT,
        allowed_methods=None,  # STOW-RS is safe to repeat: our SRs keep their UIDs
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def connect(settings: PacsSettings) -> DICOMwebClient:
    """A DICOMweb client, after one QIDO-RS request that shows the server answers and accepts the credentials.
    Raises `PacsError` (one line) when it does not."""
    client = DICOMwebClient(settings.url, session=session(settings))
    client.set_http_retry_params(retry=False)  # the session retries (urllib3, with backoff); not twice over
    try:
        client.search_for_studies(limit=1)
    except requests.HTTPError as exc:
        raise PacsError(describe(exc, settings.url)) from None
    except requests.JSONDecodeError:
        raise PacsError(f"{settings.url} answered a search with what is not DICOM JSON: not a DICOMweb root?") from None
    except requests.RequestException as exc:
        raise PacsError(f"cannot reach the PACS at {settings.url} ({type(exc).__name__})") from None
    return client


def describe(exc: requests.HTTPError, url: str) -> str:
    """One line for an HTTP error of the PACS, saying what to do."""
    status = exc.response.status_code if exc.response is not None else None
    if status in (401, 403):
        return f"the PACS at {url} refused the credentials ({status}): check --user/--password-file or the token"
    if status == 404:
        return f"{url}: no DICOMweb service there (404); pass the DICOMweb root, e.g. http://host:8042/dicom-web"
    return f"the PACS at {url} answered {status}: {str(exc)[:200]}"
