"""The action engine: plan → journal → apply → verify → record, and undo."""

from clamp.actions import containment as _containment  # noqa: F401
from clamp.actions import evidence as _evidence  # noqa: F401
from clamp.actions import identity as _identity  # noqa: F401
from clamp.actions import isolation as _isolation  # noqa: F401
from clamp.actions import password as _password  # noqa: F401
from clamp.actions import protect_storage as _protect_storage  # noqa: F401
from clamp.actions import restrict_database as _restrict_database  # noqa: F401
from clamp.actions import restrict_ingress as _restrict_ingress  # noqa: F401  (registers)
from clamp.actions.plugins import load_plugins

load_plugins()
