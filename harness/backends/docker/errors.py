"""What a call to the Docker engine can raise: its own errors, and the HTTP client's (a
timeout when dockerd does not answer, a refused connection when it has gone)."""

from __future__ import annotations

from docker.errors import DockerException
from requests import exceptions as http

ENGINE_FAILURES: tuple[type[Exception], ...] = (DockerException, http.RequestException)
#: The engine did not answer in time: dockerd is wedged or overloaded. Not an error it
#: answered with (an ``APIError`` is an ``HTTPError``, so a ``RequestException`` too: a 409
#: "removal already in progress" once passed for a wedged engine here).
NO_ANSWER: tuple[type[Exception], ...] = (http.Timeout, http.ConnectionError)
