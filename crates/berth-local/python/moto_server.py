"""moto's server as the local stack runs it: `moto_server` with the same arguments, minus
two costs paid on every request, which add up because the router sends moto one request at a
time: the access log line, and the listing of moto's package folder that moto's dispatcher
does to recognise a service host (the folder does not change while it runs). Warnings and
errors are still logged."""

import logging
import sys

import moto.backends as backends

_MODULES = list(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_MODULES)
logging.getLogger("werkzeug").setLevel(logging.WARNING)

from moto.server import main  # noqa: E402  (after the patch: the dispatcher reads it per request)

if __name__ == "__main__":
    sys.exit(main())
