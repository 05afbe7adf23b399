"""Google's error bodies in the sandbox: Compute's and Cloud Storage's ``errors`` list,
the newer APIs' ``status``, and Google-shaped 404s for routes no sandboxed API serves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

REASON = {
    400: "invalid",
    403: "forbidden",
    404: "notFound",
    409: "alreadyExists",
    412: "conditionNotMet",
}
# Resource Manager v3 and Cloud Identity (one-platform APIs) name a status instead.
STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
}


def google_error(code: int, message: str, reason: str | None = None) -> JSONResponse:
    """An error in Compute's and Cloud Storage's JSON shape: ``{"error": {"code",
    "message", "errors": [{"message", "domain", "reason"}]}}``, as the recorded
    ``firewall-delete`` 404 (custodian gcp-flights) has it."""
    return JSONResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [
                    {
                        "message": message,
                        "domain": "global",
                        "reason": reason or REASON.get(code, "backendError"),
                    }
                ],
            }
        },
        status_code=code,
    )


def platform_error(code: int, message: str) -> JSONResponse:
    """An error in the shape of Google's newer APIs (Resource Manager v3, Cloud Identity):
    ``{"error": {"code", "message", "status"}}`` (google.rpc.Status as JSON)."""
    body = {"code": code, "message": message, "status": STATUS.get(code, "UNKNOWN")}
    return JSONResponse({"error": body}, status_code=code)


async def unknown_route(request: Request, exc: Exception) -> Response:
    """A path, or a verb on a path, that no sandboxed API serves: a Google-shaped 404, never
    Starlette's plain-text one (Google's front end has no 405: an unmapped verb is a 404)."""
    message = f"The requested URL {request.url.path} was not found on this server."
    if request.url.path.startswith(("/v1/", "/v3/")):
        return platform_error(404, message)
    return google_error(404, message)
