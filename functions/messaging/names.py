"""Names shared by the functions, the CDK stack and the local world (DESIGN.md section 5).

This module imports nothing, so infra/ and the local world can load it without the Lambda's
dependencies.
"""

from __future__ import annotations

# Lambda environment variables (contract: names are fixed by DESIGN.md section 5).
ENV_TELEGENT_BASE_URL = "TELEGENT_BASE_URL"
ENV_TELEGENT_SECRET_ID = "TELEGENT_SECRET_ID"
ENV_MESSAGES_TABLE = "MESSAGES_TABLE"
ENV_IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
ENV_MEDIA_BUCKET = "MEDIA_BUCKET"
ENV_DLQ_URL = "DLQ_URL"
ENV_RATE_LIMIT_TABLE = "RATE_LIMIT_TABLE"
ENV_RATE_LIMIT_PER_MINUTE = "TELEGENT_RATE_LIMIT_PER_MINUTE"
ENV_RATE_LIMIT_BURST = "TELEGENT_RATE_LIMIT_BURST"

# Optional tuning knobs (our extensions; every one has a safe default).
ENV_MEDIA_PREFIX = "MEDIA_PREFIX"
ENV_BODY_MAX_CHARS = "BODY_MAX_CHARS"
ENV_MAX_RECIPIENTS = "MAX_RECIPIENTS"
ENV_MAX_MEDIA_ITEMS = "MAX_MEDIA_ITEMS"
ENV_MAX_MEDIA_BYTES = "MAX_MEDIA_BYTES"
ENV_CONNECT_TIMEOUT = "TELEGENT_CONNECT_TIMEOUT_SECONDS"
ENV_READ_TIMEOUT = "TELEGENT_READ_TIMEOUT_SECONDS"
ENV_TOKEN_EXPIRY_MARGIN = "TELEGENT_TOKEN_EXPIRY_MARGIN_SECONDS"
ENV_SECRET_MAX_AGE = "TELEGENT_SECRET_MAX_AGE_SECONDS"
ENV_RESULT_TTL_DAYS = "RESULT_TTL_DAYS"
ENV_SEND_CONCURRENCY = "SEND_CONCURRENCY"
ENV_TIMEOUT_GUARD_MS = "TIMEOUT_GUARD_MS"

DEFAULT_TELEGENT_BASE_URL = "https://api.telegent.com/v1.0"
DEFAULT_RATE_LIMIT_PER_MINUTE = 50

# Messages table (DESIGN.md section 3).
MESSAGES_PARTITION_KEY = "RequestId"
MESSAGES_MESSAGE_ID_INDEX = "MessageIdIndex"
MESSAGES_MESSAGE_ID_ATTRIBUTE = "MessageId"
MESSAGES_TTL_ATTRIBUTE = "ExpiresAt"
MESSAGES_CREATED_AT_ATTRIBUTE = "CreatedAt"
# Rows by the UTC day they were created (`CreatedDay` = YYYY-MM-DD of `CreatedAt`), sorted by
# `CreatedAt`: `telegent-sms stats` counts a window with one Query per day, never a Scan.
MESSAGES_CREATED_DAY_INDEX = "CreatedDayIndex"
MESSAGES_CREATED_DAY_ATTRIBUTE = "CreatedDay"
MESSAGES_CREATED_DAY_INDEX_PROJECTION = ("Status", "Cost", "Segments")

# Powertools idempotency table layout (its defaults).
IDEMPOTENCY_PARTITION_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"

# Shared rate limiter table.
RATE_LIMIT_PARTITION_KEY = "pk"

# Handler string relative to the asset root functions/.
SENDER_HANDLER = "sender.handler.handler"

# Message attributes on the copy of a rejected message in the DLQ.
DLQ_ATTR_REASON = "Reason"
DLQ_ATTR_ERROR_CODE = "ErrorCode"
DLQ_ATTR_ERROR_MESSAGE = "ErrorMessage"
DLQ_ATTR_REQUEST_ID = "RequestId"
DLQ_ATTR_SOURCE_MESSAGE_ID = "SourceMessageId"
DLQ_ATTR_SOURCE_QUEUE = "SourceQueueArn"
DLQ_ATTR_REJECTED_AT = "RejectedAt"
DLQ_ATTR_RECEIVE_COUNT = "ReceiveCount"
# The first SQS message id of the request, kept on requeued copies and DLQ copies alike, so a
# request without an IdempotencyKey keeps its key when it is requeued or redriven.
ATTR_ORIGINAL_MESSAGE_ID = "OriginalMessageId"
# How many times the sender put a throttled copy back on the queue.
ATTR_REQUEUE_COUNT = "TelegentRequeues"

# Metric names the sender emits (Powertools adds the dimension service=<POWERTOOLS_SERVICE_NAME>);
# the stack's alarms and dashboard read the same names.
METRIC_SENT = "MessagesSent"
METRIC_REJECTED = "MessagesRejected"
METRIC_DUPLICATES = "DuplicatesSkipped"
METRIC_IDEMPOTENCY_CONFLICTS = "IdempotencyConflicts"
METRIC_TRANSIENT_FAILURES = "TransientFailures"
METRIC_TRANSIENT_FAILURE_PREFIX = "TransientFailure"  # + the failure class, e.g. TransientFailureThrottled
METRIC_AMBIGUOUS_SENDS = "AmbiguousSends"
METRIC_RETRIES_EXHAUSTED = "RetriesExhausted"
METRIC_REQUEUED = "Requeued"
METRIC_TOKEN_FETCHES = "TokenFetches"
METRIC_VENDOR_LATENCY = "VendorLatency"
METRIC_VENDOR_REQUESTS = "VendorRequests"

# ---------------------------------------------------------------- reliability (DESIGN.md section 4)
ENV_MAX_MESSAGE_AGE_HOURS = "MAX_MESSAGE_AGE_HOURS"  # how long a request without a validity may wait
DEFAULT_MAX_MESSAGE_AGE_HOURS = 336  # SQS's own retention limit (14 days)
ENV_MAX_PAYLOAD_BYTES = "MAX_PAYLOAD_BYTES"  # largest extended-client payload read (default: by memory)
ENV_PAYLOAD_PREFIX = "PAYLOAD_PREFIX"  # where extended-client pointers may point (unset: MEDIA_PREFIX)
ENV_LAMBDA_MEMORY_MB = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"  # set by Lambda itself
# Bodies of DLQ copies too large for SQS are written here in the media bucket, and the DLQ copy
# holds an extended-client pointer to them (which the sender unwraps when the copy is redriven).
DLQ_PAYLOAD_PREFIX = "dlq-payloads/"
# When the request was first put on a queue: kept on requeued copies (the first copy's SQS
# SentTimestamp), so a request throttled for ever stops at MAX_MESSAGE_AGE_HOURS.
ATTR_FIRST_ENQUEUED_AT = "FirstEnqueuedAt"
METRIC_INTERNAL_ERRORS = "InternalErrors"  # unexpected exceptions (bugs): logged with type and stack
METRIC_THROTTLED_TOO_LONG = "ThrottledTooLong"
METRIC_MESSAGE_AGE = "MessageAgeSeconds"  # per record: seconds since FirstEnqueuedAt
METRIC_DLQ_OFFLOADED = "DeadLetterBodiesOffloaded"

# Ambiguous sends reconciled through Telegent's message search (DESIGN.md section 4b).
ENV_AMBIGUOUS_SEARCH_DELAY_SECONDS = "AMBIGUOUS_SEARCH_DELAY_SECONDS"
ENV_AMBIGUOUS_RECONCILE_MAX_MINUTES = "AMBIGUOUS_RECONCILE_MAX_MINUTES"
ENV_AMBIGUOUS_POLICY = "AMBIGUOUS_POLICY"
DEFAULT_AMBIGUOUS_SEARCH_DELAY_SECONDS = 20
DEFAULT_AMBIGUOUS_RECONCILE_MAX_MINUTES = 30
DEFAULT_AMBIGUOUS_POLICY = "resend"  # or "dlq"
# The attempt of an ambiguous send: one item per request in the idempotency table, beside (never
# inside) the Powertools records, keyed by this prefix + the request's key.
IDEMPOTENCY_ATTEMPT_PREFIX = "telegent-sms#attempt#"
METRIC_AMBIGUOUS_RECONCILED = "AmbiguousReconciled"  # the search found it: row SENT, nothing sent again
METRIC_AMBIGUOUS_RESENT = "AmbiguousResent"  # sent again after an empty search (or the resend policy)
METRIC_AMBIGUOUS_UNRESOLVED = "AmbiguousUnresolved"  # given up after the max wait (policy dlq)
METRIC_AMBIGUOUS_SEARCHES = "AmbiguousSearches"  # search pages requested while reconciling

# Delivery status tracking (DESIGN.md section 8): environment, handlers, indexes, metrics.
ENV_STATUS_QUEUE_URL = "STATUS_QUEUE_URL"
ENV_STATUS_DLQ_URL = "STATUS_DLQ_URL"
ENV_CALLBACK_SECRET_ID = "TELEGENT_CALLBACK_SECRET_ID"
ENV_EVENT_BUS_NAME = "EVENT_BUS_NAME"
ENV_OPTOUT_TABLE = "OPTOUT_TABLE"
ENV_STATUS_TIMEOUT_HOURS = "STATUS_TIMEOUT_HOURS"
ENV_STATUS_POLL_AFTER_MINUTES = "STATUS_POLL_AFTER_MINUTES"
ENV_STATUS_POLL_MAX_SHARE = "STATUS_POLL_MAX_SHARE"
DEFAULT_STATUS_TIMEOUT_HOURS = 72
DEFAULT_STATUS_POLL_AFTER_MINUTES = 15
DEFAULT_STATUS_POLL_MAX_SHARE = 0.2

WEBHOOK_HANDLER = "webhook.handler.handler"
TRACKER_HANDLER = "tracker.handler.handler"
STATUS_POLLER_HANDLER = "status_poller.handler.handler"
STATUS_EVENTS_HANDLER = "status_events.handler.handler"

# Sparse index of SENT rows still waiting for a final status: only rows carrying PollShard and
# PollAt are in it (the sender sets both, a final status removes them). The poller reads the
# projected attributes from the index itself, so add here whatever it needs from a row.
MESSAGES_POLL_INDEX = "PollIndex"
MESSAGES_POLL_SHARD_ATTRIBUTE = "PollShard"
MESSAGES_POLL_AT_ATTRIBUTE = "PollAt"
MESSAGES_POLL_COUNT_ATTRIBUTE = "PollCount"  # N, details lookups done so far
MESSAGES_POLL_INDEX_PROJECTION = ("MessageId", "Status", "CreatedAt", "UpdatedAt", "PollCount")
POLL_SHARD = "poll"  # the one PollShard value (a second shard can be added if one partition gets hot)

# Status events on EVENT_BUS_NAME.
EVENT_SOURCE = "telegent-sms"
EVENT_DETAIL_TYPE_STATUS = "telegent.sms.status"
EVENT_DETAIL_TYPE_INBOUND = "telegent.sms.inbound"

# Status DLQ reasons (message attribute DLQ_ATTR_REASON on the copy in STATUS_DLQ_URL).
STATUS_REASON_UNKNOWN_MESSAGE_ID = "UNKNOWN_MESSAGE_ID"
STATUS_REASON_UNRECOGNISED = "UNRECOGNISED_PAYLOAD"

METRIC_DELIVERED = "Delivered"
METRIC_DELIVERY_FAILED = "DeliveryFailed"
METRIC_UNDELIVERABLE = "Undeliverable"
METRIC_STATUS_UNKNOWN = "StatusUnknown"
METRIC_DELIVERY_LATENCY = "DeliveryLatency"  # ms, send to final status
METRIC_RECEIPTS_UNMATCHED = "ReceiptsUnmatched"
METRIC_STATUS_POLLS = "StatusPolls"

# ---------------------------------------------------------------- opt-outs (DESIGN.md section 10)
# ENV_OPTOUT_TABLE (above): unset, the sender checks nothing and the tracker records nothing.
OPTOUT_PARTITION_KEY = "Number"  # E.164, one item per opted-out number
OPTOUT_ATTR_OPTED_OUT_AT = "OptedOutAt"  # ISO 8601 UTC
OPTOUT_ATTR_SOURCE = "Source"  # one of OPTOUT_SOURCES
OPTOUT_ATTR_KEYWORD = "Keyword"  # the inbound keyword, for Source=keyword
OPTOUT_SOURCE_KEYWORD = "keyword"
OPTOUT_SOURCE_OPERATOR = "operator"
OPTOUT_SOURCE_IMPORT = "import"
OPTOUT_SOURCES = (OPTOUT_SOURCE_KEYWORD, OPTOUT_SOURCE_OPERATOR, OPTOUT_SOURCE_IMPORT)
# Inbound keywords (comma-separated lists; whole text, trimmed, any case). Unset: the DESIGN's lists.
ENV_OPTOUT_KEYWORDS = "OPTOUT_KEYWORDS"
ENV_OPTIN_KEYWORDS = "OPTIN_KEYWORDS"
DEFAULT_OPTOUT_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
DEFAULT_OPTIN_KEYWORDS = ("START", "UNSTOP", "YES")
METRIC_OPTED_OUT_SKIPPED = "OptedOutSkipped"  # sender: a recipient in the table, not sent
METRIC_OPTOUTS_ADDED = "OptOutsAdded"  # tracker: an inbound opt-out keyword recorded
METRIC_OPTOUTS_REMOVED = "OptOutsRemoved"  # tracker: an inbound opt-in keyword removed the number

# ---------------------------------------------------------------- priority lane (DESIGN.md section 11)
ENV_PRIORITY_RESERVE = "PRIORITY_RESERVE"  # share of the vendor budget the normal lane leaves free
ENV_PRIORITY_QUEUE_ARN = "PRIORITY_QUEUE_ARN"  # records from this queue are the priority lane
PRIORITY_HIGH = "high"  # detail.Priority of an EventBridge request the stack routes to the priority queue
DEFAULT_PRIORITY_RESERVE = 0.2
# Our extension: the validity a priority request gets when it names none (DESIGN.md 11: 600 s).
ENV_PRIORITY_VALIDITY_SECONDS = "PRIORITY_VALIDITY_SECONDS"
DEFAULT_PRIORITY_VALIDITY_SECONDS = 600

# ---------------------------------------------------------------- send-time options (DESIGN.md section 9)
# Where and how the sender creates one-time schedules for a SendAt more than SENDAT_DELAY_MAX_SECONDS ahead.
ENV_SCHEDULE_GROUP_NAME = "SCHEDULE_GROUP_NAME"
ENV_SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
ENV_QUEUE_ARN = "QUEUE_ARN"  # the request queue: the target of those schedules
ENV_MAX_SEGMENTS = "MAX_SEGMENTS"  # longest Body, in segments
ENV_SMART_ENCODING = "SMART_ENCODING"  # true: typographic characters replaced when the Body then fits GSM-7
DEFAULT_MAX_SEGMENTS = 10
# Our extensions: the stack-wide validity of a normal-lane request that names none (unset: none), and the
# longest SendAt wait served by a delayed requeue rather than a schedule (SQS's own maximum, 900 s; the demo
# lowers it to show the Scheduler path in seconds).
ENV_DEFAULT_VALIDITY_SECONDS = "DEFAULT_VALIDITY_SECONDS"
ENV_SENDAT_DELAY_MAX_SECONDS = "SENDAT_DELAY_MAX_SECONDS"
DEFAULT_SENDAT_DELAY_MAX_SECONDS = 900
# Fields of the request body that are ours (never forwarded to Telegent).
FIELD_SEND_AT = "SendAt"
FIELD_VALID_UNTIL = "ValidUntil"
FIELD_VALIDITY_SECONDS = "ValiditySeconds"
FIELD_PRIORITY = "Priority"
FIELD_DRY_RUN = "DryRun"
FIELD_FIRST_ENQUEUED_AT = "FirstEnqueuedAt"  # set by the relay on the copies it makes (schedules)
FIELD_IDEMPOTENCY_KEY = "IdempotencyKey"
PRIORITY_NORMAL = "normal"
# Dry runs: their own rows, apart from the lifecycle ladder, expiring after a day.
DRY_RUN_PREFIX = "DRYRUN#"
DRY_RUN_STATUS = "DRY_RUN"
DRY_RUN_TTL_SECONDS = 86_400
# EventBridge Scheduler takes a target input of at most 256 KB.
SCHEDULE_INPUT_MAX_BYTES = 256 * 1024
METRIC_EXPIRED = "Expired"  # validity ended before the vendor call: row EXPIRED, not sent
METRIC_SEGMENTS = "Segments"  # per message sent: its Body's segments
METRIC_SCHEDULED = "Scheduled"  # a one-time schedule created for a later SendAt
METRIC_SEND_AT_DELAYED = "SendAtDelayed"  # put back on the queue until a SendAt up to SENDAT_DELAY_MAX_SECONDS away
METRIC_DRY_RUNS = "DryRuns"
