"""A local Orthanc PACS for the tests, the PACS benchmark and the manual's walk-through (no mock: the real server),
for users who try the PACS path locally.

`LocalOrthanc` starts Debian's `Orthanc` binary with its DICOMweb plugin on loopback, on a free port, with a
temporary storage folder, HTTP basic authentication on and the DICOM port off, and stops it at the end. Orthanc's
own REST API (`POST /instances`) loads files into it. Install: `apt-get install orthanc orthanc-dicomweb`.
`cardiacclip.testing.is_part10` (from `cardiacclip.data.video_io`) picks the files a PACS accepts.

Tested by tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def orthanc_binary() -> str | None:
    """The Orthanc executable (Debian puts it in /usr/sbin, which a user's PATH may lack), or None."""
    found = shutil.which("Orthanc")
    return found or ("/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").is_file() else None)


def orthanc_available() -> bool:
    """Whether the Orthanc binary and its DICOMweb plugin are installed."""
    return orthanc_binary() is not None and PLUGIN.is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalOrthanc:
    """One Orthanc process on 127.0.0.1 storing into `folder` (kept between `start`s: a restart keeps the data).

    `url` is its DICOMweb root; `user` and `password` its one account (the password is also written to
    `folder/password.txt`, for `--password-file`)."""

    def __init__(self, folder: str | Path, user: str = "cardiacclip"):
        self.folder = Path(folder)
        self.user, self.password = user, secrets.token_hex(8)
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dicom-web"

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.folder / "password.txt"

    def start(self, timeout: float = 30.0) -> LocalOrthanc:
        """Start the server and wait until it answers."""
        (self.folder / "storage").mkdir(parents=True, exist_ok=True)
        self.password_file.write_text(self.password + "\n")
        config = {
            "Name": "cardiacclip-test",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.port,
            "DicomServerEnabled": False,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.user: self.password},
            "Plugins": [str(PLUGIN)],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config))
        log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 (the server's output, for a failing test)
        self.process = subprocess.Popen([orthanc_binary(), str(path)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.rest}/system", auth=self.auth, timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Orthanc did not start (see {self.folder / 'orthanc.log'})")

    @property
    def auth(self) -> tuple[str, str]:
        return self.user, self.password

    def stop(self) -> None:
        """Stop the server (its storage stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def upload(self, paths: list[Path]) -> int:
        """Load DICOM files into the server through its REST API; returns how many it took."""
        stored = 0
        for path in paths:
            response = requests.post(f"{self.rest}/instances", data=path.read_bytes(), auth=self.auth, timeout=60)
            stored += response.ok
        return stored

    def instances(self, study_uid: str) -> list[dict]:
        """Orthanc's record of every instance of a study (its REST API): MainDicomTags per instance."""
        found = requests.post(
            f"{self.rest}/tools/find",
            json={"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}, "Expand": True},
            auth=self.auth,
            timeout=30,
        )
        found.raise_for_status()
        return found.json()

    def __enter__(self) -> LocalOrthanc:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
