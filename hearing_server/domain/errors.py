"""The one error catalogue: every stable code, declared once, with its kind and meaning.

Every boundary translates a :class:`HearingError` in exactly one place: the REST
API maps the code's :class:`Kind` to an HTTP status (``api/errors.py``), the
socket.io namespace puts ``{"code", "message"}`` into the acknowledgement or the
refused connection, the CLI prints one line and exits with a status per kind.
Codes are part of the public protocol: never rename one, add new ones instead.
``docs/protocol.md`` lists the whole catalogue and the web client has a message for
every code; ``tests/domain/test_error_catalogue.py`` keeps the three equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import ClassVar


class Kind(Enum):
    """What sort of refusal a code is; each boundary maps a kind to its own form."""

    INVALID = "invalid"              # the request is malformed
    TOO_LARGE = "too_large"          # the request is larger than allowed
    UNAUTHENTICATED = "unauthenticated"  # no, or no valid, credentials
    DENIED = "denied"                # authenticated, but not allowed
    NOT_FOUND = "not_found"          # no such thing
    CONFLICT = "conflict"            # not possible in the current state
    RATE_LIMITED = "rate_limited"    # too many requests
    REDIRECT = "redirect"            # ask another node
    UNAVAILABLE = "unavailable"      # try again later
    INTERNAL = "internal"            # the server failed
    CLIENT = "client"                # raised by the web client itself, never by the server


class Code(StrEnum):
    # transport and requests
    INPUT_INVALID = "input.invalid"
    INPUT_NOT_JSON = "input.not_json"
    EVENT_TOO_LARGE = "event.too_large"
    EVENT_UNKNOWN = "event.unknown"
    REQUEST_TOO_LARGE = "request.too_large"
    ROUTE_NOT_FOUND = "route.not_found"
    ROUTE_METHOD_NOT_ALLOWED = "route.method_not_allowed"
    RANGE_INVALID = "range.invalid"
    RATE_LIMITED = "rate.limited"
    CONNECTION_UNKNOWN = "connection.unknown"
    CONNECTION_REPLACED = "connection.replaced"
    ERROR_INTERNAL = "error.internal"
    SERVICE_UNAVAILABLE = "service.unavailable"
    STATE_CONFLICT = "state.conflict"
    NOT_FOUND = "resource.not_found"
    # join tokens
    TOKEN_MISSING = "token.missing"
    TOKEN_MALFORMED = "token.malformed"
    TOKEN_INVALID = "token.invalid"
    TOKEN_ALGORITHM = "token.algorithm"
    TOKEN_BAD_SIGNATURE = "token.bad_signature"
    TOKEN_EXPIRED = "token.expired"
    TOKEN_NOT_YET_VALID = "token.not_yet_valid"
    TOKEN_REVOKED = "token.revoked"
    TOKEN_WRONG_HEARING = "token.wrong_hearing"
    # staff
    AUTH_REQUIRED = "auth.required"
    AUTH_INVALID = "auth.invalid"
    AUTH_INVALID_CREDENTIALS = "auth.invalid_credentials"
    AUTH_INVALID_API_KEY = "auth.invalid_api_key"
    AUTH_SESSION_ENDED = "auth.session_ended"
    AUTH_API_KEY_REVOKED = "auth.api_key_revoked"
    AUTH_API_KEY_EXPIRED = "auth.api_key_expired"
    REQUEST_CROSS_SITE = "request.cross_site"
    STAFF_NOT_FOUND = "staff.not_found"
    STAFF_EXISTS = "staff.exists"
    APIKEY_NOT_FOUND = "apikey.not_found"
    APIKEY_BAD_SCOPE = "apikey.bad_scope"
    PERMISSION_DENIED = "permission.denied"
    PASSWORD_WEAK = "password.weak"
    ROLE_UNKNOWN = "role.unknown"
    # hearings and participants
    HEARING_NOT_FOUND = "hearing.not_found"
    HEARING_CANCELLED = "hearing.cancelled"
    HEARING_ADJOURNED = "hearing.adjourned"
    HEARING_LOCKED = "hearing.locked"
    HEARING_BAD_PHASE = "hearing.bad_phase"
    HEARING_IN_SESSION = "hearing.in_session"
    HEARING_NO_HOST = "hearing.no_host"
    HEARING_BAD_ASSIGNMENT = "hearing.bad_assignment"
    HEARING_ALREADY_OVER = "hearing.already_over"
    PARTICIPANT_NOT_FOUND = "participant.not_found"
    PARTICIPANT_NOT_IN_LOBBY = "participant.not_in_lobby"
    PARTICIPANT_NOT_PRESENT = "participant.not_present"
    PARTICIPANT_REMOVED = "participant.removed"
    PARTICIPANT_DENIED = "participant.denied"
    PARTICIPANT_SELF = "participant.self"
    RECORDING_BAD_STATE = "recording.bad_state"
    RECORDING_REASON_REQUIRED = "recording.reason_required"
    # mediation
    CAUCUS_NOT_MEDIATION = "caucus.not_mediation"
    CAUCUS_NOT_FOUND = "caucus.not_found"
    CAUCUS_ALREADY_THERE = "caucus.already_there"
    CAUCUS_TOO_MANY = "caucus.too_many"
    SETTLEMENT_NONE = "settlement.none"
    SETTLEMENT_CHANGED = "settlement.changed"
    SETTLEMENT_CONFIRMED = "settlement.confirmed"
    SETTLEMENT_NAME_MISMATCH = "settlement.name_mismatch"
    SETTLEMENT_NOT_CONFIRMED = "settlement.not_confirmed"
    # media
    MEDIA_ERROR = "media.error"
    MEDIA_NOT_ADMITTED = "media.not_admitted"
    MEDIA_NOT_CONNECTED = "media.not_connected"
    MEDIA_CLOSED = "media.closed"
    MEDIA_NO_OFFER = "media.no_offer"
    MEDIA_ANSWER_TIMEOUT = "media.answer_timeout"
    MEDIA_ICE_FAILED = "media.ice_failed"
    MEDIA_ICE_TIMEOUT = "media.ice_timeout"
    MEDIA_CONNECTION_LOST = "media.connection_lost"
    SDP_INVALID = "sdp.invalid"
    SDP_TOO_LARGE = "sdp.too_large"
    CODEC_UNSUPPORTED = "codec.unsupported"
    CANDIDATE_INVALID = "candidate.invalid"
    # nodes and the shared store
    NODE_REDIRECT = "node.redirect"
    NODE_MOVING = "node.moving"
    STORE_UNAVAILABLE = "store.unavailable"
    # records (retrieval)
    RECORDS_FORBIDDEN = "records.forbidden"
    RECORDS_NOT_FOUND = "records.not_found"
    RECORDS_NOT_SEALED = "records.not_sealed"
    RECORDS_BAD_ID = "records.bad_id"
    RECORDS_FILE_NOT_FOUND = "records.file_not_found"
    RECORDS_NO_COMPOSITE = "records.no_composite"
    RECORDS_COMPOSITE_NOT_READY = "records.composite_not_ready"
    # the recording library (recording/errors.py), translated at the boundary
    RECORDING_DISK_FULL = "recording.disk_full"
    RECORDING_WRITE_FAILED = "recording.write_failed"
    RECORDING_BAD_TRACK = "recording.bad_track"
    ARCHIVE_NOT_FOUND = "archive.not_found"
    ARCHIVE_BAD_PATH = "archive.bad_path"
    ARCHIVE_SEALED = "archive.sealed"
    ARCHIVE_DUPLICATE = "archive.duplicate"
    ARCHIVE_FILE_MISSING = "archive.file_missing"
    ARCHIVE_BUSY = "archive.busy"
    MANIFEST_MALFORMED = "manifest.malformed"
    SIGNING_KEY_INVALID = "signing.key_invalid"
    COMPOSITE_FAILED = "composite.failed"
    COMPOSITE_EMPTY = "composite.empty"
    # operating the node (the command line, start-up)
    CONFIG_MISSING = "config.missing"
    CONFIG_UNREADABLE = "config.unreadable"
    CONFIG_INVALID = "config.invalid"
    DATA_DIR_MISSING = "data_dir.missing"
    DATA_DIR_INVALID = "data_dir.invalid"
    DATA_DIR_UNCREATABLE = "data_dir.uncreatable"
    DATA_DIR_NOT_EMPTY = "data_dir.not_empty"
    BACKUP_MISSING = "backup.missing"
    BACKUP_INVALID = "backup.invalid"
    BACKUP_CORRUPT = "backup.corrupt"
    LISTEN_ADDRESS_IN_USE = "listen.address_in_use"
    LISTEN_DENIED = "listen.denied"
    LISTEN_FAILED = "listen.failed"
    TTY_REQUIRED = "tty.required"
    CLI_INTERRUPTED = "cli.interrupted"
    # raised by the web client only
    UNKNOWN = "unknown"
    CONNECTION_LOST = "connection.lost"
    CONNECTION_REFUSED = "connection.refused"
    NETWORK_UNREACHABLE = "network.unreachable"
    ACK_TIMEOUT = "ack.timeout"
    ACK_INVALID = "ack.invalid"
    NODE_REDIRECT_FAILED = "node.redirect_failed"
    # issue 17: exhibits
    EXHIBIT_NOT_FOUND = "exhibit.not_found"
    EXHIBIT_TOO_LARGE = "exhibit.too_large"
    EXHIBIT_TYPE_REFUSED = "exhibit.type_refused"
    # electronic service of documents (issue 16)
    SERVICE_DOCUMENT_TYPE = "serve.document_type"
    SERVICE_DOCUMENT_TOO_LARGE = "serve.document_too_large"
    SERVICE_DOCUMENT_NOT_FOUND = "serve.document_not_found"
    SERVICE_BAD_ADDRESS = "serve.bad_address"
    SERVICE_NOTHING = "serve.nothing"
    SERVICE_NOT_FOUND = "serve.not_found"
    SERVICE_EXPIRED = "serve.expired"
    SERVICE_ALREADY_ACKNOWLEDGED = "serve.already_acknowledged"
    SERVICE_NOT_CONFIRMED = "serve.not_confirmed"
    SERVICE_NAME_MISMATCH = "serve.name_mismatch"
    SERVICE_MAIL_NOT_CONFIGURED = "serve.mail_not_configured"
    # issue 14: the court's control of the room
    SCREEN_NOT_ALLOWED = "screen.not_allowed"
    # the remote reception desk (issue 16)
    RECEPTION_CLOSED = "reception.closed"
    RECEPTION_TOPIC_UNKNOWN = "reception.topic_unknown"
    RECEPTION_TOO_MANY = "reception.too_many"
    RECEPTION_QUEUE_FULL = "reception.queue_full"
    RECEPTION_NOT_FOUND = "reception.not_found"
    RECEPTION_NOT_WAITING = "reception.not_waiting"
    # issue 16: transfer at the reception desk
    RECEPTION_BAD_TRANSFER = "reception.bad_transfer"
    RECEPTION_NOT_RECORDED = "reception.not_recorded"


@dataclass(frozen=True)
class Spec:
    kind: Kind
    meaning: str


K = Kind
C = Code

CATALOGUE: dict[Code, Spec] = {
    C.INPUT_INVALID: Spec(K.INVALID, "a field is missing or has the wrong type or size"),
    C.INPUT_NOT_JSON: Spec(K.INVALID, "the body is not valid JSON"),
    C.EVENT_TOO_LARGE: Spec(K.TOO_LARGE, "the event's payload is larger than allowed"),
    C.EVENT_UNKNOWN: Spec(K.INVALID, "no such client event"),
    C.REQUEST_TOO_LARGE: Spec(K.TOO_LARGE, "the request body is larger than allowed"),
    C.ROUTE_NOT_FOUND: Spec(K.NOT_FOUND, "no such path"),
    C.ROUTE_METHOD_NOT_ALLOWED: Spec(K.INVALID, "the method is not allowed on this path"),
    C.RANGE_INVALID: Spec(K.INVALID, "the byte range asked for is not satisfiable"),
    C.RATE_LIMITED: Spec(K.RATE_LIMITED, "too many requests or events; slow down"),
    C.CONNECTION_UNKNOWN: Spec(K.UNAUTHENTICATED, "the connection has not joined a hearing"),
    C.CONNECTION_REPLACED: Spec(K.CONFLICT, "the participant joined from another window"),
    C.ERROR_INTERNAL: Spec(K.INTERNAL, "the server could not handle the request"),
    C.SERVICE_UNAVAILABLE: Spec(K.UNAVAILABLE, "the service is unavailable for now"),
    C.STATE_CONFLICT: Spec(K.CONFLICT, "not possible in the current state"),
    C.NOT_FOUND: Spec(K.NOT_FOUND, "no such thing"),
    C.TOKEN_MISSING: Spec(K.UNAUTHENTICATED, "no join token was given"),
    C.TOKEN_MALFORMED: Spec(K.UNAUTHENTICATED, "the join token is not a JWT"),
    C.TOKEN_INVALID: Spec(K.UNAUTHENTICATED, "the token's claims are wrong or its link unknown"),
    C.TOKEN_ALGORITHM: Spec(K.UNAUTHENTICATED, "the token is not signed with HS256"),
    C.TOKEN_BAD_SIGNATURE: Spec(K.UNAUTHENTICATED, "the token's signature does not verify"),
    C.TOKEN_EXPIRED: Spec(K.UNAUTHENTICATED, "the token has expired"),
    C.TOKEN_NOT_YET_VALID: Spec(K.UNAUTHENTICATED, "the token is not valid yet"),
    C.TOKEN_REVOKED: Spec(K.UNAUTHENTICATED, "a newer link was issued for this participant"),
    C.TOKEN_WRONG_HEARING: Spec(K.UNAUTHENTICATED, "the token is for another hearing"),
    C.AUTH_REQUIRED: Spec(K.UNAUTHENTICATED, "sign in or give an API key"),
    C.AUTH_INVALID: Spec(K.UNAUTHENTICATED, "the staff session is no longer valid"),
    C.AUTH_INVALID_CREDENTIALS: Spec(K.UNAUTHENTICATED, "wrong username or password"),
    C.AUTH_INVALID_API_KEY: Spec(K.UNAUTHENTICATED, "unknown API key"),
    C.AUTH_SESSION_ENDED: Spec(K.UNAUTHENTICATED,
                               "the session was signed out or the account changed since"),
    C.AUTH_API_KEY_REVOKED: Spec(K.UNAUTHENTICATED, "the API key was revoked"),
    C.AUTH_API_KEY_EXPIRED: Spec(K.UNAUTHENTICATED, "the API key is past its expiry"),
    C.REQUEST_CROSS_SITE: Spec(K.DENIED, "a cookie-authenticated change came from another site"),
    C.STAFF_NOT_FOUND: Spec(K.NOT_FOUND, "no such staff account"),
    C.STAFF_EXISTS: Spec(K.CONFLICT, "the staff account already exists"),
    C.APIKEY_NOT_FOUND: Spec(K.NOT_FOUND, "no unrevoked API key with that name"),
    C.APIKEY_BAD_SCOPE: Spec(K.INVALID, "unknown or empty API key scopes"),
    C.PERMISSION_DENIED: Spec(K.DENIED, "the role or account may not do this"),
    C.PASSWORD_WEAK: Spec(K.INVALID, "the password is too weak"),
    C.ROLE_UNKNOWN: Spec(K.INVALID, "no such role"),
    C.HEARING_NOT_FOUND: Spec(K.NOT_FOUND, "no such hearing"),
    C.HEARING_CANCELLED: Spec(K.CONFLICT, "the hearing was cancelled"),
    C.HEARING_ADJOURNED: Spec(K.CONFLICT, "the hearing is adjourned"),
    C.HEARING_LOCKED: Spec(K.CONFLICT, "the court locked the hearing to newcomers"),
    C.HEARING_BAD_PHASE: Spec(K.CONFLICT, "not possible in the hearing's current phase"),
    C.HEARING_IN_SESSION: Spec(K.CONFLICT, "the hearing is in session"),
    C.HEARING_NO_HOST: Spec(K.INVALID, "a hearing needs a judge, a mediation a mediator"),
    C.HEARING_BAD_ASSIGNMENT: Spec(K.INVALID,
                                   "the presiding or assigned account cannot sit here"),
    C.HEARING_ALREADY_OVER: Spec(K.INVALID, "the time given is so far past that the "
                                 "hearing's links would already have expired"),
    C.PARTICIPANT_NOT_FOUND: Spec(K.NOT_FOUND, "no such participant in the hearing"),
    C.PARTICIPANT_NOT_IN_LOBBY: Spec(K.CONFLICT, "the participant is not waiting in the lobby"),
    C.PARTICIPANT_NOT_PRESENT: Spec(K.CONFLICT, "the participant is not in the room"),
    C.PARTICIPANT_REMOVED: Spec(K.DENIED, "the court removed this participant"),
    C.PARTICIPANT_DENIED: Spec(K.DENIED, "the court denied this participant entry"),
    C.PARTICIPANT_SELF: Spec(K.INVALID, "this cannot be done to oneself"),
    C.RECORDING_BAD_STATE: Spec(K.CONFLICT, "the recording cannot do that in its state"),
    C.RECORDING_REASON_REQUIRED: Spec(K.INVALID, "a pause or stop needs a reason"),
    C.CAUCUS_NOT_MEDIATION: Spec(K.CONFLICT, "caucus rooms exist only in a mediation"),
    C.CAUCUS_NOT_FOUND: Spec(K.NOT_FOUND, "no such caucus room"),
    C.CAUCUS_ALREADY_THERE: Spec(K.CONFLICT, "the participant is already in that room"),
    C.CAUCUS_TOO_MANY: Spec(K.CONFLICT, "too many caucus rooms are open"),
    C.SETTLEMENT_NONE: Spec(K.NOT_FOUND, "there are no settlement terms yet"),
    C.SETTLEMENT_CHANGED: Spec(K.CONFLICT, "the terms changed since they were read"),
    C.SETTLEMENT_CONFIRMED: Spec(K.CONFLICT, "these terms are already confirmed"),
    C.SETTLEMENT_NAME_MISMATCH: Spec(K.INVALID, "the typed name is not the participant's"),
    C.SETTLEMENT_NOT_CONFIRMED: Spec(K.INVALID, "the explicit confirmation is missing"),
    C.MEDIA_ERROR: Spec(K.INVALID, "the media connection could not be set up"),
    C.MEDIA_NOT_ADMITTED: Spec(K.DENIED, "media starts once the participant is admitted"),
    C.MEDIA_NOT_CONNECTED: Spec(K.CONFLICT, "the participant has no media connection"),
    C.MEDIA_CLOSED: Spec(K.CONFLICT, "the hearing's media has ended"),
    C.MEDIA_NO_OFFER: Spec(K.CONFLICT, "no offer is waiting for an answer"),
    C.MEDIA_ANSWER_TIMEOUT: Spec(K.CONFLICT, "no answer to the server's offer came in time"),
    C.MEDIA_ICE_FAILED: Spec(K.CONFLICT, "the media connection could not be established"),
    C.MEDIA_ICE_TIMEOUT: Spec(K.CONFLICT, "the media connection did not connect in time"),
    C.MEDIA_CONNECTION_LOST: Spec(K.CONFLICT, "the media connection was lost"),
    C.SDP_INVALID: Spec(K.INVALID, "the SDP answer was not accepted"),
    C.SDP_TOO_LARGE: Spec(K.TOO_LARGE, "the SDP answer is larger than allowed"),
    C.CODEC_UNSUPPORTED: Spec(K.CONFLICT, "the browser cannot use the hearing's codec"),
    C.CANDIDATE_INVALID: Spec(K.INVALID, "the ICE candidate was refused"),
    C.NODE_REDIRECT: Spec(K.REDIRECT, "the hearing is hosted by another node"),
    C.NODE_MOVING: Spec(K.UNAVAILABLE, "the node is draining; reconnect"),
    C.STORE_UNAVAILABLE: Spec(K.UNAVAILABLE, "the shared store is unreachable"),
    C.RECORDS_FORBIDDEN: Spec(K.DENIED, "the account may not read recordings"),
    C.RECORDS_NOT_FOUND: Spec(K.NOT_FOUND, "there is no record for this hearing"),
    C.RECORDS_NOT_SEALED: Spec(K.CONFLICT, "the record is not sealed yet"),
    C.RECORDS_BAD_ID: Spec(K.INVALID, "not a hearing id"),
    C.RECORDS_FILE_NOT_FOUND: Spec(K.NOT_FOUND, "the file is not part of the record"),
    C.RECORDS_NO_COMPOSITE: Spec(K.NOT_FOUND, "no composite viewing copy was made"),
    C.RECORDS_COMPOSITE_NOT_READY: Spec(K.CONFLICT, "the composite is still being rendered"),
    C.RECORDING_DISK_FULL: Spec(K.UNAVAILABLE, "the disk holding the records is full"),
    C.RECORDING_WRITE_FAILED: Spec(K.INTERNAL, "a recording file could not be written"),
    C.RECORDING_BAD_TRACK: Spec(K.INVALID, "a track's name, codec or clock is not valid"),
    C.ARCHIVE_NOT_FOUND: Spec(K.NOT_FOUND, "no record (manifest) in this folder"),
    C.ARCHIVE_BAD_PATH: Spec(K.INVALID, "not a safe path inside the record"),
    C.ARCHIVE_SEALED: Spec(K.CONFLICT, "the record is sealed"),
    C.ARCHIVE_DUPLICATE: Spec(K.CONFLICT, "the file is already in the record"),
    C.ARCHIVE_FILE_MISSING: Spec(K.CONFLICT, "a file listed in the record is absent"),
    C.ARCHIVE_BUSY: Spec(K.CONFLICT, "the record is being written"),
    C.MANIFEST_MALFORMED: Spec(K.INTERNAL, "the record's manifest cannot be read"),
    C.SIGNING_KEY_INVALID: Spec(K.INVALID, "not a valid Ed25519 key"),
    C.COMPOSITE_FAILED: Spec(K.INTERNAL, "the composite could not be rendered"),
    C.COMPOSITE_EMPTY: Spec(K.CONFLICT, "the record holds no recording to composite"),
    C.CONFIG_MISSING: Spec(K.INVALID, "the settings file does not exist"),
    C.CONFIG_UNREADABLE: Spec(K.INVALID, "the settings file cannot be read"),
    C.CONFIG_INVALID: Spec(K.INVALID, "a setting has a value that is not valid"),
    C.DATA_DIR_MISSING: Spec(K.NOT_FOUND, "the data folder does not exist (give --init)"),
    C.DATA_DIR_INVALID: Spec(K.INVALID, "the data folder is not a folder"),
    C.DATA_DIR_UNCREATABLE: Spec(K.UNAVAILABLE, "the data folder cannot be created"),
    C.DATA_DIR_NOT_EMPTY: Spec(K.CONFLICT, "the data folder is not empty (give --force)"),
    C.BACKUP_MISSING: Spec(K.NOT_FOUND, "no such backup archive"),
    C.BACKUP_INVALID: Spec(K.INVALID, "not a backup archive of this server"),
    C.BACKUP_CORRUPT: Spec(K.INVALID, "a file of the backup does not match its hash"),
    C.LISTEN_ADDRESS_IN_USE: Spec(K.UNAVAILABLE, "the address and port are already in use"),
    C.LISTEN_DENIED: Spec(K.DENIED, "not allowed to listen on that port"),
    C.LISTEN_FAILED: Spec(K.UNAVAILABLE, "the node cannot listen on that address"),
    C.TTY_REQUIRED: Spec(K.INVALID, "a terminal is needed to ask (or use --password-stdin)"),
    C.CLI_INTERRUPTED: Spec(K.CLIENT, "the command was interrupted"),
    C.UNKNOWN: Spec(K.CLIENT, "something unexpected went wrong in the page"),
    C.CONNECTION_LOST: Spec(K.CLIENT, "the page is not connected right now"),
    C.CONNECTION_REFUSED: Spec(K.CLIENT, "the server refused the connection without a code"),
    C.NETWORK_UNREACHABLE: Spec(K.CLIENT, "the page cannot reach the server"),
    C.ACK_TIMEOUT: Spec(K.CLIENT, "the server did not acknowledge in time"),
    C.ACK_INVALID: Spec(K.CLIENT, "the acknowledgement was not understood"),
    C.NODE_REDIRECT_FAILED: Spec(K.CLIENT, "the nodes could not agree where a hearing is held"),
    # issue 17: exhibits
    C.EXHIBIT_NOT_FOUND: Spec(K.NOT_FOUND, "no such exhibit in this hearing"),
    C.EXHIBIT_TOO_LARGE: Spec(K.TOO_LARGE, "the exhibit is larger than allowed"),
    C.EXHIBIT_TYPE_REFUSED: Spec(K.INVALID, "exhibits may be PDF, PNG, JPEG or plain text"),
    # electronic service of documents (issue 16)
    C.SERVICE_DOCUMENT_TYPE: Spec(
        K.INVALID, "a served document must be a PDF, PNG or JPEG file (told by its content)"),
    C.SERVICE_DOCUMENT_TOO_LARGE: Spec(
        K.TOO_LARGE, "the document is larger than a served document may be"),
    C.SERVICE_DOCUMENT_NOT_FOUND: Spec(K.NOT_FOUND, "no such document in this hearing"),
    C.SERVICE_BAD_ADDRESS: Spec(K.INVALID, "not an e-mail address the court can serve to"),
    C.SERVICE_NOTHING: Spec(K.INVALID, "a service needs documents, the join link or both"),
    C.SERVICE_NOT_FOUND: Spec(K.NOT_FOUND, "no such service (the link is wrong or was replaced)"),
    C.SERVICE_EXPIRED: Spec(K.CONFLICT, "the service has expired; ask the court"),
    C.SERVICE_ALREADY_ACKNOWLEDGED: Spec(
        K.CONFLICT, "receipt of this service was acknowledged already"),
    C.SERVICE_NOT_CONFIRMED: Spec(K.INVALID, "receipt was not explicitly confirmed"),
    C.SERVICE_NAME_MISMATCH: Spec(K.INVALID, "the typed name is not the recipient's name"),
    C.SERVICE_MAIL_NOT_CONFIGURED: Spec(
        K.UNAVAILABLE, "the court has no mail server configured (smtp_host)"),
    # issue 14: the court's control of the room
    C.SCREEN_NOT_ALLOWED: Spec(K.DENIED, "the court has not allowed this person to share a screen"),
    C.RECEPTION_CLOSED: Spec(K.CONFLICT, "the reception desk is closed now (opens_at says when)"),
    C.RECEPTION_TOPIC_UNKNOWN: Spec(K.INVALID, "not one of the court's reception topics"),
    C.RECEPTION_TOO_MANY: Spec(K.RATE_LIMITED, "this address already waits in the queue"),
    C.RECEPTION_QUEUE_FULL: Spec(K.UNAVAILABLE, "the reception queue is full"),
    C.RECEPTION_NOT_FOUND: Spec(K.NOT_FOUND, "no such visitor in the queue"),
    C.RECEPTION_NOT_WAITING: Spec(K.CONFLICT,
                                  "the visitor is not waiting (or the call is not yours)"),
    # issue 16: transfer at the reception desk
    C.RECEPTION_BAD_TRANSFER: Spec(K.INVALID, "the transfer's target is not reception staff "
                                   "or a clerk, or already has the visitor"),
    C.RECEPTION_NOT_RECORDED: Spec(K.CONFLICT, "the court does not record reception calls"),
}


def spec(code: Code) -> Spec:
    return CATALOGUE[code]


class HearingError(Exception):
    """Base of every expected error; ``code`` is a member of the catalogue."""

    default: ClassVar[Code] = Code.ERROR_INTERNAL

    def __init__(self, message: str = "", *, code: Code | None = None,
                 extra: dict[str, str] | None = None):
        self.code: Code = Code(code) if code is not None else self.default
        self.message = message or CATALOGUE[self.code].meaning
        super().__init__(self.message)
        self.extra = extra or {}

    @property
    def kind(self) -> Kind:
        return CATALOGUE[self.code].kind

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message, **self.extra}


# Convenience subclasses: a default code for the common cases.

class NotFound(HearingError):
    default = Code.NOT_FOUND


class InvalidInput(HearingError):
    default = Code.INPUT_INVALID


class PermissionDenied(HearingError):
    default = Code.PERMISSION_DENIED


class Conflict(HearingError):
    default = Code.STATE_CONFLICT


class AuthError(HearingError):
    default = Code.AUTH_REQUIRED


class TokenError(HearingError):
    default = Code.TOKEN_INVALID


class RateLimited(HearingError):
    default = Code.RATE_LIMITED


class Unavailable(HearingError):
    default = Code.SERVICE_UNAVAILABLE


class MediaError(HearingError):
    default = Code.MEDIA_ERROR


def from_library(code: str, message: str) -> HearingError:
    """Translate an error of a library below (the recording library) by its code."""
    try:
        known = Code(code)
    except ValueError:
        known = Code.ERROR_INTERNAL
    return HearingError(message, code=known)
