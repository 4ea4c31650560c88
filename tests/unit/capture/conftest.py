"""The capture client's pure parts, tested in the server's environment.

The client is its own installable (clients/capture, with mediapipe in its own venv), but its
geometry, tracking, message and CSV code needs only numpy and orjson, so these tests import it
from its source folder and check it against the server's own decoder and recording loader:
the contract is what both sides must agree on. MediaPipe and OpenCV are not imported here
(the real-video tests in tests/integration/capture run the client in its venv).
"""

from __future__ import annotations

import sys
from pathlib import Path

CLIENT_SRC = Path(__file__).resolve().parents[3] / "clients" / "capture" / "src"
if str(CLIENT_SRC) not in sys.path:
    sys.path.insert(0, str(CLIENT_SRC))
