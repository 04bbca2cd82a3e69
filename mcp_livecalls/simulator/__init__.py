"""A local, deterministic simulator of every registered provider's live-call APIs.

``mcp_livecalls.simulator`` is a real HTTP server (a Starlette app served by uvicorn on loopback)
that speaks, from one shared population of evolving calls, each provider's own API: its paths,
auth, error bodies and documented variants (flavours), declared in that provider's folder
(``mcp_livecalls/providers/<name>/simulated.py``, built from ``mcp_livecalls.simkit``).

* Control routes without auth: ``GET /_sim/state``, ``POST /_sim/advance?seconds=N`` (manual clock
  only), ``POST /_sim/faults`` (a :class:`Fault` as JSON), ``GET``/``DELETE /_sim/faults``.

Calls follow schedules (queued → ringing → early media → talking ⇄ on hold → ended); what a call
looks like at time *t* is a pure function of its schedule and *t*, and time comes from a clock:
:class:`ManualClock` (moves only when told: tests) or :class:`WallClock` (real time, optionally
sped up: the demo). The same seed always gives the same calls and payloads. Faults
(:class:`Fault`: HTTP errors, 429 with ``Retry-After``, latency, hangs, connection resets, HTML
pages, truncated, empty, huge or malformed JSON…) can be injected per provider and route.
``Simulator(fixtures=True)`` answers the documentation's example payloads verbatim instead.

Example::

    from mcp_livecalls.simulator import Simulator, serve_simulator

    sim = Simulator(seed=7)
    with serve_simulator(sim) as base_url:
        ...  # point the provider clients at base_url with DEMO_CREDENTIALS
        sim.clock.advance(30)  # the calls move on
"""

from mcp_livecalls.simkit.calls import SimCall
from mcp_livecalls.simkit.clock import Clock, ManualClock, WallClock
from mcp_livecalls.simkit.examples import load_fixture
from mcp_livecalls.simkit.population import Population
from mcp_livecalls.simulator.app import Simulator, VobizShape
from mcp_livecalls.simulator.credentials import DEMO_CREDENTIALS, SimulatorCredentials
from mcp_livecalls.simulator.faults import Fault, Faults
from mcp_livecalls.simulator.server import loopback_socket, run_simulator_forever, serve_asgi, serve_simulator

__all__ = [
    "DEMO_CREDENTIALS",
    "Clock",
    "Fault",
    "Faults",
    "ManualClock",
    "Population",
    "SimCall",
    "Simulator",
    "SimulatorCredentials",
    "VobizShape",
    "WallClock",
    "load_fixture",
    "loopback_socket",
    "run_simulator_forever",
    "serve_asgi",
    "serve_simulator",
]
