"""The sandbox as a function from `Request` to `Response`, with all of its state.

`/apis/` requests go through, in order: the rate limiter (429), then either the token
endpoint or the data faults (`faults`), the bearer-token check (401) and the data
routes (`api`). Each is counted by route on arrival, then by status and logged once
answered (`stats`). `/_sandbox/` requests go to the control plane when it is enabled and
are neither limited nor counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from local.sandbox import control
from local.sandbox.api import DATA_ROUTES, TOKEN_ROUTE, DataApi, classify
from local.sandbox.config import SandboxConfig
from local.sandbox.data import DEFAULT, SECOND, Directory, with_population, with_read_cycles
from local.sandbox.errors import ApiError, not_found
from local.sandbox.faults import HANGING_CAP_S, FaultState, Switches, parse_switches
from local.sandbox.messages import Request, Response, json_response
from local.sandbox.ratelimit import Limits, RateLimiter
from local.sandbox.restatements import Restatements
from local.sandbox.stats import DROPPED, ReceivedRequest, Stats
from local.sandbox.store import IdSequence, MutableStore
from local.sandbox.token_endpoint import TokenEndpoint
from local.sandbox.tokens import Credentials, TokenStore

API_PREFIX = "/apis/"
_BEARER_CHALLENGE = ("WWW-Authenticate", 'Bearer realm="opower", error="invalid_token"')


class Tenant:
    """One utility on this Opower: its client, tokens, limits, data and data routes.

    Opower's limits and tokens are per utility: a token of one is refused on another's
    paths, and one utility's traffic never spends another's budget."""

    def __init__(
        self,
        code: str,
        client_id: str,
        client_secret: str,
        directory: Directory,
        limits: Limits,
        history: list[str],
        ids: IdSequence,
        now: Callable[[], datetime] | None = None,
        restatements: Restatements | None = None,
    ) -> None:
        self.code = code
        self.directory = directory
        self.credentials = Credentials(client_id, client_secret)
        self.tokens = TokenStore(history=history)
        self.limiter = RateLimiter(limits)
        self.store = MutableStore(directory, ids)
        self.data_api = DataApi(
            code, self.store, now, directory=directory, restatements=restatements
        )
        self.token_requests = 0


class SandboxApp:
    """All sandbox state and the rules that answer requests; thread-safe.

    ``now``: the time its data is answered as of (bills posted, intervals ended); the
    system's clock unless a simulation walks its own (bench/capacity_month.py). Tokens
    and rate limits keep real time."""

    def __init__(self, config: SandboxConfig, *, now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self._control_lock = threading.Lock()
        self._limits = Limits(config.rate_per_second, config.rate_per_day)
        self.history: list[str] = []
        # Created contacts' and preferences' ids: unique across every utility.
        self._ids = IdSequence()
        restatements = config.restatements_of((now or (lambda: datetime.now(UTC)))().date())
        billed = with_read_cycles if config.billing == "cycles" else (lambda d: d)
        first = Tenant(
            config.utility_code,
            config.client_id,
            config.client_secret,
            billed(with_population(DEFAULT, config.population)),
            self._limits,
            self.history,
            self._ids,
            now,
            restatements,
        )
        self.tenants = {first.code: first}
        if config.second_utility_code:
            self.tenants[config.second_utility_code] = Tenant(
                config.second_utility_code,
                config.second_client_id,
                config.second_client_secret,
                billed(SECOND),
                self._limits,
                self.history,
                self._ids,
                now,
                restatements,
            )
        # The first utility's, as when the sandbox served one (most callers still do).
        self.credentials = first.credentials
        self.tokens = first.tokens
        self.limiter = first.limiter
        self.store = first.store
        self.faults = FaultState(Switches(token_lifetime_s=config.token_lifetime_s))
        self.stats = Stats()
        # Recorded answers by route name, served instead of the sandbox's own (after the
        # token check): how a test feeds Oracle's documented example answers, or an
        # answer of a real Opower, through the gateway.
        self._recorded: dict[str, Response] = {}
        self._token_endpoint = TokenEndpoint(list(self.tenants.values()), self.faults)

    def handle(self, request: Request) -> Response | None:
        """The answer to one request, or None to close the connection without answering."""
        if request.path.startswith(API_PREFIX):
            return self._handle_api(request)
        if self.config.control_plane_enabled and control.is_control_path(request.path):
            return control.handle(request, self)
        return not_found(f"No resource at {request.path}").to_response(nested=False)

    # Control operations, shared by the control plane and `OpowerSandbox`.

    def reset(self) -> None:
        """Forget everything that happened since start and restore the configured state.

        Held requests are released last, so they continue against the fresh state.
        """
        with self._control_lock:
            self._ids.reset()
            for tenant in self.tenants.values():
                tenant.tokens.reset()
                tenant.limiter.reset(self._limits)
                tenant.store.reset()
                tenant.credentials.reset()
                tenant.token_requests = 0
            self.stats.reset()
            self.faults.reset()
            self._recorded = {}

    def set_faults(self, switches: Mapping[str, object]) -> dict[str, object]:
        """Merge switches and run actions; ValueError (nothing applied) when one is invalid."""
        with self._control_lock:  # read-merge-write: concurrent updates must not get lost
            new, actions = parse_switches(switches, self.faults.switches)
            if actions.new_client_secret is not None:
                self.credentials.rotate(actions.new_client_secret)
            if actions.revoke_tokens:
                for tenant in self.tenants.values():
                    tenant.tokens.revoke_all()
            self.faults.replace(new)
            return new.to_json()

    def set_answers(self, answers: Mapping[str, object]) -> list[str]:
        """Serve these answers on these routes from now on: ``{route: {"status": 200,
        "body": <JSON>}}`` (a body of None: an empty one); ``{route: null}`` serves the
        sandbox's own again. ValueError (nothing applied) when one is invalid."""
        recorded: dict[str, Response | None] = {}
        for route, answer in answers.items():
            if route not in DATA_ROUTES:
                raise ValueError(f"unknown route {route!r}; one of {', '.join(DATA_ROUTES)}")
            if answer is None:
                recorded[route] = None
                continue
            if not isinstance(answer, dict) or set(answer) - {"status", "body"}:
                raise ValueError(f"{route}: give an object with status and body")
            status = answer.get("status", 200)
            if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status < 600:
                raise ValueError(f"{route}: status must be an HTTP status")
            body = answer.get("body")
            recorded[route] = Response(status) if body is None else json_response(status, body)
        with self._control_lock:
            for route, response in recorded.items():
                if response is None:
                    self._recorded.pop(route, None)
                else:
                    self._recorded[route] = response
            return sorted(self._recorded)

    def faults_json(self) -> dict[str, object]:
        """The body of `GET /_sandbox/faults`."""
        return self.faults.switches.to_json()

    def set_limits(self, per_second: int | None, per_day: int | None) -> dict[str, int]:
        """Change the rate limits (ValueError when invalid); None keeps a limit."""
        with self._control_lock:
            current = self.limiter.limits
            limits = Limits(
                current.per_second if per_second is None else per_second,
                current.per_day if per_day is None else per_day,
            )
            for tenant in self.tenants.values():
                tenant.limiter.configure(limits)
        return {"per_second": limits.per_second, "per_day": limits.per_day}

    def stats_json(self) -> dict[str, object]:
        """The body of `GET /_sandbox/stats`."""
        arrivals = self.stats.arrivals()
        token_requests = arrivals.pop(TOKEN_ROUTE, 0)
        opt_ins = [t.store.sms_opt_ins() for t in self.tenants.values()]
        return {
            "requests": self.stats.requests(),
            "token_requests": token_requests,
            "tokens_issued": sum(t.tokens.issued for t in self.tenants.values()),
            "tokens_valid": sum(t.tokens.valid_count() for t in self.tenants.values()),
            "data_requests": sum(arrivals.values()),
            # SMS double opt-ins started (an SMS preference created, a phoneSMS updated),
            # and the SMS preferences still waiting for the customer's "YES".
            "sms_opt_in_started": sum(started for started, _ in opt_ins),
            "sms_opt_in_awaiting": sum(awaiting for _, awaiting in opt_ins),
            "utilities": {
                code: {
                    "token_requests": tenant.token_requests,
                    "tokens_issued": tenant.tokens.issued,
                }
                for code, tenant in self.tenants.items()
            },
        }

    def customers_json(self) -> list[dict[str, object]]:
        """The body of `GET /_sandbox/customers`: every utility's customers."""
        return [c for t in self.tenants.values() for c in t.directory.listing(t.code)]

    # /apis/

    def _handle_api(self, request: Request) -> Response | None:
        route, resource, params = classify(request.path.removeprefix(API_PREFIX))
        self.stats.arrive(route)
        nested = route == "threshold"
        try:
            answer = self._answer_api(request, route, resource, params)
        except ApiError as error:
            answer = error.to_response(nested=nested)
        status = DROPPED if answer is None else answer.status
        entry = ReceivedRequest.capture(request, status, keep_body=route != TOKEN_ROUTE)
        self.stats.record(route, entry)
        return answer

    def _answer_api(
        self, request: Request, route: str, resource: str, params: dict[str, str]
    ) -> Response | None:
        tenant = self._tenant_of(request, route, params)
        retry_after = tenant.limiter.acquire()
        if retry_after is not None:
            raise ApiError(429, "Rate limit exceeded", ("Retry-After", str(retry_after)))
        if route == TOKEN_ROUTE:
            tenant.token_requests += 1
            return self._token_endpoint.handle(request)
        fault, switches = self.faults.take_data_fault()
        if fault == "5xx":
            raise ApiError(503, "Service unavailable")
        if fault == "429":
            retry = ("Retry-After", str(switches.retry_after_s))
            raise ApiError(429, "Rate limit exceeded", retry)
        if fault == "401":
            raise ApiError(401, "Access token is invalid or expired", _BEARER_CHALLENGE)
        if fault in ("slow", "hanging"):
            delay = switches.data_delay_s if fault == "slow" else HANGING_CAP_S
            released = self.faults.wait(delay)
            if self.faults.closed or (fault == "hanging" and not released):
                return None
        # A token is valid only on its own utility's paths (unknown utilities: the first's
        # rules, then 404 from its data routes).
        if not self._bearer_valid(tenant, request.header("authorization")):
            raise ApiError(401, "Access token is missing, invalid or expired", _BEARER_CHALLENGE)
        if route in self.faults.switches.unlicensed_routes:
            raise ApiError(401, "This client may not use this API", _BEARER_CHALLENGE)
        recorded = self._recorded.get(route)
        if recorded is not None:
            return recorded
        return tenant.data_api.handle(resource, params, request)

    def _tenant_of(self, request: Request, route: str, params: dict[str, str]) -> Tenant:
        """The utility a request counts against: a token request's client, a data
        request's path; the first utility for anything else."""
        if route == TOKEN_ROUTE:
            authorization = request.header("authorization")
            for tenant in self.tenants.values():
                if tenant.credentials.verify_basic(authorization):
                    return tenant
        return self.tenants.get(params.get("utility", ""), next(iter(self.tenants.values())))

    @staticmethod
    def _bearer_valid(tenant: Tenant, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").strip().partition(" ")
        return scheme.lower() == "bearer" and tenant.tokens.is_valid(token.strip())
