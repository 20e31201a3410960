"""gunicorn's configuration for cara-fed's web processes (docs/deploy.md):

    gunicorn -c python:cara_fed_run.gunicorn_conf cara_fed_run.serve:gunicorn_app

Reads the cara-fed configuration ($CARA_FED_CONFIG and CARA_FED__… variables): bind address from [server] host and
port, process count from [server] processes, and the hooks that migrate once and share metrics
(cara_fed_run/web_processes.py). gunicorn's own command-line options (e.g. --workers 4) override these.
"""

from __future__ import annotations

import logging

from cara_fed.config import load_config
from cara_fed.observe import configure_logging
from cara_fed_run.serve import process_count
from cara_fed_run.web_processes import gunicorn_settings, preload

_config = load_config(None)
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("huey").setLevel(logging.WARNING)
configure_logging(_config.server.log_format)
globals().update(gunicorn_settings(_config, process_count(_config)))
preload()  # after the metrics folder is set up; the forked processes share the imported code
