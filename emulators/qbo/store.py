"""All emulator state behind one lock: realms and their entities, tokens, call log, faults, meters."""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from emulators.qbo import entities, faults, query
from emulators.qbo.entities import EntitySpec, JsonObject, Stamp
from emulators.qbo.ratelimit import RealmMeter
from emulators.qbo.replies import Reply
from emulators.qbo.timestamps import metadata_time, parse_metadata_time
from emulators.qbo.webhooks import Operation, WebhookSender, cloud_event

DEMO_REALM_ID = "9130350000000001"
_FIRST_GENERATED_REALM = 9130350000000101
_HARD_REFRESH_LIFETIME_SECONDS = 5 * 365 * 24 * 3600


@dataclass(frozen=True)
class EmulatorSettings:
    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 8_640_000
    old_refresh_token_grace_seconds: int = 0
    authorization_code_ttl_seconds: int = 600
    rate_limit_per_minute: int = 500
    rate_limit_per_second: int | None = 10
    batch_rate_limit_per_minute: int = 40
    case_sensitive_queries: bool = False
    case_sensitive_display_names: bool = False
    accept_email_address_subfield: bool = False
    replay_failed_requests: bool = True
    shuffle_batch_responses: bool = True
    require_json_accept: bool = True
    phone_number_limit: int = entities.PHONE_LIMIT
    max_results_limit: int = query.MAX_RESULTS_LIMIT
    cap_max_results: bool = False  # True: a larger MAXRESULTS is cut silently instead of a 4000
    cdc_max_objects: int = 1000  # objects in one CDC answer; the rest are left out
    # The app's redirect URIs, as registered on its Keys & OAuth page. Intuit's consent refuses any other
    # (an exact match), so a code can only ever reach an address the app's owner listed.
    redirect_uris: tuple[str, ...] = ()


@dataclass
class Realm:
    realm_id: str
    connected_at: float
    entities: dict[str, dict[str, JsonObject]] = field(default_factory=dict)  # entity name -> Id -> object
    next_ids: dict[str, int] = field(default_factory=dict)  # one counter per entity type: Ids overlap
    next_address_id: int = 1
    replies: dict[str, Reply] = field(default_factory=dict)  # requestid -> first reply
    # Entities merged away: entity name -> Id -> `{"domain", "status": "Deleted", "Id", "MetaData"}` (CDC).
    deleted: dict[str, dict[str, JsonObject]] = field(default_factory=dict)
    # The company's own settings (its CompanyInfo), as a person keeps them in QBO's UI.
    company_name: str = ""
    legal_name: str = ""
    company_updated_at: float = 0.0

    def __post_init__(self) -> None:
        # QBO's sandbox companies are named like this; the control API names a company otherwise.
        self.company_name = self.company_name or f"Sandbox Company {self.realm_id}"
        self.legal_name = self.legal_name or self.company_name
        self.company_updated_at = self.company_updated_at or self.connected_at


@dataclass
class AccessToken:
    realm_id: str
    expires_at: float


@dataclass
class RefreshToken:
    realm_id: str
    expires_at: float
    superseded_at: float | None = None
    revoked: bool = False


@dataclass
class AuthorizationCode:
    realm_id: str
    redirect_uri: str
    expires_at: float
    redeemed: bool = False  # kept after use, so a replayed code is still logged under its realm


@dataclass
class FaultRule:
    realm_id: str | None
    operation: str | None  # None matches every API operation, never "token"
    status: int
    remaining: int
    code: str | None = None
    body: str | None = None
    latency_ms: int = 0
    # True: QBO carries the call out first and only its answer is replaced (a 504 from Intuit's edge after the
    # save, or with `latency_ms` past the client's timeout, an answer that never arrives in time).
    applied: bool = False
    ends_at: float | None = None  # the emulator clock when the rule stops matching (an outage's end)

    def matches(self, realm_id: str | None, operation: str, now: float) -> bool:
        if self.ends_at is not None and now >= self.ends_at:
            return False
        if self.realm_id is not None and self.realm_id != realm_id:
            return False
        if self.operation is None:
            return operation != "token"
        return self.operation == operation


@dataclass(frozen=True)
class RateLimits:
    """QBO's per-realm limits as the emulator enforces them; None turns one off."""

    per_minute: int | None = 500
    per_second: int | None = 10
    batches_per_minute: int | None = 40


@dataclass(frozen=True)
class CallRecord:
    realm_id: str
    method: str
    path: str
    query: dict[str, str]
    operation: str
    status: int
    requestid: str | None
    replayed: bool
    at: float = 0.0  # the emulator clock when the call was answered

    def as_json(self) -> JsonObject:
        return {
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "operation": self.operation,
            "status": self.status,
            "requestid": self.requestid,
            "replayed": self.replayed,
        }


class EmulatorState:
    """Thread-safe: every public method takes `lock` (re-entrant, so callers may hold it across calls)."""

    def __init__(self, settings: EmulatorSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = threading.RLock()
        self.webhooks = WebhookSender()
        self._reset_unlocked()

    def _reset_unlocked(self) -> None:
        self._realms: dict[str, Realm] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._calls: list[CallRecord] = []
        self._faults: list[FaultRule] = []
        self._meter = RealmMeter(
            RateLimits(
                self.settings.rate_limit_per_minute,
                self.settings.rate_limit_per_second,
                self.settings.batch_rate_limit_per_minute,
            )
        )
        self.latency_ms = 0
        self.consent_realm_id = DEMO_REALM_ID
        # The app's registration, not the companies' data: reset() keeps it, as it keeps the settings.
        self._redirect_uris = set(self.settings.redirect_uris)

    def reset(self) -> None:
        with self.lock:
            self._reset_unlocked()
            self.webhooks.reset()

    # --- realms and tokens -------------------------------------------------------------------------------

    def create_realm(self, realm_id: str | None = None) -> JsonObject:
        """Create (or reuse) a company connected to the app, and hand out a fresh token pair for it."""
        with self.lock:
            realm = self.ensure_realm(realm_id or self._new_realm_id())
            grant = self.issue_grant(realm.realm_id)
            return {
                "realm_id": realm.realm_id,
                "access_token": grant["access_token"],
                "refresh_token": grant["refresh_token"],
                "access_token_expires_in": grant["expires_in"],
                "refresh_token_expires_in": grant["x_refresh_token_expires_in"],
            }

    def ensure_realm(self, realm_id: str) -> Realm:
        with self.lock:
            if realm_id not in self._realms:
                self._realms[realm_id] = Realm(realm_id, self.clock())
            return self._realms[realm_id]

    def has_realm(self, realm_id: str) -> bool:
        with self.lock:
            return realm_id in self._realms

    def _new_realm_id(self) -> str:
        candidate = _FIRST_GENERATED_REALM + len(self._realms)
        while str(candidate) in self._realms:
            candidate += 1
        return str(candidate)

    def tokens_of(self, realm_id: str) -> list[str]:
        """Every access and refresh token ever issued for the realm (what a leak check searches for)."""
        with self.lock:
            access = [token for token, grant in self._access_tokens.items() if grant.realm_id == realm_id]
            refresh = [token for token, grant in self._refresh_tokens.items() if grant.realm_id == realm_id]
            return access + refresh

    def issue_grant(self, realm_id: str) -> JsonObject:
        """A token endpoint response body for the realm."""
        with self.lock:
            now = self.clock()
            realm = self.ensure_realm(realm_id)
            hard_expires_at = realm.connected_at + _HARD_REFRESH_LIFETIME_SECONDS
            refresh_ttl = int(min(self.settings.refresh_token_ttl_seconds, hard_expires_at - now))
            # Real access tokens are ~1 kB JWEs and refresh tokens short "AB11..." strings.
            access_token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(700)
            refresh_token = "AB11" + secrets.token_hex(3) + secrets.token_urlsafe(36)
            self._access_tokens[access_token] = AccessToken(
                realm_id, now + self.settings.access_token_ttl_seconds
            )
            self._refresh_tokens[refresh_token] = RefreshToken(realm_id, now + refresh_ttl)
            return {
                "token_type": "bearer",
                "access_token": access_token,
                "expires_in": self.settings.access_token_ttl_seconds,
                "refresh_token": refresh_token,
                "x_refresh_token_expires_in": refresh_ttl,
                "x_refresh_token_hard_expires_in": int(hard_expires_at - now),
            }

    def access_token_problem(self, token: str | None, realm_id: str) -> str | None:
        """None when the token may call this realm; else "invalid", "expired" or "forbidden"."""
        with self.lock:
            access = self._access_tokens.get(token or "")
            if access is None:
                return "invalid"
            if self.clock() >= access.expires_at:
                return "expired"
            if access.realm_id != realm_id:
                return "forbidden"
            return None

    def refresh_token_realm(self, token: str) -> str | None:
        with self.lock:
            refresh = self._refresh_tokens.get(token)
            return refresh.realm_id if refresh else None

    def redeem_refresh_token(self, token: str) -> JsonObject | None:
        """A new grant, rotating the refresh token; None (invalid_grant) when the token is dead."""
        with self.lock:
            now = self.clock()
            refresh = self._refresh_tokens.get(token)
            if refresh is None or refresh.revoked or now >= refresh.expires_at:
                return None
            if refresh.superseded_at is not None:
                if now >= refresh.superseded_at + self.settings.old_refresh_token_grace_seconds:
                    return None
            else:
                refresh.superseded_at = now
            return self.issue_grant(refresh.realm_id)

    def register_redirect_uri(self, redirect_uri: str) -> None:
        """Add a redirect URI to the app's registered ones (the developer portal's Keys & OAuth page)."""
        with self.lock:
            self._redirect_uris.add(redirect_uri)

    def redirect_uri_registered(self, redirect_uri: str) -> bool:
        with self.lock:
            return redirect_uri in self._redirect_uris

    def issue_authorization_code(self, realm_id: str, redirect_uri: str) -> str:
        """A code for `realm_id`, as consent gives one. Only for a registered redirect URI (ValueError)."""
        with self.lock:
            if redirect_uri not in self._redirect_uris:
                raise ValueError(f"redirect_uri {redirect_uri!r} is not registered for this app")
            self.ensure_realm(realm_id)
            code = "AB11" + secrets.token_urlsafe(30)
            expires_at = self.clock() + self.settings.authorization_code_ttl_seconds
            self._codes[code] = AuthorizationCode(realm_id, redirect_uri, expires_at)
            return code

    def authorization_code_realm(self, code: str) -> str | None:
        with self.lock:
            issued = self._codes.get(code)
            return issued.realm_id if issued else None

    def redeem_authorization_code(self, code: str, redirect_uri: str) -> JsonObject | None:
        """A grant for the code's realm; codes are single use and bound to their redirect_uri."""
        with self.lock:
            issued = self._codes.get(code)
            if issued is None or issued.redeemed:
                return None
            issued.redeemed = True  # single use, even when this attempt fails
            if issued.redirect_uri != redirect_uri or self.clock() >= issued.expires_at:
                return None
            return self.issue_grant(issued.realm_id)

    def expire_access_tokens(self, realm_id: str) -> None:
        with self.lock:
            now = self.clock()
            for access in self._access_tokens.values():
                if access.realm_id == realm_id:
                    access.expires_at = min(access.expires_at, now)

    def revoke_refresh_tokens(self, realm_id: str) -> None:
        with self.lock:
            for refresh in self._refresh_tokens.values():
                if refresh.realm_id == realm_id:
                    refresh.revoked = True

    def revoke_token(self, token: str) -> str | None:
        """Revoke the connection a refresh or access token belongs to; its realm, or None if unknown."""
        with self.lock:
            refresh = self._refresh_tokens.get(token)
            access = self._access_tokens.get(token)
            realm_id = refresh.realm_id if refresh else access.realm_id if access else None
            if realm_id is not None:
                self.revoke_refresh_tokens(realm_id)
                self.expire_access_tokens(realm_id)
            return realm_id

    # --- entities -----------------------------------------------------------------------------------------

    def create(
        self, realm_id: str, entity_name: str, payload: JsonObject, *, project: bool = False
    ) -> JsonObject:
        """`project`: a project (a job with `IsProject` true), which only QBO's UI and Projects API make."""
        with self.lock:
            now = self.clock()
            realm, spec = self._realm(realm_id), entities.SPECS_BY_NAME[entity_name]
            next_id = realm.next_ids.get(spec.name, 1)
            entity = entities.build_new(
                spec,
                payload,
                str(next_id),
                self._stamp(realm, now),
                phone_number_limit=self.settings.phone_number_limit,
            )
            self._check_unique_name(realm, entity, spec)
            self._place_in_hierarchy(realm, entity, project=project)
            realm.next_ids[spec.name] = next_id + 1
            realm.entities.setdefault(spec.name, {})[entity["Id"]] = entity
            self._announce(realm, spec.name, "created", entity["Id"], now)
            return copy.deepcopy(entity)

    def update(self, realm_id: str, entity_name: str, payload: JsonObject) -> JsonObject:
        with self.lock:
            now = self.clock()
            realm, spec = self._realm(realm_id), entities.SPECS_BY_NAME[entity_name]
            current = realm.entities.get(spec.name, {}).get(str(payload.get("Id")))
            if current is None:
                raise faults.object_not_found(str(payload.get("Id")))
            entity = entities.build_update(
                spec,
                current,
                payload,
                self._stamp(realm, now),
                phone_number_limit=self.settings.phone_number_limit,
            )
            self._check_unique_name(realm, entity, spec)
            self._place_in_hierarchy(realm, entity, project=bool(current.get("IsProject")))
            realm.entities[spec.name][entity["Id"]] = entity
            made_inactive = current.get("Active") is True and entity.get("Active") is False
            subscription = self.webhooks.subscription
            inactivation = subscription.inactivation_event if subscription else "deleted"
            self._announce(realm, spec.name, inactivation if made_inactive else "updated", entity["Id"], now)
            return copy.deepcopy(entity)

    def edit(self, realm_id: str, entity_name: str, entity_id: str, fields: JsonObject) -> JsonObject:
        """A person changes the record in QBO's UI: a sparse update of `fields`, at whatever SyncToken."""
        with self.lock:
            current = self.read(realm_id, entity_name, entity_id)
            payload = {**fields, "Id": entity_id, "SyncToken": current["SyncToken"], "sparse": True}
            return self.update(realm_id, entity_name, payload)

    def merge(self, realm_id: str, merged_id: str, survivor_id: str) -> JsonObject:
        """A person merges customer `merged_id` into `survivor_id` in QBO's UI: the merged one is deleted
        (reads and updates of it are 610 and CDC lists it as Deleted, its name is free again); the survivor
        gets its transactions, a new SyncToken, and the `merged` event with `deletedid`."""
        with self.lock:
            now = self.clock()
            realm = self._realm(realm_id)
            customers = realm.entities.get("Customer", {})
            if merged_id == survivor_id or merged_id not in customers or survivor_id not in customers:
                raise faults.object_not_found(merged_id if merged_id not in customers else survivor_id)
            del customers[merged_id]
            realm.deleted.setdefault("Customer", {})[merged_id] = {
                "domain": "QBO",
                "status": "Deleted",
                "Id": merged_id,
                "MetaData": {"LastUpdatedTime": metadata_time(now)},
            }
            survivor = customers[survivor_id]
            survivor["SyncToken"] = str(int(survivor["SyncToken"]) + 1)
            survivor["MetaData"] = {**survivor["MetaData"], "LastUpdatedTime": metadata_time(now)}
            self._announce(realm, "Customer", "merged", survivor_id, now, {"deletedid": merged_id})
            return copy.deepcopy(survivor)

    def changes_since(self, realm_id: str, entity_name: str, since: float) -> list[JsonObject]:
        """What CDC lists for one entity type: every record changed at or after `since` (inactive ones and
        merged-away ones as `{"status": "Deleted"}` included), oldest change first."""
        with self.lock:
            realm = self._realm(realm_id)
            changed = [
                *realm.entities.get(entity_name, {}).values(),
                *realm.deleted.get(entity_name, {}).values(),
            ]
            found = [
                (parse_metadata_time(entity["MetaData"]["LastUpdatedTime"]), entity)
                for entity in changed
                if parse_metadata_time(entity["MetaData"]["LastUpdatedTime"]) >= since
            ]
            found.sort(key=lambda pair: (pair[0], int(pair[1]["Id"])))
            return [copy.deepcopy(entity) for _, entity in found]

    def read(self, realm_id: str, entity_name: str, entity_id: str) -> JsonObject:
        with self.lock:
            entity = self._realm(realm_id).entities.get(entity_name, {}).get(entity_id)
            if entity is None:
                raise faults.object_not_found(entity_id)
            return copy.deepcopy(entity)

    def company_info(self, realm_id: str, company_id: str) -> JsonObject:
        """The realm's CompanyInfo object, read by its only id: the realm id itself."""
        with self.lock:
            realm = self._realm(realm_id)
            if company_id != realm_id:
                raise faults.object_not_found(company_id)
            created = metadata_time(realm.connected_at)
            return {
                "CompanyName": realm.company_name,
                "LegalName": realm.legal_name,
                "Country": "US",
                "SupportedLanguages": "en",
                "domain": "QBO",
                "sparse": False,
                "Id": "1",
                "SyncToken": "0",
                "MetaData": {
                    "CreateTime": created,
                    "LastUpdatedTime": metadata_time(realm.company_updated_at),
                },
            }

    def rename_company(self, realm_id: str, company_name: str, legal_name: str | None) -> JsonObject:
        """A person renames the company in QBO's settings (the legal name follows unless given)."""
        with self.lock:
            realm = self._realm(realm_id)
            realm.company_name = company_name
            realm.legal_name = legal_name or company_name
            realm.company_updated_at = self.clock()
            return self.company_info(realm_id, realm_id)

    def query(self, realm_id: str, statement: str) -> JsonObject:
        """The `QueryResponse` for a statement, or a 4000 fault."""
        parsed = query.parse(
            statement,
            accept_email_address_subfield=self.settings.accept_email_address_subfield,
            max_results_limit=self.settings.max_results_limit,
            cap_max_results=self.settings.cap_max_results,
        )
        with self.lock:
            stored = list(self._realm(realm_id).entities.get(parsed.spec.name, {}).values())
            result = query.run(parsed, stored, case_sensitive=self.settings.case_sensitive_queries)
            return copy.deepcopy(result)

    def entities_of(self, realm_id: str, entity_name: str, include_inactive: bool = True) -> list[JsonObject]:
        with self.lock:
            stored = self._realm(realm_id).entities.get(entity_name, {}).values()
            return [copy.deepcopy(e) for e in stored if include_inactive or e.get("Active") is True]

    def _realm(self, realm_id: str) -> Realm:
        realm = self._realms.get(realm_id)
        if realm is None:
            raise KeyError(realm_id)
        return realm

    def _stamp(self, realm: Realm, now: float) -> Stamp:
        def next_address_id() -> str:
            realm.next_address_id += 1
            return str(realm.next_address_id - 1)

        return Stamp(now=metadata_time(now), next_address_id=next_address_id)

    def _place_in_hierarchy(self, realm: Realm, entity: JsonObject, *, project: bool) -> None:
        """A customer with a `ParentRef` is a job (sub-customer): `Job` true, one `Level` below its parent,
        named `Parent:Child` in FullyQualifiedName. A project is a job with `IsProject` true."""
        parent_ref = entity.get("ParentRef")
        if not isinstance(parent_ref, dict):
            if project:
                raise faults.required_missing("ParentRef (a project belongs to a customer)", "ParentRef")
            entity["Job"] = False
            entity["IsProject"] = False
            entity.pop("Level", None)
            return
        parent = realm.entities.get("Customer", {}).get(str(parent_ref.get("value")))
        if parent is None or parent["Id"] == entity["Id"]:
            raise faults.invalid_reference("Customer", str(parent_ref.get("value")))
        entity["Job"] = True
        entity["IsProject"] = project
        entity["Level"] = int(parent.get("Level", 0)) + 1
        entity["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{entity['DisplayName']}"

    def _announce(
        self,
        realm: Realm,
        entity_name: str,
        operation: Operation,
        entity_id: str,
        now: float,
        data: JsonObject | None = None,
    ) -> None:
        self.webhooks.publish(cloud_event(realm.realm_id, entity_name, operation, entity_id, now, data))

    def _check_unique_name(self, realm: Realm, entity: JsonObject, spec: EntitySpec) -> None:
        """DisplayName is unique across Customers, Vendors and Employees, inactive ones included."""
        wanted = self._name_key(entity["DisplayName"])
        for entity_name, stored in realm.entities.items():
            for holder in stored.values():
                if entity_name == spec.name and holder["Id"] == entity["Id"]:
                    continue
                if self._name_key(holder["DisplayName"]) == wanted:
                    raise faults.duplicate_name(holder["Id"])

    def _name_key(self, display_name: str) -> str:
        name = display_name.strip()
        return name if self.settings.case_sensitive_display_names else name.casefold()

    # --- calls, faults, meters, replays ------------------------------------------------------------------

    def record_call(self, call: CallRecord) -> None:
        with self.lock:
            self._calls.append(call)

    def calls(self, realm_id: str) -> list[JsonObject]:
        with self.lock:
            return [call.as_json() for call in self._calls if call.realm_id == realm_id]

    def clear_calls(self, realm_id: str) -> None:
        with self.lock:
            self._calls = [call for call in self._calls if call.realm_id != realm_id]

    def add_fault(self, rule: FaultRule) -> None:
        with self.lock:
            self._faults.append(rule)

    def clear_faults(self) -> None:
        """Drop every injected fault (an outage ends)."""
        with self.lock:
            self._faults = []

    def take_fault(self, realm_id: str | None, operation: str) -> FaultRule | None:
        """The first rule matching the call, used up by one; None when the call should proceed."""
        with self.lock:
            now = self.clock()
            self._faults = [r for r in self._faults if r.ends_at is None or now < r.ends_at]
            for rule in self._faults:
                if rule.remaining > 0 and rule.matches(realm_id, operation, now):
                    rule.remaining -= 1
                    self._faults = [r for r in self._faults if r.remaining > 0]
                    return rule
            return None

    def admit(self, realm_id: str, cost: int, is_batch: bool) -> bool:
        with self.lock:
            return self._meter.admit(realm_id, self.clock(), cost, is_batch)

    @property
    def rate_limits(self) -> RateLimits:
        with self.lock:
            return self._meter.limits

    def set_rate_limits(self, limits: RateLimits) -> None:
        """Enforce these limits from now on, with every realm's meter starting empty."""
        with self.lock:
            self._meter = RealmMeter(limits)

    def stored_reply(self, realm_id: str, requestid: str) -> Reply | None:
        with self.lock:
            realm = self._realms.get(realm_id)
            return realm.replies.get(requestid) if realm else None

    def store_reply(self, realm_id: str, requestid: str, reply: Reply) -> None:
        with self.lock:
            if reply.status < 400 or self.settings.replay_failed_requests:
                self.ensure_realm(realm_id).replies[requestid] = reply

    def set_consent_realm(self, realm_id: str) -> None:
        with self.lock:
            self.consent_realm_id = realm_id

    def set_latency(self, latency_ms: int) -> None:
        with self.lock:
            self.latency_ms = latency_ms
