"""What the fuzzer does with the schema, in three phases:

1. a stateful walk: create keys, then use them by key_id through every key-scoped endpoint, validate them in
   each place a key may travel, page through listings with the cursors the service returned (and with those
   cursors' times swapped for edge times), probe inputs and envelope headers along the way;
2. probes: each string input of each operation alone at its boundary values, everything else valid;
3. a sweep: every operation gets its share of schemathesis-generated requests, positive and negative.

Every request draws, on top of schemathesis' data: hostile variants of its strings, envelope headers
(X-Request-ID, User-Agent, X-Forwarded-For), the caller's peer address (trusted proxy or not) and its credential.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.result import Err

from hokusai._vocabulary import SERVICE_ALIASES, Service
from tests.conftest import ADMIN_TOKEN
from tests.fuzz import boundaries
from tests.fuzz.harness import NO_BODY, Draft, Exchange
from tests.fuzz.schema import ALIAS_SUFFIX, FuzzSchema, Target, input_counts

SERVICE_TOKEN = "fuzz-service-token-" + "z" * 32
# Peers the in-process clients present: the conftest's address (a trusted proxy here, so X-Forwarded-For is
# believed and its hops reach the audit log), an IPv6 trusted proxy, and a plain untrusted client.
TRUSTED_PEER = ("203.0.113.9", 40000)
TRUSTED_V6_PEER = ("2001:db8::7", 40001)
UNTRUSTED_PEER = ("198.51.100.23", 50000)
TRUSTED_PROXIES = "203.0.113.0/24,2001:db8::/32"
PEERS = {"trusted-v4": TRUSTED_PEER, "trusted-v6": TRUSTED_V6_PEER, "untrusted": UNTRUSTED_PEER}
STEPS_PER_RUN = 10
KEY_OPERATIONS = ("get_api_key", "update_api_key", "revoke_api_key", "rotate_api_key")
USAGE_OPERATIONS = ("record_usage", "get_usage_stats", "get_usage_billing")
KEY_PLACES = ("bearer", "apikey", "x-api-key", "body", "query")
# Inputs whose telling values are few (the ends of the calendar): probed more often, and only with those, unlike
# free text, where almost every variant (NUL, a lone surrogate, one past a length limit) is telling.
FEW_TELLING_VALUES = ("hokusai-time", "hokusai-cursor", "hokusai-period", "hokusai-date")


@dataclass(frozen=True)
class KeyRef:
    key_id: str
    api_key: str


# Stands in while the walk has no key yet: an id that exists nowhere and a key-shaped string never issued.
NO_KEY = KeyRef(str(uuid.UUID(int=0)), "hk_live_" + "0" * 38)


def authorizations() -> st.SearchStrategy[tuple[str, str | None]]:
    """The credential a request carries: mostly the admin token (to get past the door), else none, the service
    token, a wrong one, or the admin token slightly off."""
    wrong = st.one_of(
        boundaries.free_text((64, 256)).map(lambda text: f"Bearer {text}"),
        st.sampled_from(["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Token abc"]),
    )
    near = st.sampled_from(
        [f"bearer {ADMIN_TOKEN}", f"Bearer {ADMIN_TOKEN}\x00", f"Bearer  {ADMIN_TOKEN} ", f"Bearer {ADMIN_TOKEN[:-1]}"]
    )
    admin = st.just(("admin", f"Bearer {ADMIN_TOKEN}"))
    other = st.one_of(
        st.just(("service", f"Bearer {SERVICE_TOKEN}")),
        st.just(("none", None)),
        wrong.map(lambda value: ("wrong", value)),
        near.map(lambda value: ("near-admin", value)),
    )
    # Three requests in four carry the admin token: a refused credential stops a request at the door, and the
    # door is one code path, while what lies behind it is every other.
    return st.integers(0, 3).flatmap(lambda n: other if n == 0 else admin)


def has_inputs(operation: APIOperation[Any, Any, Any, Any]) -> bool:
    """Whether there is anything to negate: schemathesis cannot make a negative case for /health."""
    parts = (operation.path_parameters, operation.query, operation.headers, operation.body)
    return any(len(part) for part in parts)


class Driver:
    """Draws a complete request for an operation and hands it to the exchange."""

    def __init__(self, fuzz: FuzzSchema, exchange: Exchange) -> None:
        schema, lengths = fuzz.schema, fuzz.lengths
        self.exchange = exchange
        self.schema = schema
        self.lengths = lengths
        self.operations: dict[str, APIOperation[Any, Any, Any, Any]] = {}
        self.strategies: dict[tuple[str, GenerationMode], st.SearchStrategy[Case[Any]]] = {}
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise result.err()
            operation = result.ok()
            op_id = operation.definition.raw["operationId"]
            self.operations[op_id] = operation
            modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_inputs(operation) else [])
            for mode in modes:
                self.strategies[op_id, mode] = operation.as_strategy(generation_mode=mode)
        # Built once: a strategy object is validated on its first draw, which costs more than the draw itself.
        self.auth = authorizations()
        self.envelope = boundaries.extra_headers(lengths)
        self.peers = st.sampled_from(sorted(PEERS))
        self.in_json = boundaries.string_variants(lengths, surrogates=True)
        self.in_url = boundaries.string_variants(lengths, surrogates=False)
        self.one_in_three = st.integers(0, 2).map(lambda n: n == 0)
        self.one_in_four = st.integers(0, 3).map(lambda n: n == 0)
        self.services = st.sampled_from([*(service.value for service in Service), *SERVICE_ALIASES])
        self.indexes = st.integers(0, 2**16)
        self.times = boundaries.time_texts()
        # Every key id a create or rotate returned: operations on /{key_id} then mostly reach a real key, past
        # the 404 that a random id stops at, in the sweep as much as in the stateful walk.
        self.known_keys: list[str] = []
        self.targets = st.sampled_from(fuzz.targets)
        self.target_values = {target: self._probe_values(fuzz, target) for target in fuzz.targets}
        self.header_values = {
            "X-Request-ID": boundaries.request_ids(lengths),
            "User-Agent": boundaries.user_agents(lengths),
            "X-Forwarded-For": boundaries.forwarded_for(lengths),
        }
        self.header_names = st.sampled_from(sorted(self.header_values))

    def _probe_values(self, fuzz: FuzzSchema, target: Target) -> st.SearchStrategy[str]:
        """The boundary strategy of the input's format, sometimes varied further; plain text inputs get the
        string variants (NUL, lone surrogates where JSON carries them, lengths around every limit)."""
        in_json = target.location == "body"
        if target.format is None:
            return boundaries.hostile_text(self.lengths, surrogates=in_json)
        base = fuzz.formats[target.format]
        if target.format in FEW_TELLING_VALUES:
            return base
        varied = st.tuples(base, self.in_json if in_json else self.in_url).map(lambda t: t[1](t[0]))
        return st.one_of(base, base, varied)

    def ids(self, *names: str) -> list[str]:
        """Operation ids of ``names`` under both mounts of key management."""
        return [op_id for op_id in self.operations if op_id.removesuffix(ALIAS_SUFFIX) in names]

    def draw_case(self, data: st.DataObject, op_id: str, *, positive: bool = False) -> Case[Any]:
        negative = (op_id, GenerationMode.NEGATIVE) in self.strategies and not positive
        mode = GenerationMode.NEGATIVE if negative and data.draw(self.one_in_four) else GenerationMode.POSITIVE
        return data.draw(self.strategies[op_id, mode])

    def hostile(self, data: st.DataObject, draft: Draft) -> None:
        """Replace some strings with boundary variants (in one request in three, one string in three)."""
        if not data.draw(self.one_in_three):
            return

        def vary(value: Any, surrogates: bool) -> Any:
            if isinstance(value, str):
                if data.draw(self.one_in_three):
                    return data.draw(self.in_json if surrogates else self.in_url)(value)
                return value
            if isinstance(value, dict):
                return {name: vary(item, surrogates) for name, item in value.items()}
            if isinstance(value, list):
                return [vary(item, surrogates) for item in value]
            return value

        if draft.body is not NO_BODY:
            draft.body = vary(draft.body, True)  # JSON carries a lone surrogate as an escape; a URL cannot
        if isinstance(draft.params, dict):
            draft.params = vary(draft.params, False)
        draft.path_parameters = vary(draft.path_parameters, False)

    def client_habits(self, data: st.DataObject, draft: Draft) -> None:
        """Mostly send a body the way real clients do, so that requests get past the schema to the service:
        JSON Schema counts 57.0 as an integer and schemathesis sends it so, where clients send 57; and a field
        the published schema lets be null (``anyOf [..., null]``) but the service refuses as null is left out."""
        if isinstance(draft.body, dict) and not data.draw(self.one_in_four):
            draft.body = {
                name: int(value) if isinstance(value, float) and value.is_integer() else value
                for name, value in draft.body.items()
                if value is not None
            }

    def plausible_create(self, data: st.DataObject, draft: Draft) -> None:
        """Set right the create fields that schema-valid data most often gets semantically wrong: an unknown
        service id, a burst above the hourly limit, an allowlist entry that is no address."""
        if isinstance(draft.body, dict):
            draft.body["service_id"] = data.draw(self.services)
            draft.body.pop("burst", None)
            draft.body.pop("allowed_ips", None)

    def probe(self, data: st.DataObject, target: Target | None = None) -> None:
        """One input of one operation at a boundary value, everything else minimal and valid (admin token, a
        known key, the required body fields only, no envelope headers)."""
        if target is None:
            target = data.draw(self.targets)
        value = data.draw(self.target_values[target])
        op_id = target.op_id
        if op_id + ALIAS_SUFFIX in self.operations and data.draw(st.booleans()):
            op_id += ALIAS_SUFFIX

        def adjust(draft: Draft) -> None:
            if target.location == "query":
                draft.params = {target.name: value}
            elif target.location == "path":
                draft.path_parameters[target.name] = value
            else:
                body = draft.body if isinstance(draft.body, dict) else {}
                kept = {name: item for name, item in body.items() if name in target.required}
                if "service_id" in kept:
                    kept["service_id"] = data.draw(self.services)
                kept[target.name] = [value] if target.array else value
                draft.body = kept
                draft.raw_body = None
                draft.headers = [(n, v) for n, v in draft.headers if n.lower() != "content-type"]
                draft.headers.append(("Content-Type", "application/json"))

        self.exercise(data, op_id, positive=True, admin=True, adjust=adjust, hostile=False, envelope={})

    def probe_header(self, data: st.DataObject, op_id: str, name: str | None = None) -> Any:
        """A write the service should accept, from a trusted proxy, with one envelope header at a boundary: the
        request id, user agent and forwarded client address all end up in the audit record of the write."""
        if name is None:
            name = data.draw(self.header_names)
        envelope = {name: data.draw(self.header_values[name])}
        peer = data.draw(st.sampled_from(["trusted-v4", "trusted-v6"]))

        def adjust(draft: Draft) -> None:
            if op_id.startswith("create_api_key"):
                self.plausible_create(data, draft)

        return self.exercise(
            data, op_id, positive=True, admin=True, adjust=adjust, hostile=False, envelope=envelope, peer=peer
        )

    def exercise(
        self,
        data: st.DataObject,
        op_id: str,
        *,
        positive: bool = False,
        admin: bool = False,
        credential: tuple[str, str | None] | None = None,
        adjust: Callable[[Draft], None] | None = None,
        hostile: bool = True,
        envelope: dict[str, str] | None = None,
        peer: str | None = None,
    ) -> httpx.Response | None:
        case = self.draw_case(data, op_id, positive=positive)
        draft = Draft.of(case)
        self.client_habits(data, draft)
        # Drawn whether or not they are used, so the draws never depend on what the service answered before.
        use_known, index = not data.draw(self.one_in_four), data.draw(self.indexes)
        if "key_id" in draft.path_parameters and self.known_keys and use_known:
            draft.path_parameters["key_id"] = self.known_keys[index % len(self.known_keys)]
        if adjust is not None:
            adjust(draft)
        if hostile:
            self.hostile(data, draft)
        if credential is None:
            credential = ("admin", f"Bearer {ADMIN_TOKEN}") if admin else data.draw(self.auth)
        response = self.exchange.send(
            case,
            draft,
            peer=peer if peer is not None else data.draw(self.peers),
            auth=credential,
            envelope=envelope if envelope is not None else data.draw(self.envelope),
            ascii_json=data.draw(st.booleans()),
        )
        if response is not None and response.status_code == 201:
            self.known_keys.append(str(response.json()["key_id"]))
        return response


def fuzz_settings(max_examples: int, derandomize: bool, **extra: Any) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=derandomize,
        database=None,  # no .hypothesis/ directory in the work tree; the report carries the examples instead
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not raised, so nothing to shrink
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=False,
        **extra,
    )


def build_machine(driver: Driver) -> type[RuleBasedStateMachine]:
    create_ids = driver.ids("create_api_key")
    key_ids = driver.ids(*KEY_OPERATIONS) + driver.ids(*USAGE_OPERATIONS)
    validate_ids = driver.ids("validate_api_key")
    list_ids = [*driver.ids("list_api_keys"), "list_audit_logs"]
    write_ids = [*create_ids, *driver.ids("update_api_key", "revoke_api_key", "rotate_api_key"), "record_usage"]

    class HokusaiAPI(RuleBasedStateMachine):
        """Keys and cursors the service handed out are kept in plain lists, not Hypothesis bundles, and picked
        by a drawn index: what the service answers may differ when Hypothesis replays a run (the database has
        moved on), and rule availability or draws that depended on it would make generation inconsistent."""

        def __init__(self) -> None:
            super().__init__()
            self.keys: list[KeyRef] = []
            self.pages: list[tuple[str, str]] = []

        def keep(self, response: httpx.Response | None) -> None:
            key = _created(response)
            if key is not None:
                self.keys.append(key)

        def pick_key(self, data: st.DataObject) -> KeyRef:
            index = data.draw(driver.indexes)
            return self.keys[index % len(self.keys)] if self.keys else NO_KEY

        @rule(data=st.data())
        def create_key(self, data: st.DataObject) -> None:
            op_id = data.draw(st.sampled_from(create_ids))
            plausible = not data.draw(driver.one_in_four)

            def adjust(draft: Draft) -> None:
                # The walk needs keys: mostly a create the service should accept. Other rules explore the rest.
                if plausible:
                    driver.plausible_create(data, draft)

            admin = not data.draw(driver.one_in_four)
            self.keep(driver.exercise(data, op_id, positive=True, admin=admin, adjust=adjust, hostile=False))

        @rule(data=st.data())
        def use_key(self, data: st.DataObject) -> None:
            key = self.pick_key(data)
            op_id = data.draw(st.sampled_from(key_ids))

            def adjust(draft: Draft) -> None:
                draft.path_parameters["key_id"] = key.key_id

            # Mostly the key's own id as it is; sometimes the hostile pass varies it (and everything else).
            hostile = data.draw(st.integers(0, 4)) == 0
            self.keep(driver.exercise(data, op_id, adjust=adjust, hostile=hostile))

        @rule(data=st.data())
        def validate_key(self, data: st.DataObject) -> None:
            key = self.pick_key(data)
            op_id = data.draw(st.sampled_from(validate_ids))
            place = data.draw(st.sampled_from(KEY_PLACES))
            # Half the time the key alone: generated service ids, scopes and addresses rarely fit the key, and
            # the path of a key that is valid (cache, limiter, usage) deserves its share too.
            bare = data.draw(st.booleans())

            def adjust(draft: Draft) -> None:
                if bare:
                    draft.body, draft.params = ({} if draft.body is not NO_BODY else NO_BODY), {}
                if place == "body":
                    body = draft.body if isinstance(draft.body, dict) else {}
                    draft.body = {**body, "api_key": key.api_key}
                    draft.raw_body = None
                    draft.headers = [(n, v) for n, v in draft.headers if n.lower() != "content-type"]
                    draft.headers.append(("Content-Type", "application/json"))
                elif place == "query":
                    draft.params = {**(draft.params if isinstance(draft.params, dict) else {}), "api_key": key.api_key}
                elif place == "x-api-key":
                    draft.headers = [(n, v) for n, v in draft.headers if n.lower() != "x-api-key"]
                    draft.headers.append(("X-API-Key", key.api_key))

            # The contract's five places for a key: two Authorization schemes, a header, the body, the query.
            scheme = {"bearer": "Bearer", "apikey": "ApiKey"}.get(place)
            credential = ("key", f"{scheme} {key.api_key}") if scheme else None
            driver.exercise(data, op_id, adjust=adjust, credential=credential)

        @rule(data=st.data())
        def list_page(self, data: st.DataObject) -> None:
            op_id = data.draw(st.sampled_from(list_ids))
            limit = data.draw(st.integers(1, 3))

            def adjust(draft: Draft) -> None:
                params = dict(draft.params) if isinstance(draft.params, dict) else {}
                params.pop("cursor", None)
                draft.params = {**params, "limit": limit}

            response = driver.exercise(data, op_id, positive=True, admin=True, adjust=adjust, hostile=False)
            cursor = response.headers.get("x-next-cursor") if response is not None else None
            if cursor:
                self.pages.append((op_id, cursor))

        @rule(data=st.data())
        def next_page(self, data: st.DataObject) -> None:
            index = data.draw(driver.indexes)
            op_id, cursor = self.pages[index % len(self.pages)] if self.pages else ("list_api_keys", "")
            # Half the time the real cursor's time is swapped for an edge time; its row id stays a real one.
            recut, moment = data.draw(st.booleans()), data.draw(driver.times)
            if recut:
                cursor = boundaries.recut_cursor(cursor, moment)

            def adjust(draft: Draft) -> None:
                draft.params = {**(draft.params if isinstance(draft.params, dict) else {}), "cursor": cursor}

            driver.exercise(data, op_id, adjust=adjust)

        @rule(data=st.data())
        def probe_input(self, data: st.DataObject) -> None:
            driver.probe(data)

        @rule(data=st.data())
        def probe_envelope(self, data: st.DataObject) -> None:
            self.keep(driver.probe_header(data, data.draw(st.sampled_from(write_ids))))

        @rule(data=st.data())
        def any_operation(self, data: st.DataObject) -> None:
            self.keep(driver.exercise(data, data.draw(st.sampled_from(sorted(driver.operations)))))

    return HokusaiAPI


def _created(response: httpx.Response | None) -> KeyRef | None:
    if response is not None and response.status_code == 201:
        body = response.json()
        return KeyRef(str(body["key_id"]), str(body["api_key"]))
    return None


def run(driver: Driver, fuzz: FuzzSchema, requests: int, *, derandomize: bool, seed_value: int | None) -> None:
    """About ``requests`` requests: 40 % in the stateful walk, 25 % probing one input at a time, 10 % probing
    one envelope header at a time on writes, the rest shared by every operation in proportion to its inputs."""

    def seeded(test: Any) -> Any:
        return seed(seed_value)(test) if seed_value is not None else test

    machine = seeded(build_machine(driver))
    runs = max(1, requests * 2 // 5 // STEPS_PER_RUN)
    run_state_machine_as_test(machine, settings=fuzz_settings(runs, derandomize, stateful_step_count=STEPS_PER_RUN))

    weights = {target: 6 if target.format in FEW_TELLING_VALUES else 1 for target in fuzz.targets}
    share = requests / 4 / sum(weights.values())
    for target, weight in weights.items():
        seeded(_probe(driver, target, fuzz_settings(max(1, round(share * weight)), derandomize)))()

    writes = [*driver.ids("create_api_key", "update_api_key", "revoke_api_key", "rotate_api_key"), "record_usage"]
    for name in sorted(driver.header_values):
        examples = max(3, requests // 10 // len(driver.header_values))
        seeded(_probe_header(driver, writes, name, fuzz_settings(examples, derandomize)))()

    # The sweep goes to each operation by how many inputs it has: /health needs two requests, the audit log's
    # seven filters many more.
    inputs = {op_id: 1 + count for op_id, count in input_counts(driver.schema.raw_schema).items()}
    share = requests / 4 / sum(inputs.values())
    for op_id in sorted(driver.operations):
        seeded(_sweep(driver, op_id, fuzz_settings(max(2, round(share * inputs[op_id])), derandomize)))()


def _probe(driver: Driver, target: Target, config: settings) -> Callable[[], None]:
    @config
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        driver.probe(data, target)

    return probe


def _probe_header(driver: Driver, writes: list[str], name: str, config: settings) -> Callable[[], None]:
    @config
    @given(data=st.data())
    def probe_header(data: st.DataObject) -> None:
        driver.probe_header(data, data.draw(st.sampled_from(writes)), name)

    return probe_header


def _sweep(driver: Driver, op_id: str, config: settings) -> Callable[[], None]:
    @config
    @given(data=st.data())
    def sweep(data: st.DataObject) -> None:
        driver.exercise(data, op_id)

    return sweep
