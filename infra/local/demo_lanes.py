"""`make demo`, opt-outs and the priority lane (DESIGN.md sections 10 and 11) on the deployed stack.

STOP and START: the sandbox's account route gets the stack's callback credential on its inbound side
(`Message*`), then a handset texts STOP to our number (`receive_inbound`: the sandbox calls the route's
MessageUrl, the deployed webhook's Function URL, as Telegent would); the webhook queues it, the deployed
tracker records the opt-out. A send to that number then ends as row REJECTED `OPTED_OUT` with no vendor
request and no DLQ copy; after the handset's START the same send goes through.

A priority send overtaking a backlog: for this part only, the deployed sender's vendor budget is lowered
to DEMO_RATE_PER_MINUTE (its TELEGENT_RATE_LIMIT_PER_MINUTE, as an operator would change it; restored
afterwards), so a backlog of BACKLOG normal messages takes seconds to drain instead of a blink. Once the
backlog is visibly draining, one request with `Priority: "high"` goes through the EventBridge bus (the
stack's rule puts it on the priority queue, served by its own mapping); the sandbox's accepted order
shows where it landed, against when the backlog's last message was accepted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from infra.local.demo_report import table
from infra.local.demo_status import register_route, webhook_endpoint
from infra.local.deploy import DeployedStack
from infra.local.sandbox import TelegentSandbox
from messaging import names

T = TypeVar("T")

HANDSET = "+18015550142"  # texts STOP, then START
OUR_NUMBER = "+18018018011"  # the From of the demo's sends
BACKLOG = 30
BACKLOG_DRAINING = 4  # the priority request is sent once this many backlog messages were accepted
DEMO_RATE_PER_MINUTE = 120  # the normal lane gets 1 - PRIORITY_RESERVE of it
BACKLOG_NUMBERS = [f"+1801555{3000 + i:04d}" for i in range(BACKLOG)]
PRIORITY_NUMBER = "+18015553999"
PRIORITY_KEY = "demo-priority-otp"
REACHED_VENDOR = ("SENT", "DELIVERED")  # the route is registered: receipts move SENT rows on


def show_lanes(stack: DeployedStack, sandbox: TelegentSandbox) -> bool:
    """Both parts; True when the opt-out held and the priority send overtook the backlog."""
    ok = show_stop_and_start(stack, sandbox)
    return show_priority_overtaking(stack, sandbox) and ok


# -- STOP / START --------------------------------------------------------------------------------------


def show_stop_and_start(stack: DeployedStack, sandbox: TelegentSandbox) -> bool:
    route = _inbound_route(stack, sandbox)
    print(
        f"\nOpt-outs (DESIGN 10): the sandbox's route {route['MessageRouteId']} sends inbound texts to the "
        f"deployed webhook\n  {route['MessageUrl']} ({route['MessageAuthenticationType']} credential "
        "from the stack's callback secret).",
        flush=True,
    )
    checks: list[tuple[str, bool]] = []

    entry = _handset_texts(stack, sandbox, "STOP", lambda item: item is not None)
    print(
        f"  opt-out table: {HANDSET} Source={entry and entry.get(names.OPTOUT_ATTR_SOURCE)} "
        f"Keyword={entry and entry.get(names.OPTOUT_ATTR_KEYWORD)} "
        f"OptedOutAt={entry and entry.get(names.OPTOUT_ATTR_OPTED_OUT_AT)}"
    )
    checks.append(("STOP recorded", entry is not None and entry.get(names.OPTOUT_ATTR_SOURCE) == "keyword"))

    row, reached = _send_to_handset(stack, sandbox, "demo-optout-after-stop", "After STOP: must not be sent")
    dlq_copies = [m for m in stack.world.dlq_messages() if "demo-optout-after-stop" in m.get("body", "")]
    print(
        f"  2. a send to {HANDSET}: row {row.get('Status')} {row.get('ErrorCode')}, "
        f"{reached} request(s) reached the sandbox, {len(dlq_copies)} DLQ copies"
    )
    checks.append(
        (
            "send after STOP refused",
            (row.get("Status"), row.get("ErrorCode")) == ("REJECTED", "OPTED_OUT") and reached == 0 and not dlq_copies,
        )
    )

    entry = _handset_texts(stack, sandbox, "START", lambda item: item is None)
    print(f"  opt-out table: {HANDSET} {'still listed' if entry else 'removed'}")
    checks.append(("START recorded", entry is None))

    row, reached = _send_to_handset(stack, sandbox, "demo-optout-after-start", "After START: welcome back")
    print(
        f"  4. a send to {HANDSET}: row {row.get('Status')} MessageId {row.get('MessageId')}, "
        f"{reached} request(s) reached the sandbox"
    )
    checks.append(("send after START reached the vendor", row.get("Status") in REACHED_VENDOR and reached == 1))

    ok = all(passed for _name, passed in checks)
    failed = [name for name, passed in checks if not passed]
    print(f"Opt-outs {'as expected' if ok else 'NOT as expected: ' + ', '.join(failed)}.")
    return ok


def _inbound_route(stack: DeployedStack, sandbox: TelegentSandbox) -> dict[str, Any]:
    """The route the sandbox uses (its oldest enabled one, created if none), inbound side -> the webhook."""
    enabled = [route for route in sandbox.routes() if route.get("MessageRouteEnabled")]
    route = enabled[0] if enabled else register_route(stack, sandbox)
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.outputs["CallbackSecretArn"])
    credential = json.loads(secret["SecretString"])
    if credential.get("Token"):
        auth = {"MessageAuthenticationType": "Bearer", "MessagePasswordToken": credential["Token"]}
    else:
        auth = {
            "MessageAuthenticationType": "Basic",
            "MessageUsername": credential["Username"],
            "MessagePasswordToken": credential["Password"],
        }
    return sandbox.set_route(
        MessageRouteId=route["MessageRouteId"],
        MessageUrl=webhook_endpoint(stack),
        MessageUrlMethod="POST",
        InboundBypass=False,
        **auth,
    )


def _handset_texts(
    stack: DeployedStack, sandbox: TelegentSandbox, body: str, done: Callable[[dict[str, Any] | None], bool]
) -> dict[str, Any] | None:
    step = "1" if body == "STOP" else "3"
    started = time.monotonic()
    answer = sandbox.receive_inbound(HANDSET, OUR_NUMBER, body)
    answered = time.monotonic() - started
    statuses = [attempt.get("http_status") for attempt in answer.get("attempts", [])]
    print(
        f"  {step}. {HANDSET} texts {body!r} to {OUR_NUMBER}: the sandbox called the webhook "
        f"(HTTP {', '.join(str(s) for s in statuses) or '-'}, delivered={answer.get('delivered')})",
        flush=True,
    )
    entry = _poll(lambda: _opt_out_entry(stack, HANDSET), done, timeout=60)
    print(
        f"     webhook answered in {answered:.1f}s; the opt-out table showed it {time.monotonic() - started:.1f}s "
        "after the text (webhook -> status queue -> deployed tracker)"
    )
    return entry


def _opt_out_entry(stack: DeployedStack, number: str) -> dict[str, Any] | None:
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["OptOutTableName"],
        Key={names.OPTOUT_PARTITION_KEY: {"S": number}},
        ConsistentRead=True,
    )
    found = item.get("Item")
    return {name: next(iter(value.values())) for name, value in found.items()} if found else None


def _send_to_handset(stack: DeployedStack, sandbox: TelegentSandbox, key: str, body: str) -> tuple[dict[str, Any], int]:
    """Send one request to HANDSET; its final row and how many vendor sends to HANDSET it added."""
    before = _accepted_for(sandbox, {HANDSET})
    stack.world.send_bodies([{"IdempotencyKey": key, "To": [{"Number": HANDSET}], "From": OUR_NUMBER, "Body": body}])
    row = _poll(
        lambda: _row(stack, key), lambda r: r.get("Status") in (*REACHED_VENDOR, "REJECTED", "FAILED"), timeout=60
    )
    time.sleep(1)  # a send that got through is in the sandbox before its row says SENT; this only shows nothing late
    return row, len(_accepted_for(sandbox, {HANDSET})) - len(before)


# -- priority overtaking a backlog ---------------------------------------------------------------------


def show_priority_overtaking(stack: DeployedStack, sandbox: TelegentSandbox) -> bool:
    lambda_ = stack.client("lambda")
    function = stack.outputs["SenderFunctionName"]
    original = lambda_.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    reserve = float(original.get(names.ENV_PRIORITY_RESERVE, names.DEFAULT_PRIORITY_RESERVE))
    normal_rate = DEMO_RATE_PER_MINUTE * (1 - reserve)
    print(
        f"\nPriority lane (DESIGN 11): the sender's vendor budget set to {DEMO_RATE_PER_MINUTE}/min for this part "
        f"(was {original.get(names.ENV_RATE_LIMIT_PER_MINUTE)}/min; PRIORITY_RESERVE {reserve:g}: the normal lane "
        f"at most {normal_rate:.0f}/min), burst 1.",
        flush=True,
    )
    _set_sender_env(
        stack,
        {**original, names.ENV_RATE_LIMIT_PER_MINUTE: str(DEMO_RATE_PER_MINUTE), names.ENV_RATE_LIMIT_BURST: "1"},
    )
    try:
        return _overtake(stack, sandbox, normal_rate)
    finally:
        _set_sender_env(stack, original)
        print(f"  sender's budget back to {original.get(names.ENV_RATE_LIMIT_PER_MINUTE)}/min.", flush=True)


def _overtake(stack: DeployedStack, sandbox: TelegentSandbox, normal_rate: float) -> bool:
    backlog_keys = [f"demo-backlog-{i:02d}" for i in range(BACKLOG)]
    started = time.time()
    stack.world.send_bodies(
        [
            {"IdempotencyKey": key, "To": [{"Number": to}], "From": OUR_NUMBER, "Body": f"Campaign message #{i}"}
            for i, (key, to) in enumerate(zip(backlog_keys, BACKLOG_NUMBERS, strict=True))
        ]
    )
    print(
        f"  {BACKLOG} normal messages on the request queue (a campaign); at {normal_rate:.0f}/min they need "
        f"about {BACKLOG / normal_rate * 60:.0f}s.",
        flush=True,
    )
    backlog_numbers = set(BACKLOG_NUMBERS)
    _poll(lambda: _accepted_for(sandbox, backlog_numbers), lambda m: len(m) >= BACKLOG_DRAINING, timeout=60)
    enqueued = time.time()
    stack.put_event(
        {
            "IdempotencyKey": PRIORITY_KEY,
            "To": [{"Number": PRIORITY_NUMBER}],
            "From": OUR_NUMBER,
            "Body": "Your code is 482913",
            "Priority": names.PRIORITY_HIGH,
        }
    )
    waiting = BACKLOG - len(_accepted_for(sandbox, backlog_numbers))
    print(
        f"  {enqueued - started:.1f}s in, {BACKLOG - waiting} accepted and {waiting} still waiting: an OTP with "
        'Priority "high" through the EventBridge bus (rule -> priority queue -> its own mapping).',
        flush=True,
    )
    keys = {*backlog_keys, PRIORITY_KEY}
    rows = _poll(
        lambda: {r["RequestId"]: r for r in stack.world.result_rows() if r["RequestId"] in keys},
        lambda found: len(found) == len(keys) and all(r.get("Status") in REACHED_VENDOR for r in found.values()),
        timeout=BACKLOG / normal_rate * 60 + 60,
    )
    accepted = _accepted_for(sandbox, {*backlog_numbers, PRIORITY_NUMBER})
    order = [message["request"]["To"][0]["Number"] for message in accepted]
    at = {number: float(message["received_at"]) - started for number, message in zip(order, accepted, strict=True)}
    position = order.index(PRIORITY_NUMBER) + 1 if PRIORITY_NUMBER in order else 0
    backlog_at = sorted(t for number, t in at.items() if number != PRIORITY_NUMBER)
    behind = BACKLOG - (position - 1) if position else 0
    print("  The sandbox's accepted order (n = a backlog message, P = the OTP):")
    print("    " + " ".join("P" if number == PRIORITY_NUMBER else "n" for number in order))
    print(
        table(
            ["", "enqueued", "accepted by the vendor", "position"],
            [
                (
                    "priority OTP",
                    f"{enqueued - started:.1f}s",
                    f"{at[PRIORITY_NUMBER]:.1f}s" if position else "never",
                    f"#{position} of {len(order)}" if position else "-",
                ),
                (
                    f"backlog ({BACKLOG})",
                    "0.0s",
                    f"{backlog_at[0]:.1f}s .. {backlog_at[-1]:.1f}s" if backlog_at else "never",
                    f"{BACKLOG - behind} before the OTP, {behind} after",
                ),
            ],
        )
    )
    if position and backlog_at:
        print(
            f"  The OTP waited {at[PRIORITY_NUMBER] - (enqueued - started):.1f}s from enqueue to accepted; the "
            f"backlog took {backlog_at[-1] - backlog_at[0]:.1f}s to drain and its last message was accepted "
            f"{backlog_at[-1] - (enqueued - started):.1f}s after the OTP was enqueued: about what the OTP would "
            "have waited in the same queue."
        )
    priority_row = rows.get(PRIORITY_KEY, {})
    checks = [
        (
            "every message sent",
            len(rows) == len(keys) and all(r.get("Status") in REACHED_VENDOR for r in rows.values()),
        ),
        ("each accepted once", sorted(order) == sorted([*BACKLOG_NUMBERS, PRIORITY_NUMBER])),
        ("the OTP's row has Priority high", priority_row.get("Priority") == names.PRIORITY_HIGH),
        ("the OTP overtook most of the backlog", behind > BACKLOG // 2),
    ]
    failed = [name for name, passed in checks if not passed]
    print(f"Priority lane {'as expected' if not failed else 'NOT as expected: ' + ', '.join(failed)}.")
    return not failed


def _set_sender_env(stack: DeployedStack, variables: Mapping[str, str]) -> None:
    """UpdateFunctionConfiguration (new containers get it) and wait until the update is done."""
    lambda_ = stack.client("lambda")
    function = stack.outputs["SenderFunctionName"]
    lambda_.update_function_configuration(FunctionName=function, Environment={"Variables": dict(variables)})
    _poll(
        lambda: lambda_.get_function_configuration(FunctionName=function),
        lambda config: config.get("LastUpdateStatus") in (None, "Successful", "Failed"),
        timeout=30,
        interval=0.2,
    )


# -- helpers -----------------------------------------------------------------------------------------------


def _accepted_for(sandbox: TelegentSandbox, numbers: set[str]) -> list[dict[str, Any]]:
    """The sandbox's accepted messages to `numbers`, in the order it accepted them."""
    found = [m for m in sandbox.sent_messages() if m["request"]["To"][0]["Number"] in numbers]
    return sorted(found, key=lambda message: float(message["received_at"]))


def _row(stack: DeployedStack, key: str) -> dict[str, Any]:
    table_ = stack.world.resource("dynamodb").Table(stack.world.messages_table)
    return dict(table_.get_item(Key={"RequestId": key}, ConsistentRead=True).get("Item") or {})


def _poll(read: Callable[[], T], done: Callable[[T], bool], *, timeout: float, interval: float = 0.5) -> T:
    """read() until done(value) or the timeout (then the last value: the caller's checks report it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)
