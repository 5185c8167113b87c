"""What a call to the Docker engine can raise: its own errors, and the HTTP client's (a
timeout when dockerd does not answer, a refused connection when it has gone)."""

from __future__ import annotations

from docker.errors import DockerException
from requests.exceptions import RequestException

ENGINE_FAILURES: tuple[type[Exception], ...] = (DockerException, RequestException)
#: The engine did not answer in time: dockerd is wedged or overloaded.
NO_ANSWER: tuple[type[Exception], ...] = (RequestException,)
