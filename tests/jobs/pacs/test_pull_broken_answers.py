"""A PACS whose answers are broken: not JSON, JSON cut short, a wrong content type, a multipart body cut off in
the middle of an instance. `pacs pull` names what failed, leaves the study for the next run, keeps no partial
file and exits 1; never a traceback. A fake PACS plays the misbehaving server (a real one is in test_pacs.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from typer.testing import CliRunner

from cardiacclip.cli import app

STUDY, SERIES, SOP = "1.2.3.4", "1.2.3.4.1", "1.2.3.4.1.1"
LOOP = "1.2.840.10008.5.1.4.1.1.3.1"
GOOD = {
    "/dicom-web/studies": (200, "application/dicom+json", json.dumps([{"0020000D": {"vr": "UI", "Value": [STUDY]}}])),
    f"/dicom-web/studies/{STUDY}/series": (
        200,
        "application/dicom+json",
        json.dumps([{"0020000E": {"vr": "UI", "Value": [SERIES]}, "00080060": {"vr": "CS", "Value": ["US"]}}]),
    ),
    f"/dicom-web/studies/{STUDY}/series/{SERIES}/instances": (
        200,
        "application/dicom+json",
        json.dumps([{"00080016": {"vr": "UI", "Value": [LOOP]}, "00080018": {"vr": "UI", "Value": [SOP]}}]),
    ),
}
INSTANCE = f"/dicom-web/studies/{STUDY}/series/{SERIES}/instances/{SOP}"
CUT_MULTIPART = (
    200,
    'multipart/related; type="application/dicom"; boundary=xyz',
    "--xyz\r\nContent-Type: application/dicom\r\n\r\n" + "\0" * 128 + "DICM\x02\x00",  # no closing boundary
)
BROKEN = {
    "studies are not JSON": {"/dicom-web/studies": (200, "text/html", "<html><body>maintenance</body></html>")},
    "series JSON cut short": {f"/dicom-web/studies/{STUDY}/series": (200, "application/dicom+json", '[{"0020')},
    "instances of a wrong type": {
        f"/dicom-web/studies/{STUDY}/series/{SERIES}/instances": (200, "application/dicom+json", '{"a": 1}')
    },
    "instance JSON instead of DICOM": {INSTANCE: (200, "application/json", '{"error": "no"}')},
    "instance multipart cut off": {INSTANCE: CUT_MULTIPART},
}


def serve(answers: dict):
    class Pacs(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            status, kind, body = answers.get(urlparse(self.path).path, (404, "text/plain", "not found"))
            data = body.encode("latin-1")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pacs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_answers_are_named_and_nothing_partial_stays(case, tmp_path):
    server = serve({**GOOD, **BROKEN[case]})
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
        result = CliRunner().invoke(app, ["pacs", "pull", url, str(tmp_path / "out")])
    finally:
        server.shutdown()
    assert result.exit_code in (1, 2), result.output
    named = ("1 unreadable", "1 stud(ies) left for the next run", "1 refused", "not DICOM JSON")
    assert any(text in result.output for text in named), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob("*.dcm"))
