"""A PACS that answers UIDs with path separators (Orthanc accepts and serves such studies): `pacs pull` refuses
them before they become a query or a path, writes nothing outside OUT, names them and exits 1. A fake PACS plays
the misbehaving server (a real one is in test_pacs.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app

LOOP = "1.2.840.10008.5.1.4.1.1.3.1"
GOOD_STUDY, BAD_STUDY = "1.2.3.4", "1.2.3/../../../x"
BAD_SERIES, BAD_INSTANCE = "1.2.3.4/../../z", "1.2.3/../../y"
ANSWERS = {
    "/dicom-web/studies": [
        {"0020000D": {"vr": "UI", "Value": [BAD_STUDY]}},
        {"0020000D": {"vr": "UI", "Value": [GOOD_STUDY]}},
    ],
    f"/dicom-web/studies/{GOOD_STUDY}/series": [
        {"0020000E": {"vr": "UI", "Value": ["1.2.3.4.1"]}, "00080060": {"vr": "CS", "Value": ["US"]}},
        {"0020000E": {"vr": "UI", "Value": [BAD_SERIES]}, "00080060": {"vr": "CS", "Value": ["US"]}},
    ],
    f"/dicom-web/studies/{GOOD_STUDY}/series/1.2.3.4.1/instances": [
        {"00080016": {"vr": "UI", "Value": [LOOP]}, "00080018": {"vr": "UI", "Value": [BAD_INSTANCE]}}
    ],
}


class HostilePacs(BaseHTTPRequestHandler):
    requested: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = urlparse(self.path).path
        HostilePacs.requested.append(path)
        body = json.dumps(ANSWERS.get(path, [])).encode()
        self.send_response(200 if path in ANSWERS or path.endswith("/studies") else 404)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def hostile_pacs():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostilePacs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    HostilePacs.requested = []
    yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    server.shutdown()


def test_uids_with_path_separators_are_refused_and_nothing_is_written_outside_out(hostile_pacs, tmp_path):
    work = tmp_path / "work"
    out = work / "out"
    work.mkdir()
    result = CliRunner().invoke(app, ["pacs", "pull", hostile_pacs, str(out), "--study", "1.2/../../w"])
    assert result.exit_code == 1, result.output
    assert "1 refused" in result.output and not (work / "w").exists()  # the --study value: refused, not asked
    result = CliRunner().invoke(app, ["pacs", "pull", hostile_pacs, str(out)])
    assert result.exit_code == 1, result.output
    assert "3 refused" in result.output  # the study, the series and the instance
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(out) and p != work]
    assert outside == [], outside
    assert not any(".." in path for path in HostilePacs.requested), HostilePacs.requested  # never a query either


def test_the_refused_uids_are_named(hostile_pacs, tmp_path, caplog):
    from cardiacclip.dicom.dicomweb import PacsSettings, connect
    from cardiacclip.jobs.pacs.pull import pull

    summary = pull(connect(PacsSettings(url=hostile_pacs)), tmp_path / "out", progress=False)
    refused = "\n".join(summary.refused)
    for uid in (BAD_STUDY, BAD_SERIES, BAD_INSTANCE):
        assert repr(uid) in refused and repr(uid) in caplog.text
    assert summary.studies == 1 and not summary.failed
