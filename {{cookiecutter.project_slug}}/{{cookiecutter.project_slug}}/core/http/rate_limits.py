"""The service's own rate limit, for deployments without the nginx gateway.

Each client address (`request.remote_addr` after proxy handling, never a
client-written X-Forwarded-For entry) may make RATE_LIMIT_REQUESTS requests
per RATE_LIMIT_PERIOD seconds, across every endpoint; past that, a JSON 429
with Retry-After. At 0, the default, nothing is installed. Probes, CORS
preflights and unmatched paths are not counted. Counts live in each process's
memory; docs/services.md, Rate limiting, says how to share them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quart import Quart, request
from quart_rate_limiter import RateLimit, RateLimiter
from quart_rate_limiter.store import RateLimiterStoreABC

from ..settings import settings_of

# Keys held before the first sweep of the memory store.
SWEEP_FROM = 10_000


async def client_address() -> str:
    """The client, as proxy handling has established it."""
    return request.remote_addr or "unknown"


async def is_preflight() -> bool:
    """A CORS preflight: OPTIONS, asking whether a method may be used."""
    return (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
    )


class MemoryStore(RateLimiterStoreABC):
    """When each client may be served again, in this process's memory.

    quart-rate-limiter's own MemoryStore keeps every address it has seen for
    good; this one forgets a client whose allowance is whole again (its time
    has passed, which counts as never seen), sweeping whenever the table has
    doubled since the last sweep: memory follows the clients of the last
    period, not every client since the start.
    """

    def __init__(self, sweep_from: int = SWEEP_FROM) -> None:
        self.times: dict[str, datetime] = {}
        self.sweep_from = sweep_from
        self.next_sweep = sweep_from

    async def get(self, key: str, default: datetime) -> datetime:
        return self.times.get(key, default)

    async def set(self, key: str, tat: datetime) -> None:
        self.times[key] = tat
        if len(self.times) >= self.next_sweep:
            now = datetime.now(UTC)
            self.times = {k: at for k, at in self.times.items() if at > now}
            self.next_sweep = max(self.sweep_from, 2 * len(self.times))

    async def before_serving(self) -> None:
        pass

    async def after_serving(self) -> None:
        pass


class ClientRateLimiter(RateLimiter):
    """quart-rate-limiter with `limit` on every route, counted per client
    across all of them, keyed on the proxied client address."""

    def __init__(
        self,
        app: Quart,
        limit: RateLimit,
        store: RateLimiterStoreABC | None = None,
    ) -> None:
        self.limit = limit
        super().__init__(
            app,
            key_function=client_address,
            store=store or MemoryStore(),
            default_limits=[limit],
            skip_function=is_preflight,
        )

    # The library's own key, endpoint included (a private method: the
    # dependency is pinned below 0.13, and test_rate_limits.py checks the
    # count is shared across endpoints).
    async def _create_key(self, endpoint: str, rate_limit: RateLimit) -> str:
        if rate_limit is self.limit:
            endpoint = "*"  # one count per client, whichever the endpoint
        return await super()._create_key(endpoint, rate_limit)


def init_rate_limits(app: Quart) -> None:
    """Limit each client's requests, when RATE_LIMIT_REQUESTS is above 0."""
    settings = settings_of(app)
    if settings.RATE_LIMIT_REQUESTS:
        period = timedelta(seconds=settings.RATE_LIMIT_PERIOD)
        ClientRateLimiter(app, RateLimit(settings.RATE_LIMIT_REQUESTS, period))
