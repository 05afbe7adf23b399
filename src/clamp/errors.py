"""Clamp's errors: one root, subclasses named for what failed.

    ClampError
    ├── InputError            bad user input: malformed file, unknown id, bad CIDR
    │   ├── NotFoundError     an id Clamp does not know (finding, action)
    │   ├── NotJson           a file that is not valid JSON (NDJSON read whole, say)
    │   └── PayloadTooLarge   a request body larger than the service reads
    ├── ConfigError           Clamp's own configuration is wrong or incomplete
    ├── Unauthenticated       the service cannot tell who is asking (no or a bad token)
    ├── TooManyAttempts       sign-in tried too often; wait
    ├── Forbidden             the actor's role does not allow it (or four-eyes refuses)
    ├── CloudError            a cloud API refused or failed (translated at the driver boundary)
    │   ├── AuthenticationError   no usable credentials
    │   ├── PermissionDenied      403: names the permission that is missing
    │   ├── ResourceNotFound      404 on a cloud resource
    │   ├── ConflictError         412 / fingerprint mismatch / resource drifted since the plan
    │   ├── RateLimited           429 still returned after bounded retries
    │   └── CloudUnavailable      5xx or connection failure after bounded retries
    ├── ActionError           the action engine refused or could not finish
    │   ├── PlanRefused       the intent cannot be planned for this finding
    │   ├── VerificationFailed    applied, but the finding is still there
    │   ├── UndoRefused       undo is impossible (drift, irreversible, wrong state)
    │   └── ActionInFlight    another worker's action on the same resource is in flight
    ├── WorkersUnavailable    the workers' broker, result backend or shared budget is down
    └── AuditTampered         the audit log's hash chain is broken

Every error carries a message a user can act on and, where useful, a hint.
The CLI prints ``str(error)`` on one line and exits non-zero.
"""

from __future__ import annotations


class ClampError(Exception):
    """Root of every error Clamp raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class InputError(ClampError):
    """The user's input is malformed or refers to something that does not exist."""


class NotJson(InputError):
    """Text that is not valid JSON (valid JSON refused, e.g. nested too deep, is not this)."""


class NotFoundError(InputError):
    """An id (finding, action, scope) that Clamp does not know."""


class PayloadTooLarge(InputError):
    """A request body larger than the service reads."""


class ConfigError(ClampError):
    """Clamp's configuration is wrong or incomplete."""


class Unauthenticated(ClampError):
    """The service cannot tell who is asking: no token or session, or one that is wrong,
    expired, revoked, or of a disabled user."""


class TooManyAttempts(ClampError):
    """Sign-in was tried too often in a short time; try again later."""


class Forbidden(ClampError):
    """The actor's role does not allow this (or an approver tried to approve their own
    request)."""


class CloudError(ClampError):
    """A cloud API refused or failed; raised only by drivers, from the SDK's exception."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AuthenticationError(CloudError):
    """No usable credentials for the cloud."""


class PermissionDenied(CloudError):
    """The cloud answered 403; the message names the permission needed."""


class ResourceNotFound(CloudError):
    """The cloud answered 404 for a resource."""


class ConflictError(CloudError):
    """The resource changed since it was read (412, fingerprint or etag mismatch, drift)."""


class RateLimited(CloudError):
    """The cloud kept answering 429 after Clamp's bounded retries."""


class CloudUnavailable(CloudError):
    """The cloud kept failing (5xx, connection errors) after Clamp's bounded retries."""


class ActionError(ClampError):
    """The action engine refused or could not finish an action."""


class PlanRefused(ActionError):
    """The intent cannot produce a safe plan for this finding."""


class NothingToDo(PlanRefused):
    """The target is already in the state the intent would bring it to (a playbook step
    with nothing to do is skipped, not failed)."""


class VerificationFailed(ActionError):
    """The change was applied but the finding is still present."""


class UndoRefused(ActionError):
    """Undo is impossible: the resource drifted, the action is irreversible or not applied."""


class ActionInFlight(ActionError):
    """Another action on the same resource is in flight (on this or another worker)."""


class WorkersUnavailable(ClampError):
    """The workers' broker, result backend or shared call budget cannot be reached, or
    the tasks sent did not finish in time."""


class AuditTampered(ClampError):
    """The audit log's hash chain does not verify."""
